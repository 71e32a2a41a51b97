"""The triage pages: the case page links its runs, a run page shows counts, categories, series,
errors and files with filters and paging, downloads the report's CSV, never shows a picture,
and answers 404 to an agency that cannot see the case."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from builders import Network, make_case, web_login
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.core.audit.models import AuditEntry
from taskforce.core.settings import Settings
from taskforce.triage import reading, service
from taskforce.triage import web as triage_web


@pytest.fixture
def triaged(
    session: Session,
    network: Network,
    settings: Settings,
    seizure: Path,
    known_set: str,  # noqa: ARG001 - the hash set the run matches against
    tmp_path: Path,
) -> tuple[str, str, Path]:
    """GB's case with one finished run over the synthetic seizure: (case id, run id, report)."""
    case = make_case(session, network.gb, title="Operation Kingfisher")
    out = tmp_path / "report"
    options = service.Options(workers=2, case_reference=case.reference)
    service.run(session, network.gb.caller, settings, [seizure], out, options)
    run = reading.list_runs(session, network.gb.caller, case.id)[0]
    session.commit()
    return str(case.id), str(run.id), out


def _files(html: str) -> list[str]:
    """File names in the per-file table, in order."""
    table = html.split('id="files"', 1)[1]
    paths = re.findall(r'<td class="path"><span class="file" title="([^"]+)">', table)
    return [p.rsplit("/", 1)[1] for p in paths]


def test_case_page_links_to_its_runs_and_the_list_shows_counts(
    client: TestClient, session: Session, network: Network, triaged: tuple[str, str, Path]
) -> None:
    case_id, run_id, _out = triaged
    web_login(client, session, network.gb)
    case_page = client.get(f"/ui/cases/{case_id}")
    assert case_page.status_code == 200
    assert f'href="/ui/cases/{case_id}/triage"' in case_page.text
    assert f'href="/ui/triage-runs/{run_id}"' in case_page.text
    assert "15 files" in case_page.text

    runs = client.get(f"/ui/cases/{case_id}/triage")
    assert runs.status_code == 200
    assert f'href="/ui/triage-runs/{run_id}"' in runs.text
    assert "Finished" in runs.text
    row = runs.text.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    numbers = re.findall(r'<td class="num">(?:<span[^>]*>)?([\d,]+)', row)
    assert numbers[:2] == ["15", "2"]
    assert numbers[2] == "4"
    assert numbers[-2:] == ["2", "2"]  # identified victims, errors


def test_run_page_shows_counts_categories_series_and_errors(
    client: TestClient, session: Session, network: Network, triaged: tuple[str, str, Path]
) -> None:
    _case_id, run_id, _out = triaged
    web_login(client, session, network.gb)
    page = client.get(f"/ui/triage-runs/{run_id}")
    assert page.status_code == 200, page.text
    text = page.text
    for expected in (
        "known (exact hash)",
        "known (PDQ near match)",
        "with an identified victim",
        "Series Hill",
        "Series Lake",
        "vic-us:1",
        "Child abuse material (CAM)",
        "Illegal under national law: category B",
        "empty file",
        "cannot decode",
        "results.csv",
        "results.vics.json",
    ):
        assert expected in text, expected
    assert "<img" not in text
    assert "data:image" not in text
    assert "<canvas" not in text
    pdq = re.search(r'<code class="hash" title="([0-9a-f]{64})">([0-9a-f]{16})…</code>', text)
    assert pdq
    assert pdq.group(1).startswith(pdq.group(2))
    assert len(_files(text)) == 15
    assert (
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.action == "triage.read", AuditEntry.actor_user_id == network.gb.user.id
            )
        )
        == 1
    )


def test_filters_and_paging(
    client: TestClient,
    session: Session,
    network: Network,
    triaged: tuple[str, str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _case_id, run_id, _out = triaged
    web_login(client, session, network.gb)
    url = f"/ui/triage-runs/{run_id}"
    assert _files(client.get(f"{url}?match=exact").text) == ["IMG_0002.jpg", "escape.jpg"]
    assert len(_files(client.get(f"{url}?match=known").text)) == 6
    assert sorted(_files(client.get(f"{url}?category=vic-us:1").text)) == [
        "IMG_0000.jpg",
        "resized.jpg",
    ]
    errors = client.get(f"{url}?errors=1")
    assert _files(errors.text) == ["empty.jpg", "truncated.jpg"]
    assert "matching the filters" in errors.text
    assert 'value="1" checked' in errors.text
    empty = client.get(f"{url}?match=exact&errors=1")
    assert "No file matches these filters" in empty.text
    assert client.get(f"{url}?match=everything").status_code == 422
    unknown = client.get(f"{url}?category=nonsense")  # shown unfiltered, not an error
    assert unknown.status_code == 200
    assert len(_files(unknown.text)) == 15

    monkeypatch.setattr(triage_web, "PAGE_SIZE", 4)
    first = client.get(f"{url}?match=none")
    assert "page 1 of 3" in first.text
    assert "Next →" in first.text
    assert "match=none&amp;page=2" in first.text
    pages = [_files(client.get(f"{url}?match=none&page={n}").text) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [4, 4, 1]
    assert len({name for p in pages for name in p}) == 9  # no file on two pages


def test_downloads_are_the_report_files(
    client: TestClient, session: Session, network: Network, triaged: tuple[str, str, Path]
) -> None:
    _case_id, run_id, out = triaged
    web_login(client, session, network.gb)
    csv_file = client.get(f"/ui/triage-runs/{run_id}/results.csv")
    assert csv_file.status_code == 200
    assert csv_file.headers["content-type"].startswith("text/csv")
    assert csv_file.text == (out / "results.csv").read_text()
    assert "-triage-" in csv_file.headers["content-disposition"]
    vics = client.get(f"/ui/triage-runs/{run_id}/results.vics.json")
    assert vics.status_code == 200
    assert vics.json() == json.loads((out / "results.vics.json").read_text())


def test_another_agency_gets_404_everywhere(
    client: TestClient, session: Session, network: Network, triaged: tuple[str, str, Path]
) -> None:
    case_id, run_id, _out = triaged
    web_login(client, session, network.us)
    for path in (
        f"/ui/cases/{case_id}/triage",
        f"/ui/triage-runs/{run_id}",
        f"/ui/triage-runs/{run_id}/results.csv",
        f"/ui/triage-runs/{run_id}/results.vics.json",
    ):
        refused = client.get(path)
        assert refused.status_code == 404, path
        assert "Operation Kingfisher" not in refused.text
        assert "Series Hill" not in refused.text
    refusals = session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.actor_user_id == network.us.user.id,
            AuditEntry.action.startswith("triage."),
            AuditEntry.outcome == "not_found",
        )
    )
    assert refusals == 4
