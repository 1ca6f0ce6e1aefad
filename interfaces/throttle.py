"""Login throttling: per account (normalised exactly as the login looks it up) and per address,
with exponential backoff and a Retry-After. Kept in memory per process (each server process
counts its own failures); a restart forgets them.

- An account that keeps failing from one address is locked there for a while: 1 s after
  `limit` failures in 15 minutes, doubling with each further failure, at most 15 minutes.
  Everywhere only after 3 x `limit` failures (from any addresses): the owner logging in from
  elsewhere is not locked out by one attacker's guesses.
- An address that fails on many accounts (credential stuffing) has its WRONG answers slowed
  down and answered 429 once it is over 10 x `limit` failures. A correct password from that
  address still logs in: a whole exam hall behind one NAT address is never locked out by the
  typos of the others.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from domain.errors import RateLimited

WINDOW = 15 * 60.0
MAX_LOCK = 15 * 60.0
MAX_SLOWDOWN = 2.0


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(self, limit: int, now: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._now = now
        self._accounts: dict[str, _Failures] = {}
        self._addresses: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def _recent(self, table: dict[str, _Failures], key: str, now: float) -> _Failures:
        entry = table.setdefault(key, _Failures())
        while entry.times and now - entry.times[0] > WINDOW:
            entry.times.popleft()
        if len(table) > 100_000:  # bounded memory under a flood of made-up names
            for stale in [k for k, v in table.items() if not v.times and v.locked_until < now]:
                del table[stale]
        return entry

    def check_account(self, account: str, address: str) -> None:
        """Before the password is checked: refuse while the account is locked."""
        now = self._now()
        with self._lock:
            waits = [
                self._recent(self._accounts, key, now).locked_until - now
                for key in (account, f"{account}@{address}")
            ]
        wait = max(waits)
        if wait > 0:
            detail = "too many failed logins for this account; wait and try again"
            raise RateLimited(detail, retry_after=math.ceil(wait))

    def failed(self, account: str, address: str) -> float:
        """Count a wrong password. Returns 0, or (the address is over its limit) how many
        seconds to delay the answer, which is then a 429 rather than a 401."""
        now = self._now()
        with self._lock:
            for key, limit in ((account, 3 * self.limit), (f"{account}@{address}", self.limit)):
                entry = self._recent(self._accounts, key, now)
                entry.times.append(now)
                excess = len(entry.times) - limit
                if excess >= 0:
                    entry.locked_until = now + min(2.0**excess, MAX_LOCK)
            source = self._recent(self._addresses, address, now)
            source.times.append(now)
            excess = len(source.times) - 10 * self.limit
        return min(0.05 * (excess + 1), MAX_SLOWDOWN) if excess >= 0 else 0.0


class MessageBudget:
    """A token bucket per WebSocket: `burst` messages at once (a page's first ICE candidates
    come in a rush), then `per_second` on average. One socket only: no lock."""

    def __init__(self, burst: int = 200, per_second: float = 50.0) -> None:
        self.burst = burst
        self.per_second = per_second
        self.tokens = float(burst)
        self.at: float | None = None

    def take(self, now: float) -> bool:
        if self.at is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
