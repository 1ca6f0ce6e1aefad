"""Where a recording has no video, found from facts alone (pure functions, no I/O).

Each recorder session is a segment; chunk `seq` of a segment covers about
[start + seq * chunk_seconds, start + (seq + 1) * chunk_seconds). A chunk can never reach the
server before it was recorded, so the earliest `received_at - (seq + 1) * chunk_seconds` over a
segment's chunks is the best estimate of when the segment started (uploads after an offline
spell arrive late, never early). Two kinds of gap:
- "connection lost": seqs missing inside a segment (each one chunk_seconds long); a segment
  whose first chunk (the container header) is missing cannot be decoded at all, so all of it is
  a gap and it has no place in the video;
- "page reloaded": wall time between the end of one segment and the start of the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

CONNECTION_LOST = "connection lost"
PAGE_RELOADED = "page reloaded"
MIN_RELOAD_GAP_SECONDS = 0.5  # below this, the start estimate's own error (upload latency)

# segment -> seq -> received_at
Received = Mapping[int, Mapping[int, datetime]]


@dataclass(frozen=True)
class Gap:
    start: datetime
    end: datetime
    reason: str
    segment: int
    seqs: tuple[int, ...] = ()

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "reason": self.reason,
            "segment": self.segment,
            "seqs": list(self.seqs),
        }


def missing_seqs(seqs: set[int] | frozenset[int]) -> list[int]:
    """Seqs below the highest one received that never arrived."""
    if not seqs:
        return []
    return [seq for seq in range(max(seqs) + 1) if seq not in seqs]


def highest_contiguous(seqs: set[int] | frozenset[int]) -> int:
    """The highest seq with every seq before it held; -1 when seq 0 is missing."""
    seq = -1
    while seq + 1 in seqs:
        seq += 1
    return seq


def segment_start(chunks: Mapping[int, datetime], chunk_seconds: float) -> datetime:
    return min(at - timedelta(seconds=(seq + 1) * chunk_seconds) for seq, at in chunks.items())


def segment_end(chunks: Mapping[int, datetime], chunk_seconds: float, duration: float | None) -> datetime:
    """With the measured video duration when known; else the last chunk's nominal end, never
    later than its arrival (the last chunk of a stopped recorder is shorter than a slice)."""
    start = segment_start(chunks, chunk_seconds)
    if duration is not None:
        return start + timedelta(seconds=duration)
    last = max(chunks)
    return min(start + timedelta(seconds=(last + 1) * chunk_seconds), chunks[last])


def _runs(seqs: list[int]) -> list[tuple[int, ...]]:
    runs: list[list[int]] = []
    for seq in seqs:
        if runs and runs[-1][-1] == seq - 1:
            runs[-1].append(seq)
        else:
            runs.append([seq])
    return [tuple(run) for run in runs]


def playable_segments(received: Received) -> list[int]:
    """Segments that can be decoded: their first chunk (the container header) is held."""
    return [segment for segment in sorted(received) if 0 in received[segment]]


def find_gaps(
    received: Received, chunk_seconds: float, durations: Mapping[int, float] | None = None
) -> list[Gap]:
    """Every stretch of wall time without video, in time order. `durations`: each playable
    segment's measured video duration (from the transcoder), which makes segment ends exact."""
    durations = durations or {}
    step = timedelta(seconds=chunk_seconds)
    gaps: list[Gap] = []
    previous_end: datetime | None = None
    for segment in sorted(s for s in received if received[s]):
        chunks = received[segment]
        start = segment_start(chunks, chunk_seconds)
        if previous_end is not None and (start - previous_end).total_seconds() >= MIN_RELOAD_GAP_SECONDS:
            gaps.append(Gap(previous_end, start, PAGE_RELOADED, segment))
        if 0 not in chunks:
            everything = tuple(range(max(chunks) + 1))
            end = start + step * len(everything)
            gaps.append(Gap(start, end, CONNECTION_LOST, segment, everything))
        else:
            for run in _runs(missing_seqs(set(chunks))):
                first, after = start + step * run[0], start + step * (run[-1] + 1)
                gaps.append(Gap(first, after, CONNECTION_LOST, segment, run))
            end = segment_end(chunks, chunk_seconds, durations.get(segment))
        previous_end = end if previous_end is None else max(previous_end, end)
    return gaps


def segment_map(
    received: Received, chunk_seconds: float, durations: Mapping[int, float]
) -> list[dict[str, Any]]:
    """Wall-clock start -> offset in the joined video, for the playable segments in order, so a
    page can seek to the moment of an event."""
    offset = 0.0
    entries = []
    for segment in playable_segments(received):
        duration = durations[segment]
        entries.append(
            {
                "segment": segment,
                "wall_clock_start": segment_start(received[segment], chunk_seconds),
                "video_offset_seconds": round(offset, 3),
                "duration_seconds": round(duration, 3),
            }
        )
        offset += duration
    return entries
