"""The command lane: commands run on the event loop (0 threads) or on its own threads, one at a
time when there is one, in order of arrival; errors pass through."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

from adapters.runtime.command_lane import CommandLane
from domain.errors import Conflict

T = TypeVar("T")


def run_in_own_loop(main: Callable[[], Coroutine[object, object, T]]) -> T:
    """asyncio.run on a fresh thread: the browser tests leave a loop running on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result(timeout=30)


def test_one_thread_runs_commands_one_at_a_time_in_order_of_arrival() -> None:
    lane = CommandLane(1)
    running, overlaps, order = [0], [], []
    lock = threading.Lock()

    def command(n: int) -> int:
        with lock:
            running[0] += 1
            overlaps.append(running[0])
        threading.Event().wait(0.01)
        order.append(n)
        with lock:
            running[0] -= 1
        return n * 10

    async def main() -> list[int]:
        return list(await asyncio.gather(*(lane.run(command, n) for n in range(8))))

    try:
        assert run_in_own_loop(main) == [n * 10 for n in range(8)]
    finally:
        lane.close()
    assert max(overlaps) == 1 and order == list(range(8))


def test_on_the_loop_commands_run_on_the_loop_thread_in_order_of_arrival() -> None:
    lane = CommandLane(0)
    threads, order = set(), []

    def command(n: int) -> int:
        threads.add(threading.get_ident())
        order.append(n)
        return n * 10

    async def main() -> tuple[list[int], int]:
        results = await asyncio.gather(*(lane.run(command, n) for n in range(8)))
        return list(results), threading.get_ident()

    results, loop_thread = run_in_own_loop(main)
    lane.close()
    assert results == [n * 10 for n in range(8)] and order == list(range(8))
    assert threads == {loop_thread}


@pytest.mark.parametrize("threads", [0, 1])
def test_a_command_error_reaches_the_caller_and_the_lane_goes_on(threads: int) -> None:
    lane = CommandLane(threads)

    def refuse() -> None:
        raise Conflict("already ended")

    async def main() -> str:
        with pytest.raises(Conflict):
            await lane.run(refuse)
        return await lane.run(lambda: "next")

    try:
        assert run_in_own_loop(main) == "next"
    finally:
        lane.close()


def test_sqlite_runs_commands_on_the_loop_and_postgresql_on_threads(tmp_path: Path) -> None:
    from application.config import AppSettings

    assert AppSettings(data_dir=tmp_path).command_concurrency == 0
    assert AppSettings(database_url="postgresql://u:p@127.0.0.1/db").command_concurrency == 4
    assert AppSettings(data_dir=tmp_path, command_threads=2).command_concurrency == 2
