"""The per-tactic linear models of the tagger: TF-IDF of character n-grams within words
(`char_wb`, which survives misspellings and inflections) and of words, and one class-balanced
logistic regression per tactic over them. Linear, so every probability is a sum of n-gram
weights that `explain` can list.

Fitting is deterministic: the training messages are deduplicated and sorted, the solver has a
fixed seed, and `version` fingerprints the training data, the n-gram settings and
scikit-learn's version. A model is saved and loaded with skops, whose loader refuses any type
not listed in `TRUSTED` — never with pickle, which runs whatever the file says.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from numpy.typing import NDArray
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from taskforce.chats.tactics import TACTICS, Tactic

# measured on the shipped corpus (docs/chats.md): char 3–4 + words 1–2 keeps `Tagger.tag` over
# 40,000 short messages/s on one core; char 2–5 reads 2.5× slower for no gain on held-out data
CHAR_RANGE = (3, 5)
WORD_RANGE = (1, 2)
MIN_DF = 2
C = 4.0
SEED = 19
DEFAULT_THRESHOLD = 0.5
# the types a saved model may hold; skops refuses to load a file that holds anything else
TRUSTED = [
    "builtins.dict",
    "builtins.list",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.tuple",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "numpy.int32",
    "numpy.int8",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
]


class ModelFileError(ValueError):
    """A saved model that cannot be loaded: the message says why (an untrusted type …)."""


@dataclass(frozen=True)
class Contribution:
    """One n-gram's part in a tactic's score: its TF-IDF value in the text times its weight."""

    feature: str  # "word:add me" or "char: sna"
    value: float
    weight: float

    @property
    def contribution(self) -> float:
        return self.value * self.weight


def fingerprint(parts: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") + b"\x1e")
    return digest.hexdigest()[:16]


_PRIME = 0x100000001B3  # FNV-1's 64-bit prime: mixes each character into the running code
_MASK = (1 << 64) - 1


def _code(term: str) -> int:
    """The 64-bit code of an n-gram, as `CharNgrams` computes it for every window at once."""
    value = 0
    for ch in term:
        value = (value * _PRIME + ord(ch) + 1) & _MASK
    return value


class CharNgrams:
    """`TfidfVectorizer(analyzer="char_wb")`'s transform, computed for a whole batch at once
    with numpy instead of one n-gram at a time in Python (the tagger's hot path), giving the
    same matrix (a test holds them equal). Each window of each space-padded word gets a 64-bit
    rolling code; the fitted vocabulary's codes are sorted once and looked up with
    `searchsorted`. Built from a fitted vectoriser; refuses one whose vocabulary codes collide
    (`usable` is then False and the vectoriser's own transform is used)."""

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        self.low, self.high = vectorizer.ngram_range
        vocabulary: dict[str, int] = vectorizer.vocabulary_
        codes = np.fromiter((_code(t) for t in vocabulary), dtype=np.uint64, count=len(vocabulary))
        columns = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(vocabulary))
        order = np.argsort(codes, kind="stable")
        self.codes, self.columns = codes[order], columns[order]
        self.usable = (
            self.low >= 3  # a padded word is never shorter than 3: no short whole-word grams
            and bool(np.all(self.codes[1:] != self.codes[:-1]))
            and vectorizer.lowercase
            and vectorizer.strip_accents is None
            and vectorizer.preprocessor is None
            and vectorizer.norm == "l2"
            and vectorizer.use_idf
        )
        self.features = len(vocabulary)
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.sublinear = bool(vectorizer.sublinear_tf)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        splits = [text.lower().split() for text in texts]
        per_doc = np.fromiter(map(len, splits), dtype=np.int64, count=len(splits))
        words = [w for words in splits for w in words]
        if not words:
            return sparse.csr_matrix((len(texts), self.features), dtype=np.float64)
        joined = " " + "  ".join(words) + " "  # every word padded with a space each side
        chars = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64) + 1
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words)) + 2
        starts = np.cumsum(lengths) - lengths
        place = np.arange(len(chars), dtype=np.int64) - np.repeat(starts, lengths)
        room = np.repeat(lengths, lengths) - place  # characters from here to the word's end
        doc = np.repeat(np.repeat(np.arange(len(texts), dtype=np.int64), per_doc), lengths)
        padded = np.concatenate([chars, np.zeros(self.high, dtype=np.uint64)])
        rolling = np.zeros(len(chars), dtype=np.uint64)
        found_codes, found_docs = [], []
        prime = np.uint64(_PRIME)
        for n in range(1, self.high + 1):
            rolling = rolling * prime + padded[n - 1 : n - 1 + len(chars)]
            if n >= self.low:
                inside = room >= n
                found_codes.append(rolling[inside])
                found_docs.append(doc[inside])
        codes = np.concatenate(found_codes)
        docs = np.concatenate(found_docs)
        at = np.searchsorted(self.codes, codes)
        at[at == len(self.codes)] = 0
        known = self.codes[at] == codes
        matrix = sparse.csr_matrix(
            (np.ones(int(known.sum())), (docs[known], self.columns[at[known]])),
            shape=(len(texts), self.features),
            dtype=np.float64,
        )
        return _weigh(matrix, self.idf, self.sublinear)


def _weigh(
    matrix: sparse.csr_matrix, idf: NDArray[np.float64], sublinear: bool
) -> sparse.csr_matrix:
    """Counts to TF-IDF as `TfidfTransformer` does: 1 + log(count) when sublinear, times the
    idf, each row scaled to unit length."""
    matrix.sum_duplicates()
    if sublinear:
        np.log(matrix.data, out=matrix.data)
        matrix.data += 1.0
    matrix.data *= idf[matrix.indices]
    norms = np.sqrt(
        np.bincount(
            np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr)),
            weights=matrix.data**2,
            minlength=matrix.shape[0],
        )
    )
    norms[norms == 0.0] = 1.0
    matrix.data /= np.repeat(norms, np.diff(matrix.indptr))
    return matrix


class WordNgrams:
    """`TfidfVectorizer(analyzer="word", ngram_range=(1, 2))`'s transform with the counting
    done by numpy: each token's column from a dict, each pair of neighbours' from a sorted
    array of the fitted word pairs (a fitted pair's two words are always fitted words too, as
    every message holding the pair holds both). Same matrix; a test holds them equal."""

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.features = len(vocabulary)
        self.unigrams = {t: c for t, c in vocabulary.items() if " " not in t}
        width = self.features + 1  # above every column, so a pair key is unique
        self.width = width
        pairs = []
        self.usable = (
            tuple(vectorizer.ngram_range) == (1, 2)
            and vectorizer.analyzer == "word"
            and vectorizer.lowercase
            and vectorizer.strip_accents is None
            and vectorizer.preprocessor is None
            and vectorizer.tokenizer is None
            and vectorizer.stop_words is None
            and vectorizer.norm == "l2"
            and vectorizer.use_idf
        )
        for term, column in vocabulary.items():
            if " " in term:
                first, _, second = term.partition(" ")
                if first not in self.unigrams or second not in self.unigrams:
                    self.usable = False
                    continue
                pairs.append((self.unigrams[first] * width + self.unigrams[second], column))
        pairs.sort()
        self.pair_keys = np.array([k for k, _ in pairs], dtype=np.int64)
        self.pair_columns = np.array([c for _, c in pairs], dtype=np.int64)
        self.pattern = re.compile(vectorizer.token_pattern)
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.sublinear = bool(vectorizer.sublinear_tf)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        findall = self.pattern.findall
        tokens = [findall(text.lower()) for text in texts]
        per_doc = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        flat = [t for doc in tokens for t in doc]
        get = self.unigrams.get
        ids = np.fromiter((get(t, -1) for t in flat), dtype=np.int64, count=len(flat))
        doc = np.repeat(np.arange(len(texts), dtype=np.int64), per_doc)
        known = ids >= 0
        columns = [ids[known]]
        docs = [doc[known]]
        if len(flat) > 1 and len(self.pair_keys):
            same = doc[1:] == doc[:-1]
            both = same & known[1:] & known[:-1]
            keys = ids[:-1][both] * self.width + ids[1:][both]
            at = np.searchsorted(self.pair_keys, keys)
            at[at == len(self.pair_keys)] = 0
            hit = self.pair_keys[at] == keys
            columns.append(self.pair_columns[at[hit]])
            docs.append(doc[:-1][both][hit])
        rows, cols = np.concatenate(docs), np.concatenate(columns)
        matrix = sparse.csr_matrix(
            (np.ones(len(rows)), (rows, cols)),
            shape=(len(texts), self.features),
            dtype=np.float64,
        )
        return _weigh(matrix, self.idf, self.sublinear)


def _vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    char = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=CHAR_RANGE,
        lowercase=True,
        min_df=MIN_DF,
        sublinear_tf=True,
        dtype=np.float64,
    )
    word = TfidfVectorizer(
        analyzer="word",
        ngram_range=WORD_RANGE,
        lowercase=True,
        min_df=MIN_DF,
        token_pattern=r"(?u)\b\w+\b",  # noqa: S106  (a regex, not a password)
        sublinear_tf=True,
        dtype=np.float64,
    )
    return char, word


class TacticModel:
    """Vectorisers, and per tactic a weight per feature and an intercept (one matrix)."""

    def __init__(
        self,
        char: TfidfVectorizer,
        word: TfidfVectorizer,
        coef: NDArray[np.float64],
        intercept: NDArray[np.float64],
        tactics: Sequence[Tactic],
        thresholds: Sequence[float],
        version: str,
    ) -> None:
        self.char = char
        self.word = word
        self.coef = np.ascontiguousarray(coef, dtype=np.float64)  # (features × tactics)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.tactics = tuple(tactics)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.version = version
        self._names: list[str] | None = None
        fast_char = CharNgrams(char) if char.analyzer == "char_wb" else None
        fast_word = WordNgrams(word) if word.analyzer == "word" else None
        self._char = fast_char.transform if fast_char and fast_char.usable else char.transform
        self._word = fast_word.transform if fast_word and fast_word.usable else word.transform

    def features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return sparse.hstack([self._char(texts), self._word(texts)], format="csr")

    def predict(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Each text's probability of each tactic: an (n × tactics) array."""
        if not texts:
            return np.zeros((0, len(self.tactics)))
        scores = self.features(texts) @ self.coef + self.intercept
        result: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-np.asarray(scores)))
        return result

    @property
    def feature_names(self) -> list[str]:
        if self._names is None:
            self._names = [f"char:{n}" for n in self.char.get_feature_names_out()] + [
                f"word:{n}" for n in self.word.get_feature_names_out()
            ]
        return self._names

    def explain(self, text: str, tactic: Tactic, top: int = 8) -> list[Contribution]:
        """The n-grams of `text` that weigh most for `tactic`, the strongest first (positive
        ones raise the probability, negative ones lower it)."""
        column = self.tactics.index(tactic)
        row = self.features([text])
        names = self.feature_names
        found = [
            Contribution(names[i], float(v), float(self.coef[i, column]))
            for i, v in zip(row.indices, row.data, strict=True)
            if self.coef[i, column] != 0.0
        ]
        found.sort(key=lambda c: (-abs(c.contribution), c.feature))
        return found[:top]

    def state(self) -> dict[str, Any]:
        return {
            "format": 1,
            "char": self.char,
            "word": self.word,
            "coef": self.coef,
            "intercept": self.intercept,
            "tactics": [t.value for t in self.tactics],
            "thresholds": list(self.thresholds),
            "version": self.version,
        }

    def save(self, path: Path, extra: dict[str, Any] | None = None) -> None:
        """Write the model with skops (never pickle), with `extra` plain values beside it."""
        from skops import io as skops_io

        skops_io.dump({**self.state(), "extra": extra or {}}, path)

    @classmethod
    def load(cls, path: Path) -> TacticModel:
        return cls.load_with_extra(path)[0]

    @classmethod
    def load_with_extra(cls, path: Path) -> tuple[TacticModel, dict[str, Any]]:
        """Read a model saved by `save`, and its extra values; a file holding any type outside
        `TRUSTED` is refused before anything in it is built."""
        from skops import io as skops_io

        try:
            untrusted = skops_io.get_untrusted_types(file=path)
        except Exception as exc:  # a file skops cannot read at all
            raise ModelFileError(f"{path.name}: not a skops model file ({exc})") from exc
        refused = sorted(set(untrusted) - set(TRUSTED))
        if refused:
            raise ModelFileError(
                f"{path.name}: holds types taskforce does not trust: {', '.join(refused)}"
            )
        state = skops_io.load(path, trusted=TRUSTED)
        try:
            if state["format"] != 1:
                raise ModelFileError(f"{path.name}: format {state['format']} is not 1")
            char, word = state["char"], state["word"]
            if not isinstance(char, TfidfVectorizer) or not isinstance(word, TfidfVectorizer):
                raise ModelFileError(f"{path.name}: char/word: not TF-IDF vectorisers")
            tactics = [Tactic(t) for t in state["tactics"]]
            coef = np.asarray(state["coef"], dtype=np.float64)
            if coef.shape != (len(char.vocabulary_) + len(word.vocabulary_), len(tactics)):
                raise ModelFileError(f"{path.name}: coef: shape does not match the vocabularies")
            model = cls(
                char,
                word,
                coef,
                np.asarray(state["intercept"], dtype=np.float64),
                tactics,
                [float(t) for t in state["thresholds"]],
                str(state["version"]),
            )
            return model, dict(state.get("extra") or {})
        except KeyError as exc:
            raise ModelFileError(
                f"{path.name}: {exc.args[0]}: missing (not a tactic model)"
            ) from exc
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"{path.name}: not a tactic model ({exc})") from exc


def training_set(
    examples: Iterable[tuple[str, Iterable[Tactic]]],
) -> tuple[list[str], dict[str, set[Tactic]]]:
    """Deduplicated, sorted texts and the tactics each shows (the union over its copies)."""
    labels: dict[str, set[Tactic]] = {}
    for text, tactics in examples:
        labels.setdefault(text, set()).update(tactics)
    return sorted(labels), labels


def fit(
    examples: Iterable[tuple[str, Iterable[Tactic]]],
    *,
    extra_version: Sequence[str] = (),
) -> TacticModel:
    """Fit the vectorisers and one balanced logistic regression per tactic, deterministically."""
    texts, labels = training_set(examples)
    tactics = list(TACTICS)
    char, word = _vectorizers()
    x = sparse.hstack([char.fit_transform(texts), word.fit_transform(texts)], format="csr")
    coef = np.zeros((x.shape[1], len(tactics)))
    intercept = np.zeros(len(tactics))
    for column, tactic in enumerate(tactics):
        y = np.array([tactic in labels[t] for t in texts], dtype=np.int8)
        if y.min() == y.max():  # a tactic the data never shows (or always): it never fires
            intercept[column] = -20.0 if y.max() == 0 else 20.0
            continue
        # the dual problem: far more n-grams than messages, ten times faster than the primal
        classifier = LogisticRegression(
            C=C,
            class_weight="balanced",
            solver="liblinear",
            dual=True,
            random_state=SEED,
            max_iter=1000,
        )
        classifier.fit(x, y)
        coef[:, column] = classifier.coef_[0]
        intercept[column] = classifier.intercept_[0]
    version = fingerprint(
        [
            *(f"{t}\x1f{'|'.join(sorted(labels[t]))}" for t in texts),
            f"char{CHAR_RANGE}word{WORD_RANGE}df{MIN_DF}C{C} liblinear-dual",
            f"sklearn {sklearn.__version__}",
            *extra_version,
        ]
    )
    thresholds = [DEFAULT_THRESHOLD] * len(tactics)
    return TacticModel(char, word, coef, intercept, tactics, thresholds, version)
