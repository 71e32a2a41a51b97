"""A network table's lines within the parser budget (issue 11)."""

from __future__ import annotations

import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.caller import system_caller
from taskforce.hosting import networks
from taskforce.hosting.models import HostingNetwork

ADMIN = system_caller()


def test_a_line_too_long_is_one_bad_line_and_its_tail_is_not_read_as_a_row(
    session: Session,
) -> None:
    # Before, lines were cut every 64 KiB and each piece read as a line: the tail of this
    # long line, starting at a multiple of 64 KiB, became a network of its own.
    head = "198.51.100.0/24,Padding Hosting,"
    long_line = head + "x" * (3 * (1 << 16) - len(head)) + "192.0.2.0/24,Injected Hosting\n"
    data = "network,provider\n" + long_line + "203.0.113.0/24,Good Hosting\n"
    report = networks.import_networks(
        session, ADMIN, networks.read_lines(io.BytesIO(data.encode())), source="long.csv"
    )
    assert [(b.line, b.field, b.rule) for b in report.bad_lines] == [
        (2, "line", "is longer than 131,072 bytes")
    ]
    assert report.added == 1
    cidrs = session.scalars(select(HostingNetwork.cidr)).all()
    assert [str(c) for c in cidrs] == ["203.0.113.0/24"]
