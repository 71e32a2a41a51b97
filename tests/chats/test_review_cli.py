"""`taskforce chats queue` and `taskforce chats review` at the console: the queue riskiest first
with the flag and the tactics, a decision recorded for a named reviewer of the agency, and a
refusal that names the field (never exit 0 when nothing was done)."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import make_case, make_network
from chats_builders import conversation, grooming_lines, ordinary_lines
from cli_hub import fresh_hub, hub_session
from sqlalchemy import select

from taskforce.chats.models import ChatConversation, ChatReview
from taskforce.cli import app


def test_queue_then_review_at_the_console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = fresh_hub(tmp_path, monkeypatch)
    with hub_session(tmp_path) as session:
        network = make_network(session)
        case = make_case(session, network.gb, title="Operation Harbour")
        reference = case.reference
        flagged = conversation(session, case, "Chat with Kim", grooming_lines(), risk=0.91)
        conversation(session, case, "Football", ordinary_lines(), risk=0.05)
        flagged_id, analyst = flagged.id, network.gb_analyst.user.email

    listed = runner.invoke(app, ["chats", "queue", "--agency", "GB-NCA", "--case", reference])
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.stdout.splitlines() if line.strip()]
    assert "id, risk, flagged, decision, case, messages, tactics, title" in listed.stderr
    assert lines[0].split()[:5] == [str(flagged_id), "0.91", "FLAGGED", "unreviewed", reference]
    assert "Secrecy ×1" in lines[0]
    assert lines[0].endswith("Chat with Kim")
    assert lines[1].split()[1:3] == ["0.05", "-"]

    refused = runner.invoke(
        app,
        ["chats", "review", str(flagged_id), "--decision", "concern", "--agency", "GB-NCA",
         "--reviewer", analyst],
    )  # fmt: skip
    assert refused.exit_code == 2
    assert "note" in refused.output
    assert "say what the concern is" in refused.output

    short = runner.invoke(
        app,
        ["chats", "review", str(flagged_id)[:8], "--decision", "concern", "--note", "x",
         "--agency", "GB-NCA", "--reviewer", analyst],
    )  # fmt: skip
    assert short.exit_code == 2  # a message naming what to give, never a traceback
    assert f"'{str(flagged_id)[:8]}' is not a conversation id" in " ".join(short.stderr.split())
    assert short.exception is None or isinstance(short.exception, SystemExit)

    stranger = runner.invoke(
        app,
        ["chats", "review", str(flagged_id), "--decision", "concern", "--note", "x",
         "--agency", "GB-NCA", "--reviewer", "investigator.us-hsi@example.com"],
    )  # fmt: skip
    assert stranger.exit_code != 0
    assert "not found" in stranger.output

    done = runner.invoke(
        app,
        ["chats", "review", str(flagged_id), "--decision", "concern", "--note",
         "age asked, then secrecy and another app", "--agency", "GB-NCA", "--reviewer", analyst],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert f"concern recorded for {analyst}" in done.stdout

    with hub_session(tmp_path) as session:
        row = session.scalars(select(ChatReview)).one()
        assert (row.decision, row.reviewer_user_id is not None) == ("concern", True)
        assert session.get(ChatConversation, flagged_id).decision == "concern"  # type: ignore[union-attr]

    waiting = runner.invoke(app, ["chats", "queue", "--agency", "GB-NCA"])
    assert str(flagged_id) not in waiting.stdout
    everything = runner.invoke(app, ["chats", "queue", "--agency", "GB-NCA", "--all"])
    assert f"{flagged_id} 0.91 FLAGGED concern" in " ".join(everything.stdout.split())

    empty = runner.invoke(app, ["chats", "queue", "--agency", "US-HSI"])
    assert empty.exit_code == 1
    assert "nothing to review" in empty.output
