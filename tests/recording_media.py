"""Recording fixtures shared by the ffmpeg tests and the finalize benchmark's checks: real media
made by ffmpeg (lavfi) or by Chromium's MediaRecorder, split into chunks, stored through
RecordingFiles, recorded on a Recording aggregate, finalized by the real transcoder."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

from fakes import EPOCH

from adapters.ffmpeg import FfmpegTranscoder, resolve_ffmpeg
from application.ports import SegmentInput, TranscodeResult
from domain.recordings import Recording
from media_storage import MediaStorage
from media_storage.recordings import RecordingFiles

H264_MKV = "video/x-matroska;codecs=avc1,opus"
VP8_WEBM = "video/webm;codecs=vp8,opus"


def lavfi_recording(path: Path, seconds: float, codec: str = "h264", audio: bool = True) -> bytes:
    """What a 640x480@20 camera recorder would write: H.264 or VP8 (+ Opus) in Matroska/WebM."""
    h264 = ["-c:v", "libx264", "-preset", "veryfast", "-g", "40", "-f", "matroska"]
    vp8 = ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M", "-f", "webm"]
    video = h264 if codec == "h264" else vp8
    sound = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] if audio else []
    cmd = [resolve_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x480:rate=20", *sound,
           "-t", str(seconds), *video, *(["-c:a", "libopus"] if audio else []), str(path)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    return path.read_bytes()


def split_bytes(data: bytes, parts: int) -> list[bytes]:
    """Chunk boundaries anywhere, as MediaRecorder's fall mid-cluster."""
    size = -(-len(data) // parts)
    return [data[i : i + size] for i in range(0, len(data), size)]


@dataclass
class Finalized:
    recording: Recording
    result: TranscodeResult
    files: RecordingFiles
    attempt_id: UUID
    progress: list[float]


def store_and_finalize(
    root: Path,
    segments: list[list[bytes]],
    mimes: list[str],
    chunk_seconds: float = 1.0,
    drop: frozenset[tuple[int, int]] = frozenset(),
    pause_seconds: float = 0.0,
    transcoder: FfmpegTranscoder | None = None,
) -> Finalized:
    """Stores each kept chunk, records it (received at its nominal end), closes, claims,
    finalizes with the real transcoder, and records the result on the aggregate."""
    files = RecordingFiles(MediaStorage(root))
    attempt_id = uuid4()
    recording = Recording(attempt_id=attempt_id, chunk_seconds=chunk_seconds, started_at=EPOCH)
    clock = 0.0
    for segment, (chunks, mime) in enumerate(zip(segments, mimes, strict=True)):
        for seq, data in enumerate(chunks):
            if (segment, seq) in drop:
                continue
            relative = files.save_chunk(attempt_id, segment, seq, mime, data)
            at = EPOCH + timedelta(seconds=clock + chunk_seconds * (seq + 1))
            digest = hashlib.sha256(data).hexdigest()
            recording.receive_chunk(segment, seq, len(data), digest, mime, at, relative)
        clock += chunk_seconds * len(chunks) + pause_seconds
    recording.close("submitted", EPOCH)
    recording.start_finalization("test", EPOCH, timedelta(minutes=5))
    inputs = [
        SegmentInput(segment, tuple(files.absolute(p) for p in recording.chunk_paths(segment)))
        for segment in sorted(recording.received())
        if 0 in recording.received()[segment]
    ]
    progress: list[float] = []
    transcoder = transcoder or FfmpegTranscoder()
    output = files.absolute(files.recording_path(attempt_id))
    result = transcoder.finalize(inputs, output, files.work_dir(attempt_id, "test"), progress.append)
    recording.finalize("test", files.recording_path(attempt_id), result.duration_seconds, result.size_bytes,
                       result.sha256, result.codec_path, result.segment_durations, EPOCH)  # fmt: skip
    return Finalized(recording, result, files, attempt_id, progress)
