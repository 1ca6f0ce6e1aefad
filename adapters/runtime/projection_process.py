"""The followers' own process: `smart-exam worker`, or a child process that `serve` starts itself.

On a machine with two or more CPUs the projections get a process (and so a core) of their own:
one Python process doing HTTP, commands and projections under one GIL ran start+submit at half
the rate (measured in benchmarks/README.md). The child is supervised: restarted with backoff if it
dies, stopped with the server, and it exits by itself if the server is killed outright.

Wake-ups across the process boundary: on PostgreSQL the bus carries them (LISTEN/NOTIFY). On
SQLite two doorbells bridge the buses: the server's inserts ring `recorded` (EVENTS_RECORDED in
the child), the child's progress rings `applied` (FOLLOWER_PROGRESS in the server).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

from adapters.doorbell import Doorbell
from adapters.runtime.assembly import assemble, follow_in_threads
from adapters.runtime.bus import EVENTS_RECORDED, FOLLOWER_PROGRESS, LocalBus
from adapters.runtime.followers import COALESCE_SECONDS
from adapters.runtime.logs import configure_logging
from application.config import AppSettings

log = logging.getLogger(__name__)
STOP_TIMEOUT = 10.0
MAX_BACKOFF = 30.0


def relay(
    stopping: threading.Event,
    wait: Callable[[float], bool],
    act: Callable[[], None],
    coalesce: float = COALESCE_SECONDS,
) -> None:
    """Until stopped: when `wait` reports a signal (and consumes it), act; a signal that arrives
    while acting is kept for the next round, so nothing is missed. At most one round per
    `coalesce` seconds, like the followers themselves: a burst of inserts costs one wake-up, not
    hundreds. Progress needs none: each follower rings at most once per COALESCE_SECONDS, and
    a pause after one follower's ring would delay the next one's (the live feed waits on it)."""
    while not stopping.is_set():
        if wait(1.0):
            act()
            if coalesce:
                stopping.wait(coalesce)


def _start_relay(name: str, *args: Any) -> None:
    threading.Thread(target=relay, args=args, daemon=True, name=name).start()


def run_worker(
    settings: AppSettings,
    parent_pid: int | None = None,
    recorded: Doorbell | None = None,
    applied: Doorbell | None = None,
) -> None:
    """Run the followers (and the expiry sweep) until SIGTERM/SIGINT, or until the parent is gone.
    As the server's child on SQLite: `recorded` wakes the followers the moment the server
    records an event, and `applied` tells the server that the read models changed."""
    if parent_pid is not None:  # the server's child: the server stops it (Ctrl-C reaches both)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        configure_logging()
    services = assemble(settings, follow_here=True)
    follow_in_threads(services)
    bus = services.bus
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if recorded is not None:
        _start_relay("wake-followers", stop, recorded.wait, lambda: bus.publish(EVENTS_RECORDED, {}))
    if applied is not None:
        bus.subscribe(FOLLOWER_PROGRESS, lambda _payload: applied.set())  # never blocks
    services.start()
    log.info("projection worker running (pid %d)", os.getpid())
    try:
        while not stop.wait(1.0):
            if parent_pid is not None and os.getppid() != parent_pid:
                log.warning("the server process is gone; projection worker exits")
                break
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        services.close()


class ProjectionProcess:
    """Starts `run_worker` in a child process and keeps it running until stop()."""

    def __init__(self, settings: AppSettings, recorder: object, bus: LocalBus) -> None:
        self.settings = settings
        self._context = multiprocessing.get_context("spawn")  # no forked threads or sockets
        self._bridged = not settings.uses_postgres  # PostgreSQL: the bus crosses processes itself
        self._recorded = Doorbell()  # server -> child: events were recorded
        self._applied = Doorbell()  # child -> server: the read models changed
        self._recorder = recorder
        register = getattr(recorder, "register", None)  # SQLite: our inserts ring `recorded`
        if register is not None and self._bridged:
            register(self._recorded)
        self._bus = bus
        self._process: BaseProcess | None = None
        self._stopping = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True, name="projection-process")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self._spawn()
        self._supervisor.start()
        if self._bridged:
            progress = {"name": None, "position": None}  # the doorbell cannot say which or where
            publish = self._bus.publish
            _start_relay(
                "followers-progress",
                self._stopping,
                self._applied.wait,
                lambda: publish(FOLLOWER_PROGRESS, progress),
                0.0,
            )

    def _spawn(self) -> None:
        self._process = self._context.Process(
            target=run_worker,
            args=(self.settings, os.getpid(), *((self._recorded, self._applied) if self._bridged else ())),
            name="smart-exam-projections",
            daemon=True,
        )
        self._process.start()

    def _supervise(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            process.join(timeout=1.0)
            if process.exitcode is None or self._stopping.is_set():
                continue
            if process.exitcode != 0:
                log.error(
                    "projection process exited (code %s); restarting in %.0f s", process.exitcode, backoff
                )
            if self._stopping.wait(backoff):
                return  # a SIGTERM to the whole process group (systemd, timeout) stops us too: no noise
            if process.exitcode == 0:
                log.warning("projection process was stopped from outside (SIGTERM); restarting it")
            started = time.monotonic()
            self._spawn()
            backoff = 1.0 if time.monotonic() - started > 60 else min(backoff * 2, MAX_BACKOFF)

    def stop(self) -> None:
        self._stopping.set()
        unregister = getattr(self._recorder, "unregister", None)
        if unregister is not None:
            unregister(self._recorded)
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()  # SIGTERM: finish the batch in hand, close the stores
            process.join(STOP_TIMEOUT)
            if process.is_alive():
                process.kill()
                process.join(STOP_TIMEOUT)
        if self._supervisor.is_alive():
            self._supervisor.join(STOP_TIMEOUT)
        self._recorded.close()
        self._applied.close()
