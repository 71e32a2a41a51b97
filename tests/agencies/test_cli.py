"""The administrator's first hour at the console, on a fresh SQLite data folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_hub import fresh_hub
from typer.testing import CliRunner

from taskforce.cli import app


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    return fresh_hub(tmp_path, monkeypatch)


def test_register_agency_user_and_token(run: CliRunner) -> None:
    r = run.invoke(
        app,
        [
            "agency",
            "add",
            "gb-nca",
            "--name",
            "National Crime Agency",
            "--country",
            "gb",
            "--timezone",
            "Europe/London",
            "--phone",
            "020 7946 0000",
            "--email",
            "Desk@NCA.example.com",
        ],
    )
    assert r.exit_code == 0, r.output
    assert (
        "registered GB-NCA (National Crime Agency, GB, Europe/London, law enforcement)" in r.output
    )
    r = run.invoke(
        app,
        ["user", "add", "ana@nca.example.com", "--agency", "GB-NCA", "--role", "investigator"],
        input="a-long-passphrase\n",
    )
    assert r.exit_code == 0, r.output
    r = run.invoke(app, ["token", "create", "ana@nca.example.com"])
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1].split()[-1]
    assert token.startswith("tf_")
    assert len(token) > 40
    listing = run.invoke(app, ["agency", "list"])
    assert "+442079460000" in listing.output
    assert "desk@nca.example.com" in listing.output
    assert run.invoke(app, ["audit", "verify"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--country", "XX", "--timezone", "Europe/London"], "country: must be an ISO 3166-1"),
        (["--country", "GB", "--timezone", "Mars/Olympus"], "timezone: must be an IANA time zone"),
    ],
)
def test_bad_input_exits_2_naming_the_field(run: CliRunner, args: list[str], message: str) -> None:
    r = run.invoke(
        app,
        [
            "agency",
            "add",
            "GB-NCA",
            "--name",
            "NCA",
            *args,
            "--phone",
            "+442079460000",
            "--email",
            "desk@example.com",
        ],
    )
    assert r.exit_code == 2
    assert message in r.output


def test_token_for_unknown_user_fails(run: CliRunner) -> None:
    r = run.invoke(app, ["token", "create", "nobody@example.com"])
    assert r.exit_code == 1
    assert "user not found" in r.output
