"""Everything that changes the index, inside one ``BEGIN IMMEDIATE`` transaction.

A ``WriteTx`` is handed out by ``Index.write()`` and is valid only inside that ``with``
block; the block commits as a whole or not at all.

Invariants:
- Every mapping-scoped call requires the mapping row to exist (``ensure_mapping`` first),
  so a typo in a name fails loudly instead of writing orphan rows.
- ``attach_container`` starts a new generation: the generation goes up by one, and every
  fact about the old container's objects (the bases' ``remote_*`` fields, own uploads,
  digests, the listing cache, the known objects, the upload paths, the listing times) is
  forgotten in the same transaction.
  Bases keep their local fields, so the new container is re-seeded from local and nothing
  is deleted on either side.
- ``set_problems`` replaces the mapping's problems with the given ones, keeping
  ``first_seen`` of a (path, kind) that is still present.
- Intents record the generation they were written in.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from containersync.errors import InvariantViolation
from containersync.model.entry import BaseEntry, Problem, RemoteObject
from containersync.model.kinds import IntentKind

_UNSET: Any = object()


class WriteTx:
    """The write operations of one open transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.closed = False

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        if self.closed:
            raise InvariantViolation("index write used after its transaction ended")
        return self._conn.execute(sql, tuple(params))

    def _exec_many(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        if self.closed:
            raise InvariantViolation("index write used after its transaction ended")
        self._conn.executemany(sql, rows)

    def _generation(self, name: str) -> int:
        row = self._exec("SELECT generation FROM mappings WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise InvariantViolation(f"index has no mapping {name!r} (call ensure_mapping)")
        return int(row[0])

    # -- the mapping row -------------------------------------------------------------------

    def ensure_mapping(self, name: str, *, display_name: str | None = None,
                       local_root: str | None = None, endpoint: str | None = None) -> bool:
        """Make sure the row keyed ``name`` exists; return True if it was created now.

        With an identity given: a schema-1 row named ``display_name`` (identity NULL) is
        *claimed* by the first mapping of that name that opens it: renamed to ``name``
        with everything recorded for it, and given this identity. Rows that already carry
        an identity are never claimed, so another folder's state is never taken over.
        """
        if self._exec("SELECT 1 FROM mappings WHERE name = ?", (name,)).fetchone():
            return False
        legacy = display_name is not None and display_name != name and self._exec(
            "SELECT 1 FROM mappings WHERE name = ? AND local_root IS NULL"
            " AND display_name IS NULL", (display_name,)).fetchone()
        if legacy and display_name is not None:
            self._rename_mapping(display_name, name)
        else:
            self._exec("INSERT INTO mappings (name) VALUES (?)", (name,))
        self._exec("UPDATE mappings SET display_name = ?, local_root = ?, endpoint = ?"
                   " WHERE name = ?", (display_name, local_root, endpoint, name))
        return not legacy

    def _rename_mapping(self, old: str, new: str) -> None:
        """Move every row of mapping ``old`` to the key ``new`` (the foreign keys are
        checked at commit, when parent and children agree again)."""
        self._exec("PRAGMA defer_foreign_keys = ON")
        self._exec("UPDATE mappings SET name = ? WHERE name = ?", (new, old))
        tables = [r[0] for r in self._exec(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'mappings'"
            " AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            refs = self._exec(f"PRAGMA foreign_key_list({table})").fetchall()
            for ref in refs:  # (id, seq, table, from, to, ...)
                if ref[2] == "mappings":
                    self._exec(f"UPDATE {table} SET {ref[3]} = ? WHERE {ref[3]} = ?",
                               (new, old))

    def attach_container(self, name: str, container_id: str, container_name: str | None,
                         adopted: bool) -> int:
        """Start a new generation on ``container_id``; return the new generation number."""
        generation = self._generation(name) + 1
        self._exec(
            "UPDATE mappings SET container_id = ?, container_name = ?, adopted = ?,"
            " generation = ?, last_pull = NULL, last_full_list = NULL, listing_digest = NULL"
            " WHERE name = ?",
            (container_id, container_name, int(adopted), generation, name))
        self._exec("UPDATE bases SET remote_id = NULL, remote_path = NULL,"
                   " remote_created_at = NULL, source = NULL WHERE mapping = ?", (name,))
        for table in ("own_uploads", "digests", "remote_cache", "known_objects",
                      "upload_paths", "manifests"):
            self._exec(f"DELETE FROM {table} WHERE mapping = ?", (name,))
        return generation

    def set_halt(self, name: str, rail: str, reason: str, at: float) -> None:
        self._generation(name)
        self._exec("UPDATE mappings SET halt_rail = ?, halt_reason = ?, halt_since = ?"
                   " WHERE name = ?", (rail, reason, at, name))

    def clear_halt(self, name: str) -> None:
        self._generation(name)
        self._exec("UPDATE mappings SET halt_rail = NULL, halt_reason = NULL,"
                   " halt_since = NULL WHERE name = ?", (name,))

    def set_times(self, name: str, *, last_push: float | None = _UNSET,
                  last_pull: float | None = _UNSET,
                  last_full_list: float | None = _UNSET) -> None:
        """Set the given times; arguments left out keep their stored value."""
        self._generation(name)
        given = {"last_push": last_push, "last_pull": last_pull,
                 "last_full_list": last_full_list}
        for column, value in given.items():
            if value is not _UNSET:
                self._exec(f"UPDATE mappings SET {column} = ? WHERE name = ?", (value, name))

    def set_summary(self, name: str, summary: Mapping[str, Any]) -> None:
        self._generation(name)
        text = json.dumps(dict(summary), sort_keys=True)
        self._exec("UPDATE mappings SET summary_json = ? WHERE name = ?", (text, name))

    def set_rules_fingerprint(self, name: str, fingerprint: str | None) -> None:
        self._generation(name)
        self._exec("UPDATE mappings SET rules_fingerprint = ? WHERE name = ?",
                   (fingerprint, name))

    # -- bases, own uploads, digests ---------------------------------------------------------

    def put_base(self, name: str, entry: BaseEntry) -> None:
        self._generation(name)
        self._exec(
            "INSERT OR REPLACE INTO bases (mapping, path, size, mtime_ns, sha256, remote_id,"
            " remote_path, remote_created_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, entry.path, entry.size, entry.mtime_ns, entry.sha256, entry.remote_id,
             entry.remote_path, entry.remote_created_at, entry.source))

    def put_bases(self, name: str, entries: Iterable[BaseEntry]) -> None:
        """``put_base`` for many entries at once (a first scan, a re-seed)."""
        for entry in entries:
            self.put_base(name, entry)

    def drop_base(self, name: str, path: str) -> None:
        self._exec("DELETE FROM bases WHERE mapping = ? AND path = ?", (name, path))

    def add_own_upload(self, name: str, file_id: str, path: str) -> None:
        self._generation(name)
        self._exec("INSERT OR REPLACE INTO own_uploads (mapping, file_id, path)"
                   " VALUES (?, ?, ?)", (name, file_id, path))

    def remove_own_upload(self, name: str, file_id: str) -> None:
        self._exec("DELETE FROM own_uploads WHERE mapping = ? AND file_id = ?",
                   (name, file_id))

    def put_digest(self, name: str, file_id: str, sha256: str) -> None:
        self._generation(name)
        self._exec("INSERT OR REPLACE INTO digests (mapping, file_id, sha256)"
                   " VALUES (?, ?, ?)", (name, file_id, sha256))

    # -- knowledge: objects decided on, sandbox paths of our uploads ----------------------

    def add_known(self, name: str, rows: Iterable[tuple[str, str]]) -> None:
        """Remember objects (file id, local path) a finished decision took into account.
        A row known already as it is is not written again: every no-op cycle knows the
        objects at its decided paths again, and a write clears the listing digest."""
        self._generation(name)
        self._exec_many("INSERT INTO known_objects (mapping, file_id, path) VALUES (?, ?, ?)"
                        " ON CONFLICT (mapping, file_id) DO UPDATE SET path = excluded.path"
                        " WHERE known_objects.path IS NOT excluded.path",
                        [(name, fid, path) for fid, path in rows])

    def remove_known(self, name: str, ids: Iterable[str]) -> None:
        self._exec_many("DELETE FROM known_objects WHERE mapping = ? AND file_id = ?",
                        [(name, fid) for fid in ids])

    def add_upload_path(self, name: str, remote_path: str, path: str) -> None:
        self._generation(name)
        self._exec("INSERT OR REPLACE INTO upload_paths (mapping, remote_path, path)"
                   " VALUES (?, ?, ?)", (name, remote_path, path))

    # -- the container manifest, keep-alive accounting (schema 4) -------------------------

    def set_manifest(self, name: str, file_id: str, remote_path: str, sha256: str) -> None:
        self._generation(name)
        self._exec("INSERT OR REPLACE INTO manifests (mapping, file_id, remote_path, sha256)"
                   " VALUES (?, ?, ?, ?)", (name, file_id, remote_path, sha256))

    def drop_manifest(self, name: str) -> None:
        self._exec("DELETE FROM manifests WHERE mapping = ?", (name,))

    def add_keepalive(self, name: str, day: str, seconds: float, at: float) -> None:
        """Count one keep-alive sent at ``at`` that kept the container ``seconds`` longer."""
        self._generation(name)
        self._exec(
            "INSERT INTO keepalive_days (mapping, day, keepalives, seconds, last_at)"
            " VALUES (?, ?, 1, ?, ?) ON CONFLICT (mapping, day) DO UPDATE SET"
            " keepalives = keepalives + 1, seconds = seconds + excluded.seconds,"
            " last_at = excluded.last_at", (name, day, float(seconds), at))

    # -- the remote listing cache --------------------------------------------------------------

    def add_remote_objects(self, name: str, objects: Iterable[RemoteObject], *,
                           listed: bool = True) -> None:
        """Cache objects a listing returned, or (``listed=False``) an upload of ours as it
        landed: present for a targeted cycle, but no stop for an incremental listing."""
        self._generation(name)
        self._exec_many(  # an upsert: an object cached again keeps its listing position
            "INSERT INTO remote_cache (mapping, file_id, remote_path,"
            " created_at, source, bytes, not_nfc, listed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (mapping, file_id) DO UPDATE SET remote_path = excluded.remote_path,"
            " created_at = excluded.created_at, source = excluded.source,"
            " bytes = excluded.bytes, not_nfc = excluded.not_nfc, listed = excluded.listed",
            [(name, o.file_id, o.remote_path, o.created_at, o.source, o.bytes,
              int(not unicodedata.is_normalized("NFC", o.remote_path)), int(listed))
             for o in objects])

    def set_positions(self, name: str, positions: Iterable[tuple[str, int]]) -> None:
        """Record where cached objects stand in the listing (``index.positions``)."""
        self._exec_many("UPDATE remote_cache SET position = ? WHERE mapping = ? AND file_id = ?",
                        [(position, name, file_id) for file_id, position in positions])

    def append_positions(self, name: str, ids: Iterable[str]) -> None:
        """Place ``ids`` (in listing order) after every object with a position: what an
        incremental listing found is newer than everything listed before it."""
        # "position IS NOT NULL" lets SQLite answer from the partial index on positions
        # (one seek); without it, MAX walked every cached object of the mapping, and each
        # change's incremental listing cost the size of the tree (issue 9)
        row = self._exec("SELECT MAX(position) FROM remote_cache WHERE mapping = ?"
                         " AND position IS NOT NULL", (name,)).fetchone()
        start = -1 if row[0] is None else int(row[0])
        self.set_positions(name, ((fid, start + 1 + i) for i, fid in enumerate(ids)))

    def set_listing_digest(self, name: str, digest: str) -> None:
        """The cache of the listing, its positions and the known objects now agree with the
        full listing ``digest`` describes; call it after this transaction's other writes to
        them (each clears it)."""
        self._exec("UPDATE mappings SET listing_digest = ? WHERE name = ?", (digest, name))

    def set_quiet_digest(self, name: str, digest: str, *, was: str | None = None) -> None:
        """A full cycle saw what ``digest`` describes (``engine.quiet``); with ``was``, only
        if the stored one is still ``was`` (no write cleared it). Call it after this
        transaction's other writes: each write to a table planning reads clears it."""
        if was is None:
            self._exec("UPDATE mappings SET quiet_digest = ? WHERE name = ?", (digest, name))
        else:
            self._exec("UPDATE mappings SET quiet_digest = ? WHERE name = ?"
                       " AND quiet_digest = ?", (digest, name, was))

    def mark_listed(self, name: str) -> None:
        """After a full listing: every cached object is one it returned."""
        self._exec("UPDATE remote_cache SET listed = 1 WHERE mapping = ? AND listed = 0",
                   (name,))

    def remove_remote_objects(self, name: str, ids: Iterable[str]) -> None:
        self._exec_many("DELETE FROM remote_cache WHERE mapping = ? AND file_id = ?",
                        [(name, file_id) for file_id in ids])

    # -- intents, conflicts, problems ------------------------------------------------------

    def add_intent(self, name: str, kind: IntentKind | str, *, started_at: float,
                   path: str | None = None, sha256: str | None = None,
                   size: int | None = None, remote_path: str | None = None,
                   file_id: str | None = None) -> int:
        """Record a remote side effect about to start; return the intent's id."""
        generation = self._generation(name)
        cur = self._exec(
            "INSERT INTO intents (mapping, generation, kind, path, sha256, size, remote_path,"
            " file_id, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, generation, IntentKind(kind).value, path, sha256, size, remote_path,
             file_id, started_at))
        return int(cur.lastrowid or 0)

    def clear_intent(self, intent_id: int) -> None:
        self._exec("DELETE FROM intents WHERE id = ?", (intent_id,))

    def add_conflict(self, name: str, path: str, copy_path: str, remote_id: str | None,
                     at: float) -> None:
        self._generation(name)
        self._exec(
            "INSERT OR REPLACE INTO conflicts (mapping, path, copy_path, remote_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)", (name, path, copy_path, remote_id, at))

    def remove_conflict(self, name: str, copy_path: str) -> None:
        """Forget a conflict copy (the user resolved or deleted it, or it was pruned)."""
        self._exec("DELETE FROM conflicts WHERE mapping = ? AND copy_path = ?",
                   (name, copy_path))

    def set_problems(self, name: str, problems: Iterable[Problem], at: float) -> None:
        self._generation(name)
        kept = {(r[0], r[1]): r[2] for r in self._exec(
            "SELECT path, kind, first_seen FROM problems WHERE mapping = ?", (name,))}
        self._exec("DELETE FROM problems WHERE mapping = ?", (name,))
        for p in problems:
            first = kept.get((p.path, p.kind), at)
            self._exec(
                "INSERT OR REPLACE INTO problems (mapping, path, kind, message, first_seen,"
                " last_seen) VALUES (?, ?, ?, ?, ?, ?)",
                (name, p.path, p.kind, p.message, first, at))
