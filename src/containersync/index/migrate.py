"""Bring an index file to the schema version this program knows, and no further.

Responsibilities: discover the schema steps shipped as package data, and apply the missing
ones in order when an index is opened.

Invariants:
- ``PRAGMA user_version`` is the schema version. Version 1 is ``schema.sql``; version N > 1
  is the one file ``vNNN_<what>.sql`` beside it, holding only the difference from N - 1.
  Adding version 2 means adding one such file (and reading its columns in ``store``).
- Each step runs in its own ``BEGIN IMMEDIATE`` transaction together with the
  ``user_version`` bump, so a crash leaves the file at the previous version, never half
  way, and two processes opening a fresh file at once apply each step exactly once (the
  version is re-read after the write lock is taken).
- A file written by a newer containersync (a version above the highest known) is refused,
  never downgraded or touched.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from containersync.errors import ConfigError

_STEP_NAME = re.compile(r"^v(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Step:
    """The SQL that takes an index from ``version - 1`` to ``version``."""

    version: int
    sql: str


@functools.cache
def shipped_steps() -> tuple[Step, ...]:
    """The steps packaged with this program, ordered by version, without gaps. Read once
    per process: every index connection (one per daemon thread) would otherwise re-read
    the package files."""
    package = resources.files("containersync.index")
    steps = [Step(1, package.joinpath("schema.sql").read_text(encoding="utf-8"))]
    extra: list[Step] = []
    for entry in package.iterdir():
        match = _STEP_NAME.match(entry.name)
        if match:
            extra.append(Step(int(match.group(1)), entry.read_text(encoding="utf-8")))
    steps.extend(sorted(extra, key=lambda s: s.version))
    for expected, step in enumerate(steps, start=1):
        if step.version != expected:
            raise RuntimeError(f"index schema steps are not contiguous at version {expected}")
    return tuple(steps)


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (``sqlite3.complete_statement`` decides)."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            text = pending.strip()
            if _has_code(text):
                statements.append(text)
            pending = ""
    if _has_code(pending.rstrip(";")):
        raise ValueError(f"incomplete SQL statement at the end of a schema step: {pending!r}")
    return statements


def _has_code(text: str) -> bool:
    lines = [line.split("--", 1)[0] for line in text.splitlines()]
    return bool("".join(lines).strip(" \t\n;"))


def user_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, path: Path, steps: Sequence[Step] | None = None) -> int:
    """Apply every step above the file's version; return the resulting version.

    ``conn`` must be in autocommit mode (``isolation_level=None``) and outside a transaction.
    ``steps`` defaults to the shipped ones; tests pass their own to exercise later versions.
    """
    plan = tuple(steps) if steps is not None else shipped_steps()
    newest = plan[-1].version if plan else 0
    current = user_version(conn)
    if current > newest:
        raise ConfigError(
            f"the index was written by a newer containersync (schema {current}, "
            f"this one knows up to {newest})",
            file=str(path),
            fix="run the newer containersync, or move the state dir aside to start afresh",
        )
    for step in plan:
        if step.version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = user_version(conn)  # another process may have migrated meanwhile
            if step.version > current:
                for statement in split_statements(step.sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(step.version)}")
                current = step.version
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return current
