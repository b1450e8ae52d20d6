"""Reads of the rows that bear on some paths or objects, never a mapping's whole tables.

A targeted cycle (``engine.scope``) asks for the bases, own uploads, upload paths, cached
objects, known ids and digests of the few paths and objects it acts on. Every read here
goes through an index (``v003_scoped_reads.sql``) or a primary key, and returns rows only
for what was asked, so its cost follows the question, not the number of files tracked.

"At" a path means the path itself or anything below it (a scope path may be a folder).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from containersync.model.entry import BaseEntry, RemoteObject

#: values per ``IN (...)`` list: well under SQLite's default limit of 32,766 variables
IN_CHUNK = 500

_BASE = ("SELECT path, size, mtime_ns, sha256, remote_id, remote_path, remote_created_at,"
         " source FROM bases WHERE mapping = ?")
_CACHE = ("SELECT file_id, remote_path, created_at, source, bytes FROM remote_cache"
          " WHERE mapping = ?")


def chunks(items: Collection[str]) -> Iterator[Sequence[str]]:
    ordered = sorted(items)
    for start in range(0, len(ordered), IN_CHUNK):
        yield ordered[start:start + IN_CHUNK]


def _below(prefix: str) -> tuple[str, str]:
    """The half-open range of strings below folder ``prefix`` (``/`` sorts just before
    ``0``)."""
    return prefix + "/", prefix + "0"


class ScopedReads:
    """Scoped reads on one index connection (``Index.scoped``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _in(self, select: str, column: str, name: str,
            values: Collection[str]) -> Iterator[tuple[Any, ...]]:
        for chunk in chunks(values):
            marks = ",".join("?" * len(chunk))
            yield from self._conn.execute(f"{select} AND {column} IN ({marks})", (name, *chunk))

    def _at(self, select: str, column: str, name: str,
            paths: Collection[str]) -> Iterator[tuple[Any, ...]]:
        yield from self._in(select, column, name, paths)
        for path in sorted(paths):
            low, high = _below(path)
            yield from self._conn.execute(f"{select} AND {column} >= ? AND {column} < ?",
                                          (name, low, high))

    # -- bases, own uploads, upload paths ---------------------------------------------------

    def bases_at(self, name: str, paths: Collection[str]) -> dict[str, BaseEntry]:
        return {r[0]: BaseEntry(*r) for r in self._at(_BASE, "path", name, paths)}

    def bases_naming(self, name: str, ids: Collection[str],
                     remote_paths: Collection[str]) -> dict[str, BaseEntry]:
        """Bases whose remote object is one of ``ids`` or whose sandbox path is one of
        ``remote_paths``."""
        rows = [*self._in(_BASE, "remote_id", name, ids),
                *self._in(_BASE, "remote_path", name, remote_paths)]
        return {r[0]: BaseEntry(*r) for r in rows}

    def own_at(self, name: str, paths: Collection[str]) -> dict[str, str]:
        select = "SELECT file_id, path FROM own_uploads WHERE mapping = ?"
        return {r[0]: r[1] for r in self._at(select, "path", name, paths)}

    def own_of(self, name: str, ids: Collection[str]) -> dict[str, str]:
        select = "SELECT file_id, path FROM own_uploads WHERE mapping = ?"
        return {r[0]: r[1] for r in self._in(select, "file_id", name, ids)}

    def upload_paths_at(self, name: str, paths: Collection[str]) -> dict[str, str]:
        select = "SELECT remote_path, path FROM upload_paths WHERE mapping = ?"
        return {r[0]: r[1] for r in self._at(select, "path", name, paths)}

    def upload_paths_of(self, name: str, remote_paths: Collection[str]) -> dict[str, str]:
        select = "SELECT remote_path, path FROM upload_paths WHERE mapping = ?"
        return {r[0]: r[1] for r in self._in(select, "remote_path", name, remote_paths)}

    def claimed_elsewhere(self, name: str, ids: Collection[str]) -> set[str]:
        """Which of ``ids`` another mapping of this index records, as a base's object, an
        upload of its own or its manifest: objects this mapping must not delete (two
        folders that share a container each track the objects they synced). One indexed
        lookup per other mapping."""
        if not ids:
            return set()
        others = [r[0] for r in self._conn.execute(
            "SELECT name FROM mappings WHERE name != ? ORDER BY name", (name,))]
        found = {r[0] for r in self._in(
            "SELECT file_id FROM manifests WHERE mapping != ?", "file_id", name, ids)}
        for other in others:
            found.update(r[0] for r in self._in(
                "SELECT remote_id FROM bases WHERE mapping = ?", "remote_id", other, ids))
            found.update(r[0] for r in self._in(
                "SELECT file_id FROM own_uploads WHERE mapping = ?", "file_id", other, ids))
        return found

    def base_counts(self, name: str) -> tuple[int, int]:
        """(bases, bases with a remote object): what the safety rails count against. A
        scan of the mapping's bases: asked only when a rail could trip."""
        row = self._conn.execute("SELECT count(*), count(remote_id) FROM bases"
                                 " WHERE mapping = ?", (name,)).fetchone()
        return int(row[0]), int(row[1])

    def has_bases(self, name: str) -> bool:
        return self._conn.execute("SELECT 1 FROM bases WHERE mapping = ? LIMIT 1",
                                  (name,)).fetchone() is not None

    # -- the cached listing, known ids, digests ---------------------------------------------

    def cached(self, name: str, *, ids: Collection[str] = (),
               remote_paths: Collection[str] = (),
               under: Collection[str] = ()) -> dict[str, RemoteObject]:
        """Cached objects by id, by sandbox path, below sandbox folders ``under``, and
        every one whose sandbox path is not NFC (``not_nfc``: it maps to a path its own
        does not spell)."""
        rows = [*self._in(_CACHE, "file_id", name, ids),
                *self._in(_CACHE, "remote_path", name, remote_paths),
                *self._conn.execute(f"{_CACHE} AND not_nfc = 1", (name,))]
        for folder in sorted(under):
            low, high = _below(folder)
            rows += self._conn.execute(f"{_CACHE} AND remote_path >= ? AND remote_path < ?",
                                       (name, low, high))
        return {r[0]: RemoteObject(*r) for r in rows}

    def has_cached(self, name: str) -> bool:
        return self._conn.execute("SELECT 1 FROM remote_cache WHERE mapping = ? LIMIT 1",
                                  (name,)).fetchone() is not None

    def known_among(self, name: str, ids: Collection[str]) -> frozenset[str]:
        select = "SELECT file_id FROM known_objects WHERE mapping = ?"
        return frozenset(r[0] for r in self._in(select, "file_id", name, ids))

    def cached_among(self, name: str, ids: Collection[str]) -> set[str]:
        """Which of ``ids`` a listing returned (an upload of ours not listed yet is not)."""
        select = "SELECT file_id FROM remote_cache WHERE mapping = ? AND listed = 1"
        return {r[0] for r in self._in(select, "file_id", name, ids)}

    def unlisted_among(self, name: str, ids: Collection[str]) -> set[str]:
        """Which of ``ids`` are uploads of ours that no listing had returned yet."""
        select = "SELECT file_id FROM remote_cache WHERE mapping = ? AND listed = 0"
        return {r[0] for r in self._in(select, "file_id", name, ids)}

    def digests_of(self, name: str, ids: Collection[str]) -> dict[str, str]:
        select = "SELECT file_id, sha256 FROM digests WHERE mapping = ?"
        return {r[0]: r[1] for r in self._in(select, "file_id", name, ids)}
