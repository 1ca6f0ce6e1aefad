"""`smart-exam recordings finalize ATTEMPT_ID` on the real store with real ffmpeg: a progress bar
on stderr, the result on stdout (exit 0); a failure's reason (exit 1); an unknown attempt (exit 2)."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID, uuid4

import pytest
from recording_seed import clip_chunks, event_names, recorded_attempt, seed

from adapters.passwords import Argon2Hasher
from adapters.runtime.bootstrap import bootstrap
from application.config import AppSettings
from application.finalize import close_recording
from application.recordings import recording_of
from interfaces.cli import main
from media_storage.recordings import RecordingFiles


@pytest.fixture(scope="module")
def chunks(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    return clip_chunks(tmp_path_factory.mktemp("clip"))


def _closed_recordings(data_dir: Path, chunks: list[bytes], count: int) -> list[UUID]:
    """Submitted, closed by hand (no follower runs here), never finalized."""
    settings = AppSettings(data_dir=data_dir)
    services = bootstrap(settings, hasher=Argon2Hasher(time_cost=1, memory_cost=8192), run_workers=False)
    try:
        ids = [recorded_attempt(who, services.media, chunks) for who in seed(services.app, count)]
        for attempt_id in ids:
            close_recording(services.app, attempt_id, "submitted", services.app.clock.now())
        return ids
    finally:
        services.close()


def test_finalize_by_hand_prints_the_result_and_a_failure_exits_non_zero(
    tmp_path: Path, chunks: list[bytes], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SMART_EXAM_DATA_DIR", str(tmp_path))
    good, broken = _closed_recordings(tmp_path, chunks, 2)
    assert main(["recordings", "finalize", str(good)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"Ready: video-recordings/{good}/recording.mp4") and "remux" in out
    assert "finalizing [" in err and "100%" in err
    services = bootstrap(AppSettings(data_dir=tmp_path), run_workers=False)
    try:
        assert event_names(services.app, good)[-1] == "RecordingFinalized"
        first = recording_of(services.app, broken).chunk_paths(0)[0]
        RecordingFiles(services.media).absolute(first).write_bytes(b"\x1a\x45\xdf\xa3 not a recording" * 64)
    finally:
        services.close()
    assert main(["recordings", "finalize", str(broken)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "\nFailed: " in err and "Invalid data found" in err  # ffmpeg's reason
    assert main(["recordings", "finalize", str(broken)]) == 1  # by hand: no waiting for the backoff
    assert main(["recordings", "finalize", str(uuid4())]) == 2
    assert "not found" in capsys.readouterr().err
