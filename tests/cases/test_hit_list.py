"""The hit list reads its hits' cases, selectors and agencies in a few queries (issue 15): what
each line discloses must stay what a single hit's page discloses, and the unacknowledged filter
must reach past newer acknowledged hits."""

from __future__ import annotations

import re

from builders import Network, add_selector, make_case
from sqlalchemy import event
from sqlalchemy.orm import Session

from taskforce.cases import hits
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel

GREEN, AMBER, RED = SharingLevel.GREEN, SharingLevel.AMBER, SharingLevel.RED


def _mixed_hits(session: Session, settings: Settings, network: Network) -> None:
    """NL's case meets a GREEN, an AMBER (NL a partner), an AMBER (NL not) and a RED case, and
    one of NL's own cases (a hit seen from both sides)."""
    nl_case = make_case(session, network.nl, title="NL op", sharing=RED)
    nl_other = make_case(session, network.nl, title="NL second op", sharing=RED)
    add_selector(session, settings, network.nl, nl_case, "email", "own@example.com")
    add_selector(session, settings, network.nl, nl_other, "email", "own@example.com")
    others = [  # the newest hit names an AMBER case: the list with limit=1 reads its partners
        make_case(session, network.gb, title="GB green", sharing=GREEN),
        make_case(session, network.us, title="US amber", sharing=AMBER, partners=["GB-NCA"]),
        make_case(session, network.us, title="US red", sharing=RED),
        make_case(session, network.gb, title="GB amber NL", sharing=AMBER, partners=["NL-NP"]),
    ]
    for i, case in enumerate(others):
        owner = network.gb if case.title.startswith("GB") else network.us
        add_selector(session, settings, owner, case, "email", f"suspect{i}@example.com")
        add_selector(session, settings, network.nl, nl_case, "email", f"suspect{i}@example.com")


def test_each_line_discloses_what_the_hit_itself_does(
    session: Session, settings: Settings, network: Network
) -> None:
    _mixed_hits(session, settings, network)
    listed = hits.list_hits(session, network.nl.caller)
    assert len(listed) == 6  # four hits with other agencies, one own hit seen from both sides
    titles = {line.other.title for line in listed if line.other.disclosure == "full"}
    assert titles == {"GB green", "GB amber NL", "NL op", "NL second op"}
    assert sum(line.other.disclosure == "blind" for line in listed) == 2
    for line in listed:
        if line.case_title == "NL op" and line.other.title == "NL second op":
            continue  # the own hit: get_hit shows the first side only
        single = hits.get_hit(session, network.nl.caller, line.id)
        assert single.other == line.other
        assert (single.case_id, single.selector_value) == (line.case_id, line.selector_value)


def test_the_list_costs_the_same_queries_for_one_hit_or_many(
    session: Session, settings: Settings, network: Network
) -> None:
    _mixed_hits(session, settings, network)
    statements: list[str] = []

    def count(*args: object) -> None:  # (connection, cursor, statement, ...)
        statements.append(str(args[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        session.expunge_all()
        hits.list_hits(session, network.nl.caller, limit=1)
        one = len(statements)
        statements.clear()
        session.expunge_all()
        hits.list_hits(session, network.nl.caller)
        many = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert many == one


def test_unacknowledged_reaches_past_newer_acknowledged_hits(
    session: Session, settings: Settings, network: Network
) -> None:
    _mixed_hits(session, settings, network)
    newest = hits.list_hits(session, network.nl.caller, limit=1)[0]
    hits.assess_hit(session, network.nl.caller, newest.id, None)
    [line] = hits.list_hits(session, network.nl.caller, unacknowledged=True, limit=1)
    assert line.id != newest.id
    assert line.acknowledged_at is None


def test_an_additions_reply_reads_no_agency_or_case_again(
    session: Session, settings: Settings, network: Network
) -> None:
    """The reply's hit views take the cases and agencies the addition read for its notices
    from the session instead of reading them again."""
    _mixed_hits(session, settings, network)
    us_case = make_case(session, network.us, title="US late", sharing=GREEN)
    statements: list[str] = []

    def count(*args: object) -> None:  # (connection, cursor, statement, ...)
        statements.append(str(args[2]))

    engine = session.get_bind()
    session.expunge_all()
    event.listen(engine, "before_cursor_execute", count)
    try:
        added = add_selector(session, settings, network.us, us_case, "email", "own@example.com")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(added.hits) == 2
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    tables = [re.findall(r"\bFROM (\w+)", s) for s in reads]
    assert sum(t[:1] == ["agency"] for t in tables) == 1  # the notices' one read
