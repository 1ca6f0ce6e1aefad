"""Class 5 of issue 12, the policy: per normalised account and per address, with backoff;
other accounts' failures never deny a correct password."""

from __future__ import annotations

import pytest

from domain import ids
from domain.errors import RateLimited
from interfaces.throttle import MAX_LOCK, LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def account(name: str) -> str:
    return str(ids.user_id(name))


def test_spacing_and_case_variants_share_one_budget() -> None:
    assert account(" Alice ") == account("alice") == account("ALICE\t".strip())


def test_an_account_locks_with_doubling_backoff_and_unlocks() -> None:
    clock = Clock()
    throttle = LoginThrottle(4, now=clock)
    alice = account("alice")
    for n in range(12):  # from twelve addresses: the account-wide limit (3 x 4)
        throttle.check_account(alice, f"10.0.0.{n}")
        throttle.failed(alice, f"10.0.0.{n}")
    with pytest.raises(RateLimited) as locked:
        throttle.check_account(alice, "10.9.9.9")
    assert locked.value.retry_after == 1
    clock.now += 1.01
    throttle.check_account(alice, "10.9.9.9")
    throttle.failed(alice, "10.9.9.9")
    with pytest.raises(RateLimited) as longer:
        throttle.check_account(alice, "10.9.9.9")
    assert longer.value.retry_after == 2  # doubled
    for _ in range(30):
        throttle.failed(alice, "10.9.9.9")
    with pytest.raises(RateLimited) as capped:
        throttle.check_account(alice, "10.9.9.9")
    assert capped.value.retry_after <= MAX_LOCK


def test_one_address_locks_an_account_sooner_than_others_can() -> None:
    throttle = LoginThrottle(10, now=Clock())
    alice = account("alice")
    for _ in range(10):
        throttle.failed(alice, "203.0.113.9")
    with pytest.raises(RateLimited):
        throttle.check_account(alice, "203.0.113.9")
    throttle.check_account(alice, "198.51.100.1")  # the owner elsewhere is not locked out


def test_a_hall_behind_one_address_is_never_locked_out_by_the_others() -> None:
    throttle = LoginThrottle(5, now=Clock())
    hall = "192.0.2.1"
    delays = [throttle.failed(account(f"student{n}"), hall) for n in range(300)]  # typos of 300
    assert delays[0] == 0 and delays[-1] > 0  # the address's wrong answers are slowed
    throttle.check_account(account("bob"), hall)  # bob, who never failed, may still try


def test_memory_stays_bounded_under_made_up_names() -> None:
    clock = Clock()
    throttle = LoginThrottle(5, now=clock)
    for n in range(1000):
        throttle.failed(account(f"ghost{n}"), "192.0.2.1")
    clock.now += 3600
    throttle.check_account(account("x"), "192.0.2.2")
    assert len(throttle._accounts) <= 2003
