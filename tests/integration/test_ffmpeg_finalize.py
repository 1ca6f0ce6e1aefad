"""The ffmpeg transcoder on real media made by ffmpeg itself (lavfi), split into chunks like a
recorder's: remux, transcode, joins, lost chunks, the no-ffprobe fallback, failures."""

from __future__ import annotations

import hashlib
from pathlib import Path

import imageio_ffmpeg
import pytest
from recording_media import H264_MKV, VP8_WEBM, lavfi_recording, split_bytes, store_and_finalize

from adapters.ffmpeg import FfmpegTranscoder, ffprobe_beside, resolve_ffmpeg
from application.ports import SegmentInput, TranscodeError


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("lavfi")
    return {
        "h264": lavfi_recording(folder / "a.mkv", 6, "h264"),
        "h264_b": lavfi_recording(folder / "b.mkv", 4, "h264"),
        "vp8": lavfi_recording(folder / "v.webm", 4, "vp8"),
        "mute": lavfi_recording(folder / "m.mkv", 3, "h264", audio=False),
    }


def checked(transcoder: FfmpegTranscoder, path: Path) -> float:
    assert path.is_file() and not list(path.parent.glob(".*.tmp.mp4"))
    assert transcoder.decode_errors(path) == ""
    return transcoder.video_duration(path)


def test_two_h264_segments_are_remuxed_into_one_mp4(tmp_path: Path, media: dict[str, bytes]) -> None:
    done = store_and_finalize(
        tmp_path, [split_bytes(media["h264"], 6), split_bytes(media["h264_b"], 4)], [H264_MKV] * 2,
        pause_seconds=2.0,
    )  # fmt: skip
    result = done.result
    assert result.codec_path == "remux"
    assert result.duration_seconds == pytest.approx(10.0, abs=0.3)
    assert sum(result.segment_durations.values()) == pytest.approx(result.duration_seconds, abs=0.3)
    assert checked(FfmpegTranscoder(), result.path) == pytest.approx(result.duration_seconds, abs=0.05)
    assert done.files.files(done.attempt_id)[-1].relative.endswith("/recording.mp4")
    assert done.progress == sorted(done.progress) and done.progress[-1] == 1.0
    assert done.recording.result is not None
    gaps = done.recording.result["gaps"]
    assert [(g["reason"], g["segment"]) for g in gaps] == [("page reloaded", 1)]
    offsets = [s["video_offset_seconds"] for s in done.recording.result["segments"]]
    assert offsets == [0.0, pytest.approx(result.segment_durations[0], abs=0.01)]


def test_vp8_is_transcoded(tmp_path: Path, media: dict[str, bytes]) -> None:
    done = store_and_finalize(tmp_path, [split_bytes(media["vp8"], 4)], [VP8_WEBM])
    assert done.result.codec_path == "transcode"
    assert checked(FfmpegTranscoder(), done.result.path) == pytest.approx(4.0, abs=0.3)
    assert done.files.files(done.attempt_id)[0].relative.endswith("chunks/000-000000.webm")


def test_a_lost_middle_chunk_still_makes_an_mp4_and_is_reported(tmp_path: Path, media: dict[str, bytes]) -> None:  # noqa: E501
    done = store_and_finalize(tmp_path, [split_bytes(media["h264"], 6)], [H264_MKV], drop=frozenset({(0, 2)}))
    assert checked(FfmpegTranscoder(), done.result.path) > 0
    assert done.recording.result is not None
    assert [(g["reason"], g["seqs"]) for g in done.recording.result["gaps"]] == [("connection lost", [2])]


def test_a_segment_without_audio_joins_one_with_audio(tmp_path: Path, media: dict[str, bytes]) -> None:
    done = store_and_finalize(
        tmp_path, [split_bytes(media["mute"], 3), split_bytes(media["h264_b"], 4)], [H264_MKV] * 2
    )
    assert done.result.codec_path == "remux"
    assert checked(FfmpegTranscoder(), done.result.path) == pytest.approx(7.0, abs=0.4)


def test_without_ffprobe_the_checks_run_through_ffmpeg(tmp_path: Path, media: dict[str, bytes]) -> None:
    """The imageio-ffmpeg wheel ships ffmpeg alone: what a fresh machine gets."""
    wheel = imageio_ffmpeg.get_ffmpeg_exe()
    transcoder = FfmpegTranscoder(wheel)
    assert transcoder.ffmpeg == wheel and transcoder.ffprobe is None
    done = store_and_finalize(
        tmp_path, [split_bytes(media["h264"], 6), split_bytes(media["vp8"], 4)], [H264_MKV, VP8_WEBM],
        transcoder=transcoder,
    )  # fmt: skip
    assert done.result.codec_path == "transcode"  # VP8 in one segment: all through libx264
    assert checked(transcoder, done.result.path) == pytest.approx(10.0, abs=0.4)


def test_binary_resolution(tmp_path: Path) -> None:
    assert resolve_ffmpeg() == resolve_ffmpeg("ffmpeg")
    assert ffprobe_beside(resolve_ffmpeg()) is not None  # Debian's ffmpeg has ffprobe beside it
    with pytest.raises(FileNotFoundError):
        resolve_ffmpeg(str(tmp_path / "no-such-ffmpeg"))


def test_garbage_fails_with_ffmpegs_reason_and_leaves_no_file(tmp_path: Path) -> None:
    chunk = tmp_path / "000-000000.mkv"
    chunk.write_bytes(b"\x1a\x45\xdf\xa3 this is not a recording" * 100)
    output = tmp_path / "recording.mp4"
    with pytest.raises(TranscodeError) as failure:
        FfmpegTranscoder().finalize([SegmentInput(0, (chunk,))], output, tmp_path)
    assert failure.value.stderr_tail
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000-000000.mkv"]


def test_an_existing_mp4_is_replaced_whole(tmp_path: Path, media: dict[str, bytes]) -> None:
    done = store_and_finalize(tmp_path, [split_bytes(media["h264_b"], 2)], [H264_MKV])
    chunks = tuple(done.files.absolute(p) for p in done.recording.chunk_paths(0))
    again = FfmpegTranscoder().finalize([SegmentInput(0, chunks)], done.result.path, tmp_path)
    data = done.result.path.read_bytes()
    assert (again.size_bytes, again.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert checked(FfmpegTranscoder(), done.result.path) == pytest.approx(4.0, abs=0.3)
