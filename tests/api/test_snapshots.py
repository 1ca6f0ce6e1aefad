"""Snapshot upload validation matrix: every bad input is a 4xx in the error shape,
and leaves no file and no event behind."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from helpers import wait_until

from tests.api.conftest import Api, jpeg

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def test_valid_snapshot_is_stored_served_and_counted(api: Api) -> None:
    c = api.client
    attempt = api.start(api.exam(), api.alice)["attemptId"]
    r = c.post(
        f"/api/Proctor/snapshot/{attempt}",
        content=jpeg(),
        headers={**api.alice, "content-type": "image/jpeg"},
    )
    assert r.status_code == 201, r.text
    files = api.media_files()
    assert len(files) == 1
    rel = files[0].relative_to(api.data_dir / "MediaStorage").as_posix()
    assert rel.startswith("proctor-snapshots/") and rel.endswith(".jpg") and attempt in rel
    rows = wait_until(  # the session's row may not be projected yet either: keep polling
        lambda: c.get("/api/Proctor/sessions", headers=api.proctor).json(),
        lambda rows: len(rows) == 1 and rows[0]["snapshotCount"] == 1,
        what="snapshot counted",
    )
    row = rows[0]
    image = c.get(row["latestSnapshotUrl"], headers=api.proctor)
    assert image.status_code == 200 and image.content == files[0].read_bytes()
    assert c.get(row["latestSnapshotUrl"], headers=api.alice).status_code == 200  # own evidence
    assert c.get(row["latestSnapshotUrl"], headers=api.bob).status_code == 404  # issue 12 class 8
    c.cookies.clear()
    assert c.get(row["latestSnapshotUrl"]).status_code == 401  # no credentials at all


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (PNG, "image/jpeg", 415),
        (b"just some text", "text/plain", 415),
        (b"", "image/jpeg", 415),
        (jpeg()[:600], "image/jpeg", 422),
        (b"\xff\xd8\xff" + b"\x00" * (2 * 1024 * 1024 + 10), "image/jpeg", 413),
        (jpeg(1920, 1080), "image/jpeg", 413),  # pixel cap (1280x720 in this fixture)
    ],
    ids=["png", "text", "empty", "truncated", "oversize", "too-many-pixels"],
)
def test_bad_bodies_are_refused_and_leave_nothing(
    api: Api, body: bytes, content_type: str, status: int
) -> None:
    attempt = api.start(api.exam(), api.alice)["attemptId"]
    before = api.event_count()
    r = api.client.post(
        f"/api/Proctor/snapshot/{attempt}",
        content=body,
        headers={**api.alice, "content-type": content_type},
    )
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error", "detail"}
    assert api.media_files() == [] and api.event_count() == before


def test_wrong_owner_ended_attempt_and_odd_ids_leave_nothing(api: Api) -> None:
    c = api.client
    attempt = api.start(api.exam(), api.alice)["attemptId"]
    headers = {"content-type": "image/jpeg"}
    before = api.event_count()
    assert (
        c.post(f"/api/Proctor/snapshot/{attempt}", content=jpeg(), headers={**api.bob, **headers}).status_code
        == 404  # issue 12 class 8: as a missing attempt
    )
    assert (
        c.post(
            f"/api/Proctor/snapshot/{attempt}", content=jpeg(), headers={**api.proctor, **headers}
        ).status_code
        == 403
    )
    for odd in ("..%2F..%2Fetc%2Fpasswd", "00000000-0000-0000-0000-000000000000", "a" * 300):
        r = c.post(f"/api/Proctor/snapshot/{odd}", content=jpeg(), headers={**api.alice, **headers})
        assert r.status_code in (404, 422), (odd, r.status_code)
    assert api.media_files() == [] and api.event_count() == before
    c.post(f"/api/attempts/{attempt}/submit", headers=api.alice)
    before = api.event_count()
    r = c.post(f"/api/Proctor/snapshot/{attempt}", content=jpeg(), headers={**api.alice, **headers})
    assert r.status_code == 409 and api.media_files() == [] and api.event_count() == before


def test_session_ended_during_an_upload_refuses_the_record(api: Api) -> None:
    from uuid import UUID, uuid4

    from adapters.ingest import pipeline
    from application.access import Actor
    from application.attempts import load_attempt
    from application.evidence import SnapshotFile, record_snapshots, snapshot_session
    from domain.errors import Conflict

    app = api.services.app
    attempt = UUID(api.start(api.exam(), api.alice)["attemptId"])
    alice = Actor(load_attempt(app, attempt).candidate_id, "candidate")
    session = snapshot_session(app, alice, attempt)  # authorized before the body arrives
    api.client.post(f"/api/attempt-control/{attempt}/force-end", json={"reason": "x"}, headers=api.proctor)
    before = api.event_count()
    path = "proctor-snapshots/x.jpg"
    api.services.media.write(path, jpeg())
    file = SnapshotFile(session, uuid4(), path, 10, app.clock.now())
    [result] = pipeline.record_written(api.services.media, lambda files: record_snapshots(app, files), [file])
    assert isinstance(result, Conflict) and api.event_count() == before
    assert api.media_files() == []  # no event, no file


def test_a_batch_is_one_transaction_and_a_stale_session_is_decided_again(api: Api) -> None:
    from uuid import UUID, uuid4

    from application.access import Actor
    from application.attempts import load_attempt
    from application.evidence import SnapshotFile, record_snapshots, snapshot_session

    app = api.services.app
    exam = api.exam()
    attempts = [UUID(api.start(exam, who)["attemptId"]) for who in (api.alice, api.bob)]
    actors = [Actor(load_attempt(app, a).candidate_id, "candidate") for a in attempts]

    def file(i: int) -> SnapshotFile:
        session = snapshot_session(app, actors[i], attempts[i])
        return SnapshotFile(session, uuid4(), f"proctor-snapshots/{i}.jpg", 10, app.clock.now())

    before, saves, save = app.position(), [], app.save
    app.save = lambda *aggregates, **kw: saves.append(len(aggregates)) or save(*aggregates, **kw)  # type: ignore[method-assign]
    assert record_snapshots(app, [file(0), file(1)]) == [before + 1, before + 2]
    assert saves == [2]  # both in one save: one transaction

    first, second = file(0), file(0)  # two uploads of one attempt, authorized on the same version
    assert record_snapshots(app, [first]) == [before + 3]
    assert record_snapshots(app, [second, file(1)]) == [before + 4, before + 5]  # re-decided, not 409
    counts = [app.load(type(first.session), file(i).session.id, "s").snapshot_count for i in (0, 1)]
    assert counts == [3, 2]


def test_two_snapshots_in_the_same_millisecond_are_both_stored(api: Api) -> None:
    from datetime import UTC, datetime

    from fakes import FakeClock

    attempt = api.start(api.exam(), api.alice)["attemptId"]
    api.services.app.clock = FakeClock(datetime.now(UTC))  # frozen: both uploads get the same time
    for _ in range(2):
        r = api.client.post(
            f"/api/Proctor/snapshot/{attempt}",
            content=jpeg(),
            headers={**api.alice, "content-type": "image/jpeg"},
        )
        assert r.status_code == 201, r.text
    names = sorted(f.name for f in api.media_files())
    assert len(names) == 2 and names[0] != names[1]


def test_an_upload_whose_caller_goes_away_is_still_recorded(api: Api) -> None:
    """A client that disconnects mid-upload cancels its request; the write it started must still
    be recorded, or it would leave a file that nothing refers to."""
    import asyncio
    from uuid import UUID

    from adapters.ingest.snapshots import snapshot_intake
    from application.access import Actor
    from application.attempts import load_attempt
    from application.evidence import snapshot_session

    app = api.services.app
    attempt = UUID(api.start(api.exam(), api.alice)["attemptId"])
    session = snapshot_session(app, Actor(load_attempt(app, attempt).candidate_id, "candidate"), attempt)
    before = api.event_count()

    async def cancel_mid_write() -> None:
        lane = api.client.app.state.commands
        ingest = snapshot_intake(app, api.services.media, api.services.settings, lane.run)
        caller = asyncio.create_task(ingest.ingest(session, body(jpeg())))
        await asyncio.sleep(0)  # the write has been handed to a writer thread
        caller.cancel()
        for _ in range(500):  # bounded: ~5 s
            if api.event_count() > before:
                break
            await asyncio.sleep(0.01)
        ingest.close()
        assert caller.cancelled()

    asyncio.run(cancel_mid_write())
    assert api.event_count() == before + 1 and len(api.media_files()) == 1


def test_the_route_reaches_its_collaborators_through_fastapi_dependencies(api: Api) -> None:
    """`dependency_overrides` reaches the upload route: the caller, and the snapshot intake."""
    from uuid import UUID

    from application.access import Actor
    from application.attempts import load_attempt
    from interfaces.deps import current_actor
    from interfaces.routers.snapshots import get_snapshot_intake

    app, web = api.services.app, api.client.app
    attempt = api.start(api.exam(), api.alice)["attemptId"]
    alice = Actor(load_attempt(app, UUID(attempt)).candidate_id, "candidate")
    intake = web.state.snapshot_intake
    seen: list[str] = []

    async def watched_intake() -> object:
        seen.append("intake")
        return intake

    web.dependency_overrides[current_actor] = lambda: alice
    web.dependency_overrides[get_snapshot_intake] = watched_intake
    try:
        headers = {"content-type": "image/jpeg"}  # and no credentials
        r = api.client.post(f"/api/Proctor/snapshot/{attempt}", content=jpeg(), headers=headers)
    finally:
        web.dependency_overrides.clear()
    assert r.status_code == 201, r.text  # the overridden caller was used
    assert seen == ["intake"] and len(api.media_files()) == 1
