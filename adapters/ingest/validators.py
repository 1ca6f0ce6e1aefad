"""Per-kind checks on evidence bytes as they stream in. A validator sees the first bytes before
any file exists (`check_head`), then every chunk in order (`feed`), then gives its verdict once
the body is complete (`finish`); it refuses by raising a domain error. The pipeline calls it on
a writer thread, one call at a time per upload, so a validator may keep state and may hash
(hashlib releases the GIL) without costing the event loop anything.
"""

from __future__ import annotations

import hashlib
import io
from typing import Protocol

from PIL import Image

from domain.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

JPEG_MAGIC = b"\xff\xd8\xff"
JPEG_END = b"\xff\xd9"
SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
START_OF_SCAN = 0xDA
EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # Matroska / WebM
MP4_BOXES = (b"ftyp", b"styp")


class Validator(Protocol):
    @property
    def head_bytes(self) -> int:
        """How many first bytes `check_head` needs (it gets all of a shorter body)."""
        ...

    def check_head(self, head: bytes) -> None: ...

    def feed(self, chunk: bytes) -> None: ...

    def finish(self) -> None: ...


class JpegSnapshot:
    """A complete baseline/progressive JPEG within a pixel cap, checked without decoding: magic
    (415), end-of-image marker (422), dimensions from the frame header (422), pixels (413).
    Gives on streamed bytes the verdicts `media_storage.images.jpeg_dimensions` gives on whole
    ones, in the same order, so no upload is judged differently for arriving in pieces."""

    head_bytes = len(JPEG_MAGIC)

    def __init__(self, max_pixels: int) -> None:
        self.max_pixels = max_pixels
        self.dimensions: tuple[int, int] | None = None
        self._problem: str | None = None
        self._pending = b""  # the start of a marker segment split between chunks
        self._skip = 2  # the start-of-image marker
        self._last2 = b""  # the body's last two bytes
        self._last2_before_zeros = b""  # its last two before any trailing zero padding

    def check_head(self, head: bytes) -> None:
        if not head.startswith(JPEG_MAGIC):
            raise UnsupportedMediaType("body is not a JPEG image")

    def feed(self, chunk: bytes) -> None:
        content = chunk.rstrip(b"\x00")
        if content:
            self._last2_before_zeros = (self._last2 + content[-2:])[-2:]
        self._last2 = (self._last2 + chunk[-2:])[-2:]
        if self.dimensions is None and self._problem is None:
            self._read_markers(chunk)

    def finish(self) -> None:
        if self._last2_before_zeros != JPEG_END:
            raise InvalidInput("JPEG is truncated (no end-of-image marker)")
        if self._problem is not None or self.dimensions is None:
            raise InvalidInput(self._problem or "JPEG has no frame header")
        width, height = self.dimensions
        if width * height > self.max_pixels:
            raise PayloadTooLarge(f"snapshot has {width}x{height} pixels; the limit is {self.max_pixels}")

    def _read_markers(self, chunk: bytes) -> None:
        """Walks marker segments up to the frame header, skipping their bodies unread."""
        start = min(self._skip, len(chunk))
        self._skip -= start
        if self._pending:  # a segment header split between chunks
            data, i = self._pending + chunk[start:], 0
        else:
            data, i = chunk, start  # read in place: a snapshot comes in one or two chunks
        while len(data) - i >= 4:
            if data[i] != 0xFF:
                self._problem = "JPEG structure is corrupt"
                return
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in SOF_MARKERS:
                if len(data) - i < 9:
                    break  # wait for the rest of the frame header
                height = int.from_bytes(data[i + 5 : i + 7], "big")
                width = int.from_bytes(data[i + 7 : i + 9], "big")
                if width == 0 or height == 0:
                    self._problem = "JPEG has no pixels"
                else:
                    self.dimensions = (width, height)
                return
            if marker == START_OF_SCAN or length < 2:  # image data before any frame header
                self._problem = "JPEG has no frame header"
                return
            if len(data) - i < 2 + length:
                self._skip = 2 + length - (len(data) - i)
                i = len(data)
                break
            i += 2 + length
        self._pending = data[i:]  # at most a frame header's 9 bytes


class JpegDecodes:
    """JPEG-shaped is not enough: the image must decode (quantisation and Huffman tables, a
    scan). Run after JpegSnapshot (AllOf), so the size and pixel caps hold before decoding.
    Decoded at 1/8 scale (libjpeg still reads every coefficient) on the writer thread; Pillow
    releases the GIL. The body is kept for it: a snapshot is small (its cap)."""

    head_bytes = 0

    def __init__(self) -> None:
        self._body = bytearray()

    def check_head(self, head: bytes) -> None:
        pass

    def feed(self, chunk: bytes) -> None:
        self._body += chunk

    def finish(self) -> None:
        try:
            with Image.open(io.BytesIO(bytes(self._body)), formats=["JPEG"]) as image:
                image.draft("L", (max(image.width // 8, 1), max(image.height // 8, 1)))
                image.load()
        except Exception:  # Pillow raises OSError, SyntaxError, ValueError... for broken streams
            raise InvalidInput("JPEG does not decode as an image") from None


class MediaContainerHeader:
    """A recording segment's first chunk must start a Matroska/WebM (EBML) or MP4 file (415)."""

    head_bytes = 8

    def check_head(self, head: bytes) -> None:
        if not (head.startswith(EBML_MAGIC) or head[4:8] in MP4_BOXES):
            raise UnsupportedMediaType("a segment's first chunk must start with an EBML or MP4 header")

    def feed(self, chunk: bytes) -> None:
        pass

    def finish(self) -> None:
        pass


class Sha256Matches:
    """The body's sha256 must be the one the client declared (422); `hexdigest` once finished."""

    head_bytes = 0

    def __init__(self, expected_hex: str, what: str = "X-Chunk-Sha256") -> None:
        self.expected = expected_hex.strip().lower()
        self.what = what
        self.hexdigest = ""
        self._hash = hashlib.sha256()

    def check_head(self, head: bytes) -> None:
        pass

    def feed(self, chunk: bytes) -> None:
        self._hash.update(chunk)

    def finish(self) -> None:
        self.hexdigest = self._hash.hexdigest()
        if self.hexdigest != self.expected:
            raise InvalidInput(f"the body's sha256 is {self.hexdigest}, not the {self.what} sent")


class AllOf:
    """Several validators as one, each asked in the order given."""

    def __init__(self, *validators: Validator) -> None:
        self.validators = validators
        self.head_bytes = max((v.head_bytes for v in validators), default=0)

    def check_head(self, head: bytes) -> None:
        for validator in self.validators:
            validator.check_head(head)

    def feed(self, chunk: bytes) -> None:
        for validator in self.validators:
            validator.feed(chunk)

    def finish(self) -> None:
        for validator in self.validators:
            validator.finish()
