"""Numbers read straight from a request (query, headers) by the routes that skip FastAPI's
parameter validation: ASCII digits only and a bounded length, so `²` or 5,000 digits are a 4xx
and never reach `int()`, which would raise (a 500)."""

from __future__ import annotations

import re

from starlette.requests import Request

_DIGITS = re.compile(r"[0-9]{1,18}")


def whole_number(raw: str | None) -> int | None:
    """The value as an int when it is 1-18 ASCII digits, else None."""
    return int(raw) if raw is not None and _DIGITS.fullmatch(raw) else None


def declared_length(request: Request) -> int | None:
    """The Content-Length the client declared, when it is a plain number."""
    return whole_number(request.headers.get("content-length"))
