"""Series "Add files" keeps the good lines of a pasted list and reports every bad one by its
line number (as a hash list's import does), leaving the bad lines in the box to be mended; a
list with nothing wrong is answered by a redirect, so reloading the page adds nothing twice."""

from __future__ import annotations

import re

from builders import Network, csrf_field, web_login
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

MD5 = "0123456789abcdef0123456789abcdef"
SHA1 = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "ab" * 32


def _series(client: TestClient, session: Session, network: Network) -> tuple[str, str]:
    web_login(client, session, network.gb)
    page = client.get("/ui/series")
    created = client.post(
        "/ui/series/new", data={"csrf_token": csrf_field(page.text), "name": "Blue Room"}
    )
    return str(created.url.path), csrf_field(created.text)


def test_every_bad_line_is_reported_and_the_good_ones_are_kept(
    client: TestClient, session: Session, network: Network
) -> None:
    url, token = _series(client, session, network)
    pasted = f"{MD5}\nnot-a-hash\n\n# a comment\n{SHA1}\n{SHA256[:-1]}\n{SHA256}\n"
    answer = client.post(f"{url}/media", data={"csrf_token": token, "hashes": pasted})
    assert answer.status_code == 422  # partly refused: the form is shown again
    assert "3 files added, 0 already in the series." in answer.text
    assert "2 lines refused" in answer.text
    reported = re.findall(r"<li>Line (\d+): Hash ", answer.text)
    assert reported == ["2", "6"]
    assert f'<code class="break">{SHA256[:-1]}</code>' in answer.text
    box = re.search(r'<textarea name="hashes"[^>]*>([^<]*)</textarea>', answer.text)
    assert box is not None
    assert box.group(1) == f"not-a-hash\n{SHA256[:-1]}"  # only what is left to mend

    again = client.post(f"{url}/media", data={"csrf_token": token, "hashes": f"{MD5}\n"})
    assert again.history[0].status_code == 303  # post/redirect/get
    assert "0 files added, 1 already in the series." in again.text


def test_a_list_with_no_good_line_is_refused_and_kept_whole(
    client: TestClient, session: Session, network: Network
) -> None:
    url, token = _series(client, session, network)
    pasted = "abc\ndef"
    answer = client.post(
        f"{url}/media",
        data={"csrf_token": token, "hashes": pasted, "hash_set_series": "Harbour"},
    )
    assert answer.status_code == 422
    assert "nothing was added" in answer.text
    assert re.findall(r"<li>Line (\d+): ", answer.text) == ["1", "2"]
    assert "abc\ndef</textarea>" in answer.text
    assert 'value="Harbour"' in answer.text
