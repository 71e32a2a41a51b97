"""Settings: the only place that reads the environment.

Every field has a default that makes `taskforce demo` work on a laptop; production overrides
them with `TASKFORCE_*` variables. Nothing reads settings at import time: the app, the CLI and
the engine are built from a `Settings` object passed in, so tests construct what they need.
"""

from __future__ import annotations

import ipaddress
import os
import zoneinfo
from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "insecure-demo-secret-change-me"  # noqa: S105 - refused outside demo/tests


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TASKFORCE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("taskforce")),
        description="Folder for the embedded SQLite database and other local state.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database; default: SQLite file `taskforce.db` in "
        "the data folder. Production: postgresql+psycopg://user@host/db.",
    )
    database_lock_wait_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="How long a request waits for SQLite's write lock, and for a connection to "
        "PostgreSQL, before it is answered 503 with Retry-After (never a 500).",
    )
    secret_key: str = Field(
        default=PLACEHOLDER_SECRET,
        description="Key that signs web session cookies. Must be set outside demo and tests.",
    )
    allow_insecure_defaults: bool = Field(
        default=False,
        description="Accept the placeholder secret key (demo and tests only).",
    )
    pdq_match_threshold: int = Field(
        default=31,
        ge=0,
        le=128,
        description="Largest Hamming distance at which two PDQ selectors make a hit.",
    )
    video_match_query_share: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="A video matches a known one when this share of its distinct usable frames "
        "match a frame of the known video (ThreatExchange's vPDQ default: 0.8).",
    )
    video_match_known_share: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="A video matches a known one only when this share of the known video's "
        "frames are matched too (0: any share, so a short clip of a known video matches).",
    )
    common_value_case_limit: int = Field(
        default=25,
        ge=2,
        description="A selector value held by more than this many cases is marked common "
        "and stops making hits and notifications.",
    )
    ip_hit_window_hours: int = Field(
        default=168,
        ge=0,
        description="Two IP selectors whose observation times are both known and further apart "
        "than this make no hit (dynamic addresses change hands).",
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins to one account from one address (since its last success "
        "there) after which that account pauses at that address only, until the oldest of "
        "them is older than the window.",
    )
    login_account_max_failures: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins to one account from all addresses within the window after "
        "which it accepts passwords only from addresses it has signed in from before: a "
        "guesser elsewhere cannot lock its owner out.",
    )
    login_address_max_failures: int = Field(
        default=100,
        ge=1,
        description="Failed sign-ins from one address to all accounts within the window (password "
        "spraying) after which that address may sign in only to accounts that have signed in "
        "from it before. High, since police sit behind shared proxies and NAT.",
    )
    login_known_address_days: int = Field(
        default=90,
        ge=1,
        description="Days a successful sign-in makes its address known to the account (exempt "
        "from the account and address ceilings).",
    )
    login_window_minutes: int = Field(
        default=15, ge=1, description="Window in which failed sign-ins are counted."
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="Addresses (or CIDR blocks) of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto headers are believed: the client's address is the last one in "
        "X-Forwarded-For that is not a trusted proxy. From any other peer the headers are "
        "ignored. Empty: believe no forwarded header.",
    )
    session_hours: int = Field(default=12, ge=1, description="Lifetime of a web session.")
    secure_cookies: bool = Field(
        default=True,
        description="Mark the session and login cookies Secure, so a browser sends them only over "
        "HTTPS (serve behind a TLS-terminating proxy). `taskforce demo` turns it off; turn it off "
        "only for a trial on plain http.",
    )
    token_days: int = Field(default=365, ge=1, description="Default lifetime of an API token.")
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base URL used in links of outgoing e-mail notifications.",
    )
    blocklist_signing_key: str | None = Field(
        default=None,
        description="Ed25519 key that signs the URL block list: base64 of its 32-byte seed, or a "
        "file holding that; default: generated on first use into `blocklist-signing.key` in the "
        "data folder (mode 0600).",
    )
    export_signing_key: str | None = Field(
        default=None,
        description="Ed25519 key that signs STIX bundles and MISP exports (a detached signature "
        "over the export's SHA-256): base64 of its 32-byte seed, or a file holding that; "
        "default: generated on first use into `export-signing.key` in the data folder (0600).",
    )
    taxii_page_limit: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="The most objects one TAXII 2.1 page returns; a client's larger `limit` is "
        "lowered to it (the spec lets a server do so).",
    )
    observatory_threshold: int = Field(
        default=10,
        ge=1,
        description="Small-count suppression: a figure counting fewer than this many reports, "
        "removals, children or hits is shown as 'fewer than N', and rates derived from it too.",
    )
    commerce_crawl_allow_networks: list[str] = Field(
        default_factory=list,
        description="Address blocks the commercial-site crawler may reach although they are not "
        "public (a lab's own test servers); empty in production: no crawl reaches an internal "
        "network.",
    )
    commerce_page_bytes: int = Field(
        default=2_000_000,
        ge=1024,
        le=50_000_000,
        description="The most bytes the crawler reads of one page; the rest is not read, and "
        "the page is marked truncated.",
    )
    commerce_page_seconds: float = Field(
        default=20.0,
        gt=0,
        le=300,
        description="The most seconds one page may take, its redirects included; a server that "
        "trickles bytes is cut off at this limit.",
    )
    commerce_max_pages: int = Field(
        default=500,
        ge=1,
        le=100_000,
        description="The most pages an analyst may ask one crawl to fetch.",
    )
    commerce_kept_html_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        description="The most bytes of a page's sanitised HTML kept for the analyst (compressed "
        "at rest); longer pages are cut and marked.",
    )
    commerce_recrawl_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="Days between recrawls of a site when the analyst asks for recrawls without "
        "naming an interval.",
    )
    chats_review_threshold: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Conversation risk (0–1, calibrated on the shipped synthetic corpus) from "
        "which a conversation is flagged for review and counted as flagged by the evaluation; "
        "the queue lists every conversation, flagged ones first.",
    )
    chats_upload_bytes: int = Field(
        default=1 << 30,
        ge=1 << 20,
        description="The most bytes of one chat export uploaded through the API or the page "
        "(the command line reads files of any size).",
    )
    chats_timezone: str = Field(
        default="UTC",
        description="IANA time zone that chat exports without offsets (WhatsApp, plain logs) "
        "are read in when the import does not name one; each import records the zone used.",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for the outbox.")
    smtp_port: int = Field(default=25, description="SMTP port.")
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="none",
        description="How the outbox talks to the SMTP server: plain, STARTTLS, or TLS from the "
        "first byte (port 465).",
    )
    smtp_username: str | None = Field(default=None, description="SMTP login, if the server asks.")
    smtp_password: str | None = Field(default=None, description="SMTP password.")
    demo_mail_dir: Path | None = Field(
        default=None,
        description="Set by `taskforce demo` only: the folder its local mail sink keeps each "
        "message in; the demo's mailbox page (/ui/demo/mail, admins and the network "
        "coordinator) reads it. Unset (no page) everywhere else.",
    )
    mail_from: str = Field(
        default="taskforce@hub.example.com", description="Sender of outgoing notifications."
    )
    worker: Literal["auto", "in-process", "external"] = Field(
        default="auto",
        description="Who runs the background jobs (routing, the outbox, re-checks, "
        "escalations): the web process itself, or separate `taskforce worker` processes; auto: "
        "in-process on SQLite, external on PostgreSQL.",
    )
    worker_interval_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="Seconds a worker waits between rounds."
    )
    urgent_ack_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="Minutes an agency's 24/7 desk has to acknowledge an urgent lead before it "
        "escalates to the network coordinator.",
    )
    handover_ack_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="Minutes the incoming 24/7 desk has, from the end of the outgoing desk's "
        "shift, to acknowledge its handover before it escalates to the network coordinator.",
    )
    rota_gap_check_minutes: int = Field(
        default=60,
        ge=1,
        le=24 * 60,
        description="Minutes between the worker's looks at the 24/7 rota's next 30 days for gaps "
        "that time, not a change, brought within them (a public holiday, a rotation's turn to an "
        "inactive desk); the network coordinator is told of each new one once.",
    )
    drill_give_up_hours: int = Field(
        default=4,
        ge=1,
        le=7 * 24,
        description="Hours after a reachability drill is sent at which a desk that has not "
        "acknowledged it is recorded as not reached.",
    )
    takedown_deadline_hours: int = Field(
        default=72,
        ge=1,
        description="Hours a host has to remove confirmed material before the notice escalates "
        "(an agency's legal profile may set its own).",
    )
    takedown_check_minutes: int = Field(
        default=60, ge=1, description="Minutes between re-checks of a URL under notice."
    )
    takedown_resend_hours: int = Field(
        default=24,
        ge=1,
        description="Hours after which a notice is sent again while the content stays up "
        "(Project Arachnid re-sends every 24 hours).",
    )
    takedown_unreachable_checks: int = Field(
        default=24,
        ge=1,
        description="Consecutive re-checks that cannot reach the URL after which it counts as "
        "removed (recorded as 'unreachable', not as a 404).",
    )
    preservation_days: int = Field(
        default=90,
        ge=1,
        le=366,
        description="Days a provider keeps data under a preservation request, from the day it "
        "was sent (Budapest Convention Art. 29(7): at least 60; 90 is the usual term), and the "
        "length of the one extension a request may have.",
    )
    preservation_reminder_days: list[int] = Field(
        default_factory=lambda: [14, 3],
        description="Days before a preservation expires on which the requesting agency's 24/7 "
        "desk is reminded (e-mail to its 24/7 address and an inbox notice).",
    )
    report_url_check: bool = Field(
        default=True,
        description="Before a URL report is accepted, the report form checks that the address "
        "can be read (the re-checker's SSRF-safe request: status and headers, never the page) and "
        "tells the reporter when it cannot; they may still send it as it is.",
    )
    recheck_allow_networks: list[str] = Field(
        default_factory=list,
        description="Address blocks the re-checker may reach although they are not public "
        "(a lab's own test servers); empty in production: no request reaches an internal "
        "network.",
    )
    audit_signing_key: str | None = Field(
        default=None,
        description="Ed25519 key that signs the audit log's tree heads: base64 of its 32-byte "
        "seed, or a file holding that; default: generated on first use into "
        "`audit-signing.key` in the data folder (mode 0600).",
    )
    audit_dir: Path | None = Field(
        default=None,
        description="Folder for the audit log's exported leaves and signed tree heads "
        "(`leaves.bin`, `heads.jsonl`); default: `audit` in the data folder. Ship "
        "`heads.jsonl` where the hub's administrators cannot rewrite it.",
    )
    audit_seal_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="Seconds between sealing rounds of the audit log in `serve` and `worker` "
        "(new entries get their place in the Merkle tree and a signed head); 0: no sealing "
        "thread (tests, or when only `taskforce audit seal` from cron seals).",
    )
    webhook_allow_networks: list[str] = Field(
        default_factory=list,
        description="Address blocks agencies' webhooks may be delivered to although they are not "
        "public (a lab's own receiver); empty in production: no webhook reaches an internal "
        "network.",
    )
    max_body_bytes: int = Field(
        default=5_000_000,
        ge=1024,
        description="Largest body of a JSON API request or a logged-in page form, counted as "
        "it streams; uploads and public forms have their own (core/limits.py).",
    )
    federation_key_holder: bool = Field(
        default=False,
        description="Whether this node holds the network's OPRF key (one node of the "
        "federation, e.g. the coordinator): it keeps a key per epoch in "
        "`federation/oprf-keys` in the data folder and evaluates peers' blinded selectors.",
    )
    federation_oprf_values_per_hour: int = Field(
        default=100_000,
        ge=1,
        description="Blinded values one peer node may have evaluated by the key holder in any "
        "hour; past it a batch is refused (and audited). Raise it for a node's first "
        "tokenisation or a re-blinding after a key rotation.",
    )
    federation_pdq_chunk_values_per_hour: int = Field(
        default=320,
        ge=1,
        description="PDQ chunks one peer node may have evaluated by the key holder in any hour "
        "(16 per PDQ hash): small, because a chunk has only 65,536 values and evaluating all "
        "of them would read one chunk of every published PDQ hash (docs/federation.md).",
    )
    federation_pdq_confirms_per_hour: int = Field(
        default=60,
        ge=1,
        description="PDQ candidates one peer node may ask this node to confirm in any hour; "
        "past it the request is refused (429), so the confirming step is no distance oracle.",
    )
    resolver_hosts_file: Path | None = Field(
        default=None,
        description="A hosts-format file that answers every host name taskforce resolves "
        "(routing and re-checks) instead of DNS: for air-gapped labs, the demo and tests.",
    )

    node_signing_key: str | None = Field(
        default=None,
        description="This node's Ed25519 key for federation (base64 seed or a file holding "
        "it); default: `node-signing.key` in the data folder, made at `db upgrade`.",
    )
    federation_client_cert: Path | None = Field(
        default=None,
        description="PEM file with the client certificate (and its key, or see "
        "federation_client_key) this node shows peers that require mutual TLS.",
    )
    federation_client_key: Path | None = Field(
        default=None,
        description="PEM file with the client certificate's private key, when it is not in "
        "federation_client_cert.",
    )
    federation_ca: Path | None = Field(
        default=None,
        description="PEM bundle of the certificate authorities that sign peers' server "
        "certificates; default: the system's.",
    )
    federation_sync_seconds: int = Field(
        default=30,
        ge=1,
        le=86_400,
        description="How often the worker pulls each peer's feed (a peer's nudge after it "
        "published makes it pull at once); a failing peer is retried after this, doubling up "
        "to an hour.",
    )
    federation_directory_hours: float = Field(
        default=24,
        gt=0,
        le=24 * 30,
        description="How old a peer's agency directory may get before a sync fetches it again.",
    )
    federation_signature_seconds: int = Field(
        default=60,
        ge=5,
        le=300,
        description="How long a signed request between nodes is valid after it was made; its "
        "nonce is remembered that long (and refused again).",
    )

    @field_validator("preservation_reminder_days")
    @classmethod
    def _reminder_days(cls, value: list[int]) -> list[int]:
        """Each a day count from 1 to 366; kept from the earliest reminder to the last."""
        for days in value:
            if not 1 <= days <= 366:
                raise ValueError(f"preservation_reminder_days: {days} is not from 1 to 366")
        return sorted(set(value), reverse=True)

    @field_validator("chats_timezone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        """An IANA zone name (`Europe/Berlin`): a typo would shift every imported message."""
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"chats_timezone: {value!r} is not an IANA time zone (e.g. Europe/Berlin)"
            ) from None
        return value

    @field_validator(
        "trusted_proxies",
        "recheck_allow_networks",
        "webhook_allow_networks",
        "commerce_crawl_allow_networks",
    )
    @classmethod
    def _address_blocks(cls, value: list[str], info: ValidationInfo) -> list[str]:
        """A typo must not silently trust nobody (or everybody), nor open an internal network
        by accident: each entry is an address or CIDR block, and start-up names the one that
        is not."""
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"{info.field_name}: {entry!r} is not an IP address or CIDR block"
                ) from None
        return [entry.strip() for entry in value]

    def require_real_secret(self) -> None:
        """`serve` refuses to sign sessions with the placeholder key outside a demo."""
        if self.secret_key == PLACEHOLDER_SECRET and not self.allow_insecure_defaults:
            raise ValueError(
                "TASKFORCE_SECRET_KEY is the placeholder; set a real secret "
                "(or TASKFORCE_ALLOW_INSECURE_DEFAULTS=1 for a local trial)"
            )

    @property
    def worker_in_process(self) -> bool:
        """Whether the web process runs the background jobs itself."""
        if self.worker == "auto":
            return self.effective_database_url.startswith("sqlite")
        return self.worker == "in-process"

    @property
    def audit_folder(self) -> Path:
        return self.audit_dir or self.data_dir / "audit"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'taskforce.db'}"


def unknown_environment_variables() -> list[str]:
    """`TASKFORCE_*` variables that match no setting: a typo must not pass silently."""
    known = {f"TASKFORCE_{name.upper()}" for name in Settings.model_fields}
    known |= {
        "TASKFORCE_TEST_DATABASE_URL",
        "TASKFORCE_REQUIRE_POSTGRES",
        "TASKFORCE_REQUIRE_VIDEO",
        "TASKFORCE_CHROMIUM",
    }  # the test suite's own
    return sorted(k for k in os.environ if k.startswith("TASKFORCE_") and k not in known)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
