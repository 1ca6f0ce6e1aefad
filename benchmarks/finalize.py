"""Finalize benchmark: a 10-minute recording, our transcoder beside plain ffmpeg doing the same work.

The recording is made by ffmpeg: lavfi testsrc 640x480@20 + a sine tone, H.264 + Opus in
Matroska (what Chromium's `video/webm;codecs=h264,opus` writes) and a VP8 + Opus WebM variant,
split by bytes into ~3 s chunks (as MediaRecorder's fall mid-cluster).

Compared in alternating rounds (ours, plain / plain, ours, ...):
  ours   FfmpegTranscoder.finalize: chunks joined, probed, encoded, decode-verified, video
         duration read, sha256, fsync, atomic rename;
  plain  the same work by hand: `cat chunks > seg`, one ffmpeg (explicit maps, H.264 copied or
         libx264 veryfast, AAC, +faststart), one decode pass `ffmpeg -v error -i out -f null -`.
Also printed: plain without the decode pass (what verification costs), remux vs transcode.
Target: ours / plain <= 1.15 (median of the rounds). Exit code 0 unless --strict and a MISS.

    python3 benchmarks/finalize.py [--minutes 10] [--rounds 3] [--transcode-rounds 1] [--keep]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.ffmpeg import FfmpegTranscoder, resolve_ffmpeg  # noqa: E402
from application.ports import SegmentInput  # noqa: E402

TARGET = 1.15
CHUNK_SECONDS = 3.0
SOURCES = {
    "h264": ("mkv", ["-c:v", "libx264", "-preset", "veryfast", "-g", "40", "-f", "matroska"]),
    "vp8": ("webm", ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "800k",
                     "-f", "webm"]),
}  # fmt: skip


def make_recording(ffmpeg: str, folder: Path, kind: str, seconds: float) -> list[Path]:
    ext, video = SOURCES[kind]
    source = folder / f"source.{ext}"
    cmd = [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x480:rate=20",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
           *video, "-c:a", "libopus", "-b:a", "48k", str(source)]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=1800)
    data = source.read_bytes()
    count = max(1, round(seconds / CHUNK_SECONDS))
    size = -(-len(data) // count)
    chunks = folder / "chunks"
    chunks.mkdir()
    paths = []
    for seq, start in enumerate(range(0, len(data), size)):
        path = chunks / f"000-{seq:06d}.{ext}"
        path.write_bytes(data[start : start + size])
        paths.append(path)
    source.unlink()
    return paths


def cpu_seconds() -> float:
    """CPU of this process and its finished children: steadier than wall time on shared cores."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def ours(transcoder: FfmpegTranscoder, chunks: list[Path], out: Path, seconds: float) -> tuple[float, str]:
    work = out.parent / "work-ours"
    work.mkdir(exist_ok=True)
    started = time.perf_counter()
    result = transcoder.finalize([SegmentInput(0, tuple(chunks), seconds)], out, work)
    return time.perf_counter() - started, result.codec_path


def plain(ffmpeg: str, chunks: list[Path], out: Path, transcode: bool, verify: bool = True) -> float:
    started = time.perf_counter()
    joined = out.parent / f"plain-joined{chunks[0].suffix}"
    with open(joined, "wb") as target:
        for chunk in chunks:
            with open(chunk, "rb") as f:
                shutil.copyfileobj(f, target, 1024 * 1024)
    video = (["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"] if transcode
             else ["-c:v", "copy"])  # fmt: skip
    subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(joined), "-map", "0:v:0", "-map", "0:a:0?", *video,
                    "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", str(out)],
                   check=True, timeout=1800)  # fmt: skip
    if verify:
        done = subprocess.run([ffmpeg, "-v", "error", "-i", str(out), "-f", "null", "-"],
                              capture_output=True, text=True, check=True, timeout=1800)  # fmt: skip
        assert done.stderr.strip() == "", done.stderr
    joined.unlink()
    return time.perf_counter() - started


def measure(kind: str, ffmpeg: str, folder: Path, minutes: float, rounds: int) -> dict[str, object]:
    seconds = minutes * 60
    t0 = time.perf_counter()
    chunks = make_recording(ffmpeg, folder, kind, seconds)
    made = time.perf_counter() - t0
    size_mb = sum(p.stat().st_size for p in chunks) / 1e6
    print(f"[{kind}] {minutes:g} min recording made in {made:.1f} s: {len(chunks)} chunks, {size_mb:.1f} MB",
          flush=True)  # fmt: skip
    transcoder = FfmpegTranscoder(ffmpeg)
    transcode = kind != "h264"
    ours_times, plain_times, ratios, cpu_ratios = [], [], [], []
    codec_path = ""
    for number in range(rounds):
        order = ("ours", "plain") if number % 2 == 0 else ("plain", "ours")
        times: dict[str, float] = {}
        cpu: dict[str, float] = {}
        for who in order:
            before = cpu_seconds()
            if who == "ours":
                times[who], codec_path = ours(transcoder, chunks, folder / "ours.mp4", seconds)
            else:
                times[who] = plain(ffmpeg, chunks, folder / "plain.mp4", transcode)
            cpu[who] = cpu_seconds() - before
        ours_times.append(times["ours"])
        plain_times.append(times["plain"])
        ratios.append(times["ours"] / times["plain"])
        cpu_ratios.append(cpu["ours"] / cpu["plain"])
        print(f"[{kind}] round {number + 1}: ours {times['ours']:.2f} s ({cpu['ours']:.1f} s CPU), plain "
              f"{times['plain']:.2f} s ({cpu['plain']:.1f} s CPU), ratio {ratios[-1]:.3f}, CPU ratio "
              f"{cpu_ratios[-1]:.3f}", flush=True)  # fmt: skip
    unverified = plain(ffmpeg, chunks, folder / "plain-nv.mp4", transcode, verify=False)
    duration = transcoder.video_duration(folder / "ours.mp4")
    return {
        "kind": kind,
        "codec_path": codec_path,
        "chunks": len(chunks),
        "megabytes": round(size_mb, 1),
        "video_seconds": round(duration, 2),
        "ours_s": round(statistics.median(ours_times), 2),
        "plain_s": round(statistics.median(plain_times), 2),
        "plain_without_verify_s": round(unverified, 2),
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_pooled": round(sum(ours_times) / sum(plain_times), 3),
        "cpu_ratio_median": round(statistics.median(cpu_ratios), 3),
        "realtime_x": round(seconds / statistics.median(ours_times), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="rounds for the remux (H.264) recording")
    parser.add_argument("--transcode-rounds", type=int, default=1, help="rounds for the VP8 recording")
    parser.add_argument("--ffmpeg", default="", help="binary (default: as the product resolves it)")
    parser.add_argument("--only", choices=sorted(SOURCES), help="measure one kind only")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()

    ffmpeg = resolve_ffmpeg(args.ffmpeg)
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    print(f"ffmpeg: {ffmpeg} ({version})", flush=True)
    base = Path(tempfile.mkdtemp(prefix="finalize-bench-"))
    results = []
    try:
        for kind in [args.only] if args.only else list(SOURCES):
            folder = base / kind
            folder.mkdir()
            rounds = args.rounds if kind == "h264" else args.transcode_rounds
            results.append(measure(kind, ffmpeg, folder, args.minutes, rounds))
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)

    print()
    print(f"{'kind':6} {'path':9} {'video s':>8} {'ours s':>7} {'plain s':>8} {'no-verify s':>11} "
          f"{'ratio':>6} {'CPU ratio':>9} {'x realtime':>10}  target <= {TARGET}")  # fmt: skip
    missed = False
    for r in results:
        verdict = "PASS" if float(r["ratio_median"]) <= TARGET else "MISS"  # type: ignore[arg-type]
        missed |= verdict == "MISS"
        print(f"{r['kind']:6} {r['codec_path']:9} {r['video_seconds']:>8} {r['ours_s']:>7} "
              f"{r['plain_s']:>8} {r['plain_without_verify_s']:>11} {r['ratio_median']:>6} "
              f"{r['cpu_ratio_median']:>9} {r['realtime_x']:>10}  {verdict}")  # fmt: skip
    by_kind = {r["kind"]: r for r in results}
    if {"h264", "vp8"} <= by_kind.keys():
        remux, transcode = float(by_kind["h264"]["ours_s"]), float(by_kind["vp8"]["ours_s"])  # type: ignore[arg-type]
        print(f"remux vs transcode: {remux:.2f} s vs {transcode:.2f} s ({transcode / remux:.1f}x)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
