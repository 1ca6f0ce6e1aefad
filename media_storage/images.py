"""JPEG checks without decoding: magic, end marker, and dimensions from the SOF segment."""

from __future__ import annotations

from domain.errors import InvalidInput, UnsupportedMediaType

SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg_dimensions(data: bytes) -> tuple[int, int]:
    """(width, height) of a complete baseline/progressive JPEG, or an error saying what is wrong."""
    if not data.startswith(b"\xff\xd8\xff"):
        raise UnsupportedMediaType("body is not a JPEG image")
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise InvalidInput("JPEG is truncated (no end-of-image marker)")
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise InvalidInput("JPEG structure is corrupt")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in SOF_MARKERS:
            if i + 9 > len(data):
                break
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            if width == 0 or height == 0:
                raise InvalidInput("JPEG has no pixels")
            return width, height
        if marker == 0xDA or length < 2:  # start of scan before any frame header
            break
        i += 2 + length
    raise InvalidInput("JPEG has no frame header")
