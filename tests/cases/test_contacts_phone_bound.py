"""The phone search's shortcut (`contacts.fewest_digits`): a text with too few digits for any
valid number read in the agency's region skips `phonenumbers`' matcher — and finds exactly
what the matcher would have found, on texts built to sit at the bound's edges."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from taskforce.cases import contacts

REGIONS = ("GB", "US", "DE", "FR", "NL", "IT", "AU", "AT", "GG", "AR", None)
WORDS = ("call", "me", "on", "age", "room", "ok", "tel", "ref", "at", "my", "number", "is")
SEPARATORS = ("", " ", "-", ".", "/", " (", ") ", "  ")
PREFIXES = ("", "", "", "0", "00", "011", "+", "+44 ", "+1 ", "0044 ", "＋", "(0)")


def _text(rng: random.Random) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(1, 4)):
        parts.append(rng.choice(WORDS))
        if rng.random() < 0.7:
            groups = [
                "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 5)))
                for _ in range(rng.randint(1, 4))
            ]
            number = rng.choice(SEPARATORS).join(groups)
            parts.append(rng.choice(PREFIXES) + number)
    return " ".join(parts)


def test_the_bound_changes_nothing_the_matcher_would_find(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(19)
    texts = [_text(rng) for _ in range(700)]
    texts += ["020 7946 0718", "07946 071", "+44 20 7946 0718", "0044 20 7946 0718", "12 34 56"]
    texts += ["(0)20 7946 0718", "call 1481 123456", "my number is 946071", "age 345678"]
    with_bound = {(t, r): contacts.find(t, r) for t in texts for r in REGIONS}
    monkeypatch.setattr(contacts, "fewest_digits", lambda _region: 0)
    without = {(t, r): contacts.find(t, r) for t in texts for r in REGIONS}
    assert with_bound == without
    assert any(with_bound.values())  # numbers were found, not only nothing both ways


def test_too_few_digits_skip_the_matcher_and_real_numbers_are_still_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert contacts.fewest_digits("GB") == 7  # GB numbers have 7 digits at least; 00 + 6 abroad
    assert contacts.fewest_digits("AR") == 0  # its plan rewrites national prefixes: no bound
    real = phonenumbers.PhoneNumberMatcher
    asked: list[str] = []

    def counting(text: str, *args: object, **kwargs: object) -> phonenumbers.PhoneNumberMatcher:
        asked.append(text)
        return real(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(phonenumbers, "PhoneNumberMatcher", counting)
    assert contacts.find("how old are you btw 345678", "GB") == []
    assert asked == []  # six digits in all: no GB number can be there
    found = contacts.find("ring me on 020 7946 0718", "GB")
    assert [c.key for c in found] == ["+442079460718"]
    assert asked == ["ring me on 020 7946 0718"]
