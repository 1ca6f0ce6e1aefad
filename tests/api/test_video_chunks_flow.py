"""Recording chunk uploads that succeed: stored and recorded once, duplicates answered 200 with
nothing new, real ffmpeg Matroska passes the header check, the final flag, the status route,
and the feature flag (on SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from tests.api.conftest import CHUNK_CAP, Api, make_api
from tests.api.test_video_chunks import EBML_HEAD, post_chunk, sha, state

MP4_HEAD = b"\x00\x00\x00\x18ftypiso5\x00\x00\x02\x00iso5iso6mp41" + b"\x00" * 256


@pytest.fixture(scope="module")
def matroska_chunks(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """A real 3-second H.264/Opus Matroska recording by ffmpeg, cut anywhere into 3 chunks."""
    from recording_media import lavfi_recording, split_bytes

    data = lavfi_recording(tmp_path_factory.mktemp("media") / "rec.mkv", 3.0)
    chunks = split_bytes(data, 3)
    assert len(chunks) == 3 and all(len(c) < CHUNK_CAP for c in chunks)
    return chunks


def recording(api: Api, attempt: str) -> Any:
    from application.recordings import recording_of

    return recording_of(api.services.app, UUID(attempt))


def test_a_chunk_is_stored_recorded_once_and_its_duplicate_answered_200(chunk_api: Api) -> None:
    api = chunk_api
    attempt = str(api.start(api.exam(), api.alice)["attemptId"])
    events = api.event_count()
    r = post_chunk(api, attempt, 0, 0, EBML_HEAD)
    assert r.status_code == 201, r.text
    assert r.json() == {"segment": 0, "seq": 0, "status": "stored"}
    assert api.event_count() == events + 2  # the Recording's start and its ChunkReceived
    [file] = api.media_files()
    relative = file.relative_to(api.data_dir / "MediaStorage").as_posix()
    assert relative == f"video-recordings/{attempt}/chunks/000-000000.mkv"
    assert file.read_bytes() == EBML_HEAD
    held = recording(api, attempt).chunks["0:0"]
    assert held[:2] == [sha(EBML_HEAD), len(EBML_HEAD)] and held[3] == "video/webm;codecs=h264,opus"

    before = state(api)
    again = post_chunk(api, attempt, 0, 0, EBML_HEAD)
    assert again.status_code == 200 and again.json() == {"segment": 0, "seq": 0, "status": "duplicate"}
    assert state(api) == before and file.read_bytes() == EBML_HEAD
    # Decided before the body is read: the declared sha256 is held, so the bytes are not needed.
    unread = post_chunk(api, attempt, 0, 0, b"never read", digest=sha(EBML_HEAD))
    assert unread.status_code == 200 and state(api) == before


def test_real_matroska_chunks_with_a_gap_then_the_status(
    chunk_api: Api, matroska_chunks: list[bytes]
) -> None:
    api = chunk_api
    attempt = str(api.start(api.exam(), api.alice)["attemptId"])
    empty = api.client.get(f"/api/Proctor/video-chunk/{attempt}/status", headers=api.alice)
    assert empty.status_code == 200
    assert empty.json() == {"attemptId": attempt, "status": "None", "segments": []}
    for seq, data in enumerate(matroska_chunks):
        r = post_chunk(api, attempt, 0, seq, data, mime="video/x-matroska;codecs=avc1,opus", final=seq == 2)
        assert r.status_code == 201, r.text
    r = post_chunk(api, attempt, 1, 0, MP4_HEAD, mime="video/mp4; codecs=avc1.42E01E")  # a reload: segment 1
    assert r.status_code == 201, r.text
    assert post_chunk(api, attempt, 1, 2, b"moof...", mime="video/mp4; codecs=avc1.42E01E").status_code == 201
    names = sorted(p.name for p in api.media_files())
    assert names == ["000-000000.mkv", "000-000001.mkv", "000-000002.mkv", "001-000000.mp4", "001-000002.mp4"]
    assert recording(api, attempt).final_seqs == {"0": 2}

    expected = {
        "attemptId": attempt,
        "status": "Recording",
        "segments": [
            {"segment": 0, "received": [0, 1, 2], "missing": [], "highestContiguous": 2, "final": True},
            {"segment": 1, "received": [0, 2], "missing": [1], "highestContiguous": 0, "final": False},
        ],
    }
    for who in (api.alice, api.proctor):
        status = api.client.get(f"/api/Proctor/video-chunk/{attempt}/status", headers=who)
        assert status.status_code == 200 and status.json() == expected
        assert status.headers["cache-control"] == "no-store"
    refused = api.client.get(f"/api/Proctor/video-chunk/{attempt}/status", headers=api.bob)
    assert refused.status_code == 404 and set(refused.json()) == {"error", "detail"}  # no enumeration
    nobody = "00000000-0000-0000-0000-000000000000"
    unknown = api.client.get(f"/api/Proctor/video-chunk/{nobody}/status", headers=api.alice)
    assert unknown.status_code == 404
    api.client.cookies.clear()
    assert api.client.get(f"/api/Proctor/video-chunk/{attempt}/status").status_code == 401


def test_the_last_chunk_is_accepted_after_submit(chunk_api: Api) -> None:
    api = chunk_api
    attempt = str(api.start(api.exam(), api.alice)["attemptId"])
    assert post_chunk(api, attempt, 0, 0, EBML_HEAD).status_code == 201
    assert api.client.post(f"/api/attempts/{attempt}/submit", headers=api.alice).status_code == 200
    r = post_chunk(api, attempt, 0, 1, b"the last cluster", final=True)
    assert r.status_code == 201, r.text
    assert recording(api, attempt).final_seqs == {"0": 1}


def test_with_recording_disabled_the_routes_refuse_and_the_exam_works(settings_factory: Any) -> None:
    for api in make_api(settings_factory(enable_video_recording=False)):
        attempt = str(api.start(api.exam(), api.alice)["attemptId"])
        before = state(api)
        r = post_chunk(api, attempt, 0, 0, EBML_HEAD)
        assert r.status_code == 404 and r.json()["error"] == "NotFound"
        assert "disabled" in r.json()["detail"] and state(api) == before
        status = api.client.get(f"/api/Proctor/video-chunk/{attempt}/status", headers=api.alice)
        assert status.status_code == 404 and "disabled" in status.json()["detail"]
        submit = api.client.post(f"/api/attempts/{attempt}/submit", headers=api.alice)
        assert submit.status_code == 200
        assert not (api.data_dir / "MediaStorage" / "video-recordings").exists()


def test_the_route_reaches_its_collaborators_through_fastapi_dependencies(chunk_api: Api) -> None:
    from application.access import Actor
    from application.attempts import load_attempt
    from interfaces.deps import current_actor
    from interfaces.routers.video_chunks import get_chunk_intake

    api, web = chunk_api, chunk_api.client.app
    attempt = str(api.start(api.exam(), api.alice)["attemptId"])
    alice = Actor(load_attempt(api.services.app, UUID(attempt)).candidate_id, "candidate")
    intake, seen = web.state.chunk_intake, []

    async def watched_intake() -> object:
        seen.append("intake")
        return intake

    web.dependency_overrides[current_actor] = lambda: alice
    web.dependency_overrides[get_chunk_intake] = watched_intake
    try:
        r = post_chunk(api, attempt, 0, 0, EBML_HEAD, who={})  # no credentials: the override is used
    finally:
        web.dependency_overrides.clear()
    assert r.status_code == 201, r.text
    assert seen == ["intake"] and len(api.media_files()) == 1


def test_media_root_layout_is_built_from_server_ids_only(chunk_api: Api) -> None:
    api = chunk_api
    attempt = str(api.start(api.exam(), api.alice)["attemptId"])
    assert post_chunk(api, attempt, 7, 0, EBML_HEAD, mime="video/webm;codecs=vp8,opus").status_code == 201
    [file] = api.media_files()
    chunks = Path(api.data_dir, "MediaStorage", "video-recordings", attempt, "chunks")
    assert file == chunks / "007-000000.webm"


def test_a_chunk_another_process_recorded_is_a_duplicate_here_too(chunk_api: Api) -> None:
    """This process's copy of the Recording misses a chunk another process recorded: its file's
    taken name sends the upload to the stored Recording, which holds the same bytes."""
    from application.recordings import recording_of

    api = chunk_api
    attempt = str(api.start(api.exam(), api.alice)["attemptId"])
    assert post_chunk(api, attempt, 0, 0, EBML_HEAD).status_code == 201
    app, later = api.services.app, b"a cluster recorded elsewhere"
    elsewhere = recording_of(app, UUID(attempt))
    path = api.services.media.save(f"video-recordings/{attempt}/chunks/000-000001.mkv", later)
    relative = path.relative_to(api.data_dir / "MediaStorage").as_posix()
    mime, at = "video/webm;codecs=h264,opus", app.clock.now()
    elsewhere.receive_chunk(0, 1, len(later), sha(later), mime, at, relative)
    app.save(elsewhere)  # saved without updating this process's cache, as another process would
    assert "0:1" not in app.peek(type(elsewhere), elsewhere.id, "recording").chunks
    before = state(api)
    r = post_chunk(api, attempt, 0, 1, later)
    assert r.status_code == 200 and r.json()["status"] == "duplicate"
    assert state(api) == before
    assert post_chunk(api, attempt, 0, 1, later + b"!").status_code == 409
