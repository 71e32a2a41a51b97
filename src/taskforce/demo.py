"""`taskforce demo`: a fresh, synthetic, multinational scenario on SQLite, then the hub on it.

Everything is built through the services (agencies, users, cases, selectors, hit assessments),
so the audit chain, normalisation and deconfliction are the real ones, and every user acts as
themselves. All data is fictional and deterministic for a given seed:

* agencies, people and cases are invented; agency codes only look like real ones;
* e-mail addresses, URLs and domains are under example.com / example.net / example.org
  (RFC 2606); IP addresses are in the documentation ranges 203.0.113.0/24, 198.51.100.0/24 and
  2001:db8::/32 (RFC 5737, RFC 3849), plus 8.8.8.8 as the one deliberate noise value;
* phone numbers are in ranges reserved for drama and fiction where the country has one (GB
  020 7946 0xxx, NANP 555-01xx, AU 02 5550 xxxx, FR 01 99 00 xx xx, DE 030 23125 xxx); elsewhere
  they are obviously made-up numbers that merely pass validation;
* card numbers are the payment processors' published test numbers, IBANs the published
  documentation examples, the Bitcoin address the one used in Bitcoin's own documentation;
  hashes, PDQ hashes, Ethereum addresses and IMEIs are random (IMEIs with a valid check digit).

Deliberate overlaps make every kind of hit visible: GREEN with GREEN (full both ways), AMBER
naming the other agency (full), AMBER not naming it and RED (blind), two cases of one agency,
a PDQ near match, an IP address seen twice within the IP window (hit) and twice months apart
(no hit), and 8.8.8.8 in several cases (noise, no hit).
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import phonenumbers
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce import demo_hotline, migrate
from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.agencies.schemas import AgencyCreate
from taskforce.cases import service as case_service
from taskforce.cases.models import Case, Hit, Selector
from taskforce.cases.schemas import (
    OFFENCE_TYPES,
    Assessment,
    CaseCreate,
    CaseStatus,
    SelectorCreate,
)
from taskforce.cases.selectors import SelectorKind, normalise
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Caller, Role, system_caller
from taskforce.core.console import out
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel, can_see
from taskforce.hashsets import categories as hashset_categories
from taskforce.hashsets import formats as hashset_formats
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.schemas import HashSetCreate
from taskforce.notices import service as notice_service
from taskforce.notices.models import Clue
from taskforce.notices.schemas import AnswerCreate, ClueCreate, ClueKind, Confidence, NoticeCreate
from taskforce.series import service as series_service
from taskforce.series.models import Series
from taskforce.series.schemas import MediaAdd, SeriesCreate, VictimCreate, VictimIdentify

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - documented password of fictional demo users
DEFAULT_SEED = 2026
HUB_CODE = "INT-HUB"
PLATFORMS = ("chatapp", "photoshare", "forumx")


# --- result -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    email: str
    password: str
    agency: str
    role: str


@dataclass
class DemoSummary:
    logins: list[Login] = field(default_factory=list)
    agencies: int = 0
    cases: int = 0
    closed_cases: int = 0
    selectors: int = 0
    noise_selectors: int = 0
    hits: int = 0
    acknowledged_hits: int = 0
    hits_by_disclosure: dict[str, int] = field(default_factory=dict)
    """Per hit: "full" (each side sees the other case), "mixed" (one side blind), "blind"."""
    hits_by_type: dict[str, int] = field(default_factory=dict)
    hotline: demo_hotline.HotlineSummary | None = None


# --- agencies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _AgencySpec:
    code: str
    domain: str
    name: str
    country: str
    timezone: str
    desk: str
    phones: tuple[str, ...]
    """Candidates, first valid one wins (fiction ranges first)."""


AGENCIES: tuple[_AgencySpec, ...] = (
    _AgencySpec(
        HUB_CODE,
        "hub.example.org",
        "Demo Network Coordination Hub (fictional)",
        "FR",
        "Europe/Paris",
        "Hub duty officer",
        ("+33199001234", "+33199000042"),
    ),
    _AgencySpec(
        "GB-NCA",
        "nca.example.com",
        "Demo National Crime Unit (fictional)",
        "GB",
        "Europe/London",
        "CSE referrals desk 24/7",
        ("+442079460123", "+442079460999"),
    ),
    _AgencySpec(
        "NL-NP",
        "np.example.net",
        "Demo Netherlands Police Team (fictional)",
        "NL",
        "Europe/Amsterdam",
        "Landelijk meldpunt 24/7",
        ("+31201234567", "+31206001234"),
    ),
    _AgencySpec(
        "DE-BKA",
        "bka.example.net",
        "Demo Federal Criminal Office (fictional)",
        "DE",
        "Europe/Berlin",
        "Lagedienst 24/7",
        ("+493023125000", "+493023125123"),
    ),
    _AgencySpec(
        "US-HSI",
        "hsi.example.com",
        "Demo Homeland Investigations Cyber Unit (fictional)",
        "US",
        "America/New_York",
        "Cyber crimes duty desk",
        ("+12025550142", "+12125550199"),
    ),
    _AgencySpec(
        "CA-RCMP",
        "rcmp.example.org",
        "Demo Federal Police Exploitation Centre (fictional)",
        "CA",
        "America/Toronto",
        "Exploitation centre duty desk",
        ("+16135550123", "+14165550123"),
    ),
    _AgencySpec(
        "AU-AFP",
        "afp.example.org",
        "Demo Federal Police ACCE Team (fictional)",
        "AU",
        "Australia/Sydney",
        "Operations centre 24/7",
        ("+61255501234", "+61370100123"),
    ),
    _AgencySpec(
        "BR-PF",
        "pf.example.net",
        "Demo Federal Police Cyber Unit (fictional)",
        "BR",
        "America/Sao_Paulo",
        "Plantão 24h",
        ("+556155550123", "+552155550123"),
    ),
    _AgencySpec(
        "PH-PNP",
        "pnp.example.com",
        "Demo National Police Anti-Cybercrime Group (fictional)",
        "PH",
        "Asia/Manila",
        "Cybercrime operations desk 24/7",
        ("+63285550123", "+63281234567"),
    ),
)

PARTNERSHIPS: tuple[tuple[str, str], ...] = (
    ("GB-NCA", "NL-NP"),
    ("DE-BKA", "NL-NP"),
    ("US-HSI", "CA-RCMP"),
    ("AU-AFP", "PH-PNP"),
    ("GB-NCA", "AU-AFP"),
)


def _valid_phone(candidates: tuple[str, ...]) -> str:
    for number in candidates:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(number, None)):
                return number
        except phonenumbers.NumberParseException:
            continue
    raise ValueError(f"no valid demo phone number among {candidates}")


# --- cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CaseSpec:
    key: str
    agency: str
    title: str
    summary: str
    offences: tuple[str, ...]
    sharing: SharingLevel
    partners: tuple[str, ...] = ()
    closed: bool = False
    opener: str = "investigator"


_G, _A, _R = SharingLevel.GREEN, SharingLevel.AMBER, SharingLevel.RED

SCENARIO_CASES: tuple[_CaseSpec, ...] = (
    _CaseSpec(
        "kestrel",
        "GB-NCA",
        "Operation Kestrel — distribution network on file-sharing forum",
        "Moderators of a members-only board on a fictional file-sharing forum run an invitation "
        "scheme: new members must upload previously unseen material. Two administrators "
        "identified by handle and e-mail; server logs requested.",
        ("distribution", "production"),
        _G,
    ),
    _CaseSpec(
        "lantern",
        "US-HSI",
        "Operation Lantern — forum moderators distributing abuse material",
        "Undercover account admitted to the same board as Operation Kestrel's targets. The "
        "administrator account uses an e-mail address and upload hashes seen in our referrals.",
        ("distribution",),
        _G,
    ),
    _CaseSpec(
        "heron",
        "NL-NP",
        "Operation Heron — grooming via chat app, several victims aged 11–13",
        "A suspect contacts children on a chat app posing as a 14-year-old and moves the "
        "conversation to a photo-sharing app. Three victims identified in the Netherlands.",
        ("grooming", "sextortion"),
        _A,
        ("GB-NCA",),
    ),
    _CaseSpec(
        "tern",
        "GB-NCA",
        "Operation Tern — sextortion of teenage boys by a chat-app account",
        "Referral from a school: a pupil was threatened after sharing images. The account "
        "demanding payment uses a handle and a UK number seen in Dutch reports.",
        ("sextortion",),
        _A,
        ("NL-NP",),
        opener="agency_admin",
    ),
    _CaseSpec(
        "osprey",
        "DE-BKA",
        "Operation Osprey — pay-per-view live streaming, payments traced",
        "Financial intelligence shows regular small payments from a German suspect to accounts "
        "associated with live-streamed abuse. Wallet and IBAN identified.",
        ("live_streaming", "commercial_exploitation"),
        _A,
        ("NL-NP",),
    ),
    _CaseSpec(
        "wattle",
        "AU-AFP",
        "Operation Wattle — buyers of live-streamed abuse, payment analysis",
        "Blockchain analysis of a wallet paid by several buyers of live-streamed abuse; one "
        "buyer located in Australia, others abroad.",
        ("live_streaming", "commercial_exploitation"),
        _G,
    ),
    _CaseSpec(
        "harbour",
        "PH-PNP",
        "Operation Harbour — live-streamed abuse for payment, facilitator identified",
        "A facilitator streams abuse of children in her care to paying viewers abroad. Card "
        "payments and a wallet identified; children safeguarded.",
        ("live_streaming", "trafficking"),
        _A,
        ("AU-AFP",),
    ),
    _CaseSpec(
        "maple",
        "CA-RCMP",
        "Operation Maple — travelling offender arranging contact abroad",
        "A Canadian suspect arranges travel and contact with children through an intermediary "
        "abroad. Phone and IP address identified from a production order.",
        ("travelling_offender",),
        _R,
    ),
    _CaseSpec(
        "cardinal",
        "US-HSI",
        "Operation Cardinal — intermediary offering access to children",
        "An intermediary advertises access to children to travelling offenders. Phone number "
        "and login IP obtained from a provider.",
        ("travelling_offender", "trafficking"),
        _R,
    ),
    _CaseSpec(
        "ipe",
        "BR-PF",
        "Operação Ipê — production and sale of abuse material",
        "A Brazilian suspect produces and sells material through a storefront; a file hash "
        "matches one listed in a foreign case.",
        ("production", "commercial_exploitation"),
        _R,
    ),
    _CaseSpec(
        "banksia",
        "AU-AFP",
        "Operation Banksia — seized handset linked to grooming accounts",
        "A handset seized in a search holds several grooming accounts; IMEI recorded.",
        ("grooming", "possession"),
        _R,
    ),
    _CaseSpec(
        "coral",
        "AU-AFP",
        "Operation Coral — account takeover and sextortion, same handset",
        "Sextortion complaints lead to an account logged in from the handset seized in "
        "Operation Banksia.",
        ("sextortion",),
        _A,
        ("PH-PNP",),
    ),
    _CaseSpec(
        "dune",
        "NL-NP",
        "Operation Dune — hidden-service mirror of an abuse board",
        "Dutch hosting of a mirror of a known board; image hashes and access logs collected.",
        ("distribution",),
        _G,
    ),
    _CaseSpec(
        "linde",
        "DE-BKA",
        "Operation Linde — possession and distribution via messenger groups",
        "A suspect shares material in messenger groups; subscriber data for several IP "
        "addresses obtained.",
        ("possession", "distribution"),
        _R,
    ),
    _CaseSpec(
        "finch",
        "GB-NCA",
        "Operation Finch — possession, offender convicted (closed)",
        "Devices examined and the offender convicted; hashes retained for deconfliction.",
        ("possession",),
        _G,
        closed=True,
    ),
)


@dataclass(frozen=True)
class _Link:
    """One identifier deliberately held by several cases (holder: case key, observed time,
    and a value of its own for PDQ near matches)."""

    name: str
    kind: SelectorKind
    value: str
    holders: tuple[tuple[str, datetime | None, str | None], ...]
    platform: str | None = None
    note: str = ""


def _t(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _flip_bits(hex_value: str, rng: random.Random, count: int) -> str:
    number = int(hex_value, 16)
    for bit in rng.sample(range(256), count):
        number ^= 1 << bit
    return f"{number:064x}"


def luhn_check_digit(body: str) -> str:
    """The digit that makes `body + digit` pass the Luhn check (IMEIs, card numbers)."""
    total = 0
    for i, char in enumerate(reversed(body)):
        digit = int(char)
        if i % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def _key(kind: SelectorKind, value: str, platform: str | None) -> tuple[str, str]:
    return kind.value, normalise(kind, value, platform=platform).key


def _imei(rng: random.Random) -> str:
    body = "00" + "".join(str(rng.randrange(10)) for _ in range(12))
    return body + luhn_check_digit(body)


def _links(rng: random.Random) -> list[_Link]:
    pdq_base = _hex(rng, 64)
    pdq_near = _flip_bits(pdq_base, rng, 14)
    return [
        # GREEN <-> GREEN: full both ways.
        _Link(
            "kestrel-email",
            SelectorKind.EMAIL,
            "Kestrel.Admin@example.net",
            (("kestrel", None, None), ("lantern", None, None)),
            note="administrator account of the board",
        ),
        _Link(
            "kestrel-url",
            SelectorKind.URL,
            "HTTP://Files.Example.net/board/../board/index.php?invite=1#top",
            (("kestrel", None, None), ("lantern", None, None)),
        ),
        _Link(
            "kestrel-sha256",
            SelectorKind.SHA256,
            _hex(rng, 64),
            (("kestrel", None, None), ("lantern", None, None)),
        ),
        # AMBER naming each other: full both ways.
        _Link(
            "heron-username",
            SelectorKind.USERNAME,
            "@NightOwl_77",
            (("heron", _t(2, 2), None), ("tern", _t(2, 20), None)),
            platform="chatapp",
        ),
        _Link(
            "heron-phone",
            SelectorKind.PHONE,
            "+44 20 7946 0871",
            (("heron", None, None), ("tern", None, None)),
        ),
        # AMBER not naming the other agency: DE sees AU (GREEN) in full, AU sees DE blind.
        _Link(
            "osprey-btc",
            SelectorKind.CRYPTO_WALLET,
            "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
            (("osprey", None, None), ("wattle", None, None)),
        ),
        _Link(
            "osprey-iban",
            SelectorKind.PAYMENT_ACCOUNT,
            "DE89 3704 0044 0532 0130 00",
            (("osprey", None, None), ("wattle", None, None)),
        ),
        # AMBER naming AU (PH side) and GREEN (AU side): full both ways.
        _Link(
            "harbour-card",
            SelectorKind.PAYMENT_ACCOUNT,
            "4111 1111 1111 1111",
            (("wattle", None, None), ("harbour", None, None)),
        ),
        # RED <-> RED: blind both ways.
        _Link(
            "maple-phone",
            SelectorKind.PHONE,
            "+1 202-555-0173",
            (("maple", None, None), ("cardinal", None, None)),
        ),
        _Link(
            "maple-ip-inside-window",
            SelectorKind.IP,
            "198.51.100.23",
            (("maple", _t(2, 10, 14), None), ("cardinal", _t(2, 11, 9, 30), None)),
            note="login IP from provider return",
        ),
        # RED (BR) <-> GREEN (GB): BR sees Kestrel in full, GB gets a blind hit.
        _Link(
            "ipe-sha1",
            SelectorKind.SHA1,
            _hex(rng, 40),
            (("ipe", None, None), ("kestrel", None, None)),
        ),
        # AMBER (GB names NL) <-> AMBER (DE names NL): blind both ways.
        _Link(
            "tern-domain",
            SelectorKind.DOMAIN,
            "Payme-Quick.example.com.",
            (("tern", None, None), ("osprey", None, None)),
        ),
        # AMBER (PH names AU) <-> RED (BR): blind both ways.
        _Link(
            "harbour-eth",
            SelectorKind.CRYPTO_WALLET,
            "0x" + _hex(rng, 40).upper(),
            (("harbour", None, None), ("ipe", None, None)),
        ),
        # Two cases of one agency: full.
        _Link(
            "banksia-imei",
            SelectorKind.IMEI,
            _imei(rng),
            (("banksia", None, None), ("coral", None, None)),
        ),
        # PDQ near match (14 bits apart), GREEN <-> GREEN.
        _Link(
            "kestrel-pdq-near",
            SelectorKind.PDQ,
            pdq_base,
            (("kestrel", None, None), ("dune", None, pdq_near)),
            note="perceptual hash of a series image",
        ),
        # The same IP months apart: no hit (dynamic addresses change hands).
        _Link(
            "dune-ip-outside-window",
            SelectorKind.IP,
            "203.0.113.45",
            (("dune", _t(1, 5, 8), None), ("linde", _t(3, 20, 21, 15), None)),
        ),
        # IPv6 within the window, GREEN (NL) <-> RED (DE): NL blind, DE full.
        _Link(
            "dune-ipv6",
            SelectorKind.IP,
            "2001:DB8:4F:0:0:0:0:17",
            (("dune", _t(3, 1, 10), None), ("linde", _t(3, 2, 18), None)),
        ),
        # A closed case still deconflicts: GREEN (closed, GB) <-> RED (AU).
        _Link(
            "finch-md5",
            SelectorKind.MD5,
            _hex(rng, 32),
            (("finch", None, None), ("banksia", None, None)),
        ),
        # Noise: a public DNS resolver in several cases makes no hit.
        _Link(
            "noise-dns",
            SelectorKind.IP,
            "8.8.8.8",
            (("dune", _t(3, 1), None), ("linde", _t(3, 1), None), ("maple", _t(3, 1), None)),
            note="resolver seen in router logs",
        ),
    ]


# Hits acknowledged by one side, with an assessment: (link name, agency, assessment).
ASSESSMENTS: tuple[tuple[str, str, Assessment | None], ...] = (
    ("kestrel-email", "GB-NCA", Assessment.SAME_INVESTIGATION),
    ("kestrel-email", "US-HSI", Assessment.SAME_INVESTIGATION),
    ("heron-username", "NL-NP", Assessment.RELATED),
    ("osprey-btc", "DE-BKA", Assessment.RELATED),
    ("banksia-imei", "AU-AFP", Assessment.SAME_INVESTIGATION),
    ("maple-phone", "CA-RCMP", None),
    ("finch-md5", "GB-NCA", Assessment.COINCIDENTAL),
)

_CODENAMES = [
    "Albatross",
    "Alder",
    "Aspen",
    "Avocet",
    "Basalt",
    "Beacon",
    "Birch",
    "Bittern",
    "Bluebell",
    "Bramble",
    "Cedar",
    "Condor",
    "Cormorant",
    "Curlew",
    "Cypress",
    "Dipper",
    "Dunlin",
    "Egret",
    "Elder",
    "Ember",
    "Falcon",
    "Fennel",
    "Fjord",
    "Gannet",
    "Garnet",
    "Glacier",
    "Goshawk",
    "Granite",
    "Hawthorn",
    "Hazel",
    "Ibis",
    "Indigo",
    "Jackdaw",
    "Juniper",
    "Kingfisher",
    "Lapwing",
    "Larch",
    "Magpie",
    "Marram",
    "Merlin",
    "Nightjar",
    "Oriole",
    "Petrel",
    "Plover",
    "Quartz",
    "Raven",
    "Redwing",
    "Rowan",
    "Sandpiper",
    "Shrike",
    "Siskin",
    "Skylark",
    "Sparrow",
    "Starling",
    "Swift",
    "Teal",
    "Thistle",
    "Wagtail",
    "Willow",
    "Wren",
]

_THEMES: dict[str, tuple[str, ...]] = {
    "possession": (
        "possession of indexed material on seized devices",
        "cloud account holding abuse material, provider referral",
    ),
    "distribution": (
        "distribution via peer-to-peer network",
        "cloud-storage link sharing ring",
        "trading group on a messaging platform",
    ),
    "production": (
        "production by a person in a position of trust, victim identification",
        "new series circulating, victim identification in progress",
    ),
    "grooming": (
        "grooming of minors on a gaming platform",
        "adult posing as a teenager on a photo-sharing app",
    ),
    "sextortion": (
        "financially motivated sextortion of teenagers",
        "sextortion network using hijacked accounts",
    ),
    "live_streaming": ("pay-per-view live-streamed abuse, buyer identified",),
    "trafficking": ("trafficking of minors advertised online",),
    "commercial_exploitation": ("subscription site selling abuse material",),
    "travelling_offender": ("travelling offender, repeated visits abroad",),
    "other": ("threats and harassment of a victim's family online",),
}

_SUMMARY_OPENINGS = (
    "Referral received from a fictional online service provider.",
    "Opened after a search warrant at the suspect's home address.",
    "Undercover officer engaged with the suspect over several weeks.",
    "Victim disclosure to a school safeguarding lead led to this case.",
    "Financial intelligence report flagged repeated small payments.",
)
_SUMMARY_FOLLOW_UPS = (
    "Devices seized and under forensic examination.",
    "Provider returns pending for subscriber data and login history.",
    "Victims safeguarded; suspect interviewed and released under investigation.",
    "Identifiers below are being checked against partner holdings.",
    "Suspect's online accounts preserved; further suspects expected.",
)
_WORDS = [
    "shadow",
    "blue",
    "night",
    "quiet",
    "silver",
    "fox",
    "river",
    "stone",
    "cloud",
    "paper",
    "lucky",
    "tiger",
    "maple",
    "north",
    "ghost",
    "cobalt",
    "velvet",
    "echo",
    "amber",
    "frost",
]

CASES_PER_AGENCY = 5


# --- building -----------------------------------------------------------------------------------


class _Builder:
    def __init__(self, session: Session, settings: Settings, rng: random.Random) -> None:
        self.session = session
        self.settings = settings
        self.rng = rng
        self.callers: dict[tuple[str, str], Caller] = {}
        self.cases: dict[str, Case] = {}
        self.case_agency: dict[str, str] = {}
        self.used: set[tuple[str, str]] = set()
        self.logins: list[Login] = []

    # people

    def user(self, agency: str, role: Role, email: str, actor: Caller) -> Caller:
        user = auth_service.create_user(
            self.session,
            actor,
            email=email,
            agency_code=agency,
            role=role,
            password=DEMO_PASSWORD,
            display_name=f"Demo {role.value.replace('_', ' ')} ({agency})",
        )
        caller = auth_service.caller_for(self.session, user, channel="cli")
        self.callers[(agency, role.value)] = caller
        self.logins.append(Login(email, DEMO_PASSWORD, agency, role.value))
        return caller

    def agencies_and_people(self) -> None:
        bootstrap = system_caller()
        hub = AGENCIES[0]
        self._register(hub, bootstrap)
        admin = self.user(HUB_CODE, Role.NETWORK_ADMIN, f"admin@{hub.domain}", bootstrap)
        for spec in AGENCIES[1:]:
            self._register(spec, admin)
        for a, b in PARTNERSHIPS:
            agency_service.add_partnership(self.session, admin, code=a, partner_code=b)
        nca_admin = self.user("GB-NCA", Role.AGENCY_ADMIN, "admin@nca.example.com", admin)
        for spec in AGENCIES[1:]:
            creator = nca_admin if spec.code == "GB-NCA" else admin
            self.user(spec.code, Role.INVESTIGATOR, f"investigator@{spec.domain}", creator)
            self.user(spec.code, Role.ANALYST, f"analyst@{spec.domain}", creator)
        self.user("DE-BKA", Role.READ_ONLY, "readonly@bka.example.net", admin)
        # An internet provider downloads the URL block list with a token; it has no web login.
        auth_service.create_user(
            self.session,
            admin,
            email="blocklist@isp.example.net",
            agency_code="NL-NP",
            role=Role.PROVIDER,
            display_name="Demo internet provider (fictional)",
        )

    def _register(self, spec: _AgencySpec, actor: Caller) -> None:
        agency_service.register_agency(
            self.session,
            actor,
            AgencyCreate(
                code=spec.code,
                name=spec.name,
                country=spec.country,
                timezone=spec.timezone,
                contact_desk=spec.desk,
                contact_phone=_valid_phone(spec.phones),
                contact_email=f"desk@{spec.domain}",
            ),
        )

    # cases

    def open(self, spec: _CaseSpec) -> Case:
        caller = self.callers[(spec.agency, spec.opener)]
        case = case_service.open_case(
            self.session,
            caller,
            CaseCreate(
                title=spec.title,
                summary=spec.summary,
                offence_types=list(spec.offences),
                sharing=spec.sharing,
                partners=list(spec.partners),
            ),
        )
        self.cases[spec.key] = case
        self.case_agency[spec.key] = spec.agency
        return case

    def filler_specs(self) -> list[_CaseSpec]:
        rng = self.rng
        codenames = list(_CODENAMES)
        rng.shuffle(codenames)
        per_agency = Counter(spec.agency for spec in SCENARIO_CASES)
        partners: dict[str, list[str]] = {}
        for a, b in PARTNERSHIPS:
            partners.setdefault(a, []).append(b)
            partners.setdefault(b, []).append(a)
        members = [spec.code for spec in AGENCIES[1:]]
        specs = []
        for code in members:
            for n in range(CASES_PER_AGENCY - per_agency[code] + 1):
                offence = rng.choice(OFFENCE_TYPES)
                extra = rng.choice(OFFENCE_TYPES)
                single = extra == offence or rng.random() < 0.5
                offences = (offence,) if single else (offence, extra)
                level = rng.choices((_R, _A, _G), weights=(35, 35, 30))[0]
                named: tuple[str, ...] = ()
                if level == _A:
                    pool = partners.get(code) or [m for m in members if m != code]
                    others = [m for m in members if m != code and m not in pool]
                    named = (*pool, *rng.sample(others, min(len(others), rng.randint(0, 1))))
                codename = codenames.pop()
                specs.append(
                    _CaseSpec(
                        key=f"{code.lower()}-{n}",
                        agency=code,
                        title=f"Operation {codename} — {rng.choice(_THEMES[offence])}",
                        summary=f"{rng.choice(_SUMMARY_OPENINGS)} "
                        f"{rng.choice(_SUMMARY_FOLLOW_UPS)} (Fictional demo case.)",
                        offences=offences,
                        sharing=level,
                        partners=named,
                        closed=rng.random() < 0.12,
                    )
                )
        return specs

    # selectors

    def add(
        self,
        key: str,
        kind: SelectorKind,
        value: str,
        *,
        platform: str | None = None,
        observed_at: datetime | None = None,
        note: str = "",
        by_analyst: bool = False,
    ) -> list[uuid.UUID]:
        agency = self.case_agency[key]
        caller = self.callers[(agency, Role.ANALYST.value if by_analyst else "investigator")]
        result = case_service.add_selector(
            self.session,
            caller,
            self.settings,
            case_id=self.cases[key].id,
            data=SelectorCreate(
                type=kind.value, value=value, platform=platform, observed_at=observed_at, note=note
            ),
        )
        self.used.add(_key(kind, value, platform))
        return [hit.id for hit in result.hits]

    def random_selector(self) -> tuple[SelectorKind, str, str | None, datetime | None]:
        rng = self.rng
        while True:
            kind = rng.choice(list(SelectorKind))
            platform: str | None = None
            observed: datetime | None = None
            if kind is SelectorKind.EMAIL:
                tld = rng.choice(("com", "net", "org"))
                value = f"{rng.choice(_WORDS)}.{rng.choice(_WORDS)}{rng.randrange(10, 99)}"
                value += f"@example.{tld}"
            elif kind is SelectorKind.PHONE:
                value = rng.choice(
                    (
                        f"+44 20 7946 0{rng.randrange(1000):03d}",
                        f"+1 {rng.choice(('202', '212', '312', '613', '416'))} 555 01"
                        f"{rng.randrange(100):02d}",
                        f"+61 2 5550 {rng.randrange(10000):04d}",
                        f"+33 1 99 00 {rng.randrange(100):02d} {rng.randrange(100):02d}",
                        f"+49 30 23125 {rng.randrange(1000):03d}",
                    )
                )
            elif kind is SelectorKind.USERNAME:
                platform = rng.choice(PLATFORMS)
                value = f"{rng.choice(_WORDS)}_{rng.choice(_WORDS)}{rng.randrange(100, 999)}"
                observed = _t(1, 1) + timedelta(minutes=rng.randrange(60 * 24 * 85))
            elif kind is SelectorKind.IP:
                if rng.random() < 0.75:
                    prefix = rng.choice(("203.0.113", "198.51.100"))
                    value = f"{prefix}.{rng.randrange(1, 255)}"
                else:
                    value = f"2001:db8:{rng.randrange(1, 0xFFFF):x}::{rng.randrange(1, 0xFFFF):x}"
                observed = _t(1, 1) + timedelta(minutes=rng.randrange(60 * 24 * 85))
            elif kind is SelectorKind.URL:
                host = (
                    rng.choice(("files", "img", "board", "shop"))
                    + "."
                    + rng.choice(("example.com", "example.net"))
                )
                value = f"https://{host}/{rng.choice(_WORDS)}/{_hex(rng, 8)}"
            elif kind is SelectorKind.DOMAIN:
                value = f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}.example." + rng.choice(
                    ("com", "net")
                )
            elif kind is SelectorKind.PAYMENT_ACCOUNT:
                value = f"merchant:DEMO-{_hex(rng, 6).upper()}"
            elif kind is SelectorKind.CRYPTO_WALLET:
                value = "0x" + _hex(rng, 40)
            elif kind is SelectorKind.MD5:
                value = _hex(rng, 32)
            elif kind is SelectorKind.SHA1:
                value = _hex(rng, 40)
            elif kind in (SelectorKind.SHA256, SelectorKind.PDQ):
                value = _hex(rng, 64)
            else:
                value = _imei(rng)
            key = _key(kind, value, platform)
            if key in self.used:
                continue
            self.used.add(key)
            return kind, value, platform, observed


def build_scenario(
    session: Session, *, seed: int = DEFAULT_SEED, settings: Settings | None = None
) -> DemoSummary:
    """Create the whole demo scenario through the services; deterministic for a seed."""
    settings = settings or Settings()
    rng = random.Random(seed)  # noqa: S311 - fictional demo data, not security
    builder = _Builder(session, settings, rng)
    builder.agencies_and_people()

    specs = [*SCENARIO_CASES, *builder.filler_specs()]
    for spec in specs:
        builder.open(spec)

    links = _links(rng)
    for link in links:
        for _key_name, _observed, own in link.holders:
            builder.used.add(_key(link.kind, own or link.value, link.platform))
    link_hits: dict[str, list[uuid.UUID]] = {}
    for link in links:
        for i, (key, observed, own) in enumerate(link.holders):
            link_hits.setdefault(link.name, []).extend(
                builder.add(
                    key,
                    link.kind,
                    own or link.value,
                    platform=link.platform,
                    observed_at=observed,
                    note=link.note,
                    by_analyst=i % 2 == 1,
                )
            )

    for spec in specs:
        for i in range(rng.randint(3, 5)):
            kind, value, platform, observed = builder.random_selector()
            builder.add(
                spec.key,
                kind,
                value,
                platform=platform,
                observed_at=observed,
                by_analyst=i == 0 and rng.random() < 0.5,
            )

    for name, agency, assessment in ASSESSMENTS:
        for hit_id in link_hits.get(name, []):
            case_service.assess_hit(
                session, builder.callers[(agency, "investigator")], hit_id, assessment
            )

    for spec in specs:
        if spec.closed:
            case_service.set_status(
                session,
                builder.callers[(spec.agency, spec.opener)],
                builder.cases[spec.key].id,
                CaseStatus.CLOSED,
            )
    _hash_sets(session, builder, rng)
    _series(session, builder)
    _clue_notice(session, builder)
    hotline = _hotline(session, builder)
    session.flush()
    summary = _summarise(session, builder)
    summary.hotline = hotline
    return summary


def _hotline(session: Session, builder: _Builder) -> demo_hotline.HotlineSummary:
    """Hotlines, the coordinator, hosting providers; six weeks of public reports; leads."""
    admin = builder.callers[(HUB_CODE, Role.NETWORK_ADMIN.value)]
    demo_hotline.members(session, admin, HUB_CODE)
    hub = AGENCIES[0]
    builder.user(HUB_CODE, Role.ANALYST, f"analyst@{hub.domain}", admin)
    for code, *_rest in demo_hotline.HOTLINES:
        builder.user(code, Role.ANALYST, f"analyst@{code.lower()}.example.org", admin)
    summary = demo_hotline.reports(session, builder.settings, builder.callers, builder.rng)
    leads = demo_hotline.leads(session, builder.settings, builder.callers)
    return demo_hotline.HotlineSummary(
        reports=summary.reports + leads,
        notices=summary.notices,
        removed=summary.removed,
        leads=leads,
    )


# (agency, name, sharing, partners, source, entries, series, category)
DEMO_HASH_SETS = (
    (
        "GB-NCA",
        "Known series (demo)",
        SharingLevel.GREEN,
        (),
        "Fictional national database",
        400,
        ("Series Harbour", "Series Orchard"),
        "national-a",
    ),
    (
        "NL-NP",
        "Benign reference files (demo)",
        SharingLevel.GREEN,
        (),
        "Fictional NSRL extract",
        600,
        (),
        "non-pertinent",
    ),
    (
        "US-HSI",
        "Case exports (demo)",
        SharingLevel.AMBER,
        ("GB-NCA",),
        "Fictional VICS export",
        250,
        ("Series Meadow",),
        "national-b",
    ),
)


def _hash_sets(session: Session, builder: _Builder, rng: random.Random) -> None:
    """A few hash sets of random (fictional) hashes, so the hash set pages have content."""
    for agency, name, sharing, partners, source, count, series, category in DEMO_HASH_SETS:
        caller = builder.callers[(agency, "investigator")]
        created = hashset_service.create_hash_set(
            session,
            caller,
            HashSetCreate(name=name, sharing=sharing, partners=list(partners), source=source),
        )
        entries = [
            hashset_formats.ParsedEntry(
                i + 1,
                md5=_hex(rng, 32),
                sha1=_hex(rng, 40),
                pdq=_hex(rng, 64) if i % 3 == 0 else None,
                category=hashset_categories.category("taskforce", category),
                series=series[(i // 4) % len(series)] if series and i % 4 == 0 else None,
                victim_identified=bool(series) and i % 8 == 0,
                source=source,
            )
            for i in range(count)
        ]
        hashset_service.import_entries(
            session, caller, set_id=created.id, entries=entries, fmt="demo"
        )


# (agency, name, sharing, partners, first seen, hash set, its series name,
#  children: (label, age band, sex, identified: (by agency, country, date) or None))
DEMO_SERIES = (
    (
        "GB-NCA",
        "Series Harbour",
        SharingLevel.GREEN,
        (),
        datetime(2024, 11, 3, tzinfo=UTC),
        "Known series (demo)",
        "Series Harbour",
        (
            ("H1", "6-8", "female", ("PH-PNP", "PH", datetime(2025, 9, 14, tzinfo=UTC))),
            ("H2", "9-11", "male", None),
        ),
    ),
    (
        "GB-NCA",
        "Series Orchard",
        SharingLevel.RED,
        (),
        datetime(2025, 2, 20, tzinfo=UTC),
        "Known series (demo)",
        "Series Orchard",
        (("O1", "12-14", "female", ("GB-NCA", "GB", datetime(2025, 6, 2, tzinfo=UTC))),),
    ),
    (
        "US-HSI",
        "Series Meadow",
        SharingLevel.AMBER,
        ("GB-NCA",),
        datetime(2025, 5, 11, tzinfo=UTC),
        "Case exports (demo)",
        "Series Meadow",
        (
            ("M1", "3-5", "unknown", ("BR-PF", "BR", datetime(2026, 2, 27, tzinfo=UTC))),
            ("M2", "6-8", "female", ("BR-PF", "BR", datetime(2026, 3, 9, tzinfo=UTC))),
        ),
    ),
)


def _series(session: Session, builder: _Builder) -> None:
    """Series built from the demo hash sets, with fictional children, some identified, so the
    series, statistics and triage pages show what the network knows."""
    for agency, name, sharing, partners, first_seen, hash_set, set_series, children in DEMO_SERIES:
        caller = builder.callers[(agency, "investigator")]
        series = series_service.create_series(
            session,
            caller,
            SeriesCreate(
                name=name,
                sharing=sharing,
                partners=list(partners),
                first_seen_at=first_seen,
                description="Fictional demo series: benign random hashes stand in for files.",
            ),
        )
        series_service.add_media(
            session,
            caller,
            series.id,
            MediaAdd(hash_set=hash_set, hash_set_series=set_series, source="demo"),
        )
        for label, age_band, sex, identified in children:
            victim = series_service.add_victim(
                session, caller, series.id, VictimCreate(label=label, age_band=age_band, sex=sex)
            )
            if identified:
                by, country, when = identified
                series_service.identify_victim(
                    session,
                    caller,
                    victim.id,
                    VictimIdentify(country=country, agency=by, identified_at=when),
                )


def _clue_notice(session: Session, builder: _Builder) -> None:
    """An open clue notice for Series Harbour's unidentified child, answered by two agencies,
    so the notices pages show a ranking and a timeline."""
    gb = builder.callers[("GB-NCA", "investigator")]
    harbour = session.scalar(select(Series).where(Series.name == "Series Harbour"))
    assert harbour is not None
    notice = notice_service.create_notice(
        session,
        gb,
        builder.settings,
        NoticeCreate(
            series_id=harbour.id,
            title="Where is this bedroom? (demo)",
            request="Fictional demo notice. Objects seen behind a child of Series Harbour.",
            targets=["South-eastern Asia", "AU"],
            clues=[
                ClueCreate(
                    kind=ClueKind.ELECTRICAL,
                    description="Wall socket with two flat "
                    "parallel pins and a round earth pin, white plastic, no switch",
                ),
                ClueCreate(
                    kind=ClueKind.PACKAGING,
                    description="Snack packet, red and yellow, "
                    "text partly legible: 'SARAP' and 'net wt 60 g'",
                ),
                ClueCreate(
                    kind=ClueKind.LANGUAGE,
                    description="A radio is heard in the "
                    "background; a presenter speaks a language other than English",
                ),
            ],
        ),
    )
    clues = list(
        session.scalars(select(Clue).where(Clue.notice_id == notice.id).order_by(Clue.number))
    )
    answers = (
        ("PH-PNP", 0, ["PH", "US"], Confidence.MEDIUM, "Type B sockets are common in homes here"),
        ("PH-PNP", 1, ["PH"], Confidence.HIGH, "A local snack brand, sold only in PH"),
        ("AU-AFP", 2, ["PH", "ID"], Confidence.LOW, "Sounds like Tagalog or Bahasa"),
    )
    for agency, clue, countries, confidence, note in answers:
        notice_service.answer_clue(
            session,
            builder.callers[(agency, "investigator")],
            builder.settings,
            notice.id,
            clues[clue].id,
            AnswerCreate(countries=countries, confidence=confidence, note=note),
        )


def _summarise(session: Session, builder: _Builder) -> DemoSummary:
    cases = {c.id: c for c in session.scalars(select(Case))}
    by_disclosure: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    acknowledged = 0
    for hit in session.scalars(select(Hit)):
        a_sees = _sees(cases[hit.b_case_id], hit.a_agency_id, session)
        b_sees = _sees(cases[hit.a_case_id], hit.b_agency_id, session)
        if a_sees and b_sees:
            by_disclosure["full"] += 1
        elif a_sees or b_sees:
            by_disclosure["mixed"] += 1
        else:
            by_disclosure["blind"] += 1
        by_type[hit.kind] += 1
        acknowledged += hit.a_acknowledged_at is not None or hit.b_acknowledged_at is not None
    return DemoSummary(
        logins=list(builder.logins),
        agencies=session.scalar(select(func.count()).select_from(Agency)) or 0,
        cases=len(cases),
        closed_cases=sum(c.status == CaseStatus.CLOSED.value for c in cases.values()),
        selectors=session.scalar(select(func.count()).select_from(Selector)) or 0,
        noise_selectors=session.scalar(
            select(func.count()).select_from(Selector).where(Selector.noise_reason.is_not(None))
        )
        or 0,
        hits=sum(by_type.values()),
        acknowledged_hits=acknowledged,
        hits_by_disclosure={k: by_disclosure[k] for k in ("full", "mixed", "blind")},
        hits_by_type=dict(sorted(by_type.items())),
    )


def _sees(case: Case, agency_id: uuid.UUID, session: Session) -> bool:
    return can_see(session, case, Caller(role=Role.READ_ONLY, channel="cli", agency_id=agency_id))


# --- command ------------------------------------------------------------------------------------


def _fresh_database(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def run(settings: Settings, *, host: str, port: int, serve: bool) -> None:
    """Build a fresh demo database, print how to use it, and serve the hub on it."""
    folder = settings.data_dir / "demo"
    path = _fresh_database(folder)
    demo_settings = settings.model_copy(
        update={
            "data_dir": folder,  # keys the hub makes (the block list's signing key) live here too
            "database_url": f"sqlite:///{path}",
            "allow_insecure_defaults": True,
            "secure_cookies": False,  # the demo serves plain http on this machine
            "resolver_hosts_file": demo_hotline.write_hosts_file(folder),
        }
    )
    engine = make_engine(demo_settings)
    started = time.monotonic()
    out.print("Building the fictional demo scenario…")
    migrate.upgrade(demo_settings, engine)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        summary = build_scenario(session, settings=demo_settings)
    demo_hotline.finish(factory, demo_settings)
    elapsed = time.monotonic() - started

    _print_summary(summary, folder=folder, path=path, url=f"http://{host}:{port}/ui/")
    out.print(
        f"Demo ready in {elapsed:.1f} s: {summary.agencies} agencies, {summary.cases} cases, "
        f"{summary.selectors} selectors, {summary.hits} hits."
    )
    if summary.hotline is not None:
        h = summary.hotline
        out.print(
            f"Hotline: {h.reports} public reports, {h.notices} takedown notices ({h.removed} "
            f"removed), {h.leads} urgent leads. The public form: http://{host}:{port}/report"
        )
    if serve:
        import uvicorn

        from taskforce.app import create_app

        # the app reads forwarded addresses itself, from the trusted proxies only
        uvicorn.run(create_app(demo_settings, engine), host=host, port=port, proxy_headers=False)


def _print_summary(summary: DemoSummary, *, folder: Path, path: Path, url: str) -> None:
    out.print()
    out.print("[bold]taskforce demo[/bold] — every agency, person and identifier is fictional")
    out.print(f"  data folder: {folder}", markup=False)
    out.print(f"  database:    {path}", markup=False)
    out.print(f"  open:        {url}", markup=False)
    out.print(
        f"  console:     TASKFORCE_DATA_DIR={folder} TASKFORCE_DATABASE_URL=sqlite:///{path} "
        "taskforce ...",
        markup=False,
    )
    out.print()
    table = Table(title="Demo logins", title_justify="left")
    for column in ("email", "agency", "role"):
        table.add_column(column, no_wrap=True)
    for login in summary.logins:
        table.add_row(login.email, login.agency, login.role)
    out.print(table)
    passwords = sorted({login.password for login in summary.logins})
    out.print(f"  password of every demo login: {', '.join(passwords)}", markup=False)
    d = summary.hits_by_disclosure
    out.print(
        f"  agencies: {summary.agencies}   cases: {summary.cases} ({summary.closed_cases} closed)"
        f"   selectors: {summary.selectors} ({summary.noise_selectors} on the noise list)"
    )
    out.print(
        f"  hits: {summary.hits} ({summary.acknowledged_hits} acknowledged) — full both ways "
        f"{d.get('full', 0)}, blind one way {d.get('mixed', 0)}, blind both ways "
        f"{d.get('blind', 0)}"
    )
    out.print(
        "  hits by type: " + ", ".join(f"{k} {v}" for k, v in summary.hits_by_type.items()),
        markup=False,
    )
    out.print()
