"""The house rules, checked on the source with the AST: imports point inward (DESIGN §2), no
import cycles, routers never import the composition root, interfaces/ holds no runtime, and no
Python module is over ~300 lines. The environment rule is in test_environment_reads.py."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("domain", "application", "projections", "adapters", "interfaces", "media_storage")
WEB = ("fastapi", "starlette", "sse_starlette", "uvicorn")


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


# -- cycles, the composition root, runtime, size ----------------------------------------------
COMPOSITION_ROOT = ("adapters.runtime.bootstrap", "adapters.runtime.assembly")
RUNTIME_MODULES = ("multiprocessing", "subprocess", "concurrent")  # processes and thread pools
RUNTIME_NAMES = ("Thread", "Timer")  # threading's: a lock is fine in a router, a thread is not
MAX_LINES = 300


def import_graph(files: dict[str, str]) -> dict[str, set[str]]:
    """module -> our modules it imports (anywhere in the file), from {module: source}."""
    graph: dict[str, set[str]] = {}
    for module, source in files.items():
        targets = set()
        for _, name in imports_in(source, module, is_package=False):
            parts = name.split(".")
            for end in range(len(parts), 0, -1):  # the longest prefix that is one of our modules
                candidate = ".".join(parts[:end])
                if candidate in files and candidate != module:
                    targets.add(candidate)
                    break
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def our_sources() -> dict[str, str]:
    return {
        module_name(path): path.read_text(encoding="utf-8")
        for package in OURS
        for path in python_files(package)
        if path.name != "__init__.py"
    }


def test_no_import_cycles_anywhere() -> None:
    assert cycles(import_graph(our_sources())) == []


def test_the_cycle_checker_sees_function_level_imports() -> None:
    files = {"a.x": "import a.y\n", "a.y": "def f():\n    from a.z import g\n", "a.z": "from a import x\n"}
    assert cycles(import_graph(files)) == [["a.x", "a.y", "a.z"]]
    assert cycles(import_graph({"a.x": "import a.y\n", "a.y": "import os\n"})) == []


def test_routers_never_import_the_composition_root() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files("interfaces/routers")
        for line, module in imports(path)
        if module.startswith(COMPOSITION_ROOT)
    ]
    assert found == []


def runtime_in(source: str) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                if top(name) in RUNTIME_MODULES:
                    yield node.lineno, f"imports {name}"
            if isinstance(node, ast.ImportFrom) and node.module == "threading":
                yield from (
                    (node.lineno, f"imports threading.{a.name}")
                    for a in node.names
                    if a.name in RUNTIME_NAMES
                )
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in RUNTIME_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id == "threading"
        ):
            yield node.lineno, f"uses threading.{node.attr}"


def test_interfaces_hold_no_runtime() -> None:
    """HTTP, WebSocket, pages, static files and the CLI only: threads, processes and pools
    live in adapters/runtime (and adapters/ingest)."""
    found = [
        f"{path.relative_to(ROOT)}:{line} {what}"
        for path in python_files("interfaces")
        for line, what in runtime_in(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_runtime_checker_sees_threads_and_pools() -> None:
    code = "import threading\nfrom concurrent.futures import ThreadPoolExecutor\nt = threading.Thread()\n"
    assert {line for line, _ in runtime_in(code)} == {2, 3}
    assert list(runtime_in("import threading\nlock = threading.Lock()\n")) == []


def test_no_module_is_over_the_size_limit() -> None:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0].startswith(".") or "__pycache__" in relative.parts:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            found.append(f"{relative}: {lines} lines (limit {MAX_LINES})")
    assert found == []
