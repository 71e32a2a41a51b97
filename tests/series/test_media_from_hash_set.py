"""Adding a hash set's files to a series holds one chunk of the set, not the whole set."""

from __future__ import annotations

import pytest
from builders import Network
from memory import peak_mib
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.hashsets import formats
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.schemas import HashSetCreate
from taskforce.series import service
from taskforce.series.models import SeriesMedia
from taskforce.series.schemas import MediaAdd, MediaHashes, SeriesCreate

ENTRIES = 20_000


def test_a_large_hash_set_is_added_chunk_by_chunk(
    session: Session, network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = network.gb.caller
    known = hashset_service.create_hash_set(session, caller, HashSetCreate(name="Known"))
    hashset_service.import_entries(
        session,
        caller,
        set_id=known.id,
        fmt="lines",
        entries=(
            formats.ParsedEntry(n, md5=f"{n:032x}", series="Blue Room")
            for n in range(1, ENTRIES + 1)
        ),
    )
    series = service.create_series(session, caller, SeriesCreate(name="Blue Room"))
    service.add_media(session, caller, series.id, MediaAdd(media=[MediaHashes(md5=f"{1:032x}")]))
    session.flush()
    monkeypatch.setattr(service, "CHUNK", 500, raising=False)  # the reader before had none
    data = MediaAdd(hash_set="Known", hash_set_series="Blue Room")

    added, peak = peak_mib(lambda: service.add_media(session, caller, series.id, data))
    assert (added.added, added.already_present) == (ENTRIES - 1, 1)
    count = select(func.count()).where(SeriesMedia.series_id == series.id)
    assert session.scalar(count) == ENTRIES
    assert peak < 8, f"{peak:.1f} MiB"
