"""Imports point inward (DESIGN §2), checked on the source with the AST, and nothing but
application/config.py reads the process environment (DESIGN §6)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("domain", "application", "projections", "adapters", "interfaces", "media_storage")
WEB = ("fastapi", "starlette", "sse_starlette", "uvicorn")
ENV_READER = Path("application/config.py")


def python_files(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module) for every import in the file, including function-level ones."""
    yield from imports_in(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


def imports_in(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield node.lineno, name
            for alias in node.names:  # `from eventsourcing import persistence` names a module
                yield node.lineno, f"{name}.{alias.name}"


def top(module: str) -> str:
    return module.split(".")[0]


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found: dict[tuple[Path, int], str] = {}
    for path in python_files(package):
        for line, module in imports(path):
            if top(module) in forbidden:
                key = (path.relative_to(ROOT), line)
                found[key] = min(found.get(key, module), module, key=len)  # the module, not names
    return [f"{path}:{line} imports {module}" for (path, line), module in sorted(found.items())]


def test_the_layers_exist() -> None:
    for package in ("domain", "application", "projections", "adapters", "interfaces"):
        assert python_files(package), f"{package}/ has no Python files"


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("domain", ("application", "projections", "adapters", "interfaces", "media_storage", *WEB)),
        ("application", ("projections", "adapters", "interfaces", *WEB)),
        ("projections", ("application", "adapters", "interfaces", *WEB)),
        ("adapters", ("interfaces", *WEB)),
        ("media_storage", tuple(p for p in OURS if p not in ("media_storage", "domain")) + WEB),
    ],
)
def test_imports_point_inward(package: str, forbidden: tuple[str, ...]) -> None:
    found = violations(package, forbidden)
    assert found == []


def test_media_storage_imports_only_the_domain() -> None:
    """media_storage raises the domain's errors (one hierarchy) and imports nothing else of ours."""
    assert violations("media_storage", tuple(p for p in OURS if p not in ("media_storage", "domain"))) == []


def test_only_interfaces_import_the_web_framework() -> None:
    found = []
    for package in OURS:
        if package != "interfaces":
            found += violations(package, WEB)
    assert found == []


def test_domain_imports_only_stdlib_and_eventsourcing_domain() -> None:
    allowed_eventsourcing = ("eventsourcing.domain", "eventsourcing.utils")
    found = []
    for path in python_files("domain"):
        for line, module in imports(path):
            root = top(module)
            if root == "eventsourcing":
                if module == "eventsourcing" or not module.startswith(allowed_eventsourcing):
                    # `from eventsourcing.domain import X` also yields eventsourcing.domain.X: fine
                    found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
            elif root not in sys.stdlib_module_names and root not in ("domain", "__future__"):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert sorted(set(found)) == []


def test_the_checker_sees_relative_and_nested_imports() -> None:
    """Guard against a vacuous pass: relative, aliased and function-level imports resolve."""
    code = (
        "from . import ids\nfrom ..adapters.x import Y\nimport starlette.responses as r\n"
        "def f():\n    import fastapi\n"
    )
    found = {m for _, m in imports_in(code, "projections.probe", is_package=False)}
    assert {"projections.ids", "adapters.x", "starlette.responses", "fastapi"} <= found
    assert module_name(ROOT / "domain" / "__init__.py") == "domain"


# -- configuration ----------------------------------------------------------------------------
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
