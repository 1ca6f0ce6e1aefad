"""The chunks a Recording holds, as flat JSON-safe state, and the read-only questions asked of
them: what each segment holds and misses, whether every segment ended, where the gaps are."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.recording_timeline import (
    Gap,
    find_gaps,
    highest_contiguous,
    missing_seqs,
    playable_segments,
    segment_map,
)

# One held chunk, as stored in the state: [sha256, size_bytes, received_at, mime, path]
SHA, SIZE, AT, MIME, PATH = range(5)


def chunk_key(segment: int, seq: int) -> str:
    return f"{segment}:{seq}"


class HeldChunks:
    """Mixed into Recording, which sets these attributes in its created event."""

    chunks: dict[str, list[Any]]  # chunk_key -> [sha256, size, received_at, mime, path]
    final_seqs: dict[str, int]  # str(segment) -> the seq of its final chunk
    chunk_seconds: float

    def received(self) -> dict[int, dict[int, datetime]]:
        """segment -> seq -> received_at, for every held chunk."""
        out: dict[int, dict[int, datetime]] = {}
        for key, chunk in self.chunks.items():
            segment, seq = (int(part) for part in key.split(":"))
            out.setdefault(segment, {})[seq] = chunk[AT]
        return {segment: dict(sorted(seqs.items())) for segment, seqs in sorted(out.items())}

    @property
    def all_segments_final(self) -> bool:
        """Every segment ended by its final chunk, and none of its chunks missing: nothing more
        can come, so finalization need not wait for the grace period."""
        received = self.received()
        return bool(received) and all(
            self.final_seqs.get(str(segment)) == len(seqs) - 1 for segment, seqs in received.items()
        )

    def segment_mime(self, segment: int) -> str | None:
        prefix = f"{segment}:"
        return next((c[MIME] for k, c in self.chunks.items() if k.startswith(prefix)), None)

    def playable_segments(self) -> list[int]:
        """Segments whose first chunk (the container header) is held: the ones with video."""
        return playable_segments(self.received())

    def chunk_paths(self, segment: int) -> list[str]:
        """The held chunks of a segment in seq order (what exists: gaps are skipped)."""
        seqs = sorted(self.received().get(segment, {}))
        return [self.chunks[chunk_key(segment, seq)][PATH] for seq in seqs]

    def segment_status(self) -> list[dict[str, Any]]:
        """For the status route: per segment what is held, what is missing, the highest
        contiguous seq (-1 when seq 0 is missing)."""
        return [
            {
                "segment": segment,
                "received": list(seqs),
                "missing": missing_seqs(set(seqs)),
                "highest_contiguous": highest_contiguous(set(seqs)),
            }
            for segment, seqs in self.received().items()
        ]

    def gaps(self, durations: dict[int, float] | None = None) -> list[Gap]:
        return find_gaps(self.received(), self.chunk_seconds, durations)

    def segment_map(self, durations: dict[int, float]) -> list[dict[str, Any]]:
        return segment_map(self.received(), self.chunk_seconds, durations)
