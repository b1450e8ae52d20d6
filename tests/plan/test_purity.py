"""model/ and plan/ decide; they never touch files, sockets, clocks, loggers or randomness.

An AST walk over every module in those packages: no import of an I/O, clock, logging or
randomness module, no import of the impure parts of containersync, no call of ``open``,
``print`` or ``input``, and no reading of the clock through ``.now()``/``.utcnow()``/
``.today()`` (callers pass ``now``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import containersync

PKG = Path(containersync.__file__).parent
PURE_PACKAGES = ("model", "plan")

FORBIDDEN_MODULES = frozenset({
    "os", "io", "pathlib", "socket", "ssl", "select", "selectors", "signal", "fcntl",
    "httpx", "requests", "urllib", "http", "sqlite3", "shelve", "dbm", "pickle",
    "time", "logging", "structlog", "warnings", "random", "secrets", "uuid",
    "subprocess", "shutil", "tempfile", "glob", "fnmatch", "mmap", "threading",
    "multiprocessing", "concurrent", "asyncio", "sys", "builtins", "importlib",
    "watchdog", "apscheduler", "uvicorn", "starlette", "pydantic", "pathspec",
})
ALLOWED_OWN = ("containersync.model", "containersync.plan", "containersync.errors")
FORBIDDEN_CALLS = frozenset({"open", "print", "input", "exec", "eval", "__import__"})
CLOCK_READS = frozenset({"now", "utcnow", "today"})


def pure_modules() -> list[Path]:
    return sorted(p for pkg in PURE_PACKAGES for p in (PKG / pkg).rglob("*.py"))


def imported_names(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the package
                parts = module.split(".")[: -node.level]
                name = ".".join([*parts, node.module] if node.module else parts)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def impurities(path: Path) -> list[str]:
    module = "containersync." + ".".join(path.relative_to(PKG).with_suffix("").parts)
    return impurities_in(path.read_text(encoding="utf-8"), module, path.name)


def impurities_in(source: str, module: str, label: str) -> list[str]:
    tree = ast.parse(source, filename=label)
    bad: list[str] = []
    for line, name in imported_names(tree, module):
        top = name.split(".")[0]
        if top in FORBIDDEN_MODULES:
            bad.append(f"{label}:{line} imports {name}")
        elif top == "containersync" and not name.startswith(ALLOWED_OWN):
            bad.append(f"{label}:{line} imports impure {name}")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            bad.append(f"{label}:{node.lineno} calls {node.func.id}()")
        if isinstance(node.func, ast.Attribute) and node.func.attr in CLOCK_READS:
            bad.append(f"{label}:{node.lineno} reads the clock with .{node.func.attr}()")
    return bad


def test_there_are_modules_to_check() -> None:
    names = {p.name for p in pure_modules()}
    assert {"entry.py", "plan.py", "reconcile.py", "remote_view.py", "safety.py"} <= names


@pytest.mark.parametrize("path", pure_modules(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_module_is_pure(path: Path) -> None:
    assert impurities(path) == []


def test_the_checker_catches_impurities() -> None:
    source = ("import os\nfrom time import monotonic\nfrom ..api import client\n"
              "from datetime import datetime\nx = datetime.now()\nopen('f')\n")
    bad = impurities_in(source, "containersync.plan.fake", "fake.py")
    assert sorted(bad) == ["fake.py:1 imports os", "fake.py:2 imports time",
                           "fake.py:3 imports impure containersync.api",
                           "fake.py:5 reads the clock with .now()", "fake.py:6 calls open()"]
