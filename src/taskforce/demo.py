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
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce import (
    demo_chats,
    demo_commerce,
    demo_features,
    demo_hotline,
    demo_interop,
    demo_observatory,
    demo_watch,
)
from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.agencies.schemas import AgencyCreate
from taskforce.cases import additions as case_additions
from taskforce.cases import hits as case_hits
from taskforce.cases import service as case_service
from taskforce.cases.models import Case, Hit, Selector
from taskforce.cases.schemas import (
    OFFENCE_TYPES,
    CaseCreate,
    CaseStatus,
    SelectorCreate,
)
from taskforce.cases.selectors import SelectorKind
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Caller, Role, system_caller
from taskforce.core.db import utcnow
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel, can_see
from taskforce.demo_scenario import (
    AGENCIES,
    ASSESSMENTS,
    CASES_PER_AGENCY,
    DEMO_HASH_SETS,
    HUB_CODE,
    PARTNERSHIPS,
    PLATFORMS,
    SCENARIO_CASES,
    AgencySpec,
    CaseSpec,
    Login,
    demo_time,
    link_key,
    random_hex,
    random_imei,
    scenario_links,
    valid_phone,
)
from taskforce.demo_scenario import (
    DEMO_PASSWORD as DEMO_PASSWORD,  # the demo's logins' password, imported from here
)
from taskforce.demo_words import CODENAMES, SUMMARY_FOLLOW_UPS, SUMMARY_OPENINGS, THEMES, WORDS
from taskforce.hashsets import categories as hashset_categories
from taskforce.hashsets import formats as hashset_formats
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.schemas import HashSetCreate

DEFAULT_SEED = 2026


# --- result -----------------------------------------------------------------------------------


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
    features: demo_features.Features | None = None
    watch: demo_watch.WatchSummary | None = None
    observatory: demo_observatory.ObservatorySummary | None = None
    interop: demo_interop.InteropSummary | None = None
    commerce: demo_commerce.CommerceSummary | None = None
    chats: demo_chats.ChatsSummary | None = None


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

    def _register(self, spec: AgencySpec, actor: Caller) -> None:
        agency_service.register_agency(
            self.session,
            actor,
            AgencyCreate(
                code=spec.code,
                name=spec.name,
                country=spec.country,
                timezone=spec.timezone,
                contact_desk=spec.desk,
                contact_phone=valid_phone(spec.phones),
                contact_email=f"desk@{spec.domain}",
            ),
        )

    # cases

    def open(self, spec: CaseSpec) -> Case:
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

    def filler_specs(self) -> list[CaseSpec]:
        rng = self.rng
        codenames = list(CODENAMES)
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
                level = rng.choices(
                    (SharingLevel.RED, SharingLevel.AMBER, SharingLevel.GREEN), weights=(35, 35, 30)
                )[0]
                named: tuple[str, ...] = ()
                if level == SharingLevel.AMBER:
                    pool = partners.get(code) or [m for m in members if m != code]
                    others = [m for m in members if m != code and m not in pool]
                    named = (*pool, *rng.sample(others, min(len(others), rng.randint(0, 1))))
                codename = codenames.pop()
                specs.append(
                    CaseSpec(
                        key=f"{code.lower()}-{n}",
                        agency=code,
                        title=f"Operation {codename} — {rng.choice(THEMES[offence])}",
                        summary=f"{rng.choice(SUMMARY_OPENINGS)} "
                        f"{rng.choice(SUMMARY_FOLLOW_UPS)} (Fictional demo case.)",
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
        result = case_additions.add_selector(
            self.session,
            caller,
            self.settings,
            case_id=self.cases[key].id,
            data=SelectorCreate(
                type=kind.value, value=value, platform=platform, observed_at=observed_at, note=note
            ),
        )
        self.used.add(link_key(kind, value, platform))
        return [hit.id for hit in result.hits]

    def random_selector(self) -> tuple[SelectorKind, str, str | None, datetime | None]:
        rng = self.rng
        while True:
            kind = rng.choice(list(SelectorKind))
            platform: str | None = None
            observed: datetime | None = None
            if kind is SelectorKind.EMAIL:
                tld = rng.choice(("com", "net", "org"))
                value = f"{rng.choice(WORDS)}.{rng.choice(WORDS)}{rng.randrange(10, 99)}"
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
                value = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}{rng.randrange(100, 999)}"
                observed = demo_time(1, 1) + timedelta(minutes=rng.randrange(60 * 24 * 85))
            elif kind is SelectorKind.IP:
                if rng.random() < 0.75:
                    prefix = rng.choice(("203.0.113", "198.51.100"))
                    value = f"{prefix}.{rng.randrange(1, 255)}"
                else:
                    value = f"2001:db8:{rng.randrange(1, 0xFFFF):x}::{rng.randrange(1, 0xFFFF):x}"
                observed = demo_time(1, 1) + timedelta(minutes=rng.randrange(60 * 24 * 85))
            elif kind is SelectorKind.URL:
                host = (
                    rng.choice(("files", "img", "board", "shop"))
                    + "."
                    + rng.choice(("example.com", "example.net"))
                )
                value = f"https://{host}/{rng.choice(WORDS)}/{random_hex(rng, 8)}"
            elif kind is SelectorKind.DOMAIN:
                value = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}.example." + rng.choice(
                    ("com", "net")
                )
            elif kind is SelectorKind.PAYMENT_ACCOUNT:
                value = f"merchant:DEMO-{random_hex(rng, 6).upper()}"
            elif kind is SelectorKind.CRYPTO_WALLET:
                value = "0x" + random_hex(rng, 40)
            elif kind is SelectorKind.MD5:
                value = random_hex(rng, 32)
            elif kind is SelectorKind.SHA1:
                value = random_hex(rng, 40)
            elif kind in (SelectorKind.SHA256, SelectorKind.PDQ):
                value = random_hex(rng, 64)
            else:
                value = random_imei(rng)
            key = link_key(kind, value, platform)
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

    links = scenario_links(rng)
    for link in links:
        for _key_name, _observed, own in link.holders:
            builder.used.add(link_key(link.kind, own or link.value, link.platform))
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
            case_hits.assess_hit(
                session, builder.callers[(agency, "investigator")], hit_id, assessment
            )

    for spec in specs:
        if spec.closed:
            case_service.set_status(
                session,
                builder.callers[(spec.agency, spec.opener)],
                builder.cases[spec.key].id,
                CaseStatus.CLOSED,
                reason="offender convicted; the other agencies were told by phone (demo)",
            )
    _hash_sets(session, builder, rng)
    demo_features.series(session, builder.callers)
    demo_features.clue_notice(session, builder.settings, builder.callers)
    # a triage run on a case, its candidate series, the notice's public page with a tip
    features = demo_features.build(
        session, builder.settings, builder.callers[("GB-NCA", "investigator")]
    )
    hotline = _hotline(session, builder)
    now = utcnow()
    watch = demo_watch.rota(session, builder.callers[(HUB_CODE, Role.NETWORK_ADMIN.value)], now)
    watch.preservations = demo_watch.preservations(session, builder.settings, builder.callers, now)
    watch.handover = demo_watch.handover(
        session,
        builder.settings,
        builder.callers,
        builder.callers[(HUB_CODE, Role.NETWORK_ADMIN.value)],
        now,
    )
    observatory = demo_observatory.build(
        session,
        builder.settings,
        builder.callers[(HUB_CODE, Role.NETWORK_ADMIN.value)],
        HUB_CODE,
        rng,
        now,
    )
    interop = demo_interop.build(
        session,
        builder.settings,
        builder.callers,
        [(builder.case_agency[key], case) for key, case in builder.cases.items()],
        now,
    )
    gb_open = [
        case
        for key, case in builder.cases.items()
        if builder.case_agency[key] == "GB-NCA" and case.status == "open"
    ]
    commerce = demo_commerce.build(
        session,
        builder.settings,
        builder.callers[("GB-NCA", "investigator")],
        builder.callers[(HUB_CODE, Role.NETWORK_ADMIN.value)],
        gb_open[0],
        now,
    )
    chats = demo_chats.build(
        session,
        builder.settings,
        builder.callers[("GB-NCA", "investigator")],
        gb_open[-1],
        now,
    )
    session.flush()
    summary = _summarise(session, builder)
    summary.hotline = hotline
    summary.features = features
    summary.watch = watch
    summary.observatory = observatory
    summary.interop = interop
    summary.commerce = commerce
    summary.chats = chats
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
                md5=random_hex(rng, 32),
                sha1=random_hex(rng, 40),
                pdq=random_hex(rng, 64) if i % 3 == 0 else None,
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
