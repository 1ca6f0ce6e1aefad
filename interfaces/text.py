"""The text types every request body and path parameter uses: the one place text is refused.

No control characters (NUL above all: PostgreSQL refuses it in text, so one accepted NUL would
stop a read model), no lone surrogates, a length cap on everything, and names that may not be
blank. Multi-line fields (notes, question texts, details) may hold tab and newlines only."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _single_line(value: str) -> str:
    if _ANY_CONTROL.search(value):
        raise ValueError("must not contain control characters (tab, newline, NUL, ...)")
    return value


def _multi_line(value: str) -> str:
    if _CONTROL_BUT_LINES.search(value):
        raise ValueError("must not contain control characters other than tab and newline")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def has_control_characters(value: str) -> bool:
    return _ANY_CONTROL.search(value) is not None


# Single line, non-blank: names, titles, ids, types.
Identifier = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=100), AfterValidator(_single_line),
    AfterValidator(_not_blank),
]
EventType = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=64), AfterValidator(_single_line),
    AfterValidator(_not_blank),
]
Username = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=200), AfterValidator(_single_line),
    AfterValidator(_not_blank),
]
Title = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=300), AfterValidator(_single_line),
    AfterValidator(_not_blank),
]
Choice = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=500), AfterValidator(_single_line),
    AfterValidator(_not_blank),
]
# A password may be anything printable (spaces included), never a control character.
Password = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=1000), AfterValidator(_single_line)
]
# Multi-line: question texts, notes, warnings, event details.
Note = Annotated[str, StringConstraints(strict=True, max_length=2000), AfterValidator(_multi_line)]
Message = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=2000), AfterValidator(_multi_line),
    AfterValidator(_not_blank),
]
LongText = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=5000), AfterValidator(_multi_line),
    AfterValidator(_not_blank),
]
