"""The interop page (`/ui/interop`): what the caller's agency may pass on, counted by the one
releasability rule (AMBER, RED, "not for export", a peer's, noise and common values left out);
the agency's own recent exports and no other agency's; the TAXII connection details; and a
MISP file imported into one of the agency's cases from the page, with its summary."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from builders import Network, csrf_field, make_case, web_login
from fastapi.testclient import TestClient
from pymisp import MISPEvent
from releasable_builders import build
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Selector
from taskforce.cases.selectors import SelectorKind
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import system_caller
from taskforce.core.errors import Forbidden
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.interop import misp_events, overview, releasable, signatures, stix
from taskforce.interop.models import InteropExport


def test_counts_follow_the_releasability_rule(
    session: Session, settings: Settings, network: Network
) -> None:
    build(session, settings, network)
    counts = {c.agency_code: c for c in releasable.counts(session, network.us.caller)}
    assert sorted(counts) == ["GB-NCA", "NL-NP"]
    gb = counts["GB-NCA"]
    # the GREEN case only: not the one held back, the AMBER, the RED or the peer's
    assert gb.cases == 1
    assert gb.selector_total == 12  # its noise and its common value stay home
    assert gb.selectors["ip"] == 2
    assert gb.selectors["phone"] == 1
    assert (gb.hash_sets, gb.hash_entries) == (1, 2)  # the GREEN set, not "Held" or "Red"
    assert counts["NL-NP"].selectors == {"domain": 2}
    with pytest.raises(Forbidden):  # the console's operator acts for no agency
        releasable.counts(session, system_caller())


def test_the_page_shows_what_may_leave_and_the_taxii_details(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    build(session, settings, network)
    web_login(client, session, network.us)  # US holds no case: its import list is empty
    page = client.get("/ui/interop")
    assert page.status_code == 200, page.text
    text = page.text
    assert '<a href="/ui/interop" class="active">Exports</a>' in text
    assert "<strong>14</strong> selectors" in text
    assert "<strong>2</strong> GREEN cases" in text
    assert "<strong>2</strong> hash-set entries" in text
    assert '<span class="chip">MISP only</span>' in text  # the phone
    assert "http://testserver/taxii2/" in text
    assert "Network: GREEN indicators" in text  # the TAXII collections the account reads
    assert "NL-NP: GREEN indicators" in text
    assert "Your agency's administrator creates such an account" in text
    for secret in ("Secret title", "Secret summary", "Secret note", "held-back.example.com"):
        assert secret not in text
    assert "Your agency has no open case to import into." in text
    audited = session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "interop.overview")
    ).all()
    assert audited == [{"agencies": 2, "selectors": 14}]
    # an agency admin is pointed at where tokens are made
    web_login(client, session, network.gb_admin)
    assert 'href="/ui/users/new">Create a read-only account</a>' in client.get("/ui/interop").text


def test_recent_exports_are_the_agencys_own(
    client: TestClient, session: Session, network: Network
) -> None:
    at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    for person, digest in ((network.gb, "a" * 64), (network.nl, "b" * 64)):
        session.add(
            InteropExport(
                agency_id=person.caller.agency_id,
                user_id=person.user.id,
                actor_label=person.user.email,
                format="stix",
                created_at=at,
                object_count=42,
                byte_count=12_345,
                sha256=digest,
                detail={"agency": "GB-NCA"},
            )
        )
    session.commit()
    rows = overview.recent_exports(session, network.gb_reader.caller)
    assert [r.sha256 for r in rows] == ["a" * 64]
    web_login(client, session, network.gb)
    text = client.get("/ui/interop").text
    assert "a" * 64 in text
    assert "b" * 64 not in text
    assert "STIX 2.1 bundle" in text
    assert "12,345" in text


def _misp_file() -> bytes:
    event = MISPEvent()
    event.info = "Fictional board, example data"
    event.add_attribute("url", "https://board.example.com/t/1")
    event.add_attribute("domain", "mirror.example.net")
    event.add_attribute("btc", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")
    event.add_attribute("comment", "seen on the front page")
    event.add_attribute("ip-src", "203.0.113.999")  # not an address: a reported line
    return json.dumps({"Event": json.loads(event.to_json())}).encode()


def test_a_misp_file_is_imported_into_a_case_from_the_page(
    client: TestClient, session: Session, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Kestrel")
    theirs = make_case(session, network.nl, title="Operation Torenvalk", sharing=SharingLevel.GREEN)
    web_login(client, session, network.gb)
    page = client.get("/ui/interop")
    assert f'<option value="{case.reference}">' in page.text
    assert theirs.reference not in page.text
    token = csrf_field(page.text)

    r = client.post(
        "/ui/interop/misp-import",
        data={"csrf_token": token, "case": case.reference},
        files={"file": ("event.json", _misp_file(), "application/json")},
    )
    assert r.status_code == 200, r.text
    assert "3 added, 0 already there, 1 invalid" in r.text
    assert "<code>comment</code> 1" in r.text
    session.expire_all()
    values = session.scalars(select(Selector.value).where(Selector.case_id == case.id)).all()
    assert "mirror.example.net" in values

    again = client.post(
        "/ui/interop/misp-import",
        data={"csrf_token": token, "case": case.reference},
        files={"file": ("event.json", _misp_file(), "application/json")},
    )
    assert "0 added, 3 already there" in again.text

    # another agency's case, a file that is no MISP event, no file: refused, named
    refused = client.post(
        "/ui/interop/misp-import",
        data={"csrf_token": token, "case": theirs.reference},
        files={"file": ("event.json", _misp_file(), "application/json")},
    )
    assert refused.status_code == 422
    assert "Case: must be the reference of a case of your agency" in refused.text
    letter = client.post(
        "/ui/interop/misp-import",
        data={"csrf_token": token, "case": case.reference},
        files={"file": ("letter.txt", b"Dear colleague,\n", "text/plain")},
    )
    assert letter.status_code == 422
    empty = client.post(
        "/ui/interop/misp-import",
        data={"csrf_token": token, "case": case.reference},
        files={"file": ("", b"", "application/octet-stream")},
    )
    assert empty.status_code == 422
    assert "choose a MISP event file" in empty.text


def test_a_read_only_account_has_no_import_form_and_is_refused(
    client: TestClient, session: Session, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Kestrel")
    token = web_login(client, session, network.gb_reader)
    page = client.get("/ui/interop")
    assert page.status_code == 200
    assert "Import a MISP event" not in page.text
    r = client.post(
        "/ui/interop/misp-import",
        data={"csrf_token": token, "case": case.reference},
        files={"file": ("event.json", _misp_file(), "application/json")},
    )
    assert r.status_code == 403


def test_downloads_from_the_page_are_recorded_audited_and_signed(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    build(session, settings, network)
    web_login(client, session, network.nl)
    r = client.get("/ui/interop/stix", params={"agency": "GB-NCA"})
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    bundle = r.json()
    assert bundle["type"] == "bundle"
    assert "Secret title" not in r.text
    record = session.scalars(select(InteropExport).where(InteropExport.format == "stix")).one()
    assert record.agency_id == network.nl.caller.agency_id
    assert record.sha256 == hashlib.sha256(r.content).hexdigest()
    assert record.detail["agency"] == "GB-NCA"
    disclosed = session.scalars(select(AuditEntry).where(AuditEntry.action == "export_stix")).one()
    assert disclosed.detail["sha256"] == record.sha256

    page = client.get("/ui/interop").text
    link = f"/ui/interop/exports/{record.id}/signature"
    assert link in page
    signature = client.get(link)
    assert signature.status_code == 200
    document = signature.json()
    assert document["sha256"] == record.sha256
    signatures.verify(io.BytesIO(r.content), document, signatures.public_key(settings))

    misp_file = client.get("/ui/interop/misp")
    assert misp_file.status_code == 200
    assert "response" in misp_file.json()
    feed = client.get("/ui/interop/misp-feed")
    assert feed.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(feed.content)).namelist()
    assert "taskforce-feed/manifest.json" in names
    assert "taskforce-feed/hashes.csv" in names
    assert "taskforce-feed/SHA256SUMS.sig.json" in names
    formats = session.scalars(select(InteropExport.format).order_by(InteropExport.format)).all()
    assert formats == ["misp", "misp-feed", "stix"]

    # GB sees none of NL's exports, nor their signatures
    web_login(client, session, network.gb)
    assert record.sha256 not in client.get("/ui/interop").text
    assert client.get(link).status_code == 404
    assert client.get("/ui/interop/stix", params={"agency": "XX-NONE"}).status_code == 422


def test_each_type_is_marked_with_where_it_cannot_go() -> None:
    """The marks follow what the STIX and MISP writers carry: an IMEI goes nowhere, a username
    to STIX only, a phone to MISP only, a wallet to MISP only when it is Bitcoin or Monero
    (the marks stay short, for a phone's screen)."""

    def note(kind: str) -> str | None:
        return overview.KindCount(
            kind=kind,
            selectors=1,
            in_stix=kind in stix.EXPORTED_KINDS,
            in_misp=kind in misp_events.MISP_KINDS,
            misp_part=misp_events.MISP_IN_PART.get(kind),
        ).note

    assert note("url") is None
    assert note("phone") == "MISP only"
    assert note("username") == "STIX only"
    assert note("imei") == "stays in the hub"
    assert note("payment_account") == "MISP only: cards, IBANs"
    assert note("crypto_wallet") == "MISP: BTC, XMR only"
    for kind in SelectorKind:  # the MISP writer agrees with the marks
        whole = kind.value in misp_events.MISP_KINDS and kind.value not in misp_events.MISP_IN_PART
        if whole or kind.value not in misp_events.MISP_KINDS:
            found = misp_events.attribute_of(kind.value, "0" * 64)
            assert (found is not None) == whole, kind
