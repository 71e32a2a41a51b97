"""The fictional scenario `taskforce demo` builds (`demo.py`): the agencies of ten countries,
their cases and the deliberate overlaps between them, as tables and the small rules that make
their values (fictional phone ranges, card check digits, IMEIs, near PDQ hashes).

Every value is fictional; `demo.py`'s docstring says where each kind comes from."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

import phonenumbers

from taskforce.cases.schemas import (
    Assessment,
)
from taskforce.cases.selectors import SelectorKind, normalise
from taskforce.core.sharing import SharingLevel

# --- agencies ---------------------------------------------------------------------------------


DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - documented password of fictional demo users


@dataclass(frozen=True)
class Login:
    email: str
    password: str
    agency: str
    role: str


HUB_CODE = "INT-HUB"
PLATFORMS = ("chatapp", "photoshare", "forumx")


@dataclass(frozen=True)
class AgencySpec:
    code: str
    domain: str
    name: str
    country: str
    timezone: str
    desk: str
    phones: tuple[str, ...]
    """Candidates, first valid one wins (fiction ranges first)."""


AGENCIES: tuple[AgencySpec, ...] = (
    AgencySpec(
        HUB_CODE,
        "hub.example.org",
        "Demo Network Coordination Hub (fictional)",
        "FR",
        "Europe/Paris",
        "Hub duty officer",
        ("+33199001234", "+33199000042"),
    ),
    AgencySpec(
        "GB-NCA",
        "nca.example.com",
        "Demo National Crime Unit (fictional)",
        "GB",
        "Europe/London",
        "CSE referrals desk 24/7",
        ("+442079460123", "+442079460999"),
    ),
    AgencySpec(
        "NL-NP",
        "np.example.net",
        "Demo Netherlands Police Team (fictional)",
        "NL",
        "Europe/Amsterdam",
        "Landelijk meldpunt 24/7",
        ("+31201234567", "+31206001234"),
    ),
    AgencySpec(
        "DE-BKA",
        "bka.example.net",
        "Demo Federal Criminal Office (fictional)",
        "DE",
        "Europe/Berlin",
        "Lagedienst 24/7",
        ("+493023125000", "+493023125123"),
    ),
    AgencySpec(
        "US-HSI",
        "hsi.example.com",
        "Demo Homeland Investigations Cyber Unit (fictional)",
        "US",
        "America/New_York",
        "Cyber crimes duty desk",
        ("+12025550142", "+12125550199"),
    ),
    AgencySpec(
        "CA-RCMP",
        "rcmp.example.org",
        "Demo Federal Police Exploitation Centre (fictional)",
        "CA",
        "America/Toronto",
        "Exploitation centre duty desk",
        ("+16135550123", "+14165550123"),
    ),
    AgencySpec(
        "AU-AFP",
        "afp.example.org",
        "Demo Federal Police ACCE Team (fictional)",
        "AU",
        "Australia/Sydney",
        "Operations centre 24/7",
        ("+61255501234", "+61370100123"),
    ),
    AgencySpec(
        "BR-PF",
        "pf.example.net",
        "Demo Federal Police Cyber Unit (fictional)",
        "BR",
        "America/Sao_Paulo",
        "Plantão 24h",
        ("+556155550123", "+552155550123"),
    ),
    AgencySpec(
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


def valid_phone(candidates: tuple[str, ...]) -> str:
    for number in candidates:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(number, None)):
                return number
        except phonenumbers.NumberParseException:
            continue
    raise ValueError(f"no valid demo phone number among {candidates}")


# --- cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseSpec:
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

SCENARIO_CASES: tuple[CaseSpec, ...] = (
    CaseSpec(
        "kestrel",
        "GB-NCA",
        "Operation Kestrel — distribution network on file-sharing forum",
        "Moderators of a members-only board on a fictional file-sharing forum run an invitation "
        "scheme: new members must upload previously unseen material. Two administrators "
        "identified by handle and e-mail; server logs requested.",
        ("distribution", "production"),
        _G,
    ),
    CaseSpec(
        "lantern",
        "US-HSI",
        "Operation Lantern — forum moderators distributing abuse material",
        "Undercover account admitted to the same board as Operation Kestrel's targets. The "
        "administrator account uses an e-mail address and upload hashes seen in our referrals.",
        ("distribution",),
        _G,
    ),
    CaseSpec(
        "heron",
        "NL-NP",
        "Operation Heron — grooming via chat app, several victims aged 11–13",
        "A suspect contacts children on a chat app posing as a 14-year-old and moves the "
        "conversation to a photo-sharing app. Three victims identified in the Netherlands.",
        ("grooming", "sextortion"),
        _A,
        ("GB-NCA",),
    ),
    CaseSpec(
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
    CaseSpec(
        "osprey",
        "DE-BKA",
        "Operation Osprey — pay-per-view live streaming, payments traced",
        "Financial intelligence shows regular small payments from a German suspect to accounts "
        "associated with live-streamed abuse. Wallet and IBAN identified.",
        ("live_streaming", "commercial_exploitation"),
        _A,
        ("NL-NP",),
    ),
    CaseSpec(
        "wattle",
        "AU-AFP",
        "Operation Wattle — buyers of live-streamed abuse, payment analysis",
        "Blockchain analysis of a wallet paid by several buyers of live-streamed abuse; one "
        "buyer located in Australia, others abroad.",
        ("live_streaming", "commercial_exploitation"),
        _G,
    ),
    CaseSpec(
        "harbour",
        "PH-PNP",
        "Operation Harbour — live-streamed abuse for payment, facilitator identified",
        "A facilitator streams abuse of children in her care to paying viewers abroad. Card "
        "payments and a wallet identified; children safeguarded.",
        ("live_streaming", "trafficking"),
        _A,
        ("AU-AFP",),
    ),
    CaseSpec(
        "maple",
        "CA-RCMP",
        "Operation Maple — travelling offender arranging contact abroad",
        "A Canadian suspect arranges travel and contact with children through an intermediary "
        "abroad. Phone and IP address identified from a production order.",
        ("travelling_offender",),
        _R,
    ),
    CaseSpec(
        "cardinal",
        "US-HSI",
        "Operation Cardinal — intermediary offering access to children",
        "An intermediary advertises access to children to travelling offenders. Phone number "
        "and login IP obtained from a provider.",
        ("travelling_offender", "trafficking"),
        _R,
    ),
    CaseSpec(
        "ipe",
        "BR-PF",
        "Operação Ipê — production and sale of abuse material",
        "A Brazilian suspect produces and sells material through a storefront; a file hash "
        "matches one listed in a foreign case.",
        ("production", "commercial_exploitation"),
        _R,
    ),
    CaseSpec(
        "banksia",
        "AU-AFP",
        "Operation Banksia — seized handset linked to grooming accounts",
        "A handset seized in a search holds several grooming accounts; IMEI recorded.",
        ("grooming", "possession"),
        _R,
    ),
    CaseSpec(
        "coral",
        "AU-AFP",
        "Operation Coral — account takeover and sextortion, same handset",
        "Sextortion complaints lead to an account logged in from the handset seized in "
        "Operation Banksia.",
        ("sextortion",),
        _A,
        ("PH-PNP",),
    ),
    CaseSpec(
        "dune",
        "NL-NP",
        "Operation Dune — hidden-service mirror of an abuse board",
        "Dutch hosting of a mirror of a known board; image hashes and access logs collected.",
        ("distribution",),
        _G,
    ),
    CaseSpec(
        "linde",
        "DE-BKA",
        "Operation Linde — possession and distribution via messenger groups",
        "A suspect shares material in messenger groups; subscriber data for several IP "
        "addresses obtained.",
        ("possession", "distribution"),
        _R,
    ),
    CaseSpec(
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
class Link:
    """One identifier deliberately held by several cases (holder: case key, observed time,
    and a value of its own for PDQ near matches)."""

    name: str
    kind: SelectorKind
    value: str
    holders: tuple[tuple[str, datetime | None, str | None], ...]
    platform: str | None = None
    note: str = ""


def demo_time(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def random_hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def flip_bits(hex_value: str, rng: random.Random, count: int) -> str:
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


def link_key(kind: SelectorKind, value: str, platform: str | None) -> tuple[str, str]:
    return kind.value, normalise(kind, value, platform=platform).key


def random_imei(rng: random.Random) -> str:
    body = "00" + "".join(str(rng.randrange(10)) for _ in range(12))
    return body + luhn_check_digit(body)


def scenario_links(rng: random.Random) -> list[Link]:
    pdq_base = random_hex(rng, 64)
    pdq_near = flip_bits(pdq_base, rng, 14)
    return [
        # GREEN <-> GREEN: full both ways.
        Link(
            "kestrel-email",
            SelectorKind.EMAIL,
            "Kestrel.Admin@example.net",
            (("kestrel", None, None), ("lantern", None, None)),
            note="administrator account of the board",
        ),
        Link(
            "kestrel-url",
            SelectorKind.URL,
            "HTTP://Files.Example.net/board/../board/index.php?invite=1#top",
            (("kestrel", None, None), ("lantern", None, None)),
        ),
        Link(
            "kestrel-sha256",
            SelectorKind.SHA256,
            random_hex(rng, 64),
            (("kestrel", None, None), ("lantern", None, None)),
        ),
        # AMBER naming each other: full both ways.
        Link(
            "heron-username",
            SelectorKind.USERNAME,
            "@NightOwl_77",
            (("heron", demo_time(2, 2), None), ("tern", demo_time(2, 20), None)),
            platform="chatapp",
        ),
        Link(
            "heron-phone",
            SelectorKind.PHONE,
            "+44 20 7946 0871",
            (("heron", None, None), ("tern", None, None)),
        ),
        # AMBER not naming the other agency: DE sees AU (GREEN) in full, AU sees DE blind.
        Link(
            "osprey-btc",
            SelectorKind.CRYPTO_WALLET,
            "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
            (("osprey", None, None), ("wattle", None, None)),
        ),
        Link(
            "osprey-iban",
            SelectorKind.PAYMENT_ACCOUNT,
            "DE89 3704 0044 0532 0130 00",
            (("osprey", None, None), ("wattle", None, None)),
        ),
        # AMBER naming AU (PH side) and GREEN (AU side): full both ways.
        Link(
            "harbour-card",
            SelectorKind.PAYMENT_ACCOUNT,
            "4111 1111 1111 1111",
            (("wattle", None, None), ("harbour", None, None)),
        ),
        # RED <-> RED: blind both ways.
        Link(
            "maple-phone",
            SelectorKind.PHONE,
            "+1 202-555-0173",
            (("maple", None, None), ("cardinal", None, None)),
        ),
        Link(
            "maple-ip-inside-window",
            SelectorKind.IP,
            "198.51.100.23",
            (("maple", demo_time(2, 10, 14), None), ("cardinal", demo_time(2, 11, 9, 30), None)),
            note="login IP from provider return",
        ),
        # RED (BR) <-> GREEN (GB): BR sees Kestrel in full, GB gets a blind hit.
        Link(
            "ipe-sha1",
            SelectorKind.SHA1,
            random_hex(rng, 40),
            (("ipe", None, None), ("kestrel", None, None)),
        ),
        # AMBER (GB names NL) <-> AMBER (DE names NL): blind both ways.
        Link(
            "tern-domain",
            SelectorKind.DOMAIN,
            "Payme-Quick.example.com.",
            (("tern", None, None), ("osprey", None, None)),
        ),
        # AMBER (PH names AU) <-> RED (BR): blind both ways.
        Link(
            "harbour-eth",
            SelectorKind.CRYPTO_WALLET,
            "0x" + random_hex(rng, 40).upper(),
            (("harbour", None, None), ("ipe", None, None)),
        ),
        # Two cases of one agency: full.
        Link(
            "banksia-imei",
            SelectorKind.IMEI,
            random_imei(rng),
            (("banksia", None, None), ("coral", None, None)),
        ),
        # PDQ near match (14 bits apart), GREEN <-> GREEN.
        Link(
            "kestrel-pdq-near",
            SelectorKind.PDQ,
            pdq_base,
            (("kestrel", None, None), ("dune", None, pdq_near)),
            note="perceptual hash of a series image",
        ),
        # The same IP months apart: no hit (dynamic addresses change hands).
        Link(
            "dune-ip-outside-window",
            SelectorKind.IP,
            "203.0.113.45",
            (("dune", demo_time(1, 5, 8), None), ("linde", demo_time(3, 20, 21, 15), None)),
        ),
        # IPv6 within the window, GREEN (NL) <-> RED (DE): NL blind, DE full.
        Link(
            "dune-ipv6",
            SelectorKind.IP,
            "2001:DB8:4F:0:0:0:0:17",
            (("dune", demo_time(3, 1, 10), None), ("linde", demo_time(3, 2, 18), None)),
        ),
        # A closed case still deconflicts: GREEN (closed, GB) <-> RED (AU).
        Link(
            "finch-md5",
            SelectorKind.MD5,
            random_hex(rng, 32),
            (("finch", None, None), ("banksia", None, None)),
        ),
        # Noise: a public DNS resolver in several cases makes no hit.
        Link(
            "noise-dns",
            SelectorKind.IP,
            "8.8.8.8",
            (
                ("dune", demo_time(3, 1), None),
                ("linde", demo_time(3, 1), None),
                ("maple", demo_time(3, 1), None),
            ),
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

CASES_PER_AGENCY = 5


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
