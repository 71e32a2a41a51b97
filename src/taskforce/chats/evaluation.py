"""The evaluation harness: the tagger measured on a labelled corpus, on the machine that runs it.

An agency runs it on its own node on its own chats (`taskforce chats evaluate`): no database,
no network, nothing kept; it prints figures, never message text. The corpus is a folder of
exports in any format `reading` reads, with the labels beside them — `labels.csv`
(`conversation,label`) or PAN-12's predators file (see `read_labels`).

Files are streamed; per conversation only its scored sequence (what `risk.assess` reads: the
tactics and score of each message, and who wrote it) is kept, never its text — except under
`folds` with message-level tactic labels, where the texts are the training data.
"""

from __future__ import annotations

import csv
import hashlib
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import overload

from taskforce.chats import corpus, metrics, reading, risk, tagging
from taskforce.chats import tactics as tactics_module
from taskforce.chats.kinds import Message, Problem, Tags
from taskforce.chats.reading import ReadOptions
from taskforce.chats.risk import ScoredMessage
from taskforce.chats.scorecard import EvaluationReport, plural
from taskforce.chats.tactics import TACTICS, Tactic
from taskforce.chats.tagging import Tagger
from taskforce.core.errors import Invalid

LABELS_FILE = "labels.csv"
# PAN-12's predator ids: the training set's "…-predators-2012-05-01.txt", the test set's
# "…-groundtruth-problem1.txt"
PREDATORS_GLOBS = ("*predators*.txt", "*groundtruth-problem1*.txt")
# beside the chats, not chats: PAN-12's other ground truth (the predators' lines), and notes
# about the corpus (its README)
NOT_CHATS = ("*-diff.txt", "*groundtruth-problem2*.txt", "README*", "*.md")
POSITIVE = frozenset({"1", "grooming"})
NEGATIVE = frozenset({"0", "benign"})
MAX_LABEL_BYTES = 64 * 1024 * 1024  # a labels file larger than this is not a labels file


class NoLabels(Invalid):
    """The folder holds no labels, or no labelled conversation was read from it."""


@dataclass(frozen=True)
class Labels:
    """Conversation labels (`labels.csv`) or PAN-12 predator authors; `origin` says which."""

    origin: str
    conversations: dict[str, bool] = field(default_factory=dict)
    predators: frozenset[str] = frozenset()

    def of(self, conversation: str, *, predator: bool) -> bool | None:
        """The label of a conversation (`predator`: a listed author wrote in it); None:
        unlabelled."""
        if self.predators:
            return predator
        return self.conversations.get(conversation)


def read_labels(directory: Path) -> Labels:
    """`labels.csv` (header `conversation,label`; label 1/0 or grooming/benign), or PAN-12's
    predators file (one author id a line: a conversation is positive when one of its authors
    is listed). A bad row is refused with its file, line and rule; a folder with both, or
    neither, is refused."""
    table = directory / LABELS_FILE
    predators = sorted({p for glob in PREDATORS_GLOBS for p in directory.glob(glob) if p.is_file()})
    if table.is_file() and predators:
        raise NoLabels(
            "labels",
            f"{directory} holds both {LABELS_FILE} and {predators[0].name}: keep one, so each "
            "conversation has one label",
        )
    if table.is_file():
        return _labels_csv(table)
    if predators:
        return _predators(predators)
    raise NoLabels(
        "labels",
        f"{directory} holds no labels: add {LABELS_FILE} (columns conversation,label with "
        "1/0 or grooming/benign) or PAN-12's predators file (*predators*.txt, or the test "
        "set's *groundtruth-problem1*.txt)",
    )


def _check_size(path: Path) -> None:
    if path.stat().st_size > MAX_LABEL_BYTES:
        raise Invalid(path.name, f"is over {MAX_LABEL_BYTES // 2**20} MiB: not a labels file")


def _labels_csv(path: Path) -> Labels:
    _check_size(path)
    found: dict[str, bool] = {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = csv.reader(f)
        header = [h.strip().lower() for h in next(rows, [])]
        if header[:2] != ["conversation", "label"]:
            raise Invalid(
                f"{path.name} line 1",
                f"the header must be 'conversation,label', not {','.join(header)!r}",
            )
        for row in rows:
            line = rows.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < 2:
                raise Invalid(f"{path.name} line {line}", "needs a conversation and a label")
            conversation, value = row[0].strip(), row[1].strip().lower()
            if not conversation:
                raise Invalid(f"{path.name} line {line}", "the conversation is empty")
            if value not in POSITIVE | NEGATIVE:
                raise Invalid(
                    f"{path.name} line {line}",
                    f"label {row[1].strip()!r} is not 1, 0, grooming or benign",
                )
            label = value in POSITIVE
            if found.get(conversation, label) != label:
                raise Invalid(
                    f"{path.name} line {line}",
                    f"conversation {conversation!r} is labelled both positive and negative",
                )
            found[conversation] = label
    if not found:
        raise NoLabels("labels", f"{path.name} labels no conversation")
    return Labels(origin=path.name, conversations=found)


def _predators(paths: list[Path]) -> Labels:
    authors: set[str] = set()
    for path in paths:
        _check_size(path)
        with path.open(encoding="utf-8-sig") as f:
            authors.update(line.strip() for line in f if line.strip())
    if not authors:
        raise NoLabels("labels", f"{paths[0].name} names no author")
    return Labels(origin=", ".join(p.name for p in paths), predators=frozenset(authors))


def chat_files(directory: Path) -> Iterator[Path]:
    """The files to read: every file under `directory`, sorted, but hidden ones and, at its
    top, the labels and the files that describe the corpus (`NOT_CHATS`)."""
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.parent == directory and (
            path.name == LABELS_FILE
            or any(path.match(glob) for glob in (*PREDATORS_GLOBS, *NOT_CHATS))
        ):
            continue
        yield path


def assign_folds(labels: dict[str, bool], k: int) -> dict[str, int]:
    """Each conversation's fold (0 … k−1), stratified: the positives, then the negatives, each
    in the order of a hash of their id, dealt round the folds — so every fold holds its share
    of the few positives, and the folds are the same on every run and machine."""
    if k < 2:
        raise Invalid("folds", f"cross-validation needs at least 2 folds, not {k}")
    for label, name in ((True, "positive"), (False, "negative")):
        count = sum(1 for v in labels.values() if v is label)
        if count < 2:
            raise Invalid(
                "folds",
                f"cross-validation needs at least 2 {name} conversations to train on; "
                f"the corpus has {count}",
            )
    folds: dict[str, int] = {}
    for label in (True, False):
        ids = sorted((c for c, v in labels.items() if v is label), key=_digest)
        for i, conversation in enumerate(ids):
            folds[conversation] = i % k
    return folds


def _digest(conversation: str) -> str:
    return hashlib.blake2b(conversation.encode(), digest_size=8).hexdigest()


def outcome(
    conversation: str, positive: bool, risk: float, flagged_seq: int | None, messages: int
) -> metrics.Outcome:
    """An outcome from `risk.assess`'s verdict: `flagged_seq` is the 0-based place of the
    message at which the running risk reached the threshold, so 1 + it messages were read."""
    return metrics.Outcome(
        conversation=conversation,
        positive=positive,
        risk=risk,
        messages=messages,
        flagged_after=None if flagged_seq is None else flagged_seq + 1,
    )


# --- reading and scoring -------------------------------------------------------------------

BATCH = 2000  # messages tagged at a time
PROBLEM_SAMPLES = 5
PROGRESS_EVERY = 10_000  # messages between two progress reports
TACTICS_FILE = "messages.csv"  # the corpus layout: message-level tactic labels (chats.corpus)


ORDER = tuple(TACTICS)  # a tactic's number in the packed arrays


class Packed(Sequence[ScoredMessage]):
    """A conversation's scored messages packed in arrays — author number, tactics bits, and
    the probabilities above the tagger's floor — about 10 bytes a message and 9 a probability
    instead of a few hundred as objects; each `ScoredMessage` is built again when read. Authors
    are numbered in the order they first wrote (the risk model only tells them apart)."""

    __slots__ = ("_authors", "_bits", "_by", "_p", "_starts", "_tactic")

    def __init__(self) -> None:
        self._authors: dict[str, int] = {}
        self._by = array("i")  # author number, -1 for a system line
        self._bits = array("H")
        self._starts = array("I", [0])  # where each message's probabilities start
        self._tactic = array("B")
        self._p = array("d")

    def append(self, author: str | None, tags: Tags) -> None:
        self._by.append(
            -1 if author is None else self._authors.setdefault(author, len(self._authors))
        )
        self._bits.append(tactics_module.bits(tags.tactics))
        for tactic, p in tags.probabilities.items():
            self._tactic.append(ORDER.index(tactic))
            self._p.append(p)
        self._starts.append(len(self._p))

    def __len__(self) -> int:
        return len(self._bits)

    @overload
    def __getitem__(self, index: int) -> ScoredMessage: ...
    @overload
    def __getitem__(self, index: slice) -> list[ScoredMessage]: ...
    def __getitem__(self, index: int | slice) -> ScoredMessage | list[ScoredMessage]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        by, start, end = self._by[index], self._starts[index], self._starts[index + 1]
        return ScoredMessage(
            index,
            None if by < 0 else f"author {by}",
            frozenset(tactics_module.from_bits(self._bits[index])),
            {ORDER[self._tactic[i]]: self._p[i] for i in range(start, end)},
        )

    def __iter__(self) -> Iterator[ScoredMessage]:
        return (self[i] for i in range(len(self)))


@dataclass
class _Conversation:
    """What is kept of one conversation while the files are read: its scored sequence (no
    text) and, for PAN-12's labels, whether a listed predator wrote in it."""

    messages: Packed = field(default_factory=Packed)
    predator: bool = False


@dataclass
class _Pass:
    """One read of the folder: its counts and the conversations kept."""

    files: int = 0
    messages: int = 0
    problems: int = 0
    samples: list[str] = field(default_factory=list)
    read: set[str] = field(default_factory=set)
    kept: dict[str, _Conversation] = field(default_factory=dict)


def _read_pass(
    files: list[Path],
    options: ReadOptions,
    tagger: Tagger,
    keep: Callable[[str], bool],
    predators: frozenset[str] = frozenset(),
    root: Path | None = None,
    progress: Callable[[str], None] | None = None,
    stage: str = "",
) -> _Pass:
    """Read every file, tag the messages of the conversations `keep` accepts (a batch at a
    time) and keep their scored sequences."""
    found = _Pass(files=len(files))
    pending: list[tuple[_Conversation, str | None, str]] = []

    def flush() -> None:
        tags = tagger.tag([text for _, _, text in pending])
        for (conversation, author, _), tag in zip(pending, tags, strict=True):
            conversation.messages.append(author, tag)
        pending.clear()

    for path in files:
        display = path.name if root is None else path.relative_to(root).as_posix()
        for event in reading.read_file(path, options, display=display):
            if isinstance(event, Problem):
                found.problems += 1
                if len(found.samples) < PROBLEM_SAMPLES:
                    where = f"{event.source} line {event.line}" if event.line else event.source
                    found.samples.append(f"{where}: {event.field}: {event.rule}")
                continue
            if not isinstance(event, Message):
                continue  # an attachment: its name and hashes say nothing about tactics
            found.messages += 1
            if progress is not None and found.messages % PROGRESS_EVERY == 0:
                progress(f"{stage}{found.messages:,} messages read")
            key = event.conversation
            found.read.add(key)
            if not keep(key):
                continue
            conversation = found.kept.setdefault(key, _Conversation())
            author = None
            if event.author is not None:
                author = f"{event.author.platform}:{event.author.handle}"
                conversation.predator |= event.author.handle in predators
            pending.append((conversation, author, event.text))
            if len(pending) >= BATCH:
                flush()
    if pending:
        flush()
    return found


def _outcomes(
    labelled: dict[str, bool],
    kept: dict[str, _Conversation],
    assess: Callable[[Sequence[ScoredMessage]], risk.Assessment],
) -> list[metrics.Outcome]:
    found = []
    for key in sorted(labelled):
        messages = kept[key].messages
        verdict = assess(messages)
        found.append(outcome(key, labelled[key], verdict.risk, verdict.flagged_seq, len(messages)))
    return found


def _training_rows(directory: Path) -> list[corpus.Row] | None:
    """Message-level tactic labels, when the folder is in the corpus layout (`messages.csv`
    with a `tactics` column, tactics separated by "|"); None when it is not."""
    path = directory / TACTICS_FILE
    if not path.is_file():
        return None
    rows: list[corpus.Row] = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        table = csv.DictReader(f)
        if "tactics" not in (table.fieldnames or ()):
            return None
        for record in table:
            names = [t.strip() for t in (record.get("tactics") or "").split("|") if t.strip()]
            unknown = [n for n in names if n not in {t.value for t in Tactic}]
            if unknown:
                raise Invalid(
                    f"{path.name} line {table.line_num}",
                    f"tactic {unknown[0]!r} is not one of {', '.join(t.value for t in Tactic)}",
                )
            rows.append(
                corpus.Row(
                    record.get("conversation") or "",
                    record.get("time") or "",
                    record.get("author") or "",
                    record.get("text") or "",
                    tuple(Tactic(n) for n in names),
                )
            )
    return rows


def evaluate(
    directory: Path,
    *,
    tagger: Tagger,
    threshold: float,
    options: ReadOptions,
    folds: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> EvaluationReport:
    """Score every labelled conversation of `directory` and measure the scores against the
    labels (see the module's docstring and `metrics`).

    Without `folds` the tagger is measured as given. With `folds=K`, K-fold cross-validation:
    each fold's conversations are scored by models trained on the other folds — the message
    models and the risk model when the folder carries message-level tactic labels (the corpus
    layout, `messages.csv` with a `tactics` column), else the risk model only, on the given
    tagger's message tags. The figures are over all the held-out scores together.
    `progress` is told, now and then, how far the reading is.
    """
    if not 0.0 <= threshold <= 1.0:
        raise Invalid("threshold", f"must be between 0 and 1, not {threshold}")
    if not directory.is_dir():
        raise Invalid("directory", f"{directory} is not a folder")
    labels = read_labels(directory)
    files = list(chat_files(directory))
    if not files:
        raise NoLabels("directory", f"{directory} holds labels but no chat file")
    training = _training_rows(directory) if folds is not None and labels.conversations else None
    if folds is not None and training is not None:
        return _cross_validate_tagger(directory, files, labels, training, tagger, threshold,
                                      options, folds, progress)  # fmt: skip
    wanted = labels.conversations
    keep: Callable[[str], bool] = (lambda key: key in wanted) if wanted else (lambda _: True)
    found = _read_pass(files, options, tagger, keep, labels.predators, directory, progress)
    labelled = _labelled(found, labels, directory)
    if folds is None:
        outcomes = _outcomes(labelled, found.kept, lambda m: tagger.assess(m, threshold))
        trained = "not cross-validated: the tagger as given"
        if directory.resolve() == corpus.CORPUS_DIR.resolve():
            trained += " (the shipped tagger learnt from this very corpus: with it, these are "
            trained += "figures on its training data; use --folds)"
        return _report(directory, labels, tagger.version, threshold, None, trained, found,
                       labelled, outcomes)  # fmt: skip
    assignment = assign_folds(labelled, folds)
    outcomes, per_fold = [], []
    for fold in range(folds):
        train = [k for k in sorted(labelled) if assignment[k] != fold]
        model = risk.fit(
            [found.kept[k].messages for k in train],
            [int(labelled[k]) for k in train],
            f"{tagger.version}/fold {fold + 1} of {folds}",
        )
        held = {k: v for k, v in labelled.items() if assignment[k] == fold}
        scored = _outcomes(held, found.kept, partial(risk.assess, threshold=threshold, model=model))
        per_fold.append(metrics.figures(scored, threshold).f_half)
        outcomes += scored
    trained = (
        f"{folds}-fold cross-validation: the risk model trained on the other folds' "
        "conversations, the message tags from the tagger as given (the folder has no "
        "message-level tactic labels)"
    )
    return _report(directory, labels, tagger.version, threshold, folds, trained, found,
                   labelled, outcomes, per_fold)  # fmt: skip


def _labelled(found: _Pass, labels: Labels, directory: Path) -> dict[str, bool]:
    """The label of each conversation read and kept; refused when there is none."""
    if not found.read:
        first = f"; first: {found.samples[0]}" if found.samples else ""
        raise NoLabels(
            "directory",
            f"no conversation was read from {plural(found.files, 'file')} of {directory} "
            f"({plural(found.problems, 'problem')}{first})",
        )
    labelled = {}
    for key, conversation in found.kept.items():
        label = labels.of(key, predator=conversation.predator)
        if label is not None:
            labelled[key] = label
    if not labelled:
        some_read = ", ".join(repr(k) for k in sorted(found.read)[:3])
        some_labels = ", ".join(repr(k) for k in sorted(labels.conversations)[:3])
        raise NoLabels(
            "labels",
            f"none of the {len(found.read)} conversations read is labelled in {labels.origin} "
            f"(conversations read: {some_read} …; labelled: {some_labels} …)",
        )
    return labelled


def _report(
    directory: Path,
    labels: Labels,
    version: str,
    threshold: float,
    folds: int | None,
    trained: str,
    found: _Pass,
    labelled: dict[str, bool],
    outcomes: list[metrics.Outcome],
    per_fold: Sequence[float | None] = (),
) -> EvaluationReport:
    return EvaluationReport(
        directory=str(directory),
        labels=labels.origin,
        model_version=version,
        threshold=threshold,
        folds=folds,
        trained=trained,
        files=found.files,
        messages=found.messages,
        problems=found.problems,
        problem_samples=tuple(found.samples),
        conversations_read=len(found.read),
        unlabelled=len(found.read) - len(labelled),
        labels_not_found=len(set(labels.conversations) - found.read),
        figures=metrics.figures(outcomes, threshold),
        fold_f_half=tuple(per_fold),
    )


def _cross_validate_tagger(
    directory: Path,
    files: list[Path],
    labels: Labels,
    training: list[corpus.Row],
    tagger: Tagger,
    threshold: float,
    options: ReadOptions,
    folds: int,
    progress: Callable[[str], None] | None,
) -> EvaluationReport:
    """K-fold cross-validation of the whole tagger: per fold, the message models and the risk
    model built (`tagging.build`, with the given tagger's lexicon) from the other folds'
    labelled messages, and the held-out fold's files read and scored by it. The folder is read
    once per fold, so memory holds one fold's scored sequences, not all."""
    assignment = assign_folds(labels.conversations, folds)
    outcomes: list[metrics.Outcome] = []
    per_fold: list[float | None] = []
    found = _Pass()
    labelled: dict[str, bool] = {}
    for fold in range(folds):
        train = {k for k, f in assignment.items() if f != fold}
        fold_corpus = corpus.Corpus(
            tuple(r for r in training if r.conversation in train),
            {k: int(labels.conversations[k]) for k in sorted(train)},
        )
        fold_tagger = tagging.build(
            fold_corpus, tagger.lexicon, extra_version=[f"fold {fold + 1} of {folds}"]
        )
        held = {k for k, f in assignment.items() if f == fold}
        found = _read_pass(
            files, options, fold_tagger, held.__contains__, root=directory,
            progress=progress, stage=f"fold {fold + 1} of {folds}: ",
        )  # fmt: skip
        fold_labelled = _labelled(found, labels, directory) if found.kept else {}
        labelled.update(fold_labelled)
        scored = _outcomes(
            fold_labelled, found.kept, partial(fold_tagger.assess, threshold=threshold)
        )
        per_fold.append(metrics.figures(scored, threshold).f_half)
        outcomes += scored
    if not labelled:
        _labelled(found, labels, directory)  # refuses, saying why
    trained = (
        f"{folds}-fold cross-validation: the message models and the risk model trained on the "
        f"other folds' labelled messages ({TACTICS_FILE}), with the given tagger's lexicon"
    )
    return _report(directory, labels, tagger.version, threshold, folds, trained, found,
                   labelled, outcomes, per_fold)  # fmt: skip
