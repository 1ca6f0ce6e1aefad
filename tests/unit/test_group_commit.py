"""Group commit: what is ready together is saved together; each caller gets its own result or
error; a whole-batch failure reaches everyone; a caller that goes away does not stop the save."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from test_command_lane import run_in_own_loop

from domain.errors import Conflict
from interfaces.group_commit import GroupCommit


def test_requests_ready_together_share_one_commit_and_get_their_own_results() -> None:
    batches: list[list[int]] = []

    def commit(items: Sequence[int]) -> list[int | Exception]:
        batches.append(list(items))
        return [Conflict(f"{n} is odd") if n % 2 else n * 10 for n in items]

    async def main() -> list[int | BaseException]:
        group = GroupCommit(commit)
        return list(await asyncio.gather(*(group.submit(n) for n in range(6)), return_exceptions=True))

    results = run_in_own_loop(main)
    assert batches == [[0, 1, 2, 3, 4, 5]]
    assert [r if isinstance(r, int) else str(r) for r in results] == [
        0,
        "1 is odd",
        20,
        "3 is odd",
        40,
        "5 is odd",
    ]


def test_batches_are_capped_and_what_arrives_during_a_commit_goes_in_the_next() -> None:
    batches: list[list[int]] = []

    def commit(items: Sequence[int]) -> list[int | Exception]:
        batches.append(list(items))
        return list(items)

    async def main() -> None:
        group = GroupCommit(commit, max_batch=3)
        first = [asyncio.create_task(group.submit(n)) for n in range(5)]
        await asyncio.sleep(0)  # the flush has taken its first batch and is saving it
        later = [asyncio.create_task(group.submit(n)) for n in range(5, 7)]
        assert await asyncio.gather(*first, *later) == list(range(7))

    run_in_own_loop(main)
    assert batches[0] == [0, 1, 2] and sorted(n for b in batches for n in b) == list(range(7))
    assert all(len(b) <= 3 for b in batches)


def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_still_runs() -> None:
    calls = [0]

    def commit(items: Sequence[int]) -> list[int | Exception]:
        calls[0] += 1
        if calls[0] == 1:
            raise OSError("disk full")
        return list(items)

    async def main() -> tuple[list[int | BaseException], int]:
        group = GroupCommit(commit)
        failed = await asyncio.gather(group.submit(1), group.submit(2), return_exceptions=True)
        return list(failed), await group.submit(3)

    failed, later = run_in_own_loop(main)
    assert [str(e) for e in failed] == ["disk full", "disk full"] and later == 3


def test_a_caller_that_goes_away_does_not_stop_its_save() -> None:
    saved: list[int] = []

    def commit(items: Sequence[int]) -> list[int | Exception]:
        saved.extend(items)
        return list(items)

    async def main() -> None:
        group = GroupCommit(commit)
        caller = asyncio.create_task(group.submit(7))
        await asyncio.sleep(0)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        assert await group.submit(8) == 8

    run_in_own_loop(main)
    assert saved == [7, 8]
