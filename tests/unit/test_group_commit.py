"""Group commit: what is ready together is saved together; each caller gets its own result or
error; a whole-batch failure reaches everyone; a caller that goes away does not stop the save;
items may come from any thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest
from test_command_lane import run_in_own_loop

from adapters.ingest.group_commit import GroupCommit
from domain.errors import Conflict

GATE = -2  # an item whose save waits until the test opens the gate


class Recorder:
    """A commit that records its batches; a batch holding GATE waits for `gate`."""

    def __init__(self, fail_first: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.saving_gate = threading.Event()
        self.gate = threading.Event()
        self.fail_first = fail_first

    def commit(self, items: Sequence[int]) -> list[int | Exception]:
        self.batches.append(list(items))
        if GATE in items:
            self.saving_gate.set()
            assert self.gate.wait(10)
        if self.fail_first and len(self.batches) == 1:
            raise OSError("disk full")
        return [Conflict(f"{n} is odd") if n % 2 else n * 10 for n in items]

    async def hold_the_committer(self, group: GroupCommit[int, int]) -> asyncio.Task[int]:
        """Returns once the committer is busy saving GATE: what is put now is ready together."""
        held = asyncio.create_task(group.submit(GATE))
        assert await asyncio.to_thread(self.saving_gate.wait, 10)
        return held


def test_items_ready_together_share_one_commit_and_get_their_own_results() -> None:
    recorder = Recorder()

    async def main() -> list[int | BaseException]:
        group = GroupCommit(recorder.commit)
        held = await recorder.hold_the_committer(group)
        callers = [asyncio.create_task(group.submit(n)) for n in range(6)]
        await asyncio.sleep(0)  # all six are waiting
        recorder.gate.set()
        await held
        results = list(await asyncio.gather(*callers, return_exceptions=True))
        group.close()
        return results

    results = run_in_own_loop(main)
    assert recorder.batches == [[GATE], [0, 1, 2, 3, 4, 5]]
    assert [r if isinstance(r, int) else str(r) for r in results] == [
        0,
        "1 is odd",
        20,
        "3 is odd",
        40,
        "5 is odd",
    ]


def test_batches_are_capped() -> None:
    recorder = Recorder()

    async def main() -> None:
        group = GroupCommit(recorder.commit, max_batch=3)
        held = await recorder.hold_the_committer(group)
        callers = [asyncio.create_task(group.submit(n * 2)) for n in range(7)]
        await asyncio.sleep(0)
        recorder.gate.set()
        await held
        assert await asyncio.gather(*callers) == [n * 20 for n in range(7)]
        group.close()

    run_in_own_loop(main)
    assert recorder.batches[1:] == [[0, 2, 4], [6, 8, 10], [12]]


def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_still_runs() -> None:
    recorder = Recorder(fail_first=True)

    async def main() -> tuple[list[int | BaseException], int]:
        group = GroupCommit(recorder.commit)
        held = await recorder.hold_the_committer(group)
        recorder.gate.set()
        failed = await asyncio.gather(held, return_exceptions=True)
        later = await group.submit(4)
        group.close()
        return list(failed), later

    failed, later = run_in_own_loop(main)
    assert [str(e) for e in failed] == ["disk full"] and later == 40


def test_a_caller_that_goes_away_does_not_stop_its_save() -> None:
    recorder = Recorder()

    async def main() -> None:
        group = GroupCommit(recorder.commit)
        held = await recorder.hold_the_committer(group)
        caller = asyncio.create_task(group.submit(8))
        await asyncio.sleep(0)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        recorder.gate.set()
        await held
        assert await group.submit(2) == 20
        group.close()

    run_in_own_loop(main)
    assert recorder.batches[0] == [GATE] and 8 in recorder.batches[1]  # 2 may join 8's batch


def test_items_put_from_other_threads_reach_their_callers_and_close_saves_what_waits() -> None:
    recorder = Recorder()

    async def main() -> list[int]:
        loop = asyncio.get_running_loop()
        group = GroupCommit(recorder.commit)
        futures: list[asyncio.Future[int]] = [loop.create_future() for _ in range(20)]
        putters = [threading.Thread(target=group.put, args=(n * 2, loop, futures[n])) for n in range(20)]
        for putter in putters:
            putter.start()
        for putter in putters:
            putter.join()
        results = await asyncio.gather(*futures)
        group.close()
        return list(results)

    assert run_in_own_loop(main) == [n * 20 for n in range(20)]
    assert sorted(n for batch in recorder.batches for n in batch) == [n * 2 for n in range(20)]


def test_close_saves_what_is_waiting_then_stops() -> None:
    recorder = Recorder()

    async def main() -> list[int]:
        group = GroupCommit(recorder.commit)
        held = await recorder.hold_the_committer(group)
        callers = [asyncio.create_task(group.submit(n)) for n in (2, 4, 6)]
        await asyncio.sleep(0)  # all three wait behind the held batch
        closing = threading.Thread(target=group.close)
        closing.start()
        recorder.gate.set()
        await asyncio.to_thread(closing.join, 10)
        assert not closing.is_alive()
        await held
        return list(await asyncio.gather(*callers))

    assert run_in_own_loop(main) == [20, 40, 60]
    assert recorder.batches == [[GATE], [2, 4, 6]]
