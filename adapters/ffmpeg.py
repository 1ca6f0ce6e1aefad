"""The Transcoder port on ffmpeg (commands built with ffmpeg-python, run as child processes).

Finalize, as measured on Chromium's recordings (shared/notes/browser-media.md):
1. each segment's chunks byte-concatenated in seq order (only the first chunk has the header;
   the concatenation of one recorder session is a valid stream);
2. each segment remuxed on its own with an explicit stream order (`-map 0:v:0 -map 0:a:0?`):
   the track order differs between recorder sessions and the concat demuxer maps by index;
   H.264 copied, anything else (VP8/VP9) or H.264 of differing parameters through libx264;
3. segments joined with the concat demuxer, audio to AAC once, `+faststart`, to a temp name;
4. verified: the video stream's duration, and one decode pass that must print nothing. When a
   copied stream does not decode cleanly (a lost chunk cut a frame), everything is redone
   through libx264 (which conceals the damage) rather than failing: the MP4 is made of what
   exists, the gaps are reported by the domain;
5. fsynced and renamed atomically to the final name.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import ffmpeg  # ffmpeg-python

from application.ports import SegmentInput, TranscodeError, TranscodeResult
from media_storage.recordings import RecordingFiles

log = logging.getLogger(__name__)
Progress = Callable[[float], None]
STDERR_TAIL = 2000
X264: dict[str, Any] = {"vcodec": "libx264", "preset": "veryfast", "crf": 23, "pix_fmt": "yuv420p"}
EVEN_SIZE = {"vf": "scale=trunc(iw/2)*2:trunc(ih/2)*2"}  # yuv420p needs it; a filter costs time
AAC: dict[str, Any] = {"acodec": "aac", "b:a": "96k"}
AUDIO_FORMAT: dict[str, Any] = {"ar": 48000, "ac": 1}
_NULL_MUXER = re.compile(r"\[null @ (0x)?[0-9a-fA-F]+\]")
_REPEATED = re.compile(r"\s*Last message repeated \d+ times")
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\d+:\d+\S*: Video: (\w+)(?: \(([^)]*)\))?[^\n]*?, (\d{2,5})x(\d{2,5})")


def resolve_ffmpeg(setting: str = "") -> str:
    """SMART_EXAM_FFMPEG, else `ffmpeg` on PATH, else the binary the imageio-ffmpeg wheel ships."""
    if setting:
        found = shutil.which(setting)
        if found is None:
            raise FileNotFoundError(f"SMART_EXAM_FFMPEG={setting!r} is not an executable")
        return found
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def ffprobe_beside(ffmpeg_binary: str) -> str | None:
    folder = Path(ffmpeg_binary).parent
    for name in ("ffprobe", "ffprobe.exe"):
        if (folder / name).is_file():
            return str(folder / name)
    return None


@dataclass(frozen=True)
class StreamInfo:
    video: str  # codec/profile/WxH: segments may be copied together only when all agree
    has_audio: bool
    duration: float | None  # the container's


class FfmpegTranscoder:
    def __init__(self, binary: str = "") -> None:
        self.ffmpeg = resolve_ffmpeg(binary)
        self.ffprobe = ffprobe_beside(self.ffmpeg)

    # -- running ffmpeg ---------------------------------------------------------------------------
    def _run(self, args: list[str], step: str, expected: float | None = None, report: Progress | None = None,
             check: bool = True) -> str:  # fmt: skip
        """Runs ffmpeg with `-progress` on stdout and stderr to a file (a pipe could fill up
        and block it); returns stderr. Progress: the fraction of `expected` seconds done."""
        with tempfile.TemporaryFile() as err:
            with subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err) as proc:
                assert proc.stdout is not None
                for line in proc.stdout:
                    if report and expected and line.startswith(b"out_time_us="):
                        value = line.split(b"=", 1)[1].strip()
                        if value.isdigit():
                            report(min(1.0, int(value) / 1e6 / expected))
                code = proc.wait()
            err.seek(0)
            stderr = err.read().decode(errors="replace")
        if check and code != 0:
            raise TranscodeError(f"{step} (ffmpeg exit {code})", stderr[-STDERR_TAIL:].strip())
        return stderr

    def _ffmpeg(self, stream: Any, step: str, expected: float | None = None,
                report: Progress | None = None) -> str:  # fmt: skip
        args = ffmpeg.compile(stream, cmd=self.ffmpeg, overwrite_output=True)
        globals_ = ["-hide_banner", "-nostdin", "-v", "error", "-progress", "pipe:1", "-nostats"]
        return self._run([args[0], *globals_, *args[1:]], step, expected, report)

    # -- probing ----------------------------------------------------------------------------------
    def probe(self, path: Path) -> StreamInfo:
        if self.ffprobe:
            try:
                info = ffmpeg.probe(str(path), cmd=self.ffprobe)
            except ffmpeg.Error as exc:
                tail = exc.stderr.decode(errors="replace")[-STDERR_TAIL:]
                raise TranscodeError(f"probe {path.name}", tail) from None
            streams = info.get("streams", [])
            video = next((s for s in streams if s.get("codec_type") == "video"), None)
            if video is None:
                raise TranscodeError(f"probe {path.name}", "no video stream")
            duration = info.get("format", {}).get("duration")
            size = f"{video.get('width')}x{video.get('height')}"
            signature = f"{video['codec_name']}/{video.get('profile')}/{size}"
            return StreamInfo(signature, any(s.get("codec_type") == "audio" for s in streams),
                              float(duration) if duration not in (None, "N/A") else None)  # fmt: skip
        stderr = self._run([self.ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)], "probe", check=False)
        match = _VIDEO.search(stderr)
        if match is None:
            raise TranscodeError(f"probe {path.name}", stderr[-STDERR_TAIL:].strip() or "no video stream")
        codec, profile, width, height = match.groups()
        duration = _DURATION.search(stderr)
        seconds = None
        if duration:
            h, m, s = duration.groups()
            seconds = int(h) * 3600 + int(m) * 60 + float(s)
        return StreamInfo(f"{codec}/{profile}/{width}x{height}", ": Audio: " in stderr, seconds)

    def video_duration(self, path: Path) -> float:
        """The video stream's own duration (not the container's, which audio can stretch)."""
        if self.ffprobe:
            info = ffmpeg.probe(str(path), cmd=self.ffprobe, select_streams="v:0")
            streams = info.get("streams") or [{}]
            value = streams[0].get("duration")
            if value not in (None, "N/A"):
                return float(value)
        # No ffprobe (the imageio-ffmpeg wheel): read the video packets once, without decoding.
        args = [self.ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0",
                "-c", "copy", "-f", "null", "-", "-progress", "pipe:1", "-nostats"]  # fmt: skip
        seconds = 0.0
        with subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL) as proc:  # fmt: skip
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith(b"out_time_us=") and line[12:].strip().isdigit():
                    seconds = int(line[12:].strip()) / 1e6
        return seconds

    def decode_errors(self, path: Path) -> str:
        """One full decode pass: the empty string when the file plays cleanly. The null muxer's
        own complaints (two frames with one timestamp, which a real muxer fixes, as the MP4's
        did) say nothing about the file and are left out."""
        args = [self.ffmpeg, "-hide_banner", "-nostdin", "-v", "repeat+error", "-i", str(path),
                "-f", "null", "-"]  # fmt: skip
        stderr = self._run(args, "verify", check=False)  # repeat: each line whole, none collapsed
        lines = [line for line in stderr.splitlines() if line.strip() and not _NULL_MUXER.match(line)]
        return "\n".join(line for line in lines if not _REPEATED.match(line))

    # -- the port ---------------------------------------------------------------------------------
    def finalize(self, segments: Sequence[SegmentInput], output: Path, work_dir: Path,
                 progress: Progress | None = None) -> TranscodeResult:  # fmt: skip
        if not segments or any(not s.chunks for s in segments):
            raise TranscodeError("finalize", "nothing to finalize: every segment needs its chunks")
        report = progress or (lambda _: None)
        temp = output.with_name(f".{output.stem}.{uuid4().hex[:12]}.tmp.mp4")
        created: list[Path] = []
        try:
            joined = [self._concatenate(s, work_dir, created) for s in segments]
            infos = [self.probe(path) for path in joined]
            report(0.05)
            remux = all(i.video.startswith("h264/") for i in infos) and len({i.video for i in infos}) == 1
            if not remux:
                log.info("transcoding %s: video is %s", output, sorted({i.video for i in infos}))
            durations = self._encode(segments, joined, infos, remux, temp, work_dir, created, report)
            errors = self.decode_errors(temp)
            if errors and remux:  # a copied stream with a cut frame: re-encode conceals it
                log.warning("copied H.264 of %s does not decode cleanly, re-encoding: %s", output, errors)
                remux = False
                durations = self._encode(segments, joined, infos, remux, temp, work_dir, created, report)
                errors = self.decode_errors(temp)
            if errors:
                raise TranscodeError("verify", errors[-STDERR_TAIL:])
            duration = self.video_duration(temp)
            if duration <= 0:
                raise TranscodeError("verify", "the MP4 has no video")
            durations = durations or {segments[0].segment: round(duration, 3)}
            report(0.98)
            sha256, size = _digest(temp)
            RecordingFiles.publish(temp, output)
            report(1.0)
            return TranscodeResult(output, round(duration, 3), size, sha256,
                                   "remux" if remux else "transcode", durations)  # fmt: skip
        finally:
            temp.unlink(missing_ok=True)
            for path in created:
                path.unlink(missing_ok=True)

    def _concatenate(self, segment: SegmentInput, work_dir: Path, created: list[Path]) -> Path:
        """Byte concatenation in seq order: what a single recorder session wrote."""
        joined = work_dir / f"segment-{segment.segment:03d}{segment.chunks[0].suffix or '.mkv'}"
        created.append(joined)
        with open(joined, "wb") as out:
            for chunk in segment.chunks:
                with open(chunk, "rb") as f:
                    shutil.copyfileobj(f, out, 1024 * 1024)
        return joined

    def _encode(self, segments: Sequence[SegmentInput], joined: list[Path], infos: list[StreamInfo],
                remux: bool, temp: Path, work_dir: Path, created: list[Path],
                report: Progress) -> dict[int, float]:  # fmt: skip
        odd = any(int(n) % 2 for i in infos for n in i.video.rsplit("/", 1)[1].split("x") if n.isdigit())
        video = {"vcodec": "copy"} if remux else {**X264, **(EVEN_SIZE if odd else {})}
        expected = [s.expected_seconds or i.duration or 0.0 for s, i in zip(segments, infos, strict=True)]
        total = sum(expected) or None
        if len(joined) == 1:  # one recorder session: straight to MP4
            source = ffmpeg.input(str(joined[0]))
            out = ffmpeg.output(source["v:0"], source["a:0?"], str(temp), **video, **AAC,
                                movflags="+faststart")  # fmt: skip
            self._ffmpeg(out, "encode", total, lambda f: report(0.05 + 0.85 * f))
            return {}  # its length is the MP4's own, measured once verified
        mixed_audio = len({i.has_audio for i in infos}) > 1
        parts: list[Path] = []
        durations: dict[int, float] = {}
        done = 0.0
        for segment, path, info, seconds in zip(segments, joined, infos, expected, strict=True):
            part = work_dir / f"part-{segment.segment:03d}.mkv"
            created.append(part)
            source = ffmpeg.input(str(path))
            streams = [source["v:0"]]
            audio: dict[str, Any] = {"acodec": "copy"}
            if mixed_audio:  # the concat demuxer needs the same streams in every part
                silence = ffmpeg.input("anullsrc=r=48000:cl=mono", f="lavfi")
                streams.append(source["a:0"] if info.has_audio else silence["a:0"])
                audio = {**AAC, **AUDIO_FORMAT, "shortest": None}
            elif info.has_audio:
                streams.append(source["a:0"])
            share = seconds / total if total else 1 / len(joined)
            self._ffmpeg(ffmpeg.output(*streams, str(part), **video, **audio), f"segment {segment.segment}",
                         seconds or None, _scaled(report, 0.05 + 0.75 * done, 0.75 * share))  # fmt: skip
            done += share
            parts.append(part)
            durations[segment.segment] = round(self.probe(part).duration or self.video_duration(part), 3)
        listing = work_dir / "segments.txt"
        created.append(listing)
        listing.write_text("".join(f"file '{p.name}'\n" for p in parts), encoding="utf-8")
        source = ffmpeg.input(str(listing), f="concat", safe=0)
        audio_out = {"acodec": "copy"} if mixed_audio else AAC
        out = ffmpeg.output(source["v:0"], source["a:0?"], str(temp), vcodec="copy", **audio_out,
                            movflags="+faststart")  # fmt: skip
        self._ffmpeg(out, "join", total, lambda f: report(0.8 + 0.1 * f))
        return durations


def _scaled(report: Progress, start: float, width: float) -> Progress:
    return lambda fraction: report(start + width * fraction)


def _digest(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while block := f.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size

