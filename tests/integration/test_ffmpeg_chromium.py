"""Finalization of what Chromium's MediaRecorder really writes (fake camera, timeslice 1 s, two
recorder sessions, as a reload makes): `video/webm;codecs=h264,opus` (Matroska/H.264, whose
track order differs between sessions) is remuxed; VP8 is transcoded.

The media is recorded once per test session, in Chromium driven by Playwright in its own thread
(the e2e suite's sync Playwright may be running on the main thread). Loopback only: the page is
served by Playwright's router, no server, no network."""

from __future__ import annotations

import base64
import contextlib
import threading
from pathlib import Path
from typing import Any

import pytest
from e2e.conftest import BASE_ARGS, CHROMIUM, FAKE_UI, interfaces_up
from helpers import in_ci, skip_or_fail
from recording_media import H264_MKV, VP8_WEBM, store_and_finalize

from adapters.ffmpeg import FfmpegTranscoder

pytestmark = pytest.mark.browser
Media = dict[str, list[tuple[str, list[bytes]]]]  # name -> per session (mime reported, chunks)

PAGE_URL = "http://127.0.0.1:9/recorder"  # answered by page.route: nothing listens there
SESSIONS_MS = (4000, 3000)
PAUSE_MS = 1500  # between the two recorder sessions, as a reload would leave
MIMES = {"h264": "video/webm;codecs=h264,opus", "vp8": "video/webm;codecs=vp8,opus"}

RECORD = """
async ({mimes, sessions, pause}) => {
  const stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}, audio: true});
  const toBase64 = async (blob) => {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  };
  const recordOnce = (mime, ms) => new Promise((resolve, reject) => {
    const recorder = new MediaRecorder(stream, {mimeType: mime});
    const blobs = [];
    recorder.ondataavailable = (e) => { if (e.data.size) blobs.push(e.data); };
    recorder.onerror = (e) => reject(e.error);
    recorder.onstop = async () =>
      resolve({type: recorder.mimeType, chunks: await Promise.all(blobs.map(toBase64))});
    recorder.start(1000);
    setTimeout(() => recorder.stop(), ms);
  });
  const out = [];
  for (const ms of sessions) {
    out.push(await Promise.all(mimes.map((mime) => recordOnce(mime, ms))));
    await new Promise((r) => setTimeout(r, pause));
  }
  stream.getTracks().forEach((t) => t.stop());
  return out;
}
"""


def own_seconds(folder: Path, sessions: list[tuple[str, list[bytes]]]) -> list[float]:
    """Each session's video alone (its chunks joined; the last packet's time, so up to a few
    frames short): under load Chromium records less than the wall time it was given, so the
    joined MP4 is compared with its parts."""
    seconds = []
    for number, (_, chunks) in enumerate(sessions):
        path = folder / f"session-{number}.mkv"
        path.write_bytes(b"".join(chunks))
        seconds.append(FfmpegTranscoder().video_duration(path))
    return seconds


def _record_in_chromium(result: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*BASE_ARGS, FAKE_UI])
            try:
                page = browser.new_page()
                page.route(PAGE_URL, lambda route: route.fulfill(body="<!doctype html><title>rec</title>",
                                                                 content_type="text/html"))  # fmt: skip
                page.goto(PAGE_URL)
                spec = {"mimes": list(MIMES.values()), "sessions": list(SESSIONS_MS), "pause": PAUSE_MS}
                result["sessions"] = page.evaluate(RECORD, spec)
            finally:
                with contextlib.suppress(Exception):
                    browser.close()
    except Exception as exc:  # reported on the test's thread
        result["error"] = exc


@pytest.fixture(scope="session")
def chromium_media() -> Media:
    """{"h264": [(mime reported, [chunk bytes...]) per session], "vp8": [...]}"""
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("playwright for Python is not installed (pip install playwright)")
    if in_ci() and interfaces_up() != ["lo"]:
        pytest.fail("browser tests must run in a loopback-only network namespace (./test.sh)", pytrace=False)
    result: dict[str, Any] = {}
    worker = threading.Thread(target=_record_in_chromium, args=(result,), daemon=True)
    worker.start()
    worker.join(timeout=120)
    if worker.is_alive():
        pytest.fail("recording in Chromium did not finish within 120 s")
    if "error" in result:
        raise result["error"]
    media: Media = {name: [] for name in MIMES}
    for session in result["sessions"]:
        for name, recorded in zip(MIMES, session, strict=True):
            media[name].append((recorded["type"], [base64.b64decode(c) for c in recorded["chunks"]]))
    return media


def test_chromium_really_writes_matroska_h264(chromium_media: Media) -> None:
    for mime, chunks in chromium_media["h264"]:
        assert mime.startswith("video/x-matroska") and "avc1" in mime
        assert chunks[0][:4] == b"\x1a\x45\xdf\xa3"  # EBML header: only in the first chunk
        assert len(chunks) >= 3
        assert all(c[:4] != b"\x1a\x45\xdf\xa3" for c in chunks[1:])


def test_two_h264_sessions_remux_into_one_mp4_as_long_as_both(
    tmp_path: Path, chromium_media: Media
) -> None:
    sessions = chromium_media["h264"]
    chunks = [c for _, c in sessions]
    done = store_and_finalize(tmp_path, chunks, [H264_MKV] * 2, pause_seconds=PAUSE_MS / 1000)
    result, transcoder = done.result, FfmpegTranscoder()
    assert result.codec_path == "remux"
    assert transcoder.decode_errors(result.path) == ""
    video = transcoder.video_duration(result.path)
    assert video == pytest.approx(sum(own_seconds(tmp_path, sessions)), abs=0.3 * len(sessions))
    assert video == pytest.approx(sum(SESSIONS_MS) / 1000, abs=1.5)
    assert video == pytest.approx(sum(result.segment_durations.values()), abs=0.3)
    assert done.recording.result is not None
    assert [g["reason"] for g in done.recording.result["gaps"]] == ["page reloaded"]


def test_a_missing_middle_chunk_gives_the_mp4_of_what_exists(
    tmp_path: Path, chromium_media: Media
) -> None:
    sessions = chromium_media["h264"]
    done = store_and_finalize(tmp_path, [c for _, c in sessions], [H264_MKV] * 2, drop=frozenset({(0, 1)}))
    transcoder = FfmpegTranscoder()
    assert transcoder.decode_errors(done.result.path) == ""
    assert transcoder.video_duration(done.result.path) > SESSIONS_MS[1] / 1000  # more than segment 1 alone
    assert done.recording.result is not None
    lost = [g for g in done.recording.result["gaps"] if g["reason"] == "connection lost"]
    assert [(g["segment"], g["seqs"]) for g in lost] == [(0, [1])]


def test_vp8_sessions_are_transcoded(
    tmp_path: Path, chromium_media: Media
) -> None:
    sessions = chromium_media["vp8"]
    assert all(mime.startswith("video/webm") and "vp8" in mime for mime, _ in sessions)
    done = store_and_finalize(tmp_path, [c for _, c in sessions], [VP8_WEBM] * 2)
    transcoder = FfmpegTranscoder()
    assert done.result.codec_path == "transcode"
    assert transcoder.decode_errors(done.result.path) == ""
    video = transcoder.video_duration(done.result.path)
    assert video == pytest.approx(sum(own_seconds(tmp_path, sessions)), abs=0.3 * len(sessions))
    assert video == pytest.approx(sum(SESSIONS_MS) / 1000, abs=1.5)
