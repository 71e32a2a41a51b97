"""Hosting providers and the address blocks they announce, with the abuse contact notices go to.

The table is filled by an administrator (an IP-to-network file derived from RIR or routing
data, or by hand); the offline registry lookup (iptocc) gives only a country, this gives the
provider and where to send the notice.
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, Origin, Timestamps, UUIDPk


class HostingProvider(Base, UUIDPk, Timestamps, Origin):
    __tablename__ = "hosting_provider"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    # autonomous system number, 1..4294967295 (32-bit ASNs: above PostgreSQL's INTEGER)
    asn: Mapped[int | None] = mapped_column(BigInteger, index=True)
    country: Mapped[str | None] = mapped_column(String(2))  # where it is registered, ISO alpha-2
    abuse_email: Mapped[str | None] = mapped_column(String(320))
    notes: Mapped[str] = mapped_column(Text, default="")
    # The agency that keeps the record (registered it): its people and the network's stewards
    # change it, anyone else proposes (hosting/stewardship.py). NULL: the network's own record.
    owner_agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agency.id"), index=True)


class HostingNetwork(Base, UUIDPk):
    """One address block of a provider. `first`/`last` are the block's bounds as 32 hex digits
    (IPv4 mapped into IPv6), so "which block holds this address" is a range query on both
    databases; the longest prefix wins."""

    __tablename__ = "hosting_network"
    __table_args__ = (UniqueConstraint("cidr"),)

    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("hosting_provider.id", ondelete="CASCADE"), index=True
    )
    cidr: Mapped[str] = mapped_column(String(49))
    first: Mapped[str] = mapped_column(String(32), index=True)
    last: Mapped[str] = mapped_column(String(32))
    prefix_length: Mapped[int] = mapped_column(Integer)  # in the IPv6-mapped space (0..128)
    country: Mapped[str | None] = mapped_column(String(2))  # where the block is used, if known
