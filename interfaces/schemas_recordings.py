"""Request and response bodies of the server recording's routes (camelCase JSON, like the rest)."""

from __future__ import annotations

from uuid import UUID

from interfaces.schemas import Camel


class ChunkStoredOut(Camel):
    segment: int
    seq: int
    status: str  # "stored" (201) or "duplicate" (200: the same bytes were held already)


class SegmentStatusOut(Camel):
    segment: int
    received: list[int]
    missing: list[int]
    highest_contiguous: int  # -1 while seq 0 is missing
    final: bool  # its last chunk arrived


class ChunkStatusOut(Camel):
    attempt_id: UUID
    status: str  # the Recording's: Recording, Processing, Ready, Failed, Deleted; None before any chunk
    segments: list[SegmentStatusOut]
