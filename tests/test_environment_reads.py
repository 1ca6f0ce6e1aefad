"""Nothing but application/config.py reads the process environment (DESIGN §6)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_architecture import OURS, ROOT, python_files

ENV_READER = Path("application/config.py")

ENV_NAMES = ("environ", "environb", "getenv", "getenvb")


def environment_reads(path: Path) -> Iterator[tuple[int, str]]:
    yield from environment_reads_in(path.read_text(encoding="utf-8"))


def environment_reads_in(source: str) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ENV_NAMES:  # os.environ, x.os.getenv, ...
            yield node.lineno, f"...{node.attr}"
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name in ENV_NAMES:
                    yield node.lineno, f"from os import {alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getenv", "putenv", "__import__")
        ):
            yield node.lineno, f"{node.func.id}()"


def test_nothing_but_the_settings_reads_the_environment() -> None:
    found = []
    for package in OURS:
        for path in python_files(package):
            if path.relative_to(ROOT) == ENV_READER:
                continue
            found += [f"{path.relative_to(ROOT)}:{n} {what}" for n, what in environment_reads(path)]
    assert found == []


def test_the_environment_checker_sees_indirect_reads() -> None:
    """Guard against a vacuous pass: an experiment once read `__import__("os").environ`."""
    code = 'import os as o\nx = o.environ.get("A")\ny = __import__("os").getenv("B")\n'
    assert {line for line, _ in environment_reads_in(code)} == {2, 3}


def test_the_application_ignores_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from fakes import FakeClock, PlainHasher

    from application.app import SmartExamApp

    monkeypatch.setenv("COMPRESSOR_TOPIC", "eventsourcing.compressor:ZlibCompressor")
    app = SmartExamApp(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=FakeClock(), hasher=PlainHasher()
    )
    try:
        assert app.mapper.compressor is None
    finally:
        app.close()
