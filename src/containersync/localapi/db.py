"""SQLite metadata of the local backend: schema, connection setup, write transactions.

Invariants:
- WAL journal, ``busy_timeout``, and every write inside ``BEGIN IMMEDIATE`` so several
  processes can share one data dir without "database is locked" surprises.
- ``seq`` (an AUTOINCREMENT key) never repeats and grows with insertion order; lists sort
  by ``(created_at, seq)``, which is total and stable even when ``created_at`` ties.
- One ``Database`` object serialises its own threads with a lock; SQLite serialises
  processes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_active_at REAL NOT NULL,
    expires_minutes INTEGER NOT NULL,
    memory_limit TEXT NOT NULL,
    network_policy TEXT NOT NULL,
    skills TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS containers_order ON containers (created_at, seq);
CREATE TABLE IF NOT EXISTS container_files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    container_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    path TEXT NOT NULL,
    source TEXT NOT NULL,
    size INTEGER NOT NULL,
    record_bytes INTEGER NOT NULL,
    content_type TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS container_files_order
    ON container_files (container_id, created_at, seq);
CREATE TABLE IF NOT EXISTS files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    filename TEXT NOT NULL,
    purpose TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL
);
"""

BUSY_TIMEOUT_MS = 30_000


class Database:
    """One SQLite connection shared by this process's threads."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                     timeout=BUSY_TIMEOUT_MS / 1000)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        with self.write() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several SELECTs."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back if the body raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
