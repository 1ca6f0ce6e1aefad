"""The doorbell between the server and its projection child: rings never block, a burst is one wake-up."""

from __future__ import annotations

import multiprocessing
import time

from adapters.doorbell import Doorbell


def test_a_burst_of_rings_wakes_once_and_nothing_is_left() -> None:
    bell = Doorbell()
    try:
        assert not bell.wait(0.01)
        for _ in range(100_000):  # far more than the socket buffer holds: never blocks
            bell.set()
        assert bell.wait(1.0)
        assert not bell.wait(0.01)
    finally:
        bell.close()


def _ring_back(bell: Doorbell, back: Doorbell) -> None:
    if bell.wait(10.0):
        back.set()


def test_it_rings_across_a_spawned_process() -> None:
    there, back = Doorbell(), Doorbell()
    child = multiprocessing.get_context("spawn").Process(target=_ring_back, args=(there, back))
    child.start()
    try:
        started = time.monotonic()
        there.set()
        assert back.wait(10.0)
        assert time.monotonic() - started < 10.0
    finally:
        child.join(10)
        there.close()
        back.close()
    assert child.exitcode == 0
