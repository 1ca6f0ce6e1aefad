"""The message bus: in-process, and PostgreSQL LISTEN/NOTIFY between two bus instances (two
connections, as two processes have), payloads over NOTIFY's 8000-byte limit included."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from adapters.runtime.bus import PG_TABLE, LocalBus, PostgresBus
from adapters.runtime.migration import postgres_conninfo
from application.config import AppSettings
from application.ports import MessageBus


def inbox(bus: MessageBus, channel: str) -> queue.Queue[dict[str, Any]]:
    received: queue.Queue[dict[str, Any]] = queue.Queue()
    bus.subscribe(channel, received.put)
    return received


def test_local_bus_delivers_to_the_channels_subscribers_until_they_unsubscribe() -> None:
    bus = LocalBus()
    mine, other = inbox(bus, "attempt.1"), inbox(bus, "attempt.2")
    got: list[dict[str, Any]] = []
    unsubscribe = bus.subscribe("attempt.1", got.append)
    bus.publish("attempt.1", {"offer": "sdp"})
    unsubscribe()
    bus.publish("attempt.1", {"offer": "again"})
    assert got == [{"offer": "sdp"}]
    assert [mine.get_nowait(), mine.get_nowait()] == [{"offer": "sdp"}, {"offer": "again"}]
    assert other.empty()


def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    bus = LocalBus()

    def broken(_payload: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    bus.subscribe("c", broken)
    received = inbox(bus, "c")
    bus.publish("c", {"n": 1})
    assert received.get_nowait() == {"n": 1}


@pytest.fixture
def buses(fresh_pg_url: str, tmp_path: Any) -> Iterator[tuple[PostgresBus, PostgresBus, str]]:
    conninfo = postgres_conninfo(AppSettings(database_url=fresh_pg_url, data_dir=tmp_path))
    one, two = PostgresBus(conninfo), PostgresBus(conninfo)
    one.create_table()
    two.create_table()  # idempotent: every process creates it at start
    for bus in (one, two):
        bus.start()
    yield one, two, conninfo
    for bus in (one, two):
        bus.stop()


@pytest.mark.postgres
def test_postgres_bus_carries_small_and_large_payloads_between_instances(
    buses: tuple[PostgresBus, PostgresBus, str],
) -> None:
    one, two, conninfo = buses
    at_one, at_two = inbox(one, "attempt.a"), inbox(two, "attempt.a")
    small = {"type": "offer", "sdp": "v=0", "n": 1, "ok": True, "none": None}
    large = {"type": "offer", "sdp": "x" * 20_000, "candidates": [{"i": i} for i in range(100)]}
    one.publish("attempt.a", small)
    one.publish("attempt.a", large)
    assert at_two.get(timeout=5) == small
    assert at_two.get(timeout=5) == large
    assert at_one.get_nowait() == small and at_one.get_nowait() == large  # local, at once
    with psycopg.connect(conninfo, autocommit=True) as conn:
        (rows,) = conn.execute(f"SELECT count(*) FROM {PG_TABLE}").fetchone() or (0,)
    assert rows == 1  # only the large one went through the table
    two.publish("attempt.a", {"answer": "sdp"})
    assert at_one.get(timeout=5) == {"answer": "sdp"}
    assert at_two.get(timeout=5) == {"answer": "sdp"}
    assert at_one.empty() and at_two.empty()  # no echo of a bus's own messages


@pytest.mark.postgres
def test_postgres_bus_keeps_channels_apart_and_cleans_old_rows(
    buses: tuple[PostgresBus, PostgresBus, str],
) -> None:
    one, two, conninfo = buses
    other, wanted = inbox(two, "attempt.b"), inbox(two, "attempt.c")
    one.publish("attempt.b", {"big": "y" * 9_000})
    assert other.get(timeout=5)["big"] == "y" * 9_000
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"UPDATE {PG_TABLE} SET created_at = now() - interval '1 hour'")
    one.publish("attempt.c", {"big": "z" * 9_000})
    assert wanted.get(timeout=5)["big"] == "z" * 9_000
    assert other.empty()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        payloads = [r[0] for r in conn.execute(f"SELECT payload FROM {PG_TABLE}").fetchall()]
    assert len(payloads) == 1 and "zzz" in payloads[0]  # the hour-old row was deleted
