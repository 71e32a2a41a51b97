"""`taskforce chats participants` and `taskforce chats confirm` at the console: who wrote and
what was found, identifiers confirmed by id or by value (the hit with another agency's case
printed), dismissed, and never exit 0 when nothing was done."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import make_network
from chats_builders import PHONE, known_abroad
from cli_hub import fresh_hub, hub_session
from sqlalchemy import select

from taskforce.cases.models import Selector
from taskforce.chats.models import ChatMention
from taskforce.cli import app
from taskforce.core.settings import Settings


def test_list_confirm_and_dismiss_at_the_console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = fresh_hub(tmp_path, monkeypatch)
    settings = Settings(data_dir=tmp_path, allow_insecure_defaults=True)
    with hub_session(tmp_path) as session:
        network = make_network(session)
        known = known_abroad(session, settings, network)
        reference, us_reference = known.case.reference, known.us_case.reference
        snap_id = known.found["snapchat:sam_22"].id

    listed = runner.invoke(
        app, ["chats", "participants", "--case", reference, "--agency", "GB-NCA"]
    )
    assert listed.exit_code == 0, listed.output
    lines = [" ".join(line.split()) for line in listed.stdout.splitlines()]
    assert lines[0].startswith(f"{PHONE} whatsapp 3 messages")
    assert "proposed phone club" in lines[0]
    assert lines[1].startswith("Kim whatsapp 1 message ")
    assert "no account" in lines[1]  # a contact name
    snap_line = next(line for line in lines if line.startswith(str(snap_id)))
    # id, type, value on its platform, from the text, seen twice, proposed, first in message 3
    assert snap_line == f"{snap_id} username sam_22 on snapchat text 2x proposed club #3"
    assert "identifiers 4 proposed, 0 confirmed, 0 dismissed" in " ".join(listed.output.split())

    by_value = runner.invoke(
        app,
        ["chats", "confirm", "020 7946 0958", str(snap_id), "--case", reference,
         "--agency", "GB-NCA", "--note", "Sam, the coach"],
    )  # fmt: skip
    assert by_value.exit_code == 0, by_value.output
    said = " ".join(by_value.stdout.split())
    assert f"{reference}: 2 confirmed, 2 selector(s) added, 0 already there, 1 new hit(s)" in said

    again = runner.invoke(app, ["chats", "confirm", str(snap_id), "--agency", "GB-NCA"])
    assert again.exit_code != 0
    assert "selector of the case already" in " ".join(again.output.split())

    dismissed = runner.invoke(
        app,
        ["chats", "confirm", "example.com/club", "--case", reference, "--agency", "GB-NCA",
         "--dismiss"],
    )  # fmt: skip
    assert dismissed.exit_code == 0, dismissed.output
    assert "1 identifier(s) dismissed" in dismissed.stdout

    unknown = runner.invoke(
        app, ["chats", "confirm", "nobody", "--case", reference, "--agency", "GB-NCA"]
    )
    assert unknown.exit_code != 0
    assert "nobody" in " ".join(unknown.output.split())
    no_case = runner.invoke(app, ["chats", "confirm", "sam_22", "--agency", "GB-NCA"])
    assert no_case.exit_code != 0
    assert "--case" in " ".join(no_case.output.split())
    stranger = runner.invoke(app, ["chats", "confirm", str(snap_id), "--agency", "US-HSI"])
    assert stranger.exit_code != 0
    assert "not found" in " ".join(stranger.output.split())
    empty = runner.invoke(
        app, ["chats", "participants", "--case", us_reference, "--agency", "US-HSI"]
    )
    assert empty.exit_code == 1
    assert "no chats imported" in " ".join(empty.output.split())

    with hub_session(tmp_path) as session:
        statuses = {m.key: m.status for m in session.scalars(select(ChatMention))}
        assert statuses["+442079460958"] == statuses["snapchat:sam_22"] == "confirmed"
        assert statuses["http://example.com/club"] == "dismissed"
        notes = set(session.scalars(select(Selector.note).where(Selector.kind == "username")))
        assert notes == {"Sam, the coach"}


def test_confirm_is_recorded_for_the_investigator_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--as` names who confirms, as the import's `--as` and the review's `--reviewer` do: the
    selector is theirs; a read-only user of the agency may not, and nothing changes."""
    runner = fresh_hub(tmp_path, monkeypatch)
    settings = Settings(data_dir=tmp_path, allow_insecure_defaults=True)
    with hub_session(tmp_path) as session:
        network = make_network(session)
        known = known_abroad(session, settings, network)
        snap_id = str(known.found["snapchat:sam_22"].id)
        investigator, reader = network.gb.user, network.gb_reader.user
        investigator_id, investigator_email, reader_email = (
            investigator.id,
            investigator.email,
            reader.email,
        )
    base = ["chats", "confirm", snap_id, "--agency", "GB-NCA"]
    refused = runner.invoke(app, [*base, "--as", reader_email])
    assert refused.exit_code != 0
    assert "not found" not in refused.output, refused.output  # refused for the role
    done = runner.invoke(app, [*base, "--as", investigator_email])
    assert done.exit_code == 0, done.output
    with hub_session(tmp_path) as session:
        [selector] = session.scalars(select(Selector).where(Selector.kind == "username")).all()
        assert selector.added_by_id == investigator_id
