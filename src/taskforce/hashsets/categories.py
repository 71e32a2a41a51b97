"""Category schemes: each agency's law names categories differently, so a category is stored
as (scheme, code) and the schemes live side by side.

`taskforce` is the default scheme: what is illegal everywhere (the INTERPOL "baseline"), what
is illegal under national law (A/B/C as in the UK's sentencing guidelines, the most widely
copied national scale), and known-benign files that triage can set aside at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from taskforce.core.errors import Invalid


@dataclass(frozen=True)
class Category:
    scheme: str
    code: str
    label: str
    illegal: bool  # a match means known abuse material, not a benign or unrated file


SCHEMES: dict[str, dict[str, Category]] = {}


def _scheme(name: str, *rows: tuple[str, str, bool]) -> None:
    SCHEMES[name] = {code: Category(name, code, label, illegal) for code, label, illegal in rows}


_scheme(
    "taskforce",
    ("baseline", "Baseline: illegal in every member country", True),
    ("national-a", "Illegal under national law: category A", True),
    ("national-b", "Illegal under national law: category B", True),
    ("national-c", "Illegal under national law: category C", True),
    ("non-pertinent", "Non-pertinent: known benign file", False),
)
# Project VIC (US region), as written in VICS files' `Category` field.
_scheme(
    "vic-us",
    ("0", "Non-pertinent", False),
    ("1", "Child abuse material (CAM)", True),
    ("2", "Child exploitive (non-CAM) / age difficult", False),
    ("3", "CGI / animation, child exploitive", False),
    ("4", "Comparison images", False),
)
# UK Child Abuse Image Database: Sentencing Council categories.
_scheme(
    "uk-caid",
    ("A", "Category A", True),
    ("B", "Category B", True),
    ("C", "Category C", True),
)
# NCMEC hash-sharing classifications, passed through as published (letter and digit).
_scheme(
    "ncmec",
    ("A1", "NCMEC classification A1", True),
    ("A2", "NCMEC classification A2", True),
    ("B1", "NCMEC classification B1", True),
    ("B2", "NCMEC classification B2", True),
)
DEFAULT_SCHEME = "taskforce"


def category(scheme: str, code: str) -> Category:
    """The category, or an error naming the scheme's codes."""
    codes = SCHEMES.get(scheme)
    if codes is None:
        raise Invalid("category_scheme", f"must be one of {', '.join(sorted(SCHEMES))}")
    code = code.strip()
    found = codes.get(code) or codes.get(code.upper()) or codes.get(code.lower())
    if found is None:
        raise Invalid("category", f"in scheme {scheme} must be one of {', '.join(codes)}")
    return found


def parse(text: str, default_scheme: str = DEFAULT_SCHEME) -> Category | None:
    """Read `scheme:code` or a bare code of the default scheme; empty means uncategorised."""
    text = text.strip()
    if not text:
        return None
    scheme, colon, code = text.partition(":")
    if not colon:
        scheme, code = default_scheme, text
    return category(scheme.strip().lower(), code)
