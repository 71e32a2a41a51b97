"""Walk every API route as a user of an unrelated agency and prove nothing of a RED or AMBER
record leaks (MISP's CVE-2020-14969 was one forgotten route)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from builders import (
    Network,
    add_selector,
    jpeg,
    make_case,
    make_triage_run,
    picture,
    token_for,
)
from chats_builders import by_key, imported
from commerce_builders import crawled_site
from fastapi import FastAPI
from fastapi.testclient import TestClient
from handover_builders import GB_ENDS, on_rota
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.cases import service as case_service
from taskforce.cases.models import Notification
from taskforce.chats.models import ChatMessage
from taskforce.commerce import graphs as commerce_graphs
from taskforce.commerce import payments as commerce_payments
from taskforce.commerce import watchlist as commerce_watchlist
from taskforce.core.auth.models import ApiToken
from taskforce.core.caller import system_caller
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.federation.models import Peer, ReleaseRequest, RemoteHit
from taskforce.hashsets import formats
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.schemas import HashSetCreate
from taskforce.hosting import service as hosting_service
from taskforce.hosting.schemas import ProviderCreate
from taskforce.notices import reading as notice_reading
from taskforce.notices import service as notice_service
from taskforce.notices.schemas import ClueCreate, NoticeCreate
from taskforce.preservation import service as preservation_service
from taskforce.preservation.schemas import IdentifierIn, PreservationCreate
from taskforce.reports.models import Report
from taskforce.series import proposals
from taskforce.series import service as series_service
from taskforce.series.schemas import MediaAdd, MediaHashes, SeriesCreate, VictimCreate
from taskforce.takedown import service as takedown_service
from taskforce.watch import handovers
from taskforce.watch import service as watch_service
from taskforce.watch.schemas import HandoverWrite

WATCHED = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55's own example: on the list

BODIES: dict[str, object] = {
    "/api/v1/cases": {"title": "Probe case", "sharing": "green"},
    "/api/v1/cases/{case_id}": {"title": "Hijacked title"},
    "/api/v1/cases/{case_id}/selectors": {"type": "email", "value": "probe@example.com"},
    "/api/v1/hits/{hit_id}/acknowledge": {"assessment": "coincidental"},
    "/api/v1/users": {"email": "probe@example.com", "agency": "GB-NCA", "role": "investigator"},
    "/api/v1/tokens": {"name": "probe"},
    "/api/v1/agencies": {
        "code": "XX-PROBE",
        "name": "Probe",
        "country": "GB",
        "timezone": "Europe/London",
        "contact_desk": "Desk",
        "contact_phone": "+442079460999",
        "contact_email": "d@example.com",
    },
    "/api/v1/agencies/{code}": {"name": "Renamed"},
    "/api/v1/agencies/{code}/partners": {"partner": "US-HSI"},
    "/api/v1/noise": {"type": "ip", "pattern": "203.0.113.250", "reason": "probing"},
    "/api/v1/hashsets": {"name": "Probe set"},
    "/api/v1/hashsets/{set_id}": {"name": "Hijacked set"},
    "/api/v1/match": {"hashes": [{"md5": "5eb63bbbe01eeed093cb22bb8f5acdc3"}]},
    "/api/v1/series": {"name": "Probe series"},
    "/api/v1/series/{series_id}/media": {"media": [{"md5": "5eb63bbbe01eeed093cb22bb8f5acdc3"}]},
    "/api/v1/series/{series_id}/victims": {"label": "probe"},
    "/api/v1/victims/{victim_id}/identify": {"country": "US"},
    "/api/v1/series-status": {"files": [{"md5": "5eb63bbbe01eeed093cb22bb8f5acdc3"}]},
    "/api/v1/notices": {"series_id": "00000000-0000-0000-0000-000000000001", "title": "Probe"},
    "/api/v1/notices/{notice_id}/clues": {"kind": "other", "description": "probe clue"},
    "/api/v1/notices/{notice_id}/clues/{clue_id}/answers": {
        "countries": ["US"],
        "confidence": "high",
    },
    "/api/v1/notices/{notice_id}/publish": {
        "images": [{"id": "00000000-0000-0000-0000-000000000002", "caption": "probe"}]
    },
    "/api/v1/notices/{notice_id}/close": {"outcome": "withdrawn"},
    "/api/v1/cases/{case_id}/series-proposals": {"pdq_distance": 31},
    "/api/v1/series-proposals/{proposal_id}/accept": {"name": "Probe series"},
    "/api/v1/series-proposals/{proposal_id}/split": {"members": [1]},
    "/api/v1/series-proposals/{proposal_id}/reject": {"reason": "probing"},
    "/api/v1/blocklist/entries": {"url": "http://example.com/probe"},
    "/api/v1/blocklist/entries/{entry_id}/remove": {"reason": "probing"},
    "/api/v1/hosting/providers": {"name": "Probe Hosting"},
    "/api/v1/hosting/providers/{provider_id}": {"notes": "probing"},
    "/api/v1/hosting/providers/{provider_id}/networks": {"network": "192.0.2.0/26"},
    # /api/v1/hosting/networks/import takes CSV, not JSON: walked with an empty body (422)
    "/api/v1/leads/{lead_id}/acknowledge": {"note": "probing"},
    "/api/v1/watch/handovers": {"notes": "probing"},
    "/api/v1/watch/handovers/{handover_id}/acknowledge": {},
    "/api/v1/takedown/notices/{takedown_id}/recipient": {"email": "probe@example.com"},
    "/api/v1/reports/{report_id}/assess": {"assessment": "not_illegal"},
    "/api/v1/reports/{report_id}/reroute": {"agency": "US-HSI", "reason": "probing"},
    "/api/v1/takedown/notices/{takedown_id}/withdraw": {"reason": "probing"},
    "/api/v1/federation/hits/{hit_id}/release": {"reason": "probing the release"},
    "/api/v1/federation/releases/{request_id}/decision": {
        "approve": True,
        "reason": "probing the decision",
    },
    "/api/v1/federation/peers/{peer_id}/profile": {"kinds": ["email"], "levels": ["red"]},
    "/api/v1/preservations": {
        "provider": "Probe Mail",
        "identifiers": [{"type": "email", "value": "probe-preserve@example.com"}],
        "legal_basis": "art29_preservation",
    },
    "/api/v1/preservations/{preservation_id}/confirm": {"provider_reference": "PROBE-1"},
    "/api/v1/preservations/{preservation_id}/extend": {},
    "/api/v1/preservations/{preservation_id}/follow-up": {"formal_reference": "PROBE-MLA"},
    "/api/v1/preservations/{preservation_id}/withdraw": {"reason": "probing"},
    "/api/v1/observatory/snapshots": {"period": "2020-01"},
    "/api/v1/commerce/sites": {
        "url": "https://probe.example/",
        "case_id": "00000000-0000-0000-0000-000000000006",
    },
    "/api/v1/commerce/sites/{site_id}/to-case": {"indicator_ids": [], "include_site": True},
    "/api/v1/commerce/notices": {
        "site_id": "00000000-0000-0000-0000-000000000003",
        "indicator_id": "00000000-0000-0000-0000-000000000004",
        "provider_id": "00000000-0000-0000-0000-000000000005",
    },
    "/api/v1/commerce/notices/{payment_notice_id}/answer": {"outcome": "declined"},
    "/api/v1/commerce/notices/{payment_notice_id}/close": {"reason": "probing"},
    "/api/v1/commerce/watchlist": {"address": WATCHED, "reason": "probing"},
    "/api/v1/commerce/watchlist/{watch_id}/remove": {"reason": "probing"},
    "/api/v1/commerce/sites/{site_id}/recrawl": {"days": 1, "paused": True},
    "/api/v1/chats/conversations/{conversation_id}/review": {"decision": "unclear", "note": "x"},
}


def _fill(template: str, values: dict[str, str]) -> str:
    """A route path with its `{name}` parameters replaced by values."""
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


class _Route:
    def __init__(self, path: str) -> None:
        self.path = path


def test_unrelated_agency_learns_nothing_of_red_or_amber_records(
    app: FastAPI, client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    red = make_case(session, network.gb, title="Operation Nightjar RED", sharing=SharingLevel.RED)
    amber = make_case(
        session,
        network.gb,
        title="Operation Lapwing AMBER",
        sharing=SharingLevel.AMBER,
        partners=["NL-NP"],
    )
    red_selector = add_selector(session, settings, network.gb, red, "email", "red-only@example.com")
    add_selector(session, settings, network.gb, amber, "username", "amber_fox", platform="chatapp")
    nl_case = make_case(session, network.nl, sharing=SharingLevel.RED)
    hit = add_selector(
        session, settings, network.nl, nl_case, "username", "amber_fox", platform="chatapp"
    ).hits[0]
    noise = case_service.add_noise(
        session, system_caller(), kind="ip", pattern="203.0.113.9", reason="test entry"
    )
    red_set = hashset_service.create_hash_set(
        session, network.gb.caller, HashSetCreate(name="Red set Kestrel")
    )
    hashset_service.import_entries(
        session,
        network.gb.caller,
        set_id=red_set.id,
        entries=[formats.ParsedEntry(1, md5="5eb63bbbe01eeed093cb22bb8f5acdc3", series="Kestrel")],
        fmt="lines",
    )
    red_run = make_triage_run(
        session,
        network.gb,
        red,
        [
            {
                "path": "/evidence/Nightjar-laptop/DCIM/0001.jpg",
                "match_type": "exact",
                "md5": "5eb63bbbe01eeed093cb22bb8f5acdc3",
                "distance": 0,
                "hashset": "Red set Kestrel",
                "hash_set_id": str(red_set.id),
                "series": "Kestrel",
                "victim_identified": True,
            }
        ],
    )
    red_series = series_service.create_series(
        session, network.gb.caller, SeriesCreate(name="Series Osprey")
    )
    series_service.add_media(
        session,
        network.gb.caller,
        red_series.id,
        MediaAdd(media=[MediaHashes(md5="5eb63bbbe01eeed093cb22bb8f5acdc3")]),
    )
    victim = series_service.add_victim(
        session, network.gb.caller, red_series.id, VictimCreate(label="Osprey-V1")
    )
    new_images = [
        {
            "path": f"/evidence/Nightjar-laptop/Heronry/IMG_{n:04d}.JPG",
            "media_type": "image/jpeg",
            "md5": f"{n:032x}",
            "camera_make": "Canon",
            "camera_model": "EOS 80D",
            "camera_serial": "HERONRY-0412",
            "taken_at": f"2021:03:04 10:0{n}:00",
        }
        for n in range(1, 4)
    ]
    make_triage_run(session, network.gb, red, new_images)
    [proposal] = proposals.propose_for_case(session, network.gb.caller, red.id).proposals
    notice = notice_service.create_notice(
        session,
        network.gb.caller,
        settings,
        NoticeCreate(
            series_id=red_series.id,
            title="Notice Plover",
            targets=["NL"],
            clues=[ClueCreate(kind="other", description="Plover wallpaper")],
        ),
    )
    notice_view = notice_reading.describe(session, network.gb.caller, settings, notice)
    notice_image = notice_service.add_image(
        session,
        network.gb.caller,
        notice.id,
        notice_view.clues[0].id,
        jpeg(picture(7)),
        attested=True,
    )
    host = hosting_service.create_provider(
        session, system_caller(), ProviderCreate(name="Walked Hosting", abuse_email="a@example.net")
    )
    host_block = hosting_service.add_network(session, system_caller(), host.id, cidr="192.0.2.0/24")
    # an urgent lead sent to GB's desk only (a report from GB)
    danger = Report(
        kind="danger",
        details={"what": "Wagtail shed child", "where": "Wagtail Road 9"},
        country="GB",
        language="en",
        status="new",
        urgent=True,
        receipt_hash="f" * 64,
    )
    session.add(danger)
    session.flush()
    lead = watch_service.open_lead(
        session,
        settings,
        report_id=danger.id,
        kind="danger",
        reason="child in danger",
        reporter_country="GB",
        suspect_country=None,
        received_at=danger.created_at,
    )
    # GB's desk hands its shift (and the lead) over to NL's desk
    on_rota(session, {"GB-NCA": ["en"], "NL-NP": ["nl"]}, [("GB-NCA", 14, 8), ("NL-NP", 22, 8)])
    handover = handovers.write(
        session,
        settings,
        network.gb.caller,
        HandoverWrite(notes="Shrike: the provider calls back"),
        now=GB_ENDS - timedelta(minutes=20),
    )
    gb_agency = agency_service.get_by_code(session, "GB-NCA")
    danger.receiving_agency_id = gb_agency.id  # routed to GB's police
    takedown = takedown_service.issue(
        session,
        network.gb.caller,
        settings,
        agency=gb_agency,
        url="https://wagtail.example.net/shed/4",
        url_hash="e" * 64,
        host="wagtail.example.net",
        category="baseline",
        report_id=danger.id,
        hosting_ip="192.0.2.9",
        hosting_country="GB",
        provider_id=host.id,
    )
    # a cross-node hit on GB's RED case and a release request another node made for it
    peer = Peer(
        id=uuid.uuid4(),
        name="Node Bittern",
        country="NL",
        url="https://bittern.example.org",
        public_key="A" * 44,
        fingerprint="BITT ERN0",
    )
    session.add(peer)
    session.flush()
    red_selector_id = red_selector.selector.id
    remote_hit = RemoteHit(
        peer_id=peer.id,
        ref=str(uuid.uuid4()),
        selector_id=red_selector_id,
        case_id=red.id,
        agency_id=red.owner_agency_id,
        kind="email",
    )
    release = ReleaseRequest(
        direction="incoming",
        peer_id=peer.id,
        ref=str(uuid.uuid4()),
        case_id=red.id,
        requester="Investigator Bittern (NL)",
        reason="Operation Bittern needs the details of the Nightjar address",
    )
    session.add_all([remote_hit, release])
    session.flush()
    # a preservation request of GB's desk, its identifier on a RED case
    preservation = preservation_service.record(
        session,
        network.gb.caller,
        settings,
        PreservationCreate(
            provider="Kingfisher Mail",
            identifiers=[IdentifierIn(type="email", value="kingfisher-keep@example.com")],
            legal_basis="art29_preservation",
            provider_reference="KF-REF-77",
        ),
    )
    # a commercial site GB investigates: crawled, a page kept, a wallet and a merchant seen
    shop = crawled_site(
        session, settings, network.gb, url="https://dipper-shop.example/", label="Dipper", case=red
    )
    fictipay = commerce_payments.add_provider(
        session,
        system_caller(),
        commerce_payments.ProviderFields(name="FictiPay", abuse_email="abuse@fictipay.example"),
    )
    payment_notice = commerce_payments.send_notice(
        session,
        network.gb.caller,
        settings,
        indicator_id=shop.merchant.id,
        provider_id=fictipay.id,
        site_id=shop.site.id,
    )
    crawled_site(
        session,
        settings,
        network.gb,
        url="https://dipper-store.example/",
        label="Dipper too",
        case=red,
        like=shop,
    )
    commerce_graphs.compute_for(session, network.gb.caller)
    [shop_group] = commerce_graphs.latest_groups(session, network.gb.caller)
    # GREEN by construction: every member reads the list, only GB removes its entry
    watch = commerce_watchlist.add(
        session, network.gb.caller, address=WATCHED, reason="seen at an exchange"
    )
    # chats of GB's RED case: a conversation, its participants and the identifiers found
    chat = imported(session, red, title="Chat with Pipit")
    chat_mention = by_key(session, red)["snapchat:sam_22"]
    chat_message = session.scalars(
        select(ChatMessage).where(ChatMessage.conversation_id == chat.id)
    ).first()
    assert chat_message is not None
    gb_headers = token_for(session, settings, network.gb)
    us_headers = token_for(session, settings, network.us)
    del gb_headers
    gb_token = session.scalars(
        select(ApiToken).where(ApiToken.user_id == network.gb.user.id)
    ).first()
    notification = session.scalars(
        select(Notification).where(Notification.user_id == network.gb.user.id)
    ).first()
    assert gb_token is not None
    assert notification is not None
    session.commit()
    params = {
        "case_id": str(red.id),
        "hit_id": str(hit.id),
        "notification_id": str(notification.id),
        "token_id": str(gb_token.id),
        "entry_id": str(noise.id),
        "code": "GB-NCA",
        "partner": "NL-NP",
        "set_id": str(red_set.id),
        "run_id": str(red_run.id),
        "series_id": str(red_series.id),
        "victim_id": str(victim.id),
        "notice_id": str(notice.id),
        "clue_id": str(notice_view.clues[0].id),
        "image_id": str(notice_image.id),
        "proposal_id": str(proposal.id),
        "provider_id": str(host.id),
        "network_id": str(host_block.id),
        "lead_id": str(lead.id),
        "handover_id": str(handover.id),
        "takedown_id": str(takedown.id),
        "report_id": str(danger.id),
        "peer_id": str(peer.id),
        "request_id": str(release.id),
        "preservation_id": str(preservation.id),
        # the rota is the network's, not an agency's record: walked for server errors
        "agency": "GB-NCA",
        "unavailability_id": str(uuid.uuid4()),
        "rotation_id": str(uuid.uuid4()),
        "rule_id": str(uuid.uuid4()),
        "override_id": str(uuid.uuid4()),
        "schedule_id": str(uuid.uuid4()),
        "requirement_id": str(uuid.uuid4()),
        "period": "2020-01",  # the observatory's months: counts only, walked for errors
        "event_uuid": str(uuid.uuid4()),  # a MISP feed's event file: releasable events only
        "export_id": str(uuid.uuid4()),  # an interop export's signature: the exporter's only
        "site_id": str(shop.site.id),
        "crawl_id": str(shop.crawl.id),
        "page_id": str(shop.page.id),
        "indicator_id": str(shop.wallet.id),
        "payment_notice_id": str(payment_notice.id),
        "watch_id": str(watch.id),
        "group_id": str(shop_group.id),
        "conversation_id": str(chat.id),
        "message_id": str(chat_message.id),
        "import_id": str(uuid.uuid4()),  # no import: the chat was written into the tables
    }
    secrets = [
        red.title,
        red.reference,
        amber.title,
        amber.reference,
        "red-only@example.com",
        "amber_fox",
        str(red.id),
        str(amber.id),
        "Red set Kestrel",
        "Kestrel",
        str(red_set.id),
        "Nightjar-laptop",
        str(red_run.id),
        "Series Osprey",
        "Osprey-V1",
        str(red_series.id),
        str(victim.id),
        "Notice Plover",
        notice.reference,
        "Plover wallpaper",
        str(notice.id),
        str(notice_image.id),
        "Heronry",
        "HERONRY-0412",
        str(proposal.id),
        "Wagtail",
        str(lead.id),
        str(handover.id),
        "Shrike",
        str(danger.id),
        "wagtail.example.net",
        str(takedown.id),
        str(remote_hit.id),
        str(release.id),
        "Operation Bittern",
        "Kingfisher",
        "kingfisher-keep",
        "KF-REF-77",
        preservation.reference,
        str(preservation.id),
        "dipper-shop",
        "Dipper",
        shop.wallet.value,
        shop.merchant.value,
        str(shop.site.id),
        str(shop.crawl.id),
        str(shop.page.id),
        str(shop.wallet.id),
        str(payment_notice.id),
        str(shop_group.id),
        "dipper-store",
        "Chat with Pipit",
        str(chat.id),
        "sam_22",
        "sam@example.com",
        "Sam from the club",
    ]
    walked = 0
    routes = [
        (path, method.upper())
        for path, item in app.openapi()["paths"].items()
        if path.startswith("/api/v1")
        for method in item
    ]
    for route_path, method in routes:
        route = _Route(route_path)
        if route.path:
            for case_id in (str(red.id), str(amber.id)):
                values = {**params, "case_id": case_id}
                if route.path.startswith("/api/v1/federation/hits/"):
                    values["hit_id"] = str(remote_hit.id)  # the cross-node hit's own routes
                path = _fill(route.path, values)
                body = BODIES.get(route.path)
                if route.path.startswith("/api/v1/chats/cases/{case_id}/mentions/"):
                    body = {"mention_ids": [str(chat_mention.id)], "note": "probing"}
                response = client.request(
                    method,
                    path,
                    headers=us_headers,
                    json=body if method in ("POST", "PATCH", "PUT") else None,
                )
                walked += 1
                assert response.status_code < 500, (method, path, response.text)
                text = response.text
                for secret in secrets:
                    if secret == str(red.id) and "audit" in path:
                        continue
                    assert secret not in text, (method, path, secret, text[:300])
                if "{case_id}" in route.path or "{hit_id}" in route.path:
                    assert response.status_code == 404, (method, path, response.status_code)
                hidden = (
                    "notification_id",
                    "token_id",
                    "set_id",
                    "run_id",
                    "series_id",
                    "victim_id",
                    "proposal_id",
                    "notice_id",
                    "lead_id",
                    "handover_id",
                    "takedown_id",
                    "report_id",
                    "request_id",
                    "preservation_id",
                    "site_id",
                    "crawl_id",
                    "page_id",
                    "indicator_id",
                    "payment_notice_id",
                    "watch_id",
                    "group_id",
                    "conversation_id",
                    "message_id",
                    "import_id",
                )
                if any(f"{{{k}}}" in route.path for k in hidden):
                    assert response.status_code == 404, (method, path, response.status_code)
    assert walked >= 40
