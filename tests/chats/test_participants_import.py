"""Identifiers noted by a real import (`importing.import_file` of a CSV export): the authors'
accounts on the export's platform and what the messages say; a re-import counts nothing
twice; a dismissed identifier stays dismissed when a later export holds it again; a confirmed
one deconflicts with another agency's case."""

from __future__ import annotations

from pathlib import Path

from builders import add_selector, make_case, make_network
from chats_builders import by_key, csv_export, import_path, write_export
from sqlalchemy.orm import Session

from taskforce.chats import participants
from taskforce.core.settings import Settings

LOBBY = [
    ("2026-02-03 19:00:00", "game-lobby", "tiger_77", "Tiger", "hey nice game today", ""),
    ("2026-02-03 19:00:40", "game-lobby", "kid.lena", "Lena", "thanks!! you too", ""),
    ("2026-02-03 19:01:30", "game-lobby", "tiger_77", "Tiger", "my snap is tiger.77x", ""),
    ("2026-02-03 19:02:00", "game-lobby", "kid.lena", "Lena", "ok", ""),
    ("2026-02-03 19:03:00", "game-lobby", "tiger_77", "Tiger", "or text 020 7946 0958", ""),
]
LATER = [
    ("2026-02-05 18:00:00", "game-lobby-2", "tiger_77", "Tiger", "snap: tiger.77x", ""),
]


def test_an_import_notes_identifiers_once_and_a_dismissal_survives_the_next(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    network = make_network(session)
    case = make_case(session, network.gb, title="Operation Lobby")
    first = write_export(tmp_path, "lobby.csv", csv_export(LOBBY, platform="discord"))
    import_path(session, settings, network.gb, case, first)
    found = by_key(session, case)
    assert set(found) == {
        "discord:tiger_77",  # authors on the export's platform: their accounts
        "discord:kid.lena",
        "snapchat:tiger.77x",
        "+442079460958",  # read in GB, the importing agency's country
    }
    tiger = found["discord:tiger_77"]
    assert (tiger.origin, tiger.occurrences) == ("author", 3)
    assert found["snapchat:tiger.77x"].origin == "text"

    import_path(session, settings, network.gb, case, first)  # the same file again
    session.expire_all()
    assert by_key(session, case)["discord:tiger_77"].occurrences == 3

    snap = by_key(session, case)["snapchat:tiger.77x"]
    participants.dismiss(session, network.gb.caller, [snap.id])
    later = write_export(tmp_path, "later.csv", csv_export(LATER, platform="discord"))
    import_path(session, settings, network.gb, case, later)
    session.expire_all()
    snap = by_key(session, case)["snapchat:tiger.77x"]
    assert (snap.status, snap.occurrences) == ("dismissed", 2)

    us_case = make_case(session, network.us, title="Operation Heron")
    add_selector(session, settings, network.us, us_case, "phone", "+44 20 7946 0958")
    phone = by_key(session, case)["+442079460958"]
    result = participants.confirm(session, network.gb.caller, settings, [phone.id])
    assert (result.added, result.hits) == (1, 1)
    listing = participants.list_participants(session, network.gb.caller, case.id)
    by_handle = {p.handle: p for p in listing.participants}
    assert by_handle["tiger_77"].message_count == 4
    assert by_handle["tiger_77"].names == ["Tiger"]
    assert [c.title for c in by_handle["tiger_77"].conversations] == ["game-lobby", "game-lobby-2"]
