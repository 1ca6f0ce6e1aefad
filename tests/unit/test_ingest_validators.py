"""Validators on streamed bytes: the JPEG check gives the verdict the whole-body check gives,
however the body is split; the recording-chunk checks (container header, declared sha256)
refuse through the pipeline and leave no file."""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
from collections.abc import AsyncIterator, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from adapters.ingest.pipeline import IngestPipeline
from adapters.ingest.validators import AllOf, JpegSnapshot, MediaContainerHeader, Sha256Matches, Validator
from domain.errors import InvalidInput, SmartExamError, UnsupportedMediaType
from media_storage import MediaStorage
from media_storage.images import jpeg_dimensions

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on a fresh thread: the browser tests leave a loop running on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=30)


def _jpeg(width: int, height: int, progressive: bool = False) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buf, "JPEG", progressive=progressive)
    return buf.getvalue()


SAMPLES = [_jpeg(64, 48), _jpeg(33, 17, progressive=True), _jpeg(640, 480) + b"\x00" * 100]


def whole(data: bytes, max_pixels: int) -> object:
    try:
        width, height = jpeg_dimensions(data)
    except SmartExamError as error:
        return type(error), error.detail
    return (width, height) if width * height <= max_pixels else "too many pixels"


def streamed(data: bytes, cuts: list[int], max_pixels: int) -> object:
    validator = JpegSnapshot(max_pixels)
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    try:
        validator.check_head(data[: validator.head_bytes])
        for start, end in itertools.pairwise(bounds):
            validator.feed(data[start:end])
        validator.finish()
    except SmartExamError as error:
        if "pixels; the limit" in error.detail:
            return "too many pixels"
        return type(error), error.detail
    return validator.dimensions


@settings(max_examples=300, deadline=None)
@given(
    sample=st.sampled_from(SAMPLES),
    cut=st.integers(0, 10**6),
    flip=st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
    cuts=st.lists(st.integers(0, 10**6), max_size=6),
    max_pixels=st.sampled_from([100, 64 * 48, 10**7]),
)
def test_streamed_jpeg_verdict_is_the_whole_body_verdict(
    sample: bytes, cut: int, flip: tuple[int, int], cuts: list[int], max_pixels: int
) -> None:
    data = bytearray(sample if cut % 2 else sample[: max(1, cut % (len(sample) + 50))])
    at, value = flip
    if at % 3:  # mostly: one byte of the marker segments changed
        data[at % min(len(data), 700)] = value
    body = bytes(data)
    assert streamed(body, cuts, max_pixels) == whole(body, max_pixels)


def test_container_header_accepts_matroska_and_mp4_only() -> None:
    header = MediaContainerHeader()
    header.check_head(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81")
    header.check_head(b"\x00\x00\x00\x20ftypisom")
    for bad in (b"", b"\xff\xd8\xff\xe0", b"RIFF....WEBP"):
        with pytest.raises(UnsupportedMediaType):
            header.check_head(bad)


@dataclass
class Chunk:
    path: str
    size: int
    sha256: str


@dataclass
class ChunkUpload:
    """A recording chunk as the next issue stores it: a fixed name, header and sha256 checked."""

    name: str
    validator: Validator
    digest: Sha256Matches

    def create(self, storage: MediaStorage) -> tuple[str, BinaryIO]:
        return self.name, storage.create(self.name)

    def recorded_as(self, path: str, size: int) -> Chunk:
        return Chunk(path, size, self.digest.hexdigest)


@dataclass
class Recorded:
    chunks: list[Chunk] = field(default_factory=list)

    def record(self, chunks: Sequence[Chunk]) -> list[int]:
        self.chunks += chunks
        return list(range(len(chunks)))


async def pieces(data: bytes, size: int = 100_000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize(
    ("body", "declared", "error"),
    [
        (b"\x1a\x45\xdf\xa3" + b"v" * 600_000, None, None),
        (b"\x1a\x45\xdf\xa3" + b"v" * 600_000, hashlib.sha256(b"other").hexdigest(), InvalidInput),
        (b"\xff\xd8\xff\xe0" + b"v" * 600_000, None, UnsupportedMediaType),
    ],
    ids=["accepted", "sha256-mismatch", "no-container-header"],
)
def test_a_chunk_kind_plugs_in_and_its_refusals_leave_nothing(
    tmp_path: Path, body: bytes, declared: str | None, error: type[Exception] | None
) -> None:
    storage, recorded = MediaStorage(tmp_path), Recorded()
    pipeline = IngestPipeline(recorded.record, storage, 2_000_000, label="chunk")
    digest = Sha256Matches(declared or hashlib.sha256(body).hexdigest())
    name = "video-recordings/a/chunks/000-000001.mkv"
    upload = ChunkUpload(name, AllOf(MediaContainerHeader(), digest), digest)
    try:
        if error is None:
            chunk = run(pipeline.ingest(upload, pieces(body)))
            assert (tmp_path / chunk.path).read_bytes() == body
            assert recorded.chunks == [Chunk(upload.name, len(body), hashlib.sha256(body).hexdigest())]
        else:
            with pytest.raises(error):
                run(pipeline.ingest(upload, pieces(body)))
            assert [p for p in tmp_path.rglob("*") if p.is_file()] == [] and recorded.chunks == []
    finally:
        pipeline.close()
