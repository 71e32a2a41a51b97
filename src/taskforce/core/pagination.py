"""Paging through lists: one bound on `limit` and `offset` for every list route.

An unbounded integer from a query string reaches the database as it is: above 2^63 the
drivers cannot even send it (SQLite: OverflowError, PostgreSQL: bigint out of range), a 500
for a client's mistake. Every list route declares its page with these two helpers, so the
refusal is a 422 naming `limit` or `offset` and the rule.
"""

from __future__ import annotations

from typing import Any

from fastapi import Query

# The largest 32-bit signed integer: every database and driver takes it, and no list of the hub
# comes near it (a page deeper than that is a client's mistake, not a use).
MAX_OFFSET = 2**31 - 1


def offset_query() -> Any:
    """`offset`: rows to skip, 0 to `MAX_OFFSET`."""
    return Query(default=0, ge=0, le=MAX_OFFSET, description=f"rows to skip, 0 to {MAX_OFFSET:,}")


def limit_query(default: int, most: int) -> Any:
    """`limit`: rows per page, 1 to `most` (the route's own ceiling)."""
    return Query(default=default, ge=1, le=most, description=f"rows per page, 1 to {most:,}")
