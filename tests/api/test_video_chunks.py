"""Recording chunk uploads, the refusals: every bad input is a 4xx in the error shape and leaves
no new file and no new event behind, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.api.conftest import CHUNK_CAP, Api

MKV = "video/webm;codecs=h264,opus"  # what Chromium's recorder says it writes (really Matroska)
EBML_HEAD = b"\x1a\x45\xdf\xa3" + b"\x9f\x42\x86\x81\x01" + bytes(range(256)) * 8


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def post_chunk(
    api: Api, attempt: str, segment: object, seq: object, data: bytes, *, who: dict[str, str] | None = None,
    digest: str | None = None, mime: str | None = MKV, final: bool = False, content: Any = None,
) -> Any:  # fmt: skip
    headers = {**(api.alice if who is None else who)}
    headers["x-chunk-sha256"] = sha(data) if digest is None else digest
    if mime is not None:
        headers["content-type"] = mime
    query = f"segment={segment}&seq={seq}" + ("&final=1" if final else "")
    url = f"/api/Proctor/video-chunk/{attempt}?{query}"
    return api.client.post(url, content=data if content is None else content, headers=headers)


def assert_refused(api: Api, r: Any, status: int, before: tuple[int, int]) -> None:
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error", "detail"} and r.json()["detail"]
    assert (api.event_count(), len(api.media_files())) == before


def state(api: Api) -> tuple[int, int]:
    return api.event_count(), len(api.media_files())


def streamed(data: bytes, piece: int = 64 * 1024) -> Iterator[bytes]:
    """No Content-Length: the cap must hold mid-stream."""
    for i in range(0, len(data), piece):
        yield data[i : i + piece]


@pytest.fixture
def attempt(chunk_api: Api) -> str:
    return str(chunk_api.start(chunk_api.exam(), chunk_api.alice)["attemptId"])


BAD_REQUESTS = {
    # id: (segment, seq, body, overrides, status)
    "no-sha": (0, 0, EBML_HEAD, {"digest": ""}, 422),
    "short-sha": (0, 0, EBML_HEAD, {"digest": "ab" * 10}, 422),
    "non-hex-sha": (0, 0, EBML_HEAD, {"digest": "zz" * 32}, 422),
    "sha-mismatch": (0, 0, EBML_HEAD, {"digest": sha(b"other bytes")}, 422),
    "sha-mismatch-later": (0, 1, b"cluster bytes" * 100, {"digest": sha(b"x")}, 422),
    "empty": (0, 1, b"", {}, 422),
    "segment-negative": (-1, 0, EBML_HEAD, {}, 422),
    "segment-too-big": (1000, 0, EBML_HEAD, {}, 422),
    "segment-text": ("x", 0, EBML_HEAD, {}, 422),
    "seq-too-big": (0, 1_000_000, EBML_HEAD, {}, 422),
    "seq-missing": (0, "", EBML_HEAD, {}, 422),
    "final-not-a-flag": ("0&final=maybe", 0, EBML_HEAD, {}, 422),
    "jpeg-type": (0, 0, EBML_HEAD, {"mime": "image/jpeg"}, 415),
    "no-type": (0, 0, EBML_HEAD, {"mime": None}, 415),
    "ogg-type": (0, 0, EBML_HEAD, {"mime": "video/ogg"}, 415),
    "first-not-container": (0, 0, b"\x00" * 4096, {}, 415),
    "first-jpeg-bytes": (2, 0, b"\xff\xd8\xff\xe0" + b"\x00" * 512, {"mime": "video/mp4"}, 415),
    "too-big-declared": (0, 1, b"\x00" * (CHUNK_CAP + 1), {}, 413),
}


@pytest.mark.parametrize(
    ("segment", "seq", "body", "overrides", "status"), BAD_REQUESTS.values(), ids=BAD_REQUESTS
)
def test_bad_requests_are_refused_and_leave_nothing(
    chunk_api: Api, attempt: str, segment: object, seq: object, body: bytes, overrides: dict[str, Any],
    status: int,
) -> None:  # fmt: skip
    before = state(chunk_api)
    r = post_chunk(chunk_api, attempt, segment, seq, body, **overrides)
    assert_refused(chunk_api, r, status, before)


def test_too_big_mid_stream_is_refused_and_leaves_nothing(chunk_api: Api, attempt: str) -> None:
    data = EBML_HEAD + b"\x00" * CHUNK_CAP
    before = state(chunk_api)
    r = post_chunk(chunk_api, attempt, 0, 0, data, content=streamed(data))
    assert_refused(chunk_api, r, 413, before)


def test_callers_who_may_not_upload_are_refused(chunk_api: Api, attempt: str) -> None:
    api = chunk_api
    before = state(api)
    # Another candidate's attempt answers as a missing one (issue 12: no enumeration); staff: 403.
    assert_refused(api, post_chunk(api, attempt, 0, 0, EBML_HEAD, who=api.bob), 404, before)
    assert_refused(api, post_chunk(api, attempt, 0, 0, EBML_HEAD, who=api.proctor), 403, before)
    unknown = "00000000-0000-0000-0000-000000000000"
    assert_refused(api, post_chunk(api, unknown, 0, 0, EBML_HEAD), 404, before)
    assert_refused(api, post_chunk(api, "not-a-uuid", 0, 0, EBML_HEAD), 422, before)
    api.client.cookies.clear()
    assert_refused(api, post_chunk(api, attempt, 0, 0, EBML_HEAD, who={}), 401, before)


def test_an_exam_without_proctoring_is_not_recorded(chunk_api: Api) -> None:
    api = chunk_api
    attempt = str(api.start(api.exam(proctoring=False), api.alice)["attemptId"])
    before = state(api)
    r = post_chunk(api, attempt, 0, 0, EBML_HEAD)
    assert_refused(api, r, 404, before)
    assert "not proctored" in r.json()["detail"]


def test_other_bytes_for_a_held_chunk_conflict_and_change_nothing(chunk_api: Api, attempt: str) -> None:
    api = chunk_api
    assert post_chunk(api, attempt, 0, 0, EBML_HEAD).status_code == 201
    held = {p: p.read_bytes() for p in api.media_files()}
    before = state(api)
    other = EBML_HEAD + b"more"
    assert_refused(api, post_chunk(api, attempt, 0, 0, other), 409, before)
    assert {p: p.read_bytes() for p in api.media_files()} == held


def test_a_chunk_after_its_segments_final_one_conflicts(chunk_api: Api, attempt: str) -> None:
    api = chunk_api
    assert post_chunk(api, attempt, 0, 0, EBML_HEAD, final=True).status_code == 201
    before = state(api)
    assert_refused(api, post_chunk(api, attempt, 0, 1, b"late cluster"), 409, before)


def test_a_chunk_being_stored_by_another_request_conflicts_without_touching_it(
    chunk_api: Api, attempt: str
) -> None:
    """Two uploads of one chunk racing past the held check: the file's O_EXCL name decides."""
    api = chunk_api
    racing = api.data_dir / "MediaStorage" / f"video-recordings/{attempt}/chunks/000-000000.mkv"
    racing.parent.mkdir(parents=True)
    racing.write_bytes(b"the other request's bytes so far")
    before = state(api)
    r = post_chunk(api, attempt, 0, 0, EBML_HEAD)
    assert_refused(api, r, 409, before)
    assert "retry" in r.json()["detail"] and racing.read_bytes() == b"the other request's bytes so far"


def test_after_finalization_began_chunks_are_gone(chunk_api: Api, attempt: str) -> None:
    from uuid import UUID

    from application.recordings import recording_of

    api = chunk_api
    assert post_chunk(api, attempt, 0, 0, EBML_HEAD).status_code == 201
    app = api.services.app
    recording = recording_of(app, UUID(attempt))
    recording.close("submitted", app.clock.now())
    recording.start_finalization("test-worker", app.clock.now(), timedelta(minutes=5))
    app.commit(recording)
    before = state(api)
    assert_refused(api, post_chunk(api, attempt, 0, 1, b"late cluster"), 410, before)
    assert_refused(api, post_chunk(api, attempt, 1, 0, EBML_HEAD), 410, before)


def test_cookie_sessions_need_the_csrf_token(chunk_api: Api, attempt: str) -> None:
    api = chunk_api
    login = api.client.post("/api/auth/login", json={"username": "alice", "password": "password-123"})
    csrf = login.json()["csrfToken"]
    before = state(api)
    assert_refused(api, post_chunk(api, attempt, 0, 0, EBML_HEAD, who={}), 403, before)
    r = post_chunk(api, attempt, 0, 0, EBML_HEAD, who={"x-csrf-token": csrf})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("value", ["²", "9" * 5000, "1e3", "-1", " 1"])
def test_odd_numbers_in_the_query_are_a_422_never_a_500(chunk_api: Api, attempt: str, value: str) -> None:
    """Unicode digits and 5,000-digit numbers pass str.isdigit() but make int() raise."""
    before = state(chunk_api)
    for segment, seq in ((value, 0), (0, value)):
        assert_refused(chunk_api, post_chunk(chunk_api, attempt, segment, seq, EBML_HEAD), 422, before)
