"""The rule lexicon of the tactic tagger: plain phrases, in several languages, that show a
grooming tactic ("how old are you", "don't tell your parents", "add me on …"), each with the
reason it is there. Rules live in `lexicon.csv` (`id,tactic,language,pattern,why`) so that an
analyst can read, review and extend them without reading code.

Patterns are Python regular expressions matched without regard to case. They use bounded
repetition only and never a quantified group inside a quantified group, so matching is linear
in the text however hostile it is (checked when the lexicon loads).

Speed: trying 150 patterns at every position of every message would read each message 150
times. Each rule instead names, from its own pattern, the whole words any match must contain
(its anchors: "alone" for "are you home alone"); a message's words pick the few rules worth
trying. A rule without an anchor is tried on every message.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from taskforce.chats.kinds import RuleHit
from taskforce.chats.tactics import Tactic

LEXICON_PATH = Path(__file__).with_name("lexicon.csv")
COLUMNS = ("id", "tactic", "language", "pattern", "why")
WORD = re.compile(r"\w+")
_RULE_ID = re.compile(r"^[a-z]{2}-[a-z0-9-]{1,60}$")
# a quantifier applied to a group that itself holds a quantifier: the shape that backtracks
_NESTED = re.compile(r"\([^()]*[*+?}][^()]*\)[*+{]")
_UNBOUNDED = re.compile(r"(?<!\\)[*+]")


class LexiconError(ValueError):
    """A rule of the lexicon file is wrong; the message names the line and the rule broken."""


@dataclass(frozen=True)
class Rule:
    id: str
    tactic: Tactic
    language: str
    pattern: str
    why: str


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    regex: re.Pattern[str]
    anchors: frozenset[str]  # whole words every match contains (any one of them); empty: none


_SEPARATORS = " -'/.,!:"
# words in most messages: a rule anchored on one would be tried on most messages, so another
# of its words is preferred (any choice is correct; this one is only faster)
_COMMON_BY_LANGUAGE = (
    "a an the i you u me my your ur we it is are r do to on in at of for and or what how",
    "can get will ll send see so like just that this be have with want wanna",
    "du ich dir dich mir bist ist es das die der und mal",
    "je tu te le la les un une de des et es est pas moi toi",
    "el los que y una jij ik het een en ben zijn mij",
)
COMMON = frozenset(word for words in _COMMON_BY_LANGUAGE for word in words.split())
_PLAIN = re.compile(r"(?:\?:)?[\w' -]+")


def _tokens(pattern: str) -> list[tuple[str, str]]:
    """The top level of a pattern as (kind, text): "b" a word boundary, "lit" a literal
    character, "group" a group's body, "opt" a quantifier, "x" anything else."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            esc = pattern[i + 1 : i + 2]
            tokens.append(("b", "") if esc == "b" else ("x", esc))
            i += 2
        elif ch == "(":
            depth, j = 1, i + 1
            while j < n and depth:
                if pattern[j] == "\\":
                    j += 2
                    continue
                depth += pattern[j] == "("
                depth -= pattern[j] == ")"
                j += 1
            tokens.append(("group", pattern[i + 1 : j - 1]))
            i = j
        elif ch == "[":
            close = pattern.find("]", i + 2)
            tokens.append(("x", "[]"))
            i = close + 1 if close != -1 else n
        elif ch in "?*+{":
            close = pattern.find("}", i) if ch == "{" else i
            tokens.append(("opt", ch))
            i = (close if close != -1 else n) + 1
        elif ch in "|^$.":
            tokens.append(("x", ch))
            i += 1
        else:
            tokens.append(("lit", ch))
            i += 1
    return tokens


def _complete_words(text: str, left_ok: bool, right_ok: bool) -> list[str]:
    """The words of a literal phrase that are whole words in any match of it."""
    parts = re.split(r"([^\w]+)", text)
    words: list[str] = []
    for k, part in enumerate(parts):
        if not part or not re.fullmatch(r"\w+", part):
            continue
        if (k > 0 or left_ok) and (k < len(parts) - 1 or right_ok):
            words.append(part.lower())
    return words


def anchors_of(pattern: str) -> frozenset[str]:
    """Words of which every match of `pattern` contains at least one, read from its top level:
    the longest whole literal word, or a required group of plain alternatives ("(pretty|cute)"
    → either word). Empty when there is none: the rule is then tried on every message."""
    tokens = _tokens(pattern)
    if any(kind == "x" and text == "|" for kind, text in tokens):
        return frozenset()
    candidates: list[frozenset[str]] = []

    def boundary(k: int, step: int) -> bool:
        """Whether the token at `k` (reading in direction `step`) puts a word edge there,
        looking through an optional group that starts (or ends) with a separator."""
        if k < 0 or k >= len(tokens):
            return False
        kind, text = tokens[k]
        if kind == "b" or (kind == "lit" and text in _SEPARATORS):
            return True
        if step > 0 and kind == "group" and k + 1 < len(tokens) and tokens[k + 1][0] == "opt":
            return text[:1] in _SEPARATORS and boundary(k + 2, step)
        if step < 0 and kind == "opt" and k >= 1 and tokens[k - 1][0] == "group":
            return tokens[k - 1][1][-1:] in _SEPARATORS and boundary(k - 2, step)
        return False

    k = 0
    while k < len(tokens):
        kind, text = tokens[k]
        if kind == "lit" and (text.isalnum() or text == "_"):
            j = k
            while (
                j < len(tokens)
                and tokens[j][0] == "lit"
                and (tokens[j][1].isalnum() or tokens[j][1] == "_")
            ):
                j += 1
            quantified = j < len(tokens) and tokens[j][0] == "opt"
            if (
                not quantified
                and boundary(k - 1, -1)
                and boundary(j, 1)
                and (
                    j >= len(tokens)
                    or tokens[j][0] != "lit"
                    or (j + 1 >= len(tokens) or tokens[j + 1][0] != "opt")
                )
            ):
                word = "".join(t for _, t in tokens[k:j]).lower()
                candidates.append(frozenset({word}))
            k = j
            continue
        if kind == "group":
            quantified = k + 1 < len(tokens) and tokens[k + 1][0] == "opt"
            alternatives = text.removeprefix("?:").split("|")
            if not quantified and all(_PLAIN.fullmatch(a) for a in alternatives):
                left, right = boundary(k - 1, -1), boundary(k + 1, 1)
                chosen = []
                for alt in alternatives:
                    words = _complete_words(alt, left, right)
                    if not words:
                        break
                    chosen.append(max(words, key=len))
                else:
                    candidates.append(frozenset(chosen))
        k += 1
    if not candidates:
        return frozenset()
    return max(
        candidates,
        key=lambda words: (not words & COMMON, min(map(len, words)), -len(words)),
    )


def _check_pattern(pattern: str, where: str) -> re.Pattern[str]:
    if _UNBOUNDED.search(pattern.replace("\\\\", "")):
        raise LexiconError(f"{where}: pattern: use bounded repetition ({{0,20}}), not * or +")
    if _NESTED.search(pattern):
        raise LexiconError(f"{where}: pattern: a repeated group holds a repetition (backtracks)")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise LexiconError(f"{where}: pattern: not a regular expression ({exc})") from exc


def read_rules(path: Path = LEXICON_PATH) -> list[Rule]:
    """The rules of a lexicon file, checked: each problem names its line and the rule broken."""
    rules: list[Rule] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise LexiconError(f"{path.name}:1: header: expected {','.join(COLUMNS)}")
        for row in reader:
            where = f"{path.name}:{reader.line_num}"
            rule_id = (row.get("id") or "").strip()
            if not _RULE_ID.match(rule_id):
                raise LexiconError(f"{where}: id: {rule_id!r} is not like 'en-age-how-old'")
            if rule_id in seen:
                raise LexiconError(f"{where}: id: {rule_id!r} appears twice")
            seen.add(rule_id)
            try:
                tactic = Tactic(row.get("tactic") or "")
            except ValueError:
                raise LexiconError(
                    f"{where}: tactic: {row.get('tactic')!r} is not one of "
                    + ", ".join(t.value for t in Tactic)
                ) from None
            language = (row.get("language") or "").strip()
            if not re.fullmatch(r"[a-z]{2}", language):
                raise LexiconError(f"{where}: language: {language!r} is not a two-letter code")
            if not (row.get("why") or "").strip():
                raise LexiconError(f"{where}: why: every rule says why it is there")
            pattern = row.get("pattern") or ""
            _check_pattern(pattern, where)
            rules.append(Rule(rule_id, tactic, language, pattern, row["why"].strip()))
    return rules


class Lexicon:
    """The compiled rules, with the index from anchor words to the rules that need them."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)
        compiled = [
            _Compiled(rule, _check_pattern(rule.pattern, rule.id), anchors_of(rule.pattern))
            for rule in self.rules
        ]
        self._always = tuple(c for c in compiled if not c.anchors)
        index: dict[str, list[_Compiled]] = {}
        for c in compiled:
            for word in c.anchors:
                index.setdefault(word, []).append(c)
        self._index = {word: tuple(found) for word, found in index.items()}
        self.by_id = {rule.id: rule for rule in self.rules}
        digest = hashlib.sha256()
        for rule in self.rules:
            digest.update("\x1f".join((rule.id, rule.tactic, rule.pattern)).encode() + b"\x1e")
        self.version = digest.hexdigest()[:16]

    @property
    def languages(self) -> list[str]:
        return sorted({rule.language for rule in self.rules})

    def find(self, text: str) -> list[RuleHit]:
        """The rules that fire in `text`, in the order of the text (character offsets)."""
        index = self._index
        candidates: dict[str, _Compiled] = {c.rule.id: c for c in self._always}
        for word in set(WORD.findall(text.lower())):
            found = index.get(word)
            if found is not None:
                for c in found:
                    candidates[c.rule.id] = c
        hits = [
            RuleHit(c.rule.tactic, c.rule.id, match.start(), match.end())
            for c in candidates.values()
            for match in c.regex.finditer(text)
        ]
        hits.sort(key=lambda hit: (hit.start, hit.end, hit.rule))
        return hits


@cache
def shipped() -> Lexicon:
    """The lexicon shipped with taskforce (compiled once per process)."""
    return Lexicon(read_rules())
