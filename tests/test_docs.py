"""Docs kept true by tests: every setting is documented."""

from __future__ import annotations

from pathlib import Path

from taskforce.core.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()
    missing = [n for n in Settings.model_fields if f"TASKFORCE_{n.upper()}" not in text]
    assert missing == []
