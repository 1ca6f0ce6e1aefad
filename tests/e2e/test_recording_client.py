"""The candidate's recording modules in a real Chromium with the fake camera: the IndexedDB
outbox, the recorder and the upload queue (static/lib/recording/), imported into an existing page
(/exams) and driven directly; the upload tests answer the chunk requests in the browser
(page.route), never in the product. The exam page with the real chunk route:
test_recording_e2e.py.

Run (loopback-only network namespace):
    unshare -n sh -c 'ip link set lo up && python -m pytest tests/e2e/test_recording_client.py -q'
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from e2e_conftest import LiveServer, login
from helpers import skip_or_fail
from recording_js import (
    DRAINED,
    LIST,
    RECORD,
    START_RECORDING,
    START_UPLOADER,
    STOP_RECORDING,
    UPLOADER_STATE,
    check_segment,
    chunk_bytes,
)

pytestmark = pytest.mark.browser

CHUNK_ROUTE = "**/api/Proctor/video-chunk/**"


def record(page: Any, attempt_id: str, chunks: int = 2) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        RECORD, {"attemptId": attempt_id, "chunks": chunks, "chunkSeconds": 1}
    )
    assert result["state"] == "stopped", result["state"]
    return result


def test_recorder_fills_the_outbox_in_segments_that_survive_a_reload(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    page = login(context, live_server, "candidate")
    attempt_id = str(uuid.uuid4())

    first = record(page, attempt_id, chunks=3)
    assert first["segment"] == 0
    print(f"recorder mime: {first['mimeType']}, chunk sizes: {[c['size'] for c in first['stored']]}")
    assert len(first["stored"]) >= 4  # 3 timeslices and the last chunk stop() flushed
    assert len(first["events"]) == len(first["stored"])  # every chunk was in the outbox when announced
    check_segment(first["stored"], 0)

    # The concatenation of one segment's chunks is one decodable stream (real ffmpeg).
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        skip_or_fail("ffmpeg is not on PATH")
    else:
        joined = tmp_path / "segment-000.mkv"
        joined.write_bytes(b"".join(chunk_bytes(c) for c in first["stored"]))
        run = subprocess.run([ffmpeg, "-v", "error", "-i", str(joined), "-f", "null", "-"],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        # Decoder errors fail; the null muxer's complaint about Chromium's repeated timestamps
        # ("non monotonically increasing dts", seen on some runs) is about muxing, not the data.
        problems = [ln for ln in run.stderr.splitlines() if "non monotonically increasing dts" not in ln]
        assert run.returncode == 0 and not problems, run.stderr[-2000:]

    # A reload: the outbox still holds every chunk, byte for byte; the next recorder session is
    # segment 1 and starts its own container.
    page.reload()
    survived = page.evaluate(LIST, {"attemptId": attempt_id})
    assert [(c["segment"], c["seq"], c["sha256"]) for c in survived] == [
        (c["segment"], c["seq"], c["sha256"]) for c in first["stored"]
    ]
    second = record(page, attempt_id, chunks=1)
    assert second["segment"] == 1
    check_segment(second["stored"], 0)
    check_segment(second["stored"], 1)
    assert [c["segment"] for c in second["stored"]] == sorted(c["segment"] for c in second["stored"])

    # Another attempt has its own counter and its own outbox.
    other = record(page, str(uuid.uuid4()), chunks=1)
    assert other["segment"] == 0 and {c["segment"] for c in other["stored"]} == {0}


def test_uploader_acknowledges_retries_keeps_refused_and_resumes_online(
    context: Any, live_server: LiveServer
) -> None:
    page = login(context, live_server, "candidate")
    attempt_id = str(uuid.uuid4())
    recorded = record(page, attempt_id, chunks=2)["stored"]
    assert len(recorded) >= 3
    requests: list[dict[str, Any]] = []

    def chunk_route(route: Any) -> None:
        req = route.request
        query = parse_qs(urlparse(req.url).query)
        seen = {"at": time.monotonic(), "segment": int(query["segment"][0]), "seq": int(query["seq"][0]),
                "headers": req.headers, "body": req.post_data_buffer}  # fmt: skip
        requests.append(seen)
        if len(requests) == 1:
            route.fulfill(status=503, content_type="application/json",
                          body='{"error": "Unavailable", "detail": "injected outage"}')  # fmt: skip
        elif len(requests) == 2:
            route.abort("internetdisconnected")
        elif seen["seq"] == 1:
            route.fulfill(status=409, content_type="application/json",
                          body='{"error": "Conflict", "detail": "other bytes for this seq"}')  # fmt: skip
        else:
            route.fulfill(status=201, content_type="application/json", body="{}")

    page.route(CHUNK_ROUTE, chunk_route)
    page.evaluate(START_UPLOADER, {"attemptId": attempt_id, "baseDelayMs": 1000})
    # After the second failure the queue backs off 2-4 s; the browser's `online` ends that at once.
    page.wait_for_function("() => window.__uploads.log.filter((e) => e.type === 'retry').length === 2")
    back_online = time.monotonic()
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    done = page.evaluate(DRAINED)
    assert not done["timedOut"], done

    assert len(requests) >= 3 and requests[2]["at"] - back_online < 1.0, "no retry at once on `online`"
    assert 0.5 < requests[1]["at"] - requests[0]["at"] < 3.0  # the first backoff: 1-2 s
    by_key = {(c["segment"], c["seq"]): c for c in recorded}
    for seen in requests:
        chunk = by_key[(seen["segment"], seen["seq"])]
        assert seen["headers"]["x-chunk-sha256"] == chunk["sha256"]
        assert seen["headers"]["content-type"] == chunk["mime"]
        assert seen["headers"].get("x-csrf-token")
        if seen["body"] is not None:
            assert hashlib.sha256(seen["body"]).hexdigest() == chunk["sha256"]
    # Oldest first; the 503 and the network error were retried (same chunk), the 409 was kept
    # and not sent again.
    assert [(r["segment"], r["seq"]) for r in requests] == [(0, 0), (0, 0), *sorted(by_key)]
    kinds = [(e["type"], e["seq"], e.get("status")) for e in done["log"]]
    assert kinds[:2] == [("retry", 0, 503), ("retry", 0, 0)], kinds
    assert ("rejected", 1, 409) in kinds
    acked = sorted(e["seq"] for e in done["log"] if e["type"] == "acked")
    assert acked == [seq for (_, seq) in sorted(by_key) if seq != 1]
    left = page.evaluate(LIST, {"attemptId": attempt_id})
    assert [(c["segment"], c["seq"]) for c in left] == [(0, 1)], "only the refused chunk stays in the outbox"
    assert done["backlog"] == 1


def test_uploader_sends_what_the_last_page_left_and_stops_when_closed_or_forbidden(
    context: Any, live_server: LiveServer
) -> None:
    page = login(context, live_server, "candidate")
    closed_id, forbidden_id = str(uuid.uuid4()), str(uuid.uuid4())
    record(page, closed_id, chunks=1)
    record(page, forbidden_id, chunks=1)
    page.reload()  # a new page: its uploader finds the chunks the last one left behind

    answers = {closed_id: 410, forbidden_id: 403}
    sent: list[str] = []

    def chunk_route(route: Any) -> None:
        attempt = urlparse(route.request.url).path.rsplit("/", 1)[1]
        sent.append(attempt)
        route.fulfill(status=answers[attempt], content_type="application/json",
                      body='{"error": "Refused", "detail": "injected"}')  # fmt: skip

    page.route(CHUNK_ROUTE, chunk_route)
    page.evaluate(START_UPLOADER, {"attemptId": closed_id, "baseDelayMs": 200})
    done = page.evaluate(DRAINED)
    assert not done["timedOut"], done
    assert done["state"] == "closed" and [e["type"] for e in done["log"]] == ["closed"]
    assert page.evaluate(LIST, {"attemptId": closed_id}) == [], "410: the attempt's outbox is cleared"

    kept = page.evaluate(LIST, {"attemptId": forbidden_id})
    page.evaluate(START_UPLOADER, {"attemptId": forbidden_id, "baseDelayMs": 200})
    done = page.evaluate(DRAINED)
    assert not done["timedOut"], done
    assert done["state"] == "stopped"
    assert [(e["type"], e["status"]) for e in done["log"]] == [("stopped", 403)]
    assert page.evaluate(LIST, {"attemptId": forbidden_id}) == kept, "403: the chunks stay"
    page.wait_for_timeout(500)
    assert sent == [closed_id, forbidden_id], "a stopped queue sends nothing more"
    assert page.evaluate(UPLOADER_STATE)["state"] == "stopped"


def test_recording_follows_the_proctoring_camera_and_flushes_on_stop(
    context: Any, live_server: LiveServer
) -> None:
    from playwright.sync_api import expect

    page = login(context, live_server, "candidate")
    attempt_id = str(uuid.uuid4())
    finals: list[tuple[int, int]] = []

    def chunk_route(route: Any) -> None:
        query = parse_qs(urlparse(route.request.url).query)
        if query.get("final") == ["1"]:  # a segment's last chunk
            finals.append((int(query["segment"][0]), int(query["seq"][0])))
        route.fulfill(status=201, content_type="application/json", body="{}")

    page.route(CHUNK_ROUTE, chunk_route)
    assert page.evaluate(START_RECORDING, {"attemptId": attempt_id}) is True
    indicator = page.get_by_test_id("recording-indicator")
    expect(indicator).to_have_attribute("aria-live", "polite")
    expect(indicator).to_have_attribute("data-state", "recording")
    expect(indicator).to_contain_text("Recording")
    page.wait_for_function("() => window.__rec.acked.length >= 2")

    # A camera restart ends the segment (its last chunk flushed) and starts the next one.
    assert page.evaluate("() => window.__rec.client.retryCamera()") is True
    page.wait_for_function("() => window.__rec.acked.some((a) => a.segment === 1)")
    done = page.evaluate(STOP_RECORDING)

    assert done["camera"] == "stopped" and done["recorder"] == "stopped"
    assert done["backlog"] == 0 and page.evaluate(LIST, {"attemptId": attempt_id}) == []
    keys = sorted((a["segment"], a["seq"]) for a in done["acked"])
    for segment in (0, 1):
        seqs = [seq for (k, seq) in keys if k == segment]
        assert seqs == list(range(len(seqs))) and seqs, keys
    assert finals == [(0, max(s for k, s in keys if k == 0)), (1, max(s for k, s in keys if k == 1))]
    expect(indicator).to_have_attribute("data-backlog", "0")
    expect(indicator).to_have_attribute("data-state", "stopped")
