"""`taskforce hosting ...` on a fresh SQLite data folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_hub import fresh_hub
from typer.testing import CliRunner

from taskforce.cli import app
from taskforce.hosting import addresses, networks


def _tabs(line: str) -> str:
    """The console prints tab-separated columns with the tabs expanded to stops of 8."""
    return line.expandtabs(8)


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    return fresh_hub(tmp_path, monkeypatch)


def test_import_demo_table_twice_then_locate(run: CliRunner) -> None:
    r = run.invoke(app, ["hosting", "import", str(networks.DEMO_NETWORKS)])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip().splitlines()[-1] == (
        "demo_networks.csv: 20 lines read: 20 networks added, 0 updated, 0 unchanged, 0 bad "
        "lines; 9 providers created, 0 updated"
    )
    again = run.invoke(app, ["hosting", "import", str(networks.DEMO_NETWORKS), "--source", "demo"])
    assert again.exit_code == 0
    assert "demo: 20 lines read: 0 networks added, 0 updated, 20 unchanged" in again.stdout

    r = run.invoke(app, ["hosting", "locate", "203.0.113.40", "193.0.6.139", "192.0.2.5"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == _tabs(
        "203.0.113.40\tNL (provider)\tTulip Webspace (AS64580)\tabuse@tulipwebspace.example.net"
    )
    assert lines[1] == "  - 203.0.113.40: no registry country (address reserved for documentation)"
    assert _tabs("193.0.6.139\tNL (registry)\tprovider unknown\tno abuse contact") in lines
    assert f"  - {addresses.DATA_SOURCE}: 193.0.6.139 is registered in NL" in lines
    assert _tabs("192.0.2.5\tUS (provider)\tQuiet Harbour VPS (AS64570)\tno abuse contact") in lines

    bad = run.invoke(app, ["hosting", "locate", "8.8.8.8", "not-an-ip"])
    assert bad.exit_code == 2
    assert bad.stdout.startswith(_tabs("8.8.8.8\tUS (registry)"))
    assert "error: not-an-ip: must be an IPv4 or IPv6 address" in bad.stderr
    assert run.invoke(app, ["audit", "verify"]).exit_code == 0


def test_import_with_bad_lines_exits_2_and_lists_them(run: CliRunner, tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    rows = ["network,provider,asn"]
    rows += [f"198.51.100.{i}/32,Fictional Hosting B.V.,AS64500" for i in range(30)]
    rows += [f"203.0.113.{i}/24,Fictional Hosting B.V.," for i in range(1, 26)]  # host bits
    table.write_text("\n".join(rows) + "\n")
    r = run.invoke(app, ["hosting", "import", str(table)])
    assert r.exit_code == 2
    assert "line 32: network (203.0.113.1/24) has host bits set: the block is 203.0.113.0/24" in (
        r.stderr
    )
    assert "... and 5 more bad lines" in r.stderr
    assert "30 networks added, 0 updated, 0 unchanged, 25 bad lines" in r.stdout
    missing = run.invoke(app, ["hosting", "import", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2
    header = tmp_path / "header.csv"
    header.write_text("cidr,owner\n192.0.2.0/24,X\n")
    r = run.invoke(app, ["hosting", "import", str(header)])
    assert r.exit_code == 2
    assert "error: header: the first line must name the columns" in r.stderr


def test_provider_add_list_show_set_contact(run: CliRunner) -> None:
    r = run.invoke(
        app,
        [
            "hosting",
            "provider",
            "add",
            "Fictional Hosting B.V.",
            "--asn",
            "AS64500",
            "--country",
            "nl",
            "--abuse-email",
            "Abuse@Hosting.example.net",
        ],
    )
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(
        "added Fictional Hosting B.V. (AS64500, NL, abuse@hosting.example.net) id "
    )
    r = run.invoke(app, ["hosting", "provider", "add", "Quiet Harbour VPS", "--country", "US"])
    assert r.exit_code == 0
    assert "NO ABUSE CONTACT" in r.stdout
    listing = run.invoke(app, ["hosting", "provider", "list"])
    assert listing.stdout.splitlines() == [
        _tabs("Fictional Hosting B.V.\tAS64500\tNL\tabuse@hosting.example.net\t0 networks"),
        _tabs("Quiet Harbour VPS\t—\tUS\tNO ABUSE CONTACT (no notice can be sent)\t0 networks"),
    ]
    only = run.invoke(app, ["hosting", "provider", "list", "--without-contact"])
    assert only.stdout.splitlines() == [listing.stdout.splitlines()[1]]
    r = run.invoke(
        app,
        [
            "hosting",
            "provider",
            "set-contact",
            "quiet harbour vps",
            "abuse@quietharbour.example.net",
        ],
    )
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "Quiet Harbour VPS: abuse contact abuse@quietharbour.example.net"
    shown = run.invoke(app, ["hosting", "provider", "show", "Quiet Harbour VPS"])
    assert "  abuse contact  abuse@quietharbour.example.net" in shown.stdout
    clear = ["hosting", "provider", "set-contact", "Quiet Harbour VPS", "--clear"]
    cleared = run.invoke(app, clear)
    assert cleared.stdout.strip() == "Quiet Harbour VPS: abuse contact none"
    shown = run.invoke(app, ["hosting", "provider", "show", "Quiet Harbour VPS"])
    assert "NONE: no takedown notice can be sent to this provider" in shown.stdout

    for args, code, message in [
        (["add", "Fictional Hosting B.V."], 1, "already exists"),
        (["add", "Other Hosting", "--asn", "AS0"], 2, "asn: must be an AS number"),
        (["add", "Other Hosting", "--country", "XX"], 2, "country: must be an ISO 3166-1"),
        (["add", "Other Hosting", "--abuse-email", "nope"], 2, "abuse_email: must be an e-mail"),
        (["set-contact", "Quiet Harbour VPS", "nope"], 2, "abuse_email: must be an e-mail"),
        (["set-contact", "Quiet Harbour VPS"], 2, "give an e-mail address, --clear or --notes"),
        (["show", "Nobody Hosting"], 1, "hosting provider not found"),
    ]:
        r = run.invoke(app, ["hosting", "provider", *args])
        assert r.exit_code == code, (args, r.output)
        assert message in r.stderr, (args, r.stderr)
