"""The rule lexicon: each language's plain phrases fire the right tactic, where they are;
ordinary lines that look alike fire nothing; a broken rule file is refused with its line; the
anchor-word shortcut never loses a match the patterns would make."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from taskforce.chats import corpus, lexicon
from taskforce.chats.lexicon import Lexicon, LexiconError, anchors_of, read_rules
from taskforce.chats.tactics import Tactic

T = Tactic

HITS = [
    ("en", "hey how old r u?", T.AGE_PROBING, "how old r u"),
    ("en", "pls don't tell your parents about this", T.SECRECY, "don't tell your parents"),
    ("en", "are you home alone right now", T.ISOLATION, "are you home alone right now"),
    ("en", "add me on snapchat", T.PLATFORM_MOVE, "add me on snapchat"),
    ("en", "i'll top up your phone", T.GIFTS, "top up your phone"),
    ("en", "Send me a pic of you", T.IMAGE_REQUEST, "Send me a pic of you"),
    ("en", "turn on your cam", T.IMAGE_REQUEST, "turn on your cam"),
    ("en", "we should meet up in person", T.MEETING, "we should meet up in person"),
    ("en", "do you trust me?", T.COMPLIANCE_TESTING, "do you trust me"),
    ("en", "you're so mature for your age", T.FLATTERY, "you're so mature for your age"),
    ("de", "Wie alt bist du?", T.AGE_PROBING, "Wie alt bist du"),
    ("de", "sag deinen eltern nichts", T.SECRECY, "sag deinen eltern nichts"),
    ("de", "schreib mir auf whatsapp", T.PLATFORM_MOVE, "schreib mir auf whatsapp"),
    ("fr", "t'as quel âge ?", T.AGE_PROBING, "t'as quel âge"),
    ("fr", "ne dis rien à tes parents", T.SECRECY, "ne dis rien à tes parents"),
    ("fr", "allume ta caméra", T.IMAGE_REQUEST, "allume ta caméra"),
    ("es", "¿cuántos años tienes?", T.AGE_PROBING, "cuántos años tienes"),
    ("es", "agrégame a telegram", T.PLATFORM_MOVE, "agrégame a"),
    ("es", "te recargo el móvil", T.GIFTS, "te recargo el móvil"),
    ("nl", "hoe oud ben je", T.AGE_PROBING, "hoe oud ben je"),
    ("nl", "zeg niks tegen je ouders", T.SECRECY, "zeg niks tegen je ouders"),
    ("nl", "waar woon je?", T.MEETING, "waar woon je"),
    ("it", "quanti anni hai?", T.AGE_PROBING, "quanti anni hai"),
    ("pt", "você confia em mim?", T.COMPLIANCE_TESTING, "você confia em mim"),
]

# ordinary lines that look like a tactic: a parent, a teacher, classmates, friends
HARD_NEGATIVES = [
    "How old is your sister now?",
    "Go to your room and finish your homework please",
    "I got you a birthday present, it's a book",
    "Let's meet at the library after class to finish the project",
    "My mum will pick us up after the match",
    "What's the wifi password at your house",
    "Can you send me the homework page, I forgot my book",
    "how old is the building? built in 1900 i think",
    "wie alt ist deine schwester jetzt",
    "du bist besonders gut in Mathe",
    "ta sœur a quel âge maintenant",
    "cuántos años tiene tu hermana",
    "hoe oud is je zus nu",
    "Happy birthday!! how does it feel to be twelve",
]


@pytest.mark.parametrize(("language", "text", "tactic", "span"), HITS)
def test_each_language_fires_the_tactic_where_it_is(
    language: str, text: str, tactic: Tactic, span: str
) -> None:
    hits = lexicon.shipped().find(text)
    matching = [h for h in hits if h.tactic == tactic]
    assert matching, f"no {tactic} rule fired on {text!r}"
    hit = matching[0]
    assert text[hit.start : hit.end] == span
    assert hit.rule.startswith(f"{language}-")
    assert lexicon.shipped().by_id[hit.rule].why


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_ordinary_lines_that_look_alike_fire_nothing(text: str) -> None:
    assert lexicon.shipped().find(text) == []


def test_the_lexicon_covers_every_tactic_in_five_languages() -> None:
    rules = lexicon.shipped().rules
    for language in ("en", "de", "fr", "es", "nl"):
        covered = {r.tactic for r in rules if r.language == language}
        assert covered == set(Tactic), f"{language} lacks {set(Tactic) - covered}"


def test_anchor_words_never_lose_a_match() -> None:
    """Every corpus line and every test line: the indexed search finds exactly what trying
    every rule finds."""
    shipped = lexicon.shipped()
    brute = [(r, re.compile(r.pattern, re.IGNORECASE)) for r in shipped.rules]
    texts = [r.text for r in corpus.shipped().rows] + [h[1] for h in HITS] + HARD_NEGATIVES
    for text in dict.fromkeys(texts):
        expected = sorted(
            (m.start(), m.end(), rule.id) for rule, rx in brute for m in rx.finditer(text)
        )
        found = sorted((h.start, h.end, h.rule) for h in shipped.find(text))
        assert found == expected, text


def test_anchors_are_words_every_match_holds() -> None:
    assert anchors_of(r"\bare (you|u) (home )?alone\b") == {"alone"}
    assert anchors_of(r"\b(you're|ur) (so )?(pretty|cute)\b") == {"pretty", "cute"}
    assert anchors_of(r"\bbesonders?\b") == frozenset()  # a word cut by '?' is no anchor
    assert anchors_of(r"\b(quel âge|âge quel)\b") == {"quel"}
    assert anchors_of(r"\bprouve(-| )le\b") == frozenset()  # 'prouve' may go on as 'prouve-'


def test_hostile_text_is_read_in_linear_time() -> None:
    """A long message of near-matches: the shortcut and bounded patterns keep it cheap (the
    count of regex matches tried is what is bounded; nothing is timed)."""
    text = "how old are you " * 5000 + "a" * 100_000
    hits = lexicon.shipped().find(text)
    assert len([h for h in hits if h.rule == "en-age-how-old"]) == 5000


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "lexicon.csv"
    path.write_text("id,tactic,language,pattern,why\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("en-x,bribery,en,\\bx\\b,why\n", "lexicon.csv:2: tactic: 'bribery' is not one of"),
        ("en-x,gifts,en,\\bx\\b,\n", "lexicon.csv:2: why: every rule says why"),
        ("en-x,gifts,en,(a+)+,why\n", "lexicon.csv:2: pattern: use bounded repetition"),
        ('en-x,gifts,en,"(a{1,5}){1,5}",why\n', "lexicon.csv:2: pattern: a repeated group"),
        ("en-x,gifts,en,(,why\n", "lexicon.csv:2: pattern: not a regular expression"),
        ("en-x,gifts,en,x,why\nen-x,gifts,en,y,why\n", "lexicon.csv:3: id: 'en-x' appears twice"),
        ("en-x,gifts,english,x,why\n", "lexicon.csv:2: language: 'english'"),
    ],
)
def test_a_broken_rule_is_refused_with_its_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(LexiconError, match=re.escape(message)):
        read_rules(_write(tmp_path, body))


def test_a_custom_lexicon_changes_the_version(tmp_path: Path) -> None:
    one = Lexicon(read_rules(_write(tmp_path, "en-x,gifts,en,\\bfree robux\\b,why\n")))
    assert [h.rule for h in one.find("want FREE ROBUX?")] == ["en-x"]
    assert one.version != lexicon.shipped().version
