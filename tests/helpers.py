"""Small helpers shared by the tests."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

DEFAULT_WAIT = 5.0


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def skip_or_fail(reason: str) -> None:
    """Missing infrastructure: skip locally, fail in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: this must not be skipped)", pytrace=False)
    pytest.skip(reason)


def wait_until(
    probe: Callable[[], T],
    accept: Callable[[T], bool] = bool,
    *,
    timeout: float = DEFAULT_WAIT,
    interval: float = 0.02,
    what: str = "condition",
) -> T:
    """Polls `probe()` until `accept(value)`; returns the value. Bounded: fails after `timeout`."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not accept(value):
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}; last: {value!r}")
        time.sleep(interval)
        value = probe()
    return value


def dump_rows(view: Any, tables: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in a stable order, for before/after comparisons."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table in tables:
        rows = view.query(f"SELECT * FROM {table}")
        out[table] = sorted(rows, key=lambda r: sorted((k, str(v)) for k, v in r.items()))
    return out


def read_model_views(services: Any) -> list[Any]:
    """The row views a Services object holds (one per projection)."""
    views = []
    for queries in vars(services).values():
        view = getattr(queries, "view", None)
        if view is not None and hasattr(view, "datastore"):
            views.append(view)
    return views


def close_services(services: Any) -> None:
    """Services.close(), then the read-model views' pools, which close() leaves open."""
    with contextlib.suppress(Exception):
        services.close()
    for view in read_model_views(services):
        with contextlib.suppress(Exception):
            view.datastore.close()
