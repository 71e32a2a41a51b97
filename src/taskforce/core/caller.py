"""Who is asking: the user, their agency and role, and through which channel.

Every service function takes a `Caller` first. Permissions are decided from the role here, once;
what records a caller may *see* is decided by `core.sharing` from the caller's agency.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from taskforce.core.errors import Forbidden


class Role(StrEnum):
    NETWORK_ADMIN = "network_admin"
    AGENCY_ADMIN = "agency_admin"
    INVESTIGATOR = "investigator"
    ANALYST = "analyst"
    READ_ONLY = "read_only"
    PROVIDER = "provider"  # an internet provider: may only download the URL block list


class Permission(StrEnum):
    MANAGE_AGENCIES = "manage_agencies"  # register agencies, partnerships, noise list
    MANAGE_USERS = "manage_users"  # users and tokens of one's agency (network admin: any)
    OPEN_CASE = "open_case"  # open, edit, close and reopen cases
    ADD_SELECTOR = "add_selector"
    ASSESS_HIT = "assess_hit"
    SEARCH = "search"
    READ = "read"
    READ_AUDIT = "read_audit"
    MANAGE_HASH_SETS = "manage_hash_sets"  # create hash sets, import and export entries
    MANAGE_SERIES = "manage_series"  # victim identification: series, victims, notices
    HANDLE_REPORTS = "handle_reports"  # the hotline queue: read and assess public reports
    MANAGE_BLOCKLIST = "manage_blocklist"  # add and remove URLs on the provider block list
    DOWNLOAD_BLOCKLIST = "download_blocklist"  # the signed list, full or changes since N
    MANAGE_HOSTING = "manage_hosting"  # hosting providers, their networks and abuse contacts
    # the coordinator's seat: counts across every member (open urgent leads and their age,
    # unacknowledged hits per agency, reports waiting per hotline, notices past deadline);
    # numbers and references only, never another agency's case or report content
    OVERSEE_NETWORK = "oversee_network"
    # federation: this node's identity and its peers (the network admin of this node only)
    MANAGE_PEERS = "manage_peers"
    # the 24/7 rota: rotations, rules, overrides, temporary schedules, coverage requirements,
    # drills (the network coordinator's desk)
    MANAGE_ROTA = "manage_rota"
    # a 24/7 desk's own work: its capabilities and unavailability, preservation requests,
    # handovers, acknowledging drills
    KEEP_WATCH = "keep_watch"
    # interop: take what the agency may pass on out of the hub (STIX, MISP, the TAXII server)
    # and import MISP events into the agency's cases (with ADD_SELECTOR)
    EXPORT_INDICATORS = "export_indicators"
    # the observatory: publish the month's snapshot (the coordinator's desk)
    PUBLISH_STATISTICS = "publish_statistics"
    # commercial sites: crawl a site (text only), map its payment infrastructure, put its
    # indicators on the agency's case, notify payment providers, list wallets on the watch list
    INVESTIGATE_SITES = "investigate_sites"
    # chat logs: import an agency's chat exports into its cases, read the conversations, confirm
    # their participants as selectors, and review the tagger's queue (a human decides each)
    REVIEW_CHATS = "review_chats"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # The network admin sits at the coordinator's desk: its agency takes the reports no member
    # takes and the urgent leads nobody acknowledged (HANDLE_REPORTS), lists what its hotline
    # work blocks (MANAGE_BLOCKLIST) and watches the whole network (OVERSEE_NETWORK).
    Role.NETWORK_ADMIN: frozenset(
        {
            Permission.MANAGE_AGENCIES,
            Permission.MANAGE_USERS,
            Permission.MANAGE_HOSTING,
            Permission.HANDLE_REPORTS,
            Permission.INVESTIGATE_SITES,
            Permission.REVIEW_CHATS,
            Permission.MANAGE_BLOCKLIST,
            Permission.OVERSEE_NETWORK,
            Permission.MANAGE_PEERS,
            Permission.MANAGE_ROTA,
            Permission.KEEP_WATCH,
            Permission.PUBLISH_STATISTICS,
            Permission.READ,
            Permission.READ_AUDIT,
        }
    ),
    Role.AGENCY_ADMIN: frozenset(
        {
            Permission.HANDLE_REPORTS,
            Permission.INVESTIGATE_SITES,
            Permission.REVIEW_CHATS,
            Permission.MANAGE_BLOCKLIST,
            Permission.DOWNLOAD_BLOCKLIST,
            Permission.MANAGE_HOSTING,
            Permission.MANAGE_USERS,
            Permission.MANAGE_HASH_SETS,
            Permission.MANAGE_SERIES,
            Permission.KEEP_WATCH,
            Permission.OPEN_CASE,
            Permission.ADD_SELECTOR,
            Permission.ASSESS_HIT,
            Permission.SEARCH,
            Permission.EXPORT_INDICATORS,
            Permission.READ,
            Permission.READ_AUDIT,
        }
    ),
    Role.INVESTIGATOR: frozenset(
        {
            Permission.HANDLE_REPORTS,
            Permission.INVESTIGATE_SITES,
            Permission.REVIEW_CHATS,
            Permission.MANAGE_BLOCKLIST,
            Permission.DOWNLOAD_BLOCKLIST,
            Permission.MANAGE_HOSTING,
            Permission.MANAGE_HASH_SETS,
            Permission.MANAGE_SERIES,
            Permission.KEEP_WATCH,
            Permission.OPEN_CASE,
            Permission.ADD_SELECTOR,
            Permission.ASSESS_HIT,
            Permission.SEARCH,
            Permission.EXPORT_INDICATORS,
            Permission.READ,
        }
    ),
    Role.ANALYST: frozenset(
        {
            Permission.HANDLE_REPORTS,
            Permission.INVESTIGATE_SITES,
            Permission.REVIEW_CHATS,
            Permission.MANAGE_BLOCKLIST,
            Permission.DOWNLOAD_BLOCKLIST,
            Permission.MANAGE_HOSTING,
            Permission.MANAGE_HASH_SETS,
            Permission.MANAGE_SERIES,
            Permission.ADD_SELECTOR,
            Permission.ASSESS_HIT,
            Permission.SEARCH,
            Permission.EXPORT_INDICATORS,
            Permission.READ,
        }
    ),
    # a read-only account is what an agency gives its MISP or TAXII client: it may take what the
    # agency may pass on (GREEN, exportable), nothing more
    Role.READ_ONLY: frozenset({Permission.SEARCH, Permission.READ, Permission.EXPORT_INDICATORS}),
    Role.PROVIDER: frozenset({Permission.DOWNLOAD_BLOCKLIST}),
}


@dataclass(frozen=True)
class Caller:
    role: Role
    channel: str  # "api" | "web" | "cli" | "job"
    user_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None
    agency_code: str | None = None
    country: str | None = None
    email: str | None = None
    token_id: uuid.UUID | None = None
    ip: str | None = None

    @property
    def label(self) -> str:
        who = self.email or "system"
        return f"{who} ({self.agency_code})" if self.agency_code else who

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(f"role {self.role.value} may not {permission.value.replace('_', ' ')}")


def agency_operator(agency_id: uuid.UUID, agency_code: str, country: str | None) -> Caller:
    """The operator at the console acting for one agency (e.g. importing its hash sets)."""
    return Caller(
        role=Role.AGENCY_ADMIN,
        channel="cli",
        agency_id=agency_id,
        agency_code=agency_code,
        country=country,
    )


def system_caller(channel: str = "cli") -> Caller:
    """The operator at the console: manages the network but sees no agency's case data."""
    return Caller(role=Role.NETWORK_ADMIN, channel=channel)
