"""The index: one SQLite file holding every mapping's base, intents and status.

Responsibilities: open (create, configure, migrate) the file and answer reads; writes go
through ``Index.write()``, which yields a ``WriteTx`` (see ``containersync.index.write``).

Invariants:
- WAL journal, ``synchronous=FULL``: an intent row must be on disk *before* the remote side
  effect it announces, or a power loss could forget an upload that really happened. The
  cost is one fsync per commit, small beside an HTTP round trip. ``foreign_keys=ON``.
- Transactions are explicit (``isolation_level=None``): every write is ``BEGIN IMMEDIATE``
  ... ``COMMIT``, or ``ROLLBACK`` when the block raises, so there is one writer at a time
  and a waiting writer queues on ``busy_timeout`` instead of failing on upgrade.
- Threads: an ``Index`` belongs to the thread that opened it (sqlite3's same-thread check
  stays on, so misuse fails loudly). Each other thread opens its own ``Index`` on the same
  file with ``Index.open`` (cheap once migrated); WAL lets readers run beside the writer.
- Writers of one process queue on the file's in-process lock (``writer_lock``) before
  ``BEGIN IMMEDIATE``, and so does creating or migrating the file: SQLite's busy handler
  polls instead of queueing, and with many mappings writing at once a writer could wait
  past any busy timeout ("database is locked"). The busy timeout now only covers other
  processes (``sync``, ``status``).
- Every read returns detached frozen values; nothing the caller holds changes later.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from types import TracebackType

from containersync.errors import InvariantViolation
from containersync.index.health import (
    is_corrupt,
    move_aside,
    prepare_dir,
    prepare_file,
    sqlite_error,
)
from containersync.index.migrate import Step, migrate, shipped_steps, user_version
from containersync.index.records import (
    ConflictRow,
    HaltState,
    Intent,
    KeepaliveDay,
    ManifestRow,
    MappingState,
    ProblemRow,
)
from containersync.index.scoped import ScopedReads
from containersync.index.write import WriteTx
from containersync.model.entry import BaseEntry, RemoteObject
from containersync.model.kinds import IntentKind

DEFAULT_BUSY_TIMEOUT_MS = 10_000
#: a cached listing row: (file_id, remote_path, created_at, source, bytes)
CachedRow = tuple[str, str, int, str, int | None]


def row_of(o: RemoteObject) -> CachedRow:
    """The object as the cache of the listing holds it (``Index.cached_rows``)."""
    return (o.file_id, o.remote_path, o.created_at, o.source, o.bytes)


_WRITER_LOCKS: dict[str, threading.RLock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def writer_lock(path: Path) -> threading.RLock:
    """The lock every writer of this process takes for the index file at ``path``."""
    key = os.path.realpath(path)
    with _WRITER_LOCKS_GUARD:
        lock = _WRITER_LOCKS.get(key)
        if lock is None:
            lock = _WRITER_LOCKS[key] = threading.RLock()
        return lock


def _set_up(conn: sqlite3.Connection, newest: int) -> bool:
    """Whether the file is already in WAL mode at the newest schema. A file another thread
    is creating answers busy (its WAL switch locks it): not set up, so the caller waits
    for that thread on the writer lock."""
    try:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        return str(mode).lower() == "wal" and user_version(conn) >= newest
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc).lower() or "busy" in str(exc).lower():
            return False
        raise


class Index:
    """A connection to the index file, used by one thread."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path
        self._writer = writer_lock(path)
        self._writing = False
        #: (where a corrupt file was moved, what was wrong with it) when ``open`` did that
        self.moved_aside: tuple[Path, str] | None = None

    @classmethod
    def open(cls, path: Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
             steps: Sequence[Step] | None = None, recover: bool = True) -> Index:
        """Open (creating folders and file as needed, private: see ``index.health``) and
        migrate the index at ``path``. A corrupt file is moved aside and a fresh index
        created in its place when ``recover`` (``moved_aside`` then says where it went);
        without ``recover``, and for every other failure, a ``ContainerSyncError`` that
        names the file is raised."""
        path = Path(path)
        prepare_dir(path.parent)
        prepare_file(path)
        inode = path.stat().st_ino
        try:
            return cls._connect_patiently(path, busy_timeout_ms, steps)
        except sqlite3.Error as exc:
            if not (recover and is_corrupt(exc)):
                raise sqlite_error(exc, path) from None
            damage = str(exc)
        aside = None
        # RACE: two processes finding the same file corrupt: the inode check keeps the
        # second from moving aside the fresh index the first just created; between the
        # check and the rename there is a window of one syscall, and the loser's index is
        # then only a second fresh one, rebuilt from the containers like the first.
        if path.exists() and path.stat().st_ino == inode:
            aside = move_aside(path)
        prepare_file(path)
        try:
            index = cls._connect_patiently(path, busy_timeout_ms, steps)
        except sqlite3.Error as exc:
            raise sqlite_error(exc, path) from None
        index.moved_aside = (aside, damage) if aside is not None else None
        return index

    @classmethod
    def _connect_patiently(cls, path: Path, busy_timeout_ms: int,
                           steps: Sequence[Step] | None) -> Index:
        """``_connect``, tried again while the file is busy, up to the busy timeout.

        Opening is where two processes meet a fresh file: the daemon creating and migrating
        it while ``status`` opens it too. Some of SQLite's lock steps there answer "database
        is locked" at once instead of waiting in the busy handler (seen: ``status`` beside a
        starting daemon); waiting a moment and opening again is what the handler would do."""
        deadline = time.monotonic() + busy_timeout_ms / 1000
        while True:
            try:
                return cls._connect(path, busy_timeout_ms, steps)
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                if not ("locked" in text or "busy" in text) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    @classmethod
    def _connect(cls, path: Path, busy_timeout_ms: int, steps: Sequence[Step] | None) -> Index:
        conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            plan = tuple(steps) if steps is not None else shipped_steps()
            newest = plan[-1].version if plan else 0
            # a fresh or older file is written (WAL switch, migration): one thread at a time
            with nullcontext() if _set_up(conn, newest) else writer_lock(path):
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise InvariantViolation(f"{path}: SQLite refused WAL mode (got {mode!r})")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA foreign_keys = ON")
                migrate(conn, path, plan)
            conn.execute("SELECT count(*) FROM mappings").fetchone()
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def schema_version(self) -> int:
        return user_version(self._conn)

    def close(self) -> None:
        self._conn.close()

    def shrink_memory(self) -> None:
        """Free this connection's page cache (``PRAGMA shrink_memory``): after a cycle
        that read whole tables it holds up to ``cache_size`` pages of them until the next
        read, on every runner's connection; the next read fills it again from the OS's
        file cache."""
        self._conn.execute("PRAGMA shrink_memory")

    def __enter__(self) -> Index:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[WriteTx]:
        """One write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT``; ``ROLLBACK`` on error."""
        if self._writing:
            raise InvariantViolation("nested index write transaction")
        with self._writer:  # this process's writers queue here, not in the busy handler
            self._conn.execute("BEGIN IMMEDIATE")
            self._writing = True
            tx = WriteTx(self._conn)
            try:
                yield tx
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            finally:
                self._writing = False
                tx.closed = True

    # -- reads ---------------------------------------------------------------------------

    def mapping_names(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT name FROM mappings ORDER BY name")]

    def mapping(self, name: str) -> MappingState | None:
        row = self._conn.execute(
            "SELECT name, container_id, container_name, adopted, generation, halt_rail,"
            " halt_reason, halt_since, last_push, last_pull, last_full_list,"
            " rules_fingerprint, summary_json, display_name, local_root, endpoint"
            " FROM mappings WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        halt = HaltState(row[5], row[6] or "", row[7] or 0.0) if row[5] is not None else None
        return MappingState(
            name=row[0], container_id=row[1], container_name=row[2], adopted=bool(row[3]),
            generation=row[4], halt=halt, last_push=row[8], last_pull=row[9],
            last_full_list=row[10], rules_fingerprint=row[11],
            summary=json.loads(row[12]) if row[12] is not None else None,
            display_name=row[13], local_root=row[14], endpoint=row[15])

    def bases(self, name: str, *,
              listed: Mapping[str, RemoteObject] | None = None) -> dict[str, BaseEntry]:
        """Every base of ``name``. ``listed``: the objects a listing holds by id; a base
        whose remote half equals its object's takes that object's strings and ints instead
        of its own copies (the same values: the base then costs ~0.19 KiB less per file
        beside the listing, a full cycle's peak, and its strings outlive the listing's
        objects)."""
        rows = self._conn.execute(
            "SELECT path, size, mtime_ns, sha256, remote_id, remote_path, remote_created_at,"
            " source FROM bases WHERE mapping = ?", (name,))
        by_id = listed if listed is not None else {}
        bases: dict[str, BaseEntry] = {}
        for path, size, mtime_ns, digest, rid, rpath, created, source in rows:
            o = by_id.get(rid) if rid is not None else None
            if (o is not None and o.remote_path == rpath and o.created_at == created
                    and o.source == source):
                rid, rpath, created, source = o.file_id, o.remote_path, o.created_at, o.source
            elif source is not None:
                source = sys.intern(source)  # one string per source, not one per file
            bases[path] = BaseEntry(path, size, mtime_ns, digest, rid, rpath, created, source)
        return bases

    def sandbox_paths(self, name: str, *,
                      shared: Mapping[str, BaseEntry] | None = None) -> dict[str, str]:
        """Logical path -> sandbox path of every base that holds a remote object, sorted by
        path (``model.manifest.sandbox_paths`` of ``bases``): two strings per file, not a
        whole ``BaseEntry`` (the manifest step reads this while the cycle's base, view and
        scan are still alive, and whole bases were a second copy of the tree there). TEXT
        compares as UTF-8 bytes, which orders as Python orders ``str``. ``shared``: bases
        the caller holds; a row equal to one of them takes its strings (each file's two
        strings were read again beside the cycle's own, ~0.13 KiB per file)."""
        rows = self._conn.execute(
            "SELECT path, remote_path FROM bases WHERE mapping = ? AND remote_id IS NOT NULL"
            " AND remote_path IS NOT NULL ORDER BY path", (name,))
        if shared is None:
            return dict(rows.fetchall())
        paths: dict[str, str] = {}
        for path, remote_path in rows:
            b = shared.get(path)
            if b is not None and b.remote_path == remote_path:
                path, remote_path = b.path, b.remote_path  # the same strings, held once
            paths[path] = remote_path
        return paths

    def own_uploads(self, name: str) -> dict[str, str]:
        return dict(self.own_upload_rows(name))

    def own_upload_rows(self, name: str) -> Iterator[tuple[str, str]]:
        """(file id, local path) of every own upload, as the rows come: a caller that keeps
        other strings for most of them (``engine.cycle``: the base's) never holds a whole
        second copy of the table's strings."""
        yield from self._conn.execute(
            "SELECT file_id, path FROM own_uploads WHERE mapping = ?", (name,))

    def upload_paths_unnamed(self, name: str) -> dict[str, str]:
        """``upload_paths`` without the sandbox paths a base names (its ``remote_path``):
        ``remote_view`` maps those by the base first."""
        rows = self._conn.execute(
            "SELECT u.remote_path, u.path FROM upload_paths u WHERE u.mapping = ? AND NOT"
            " EXISTS (SELECT 1 FROM bases b WHERE b.mapping = u.mapping"
            " AND b.remote_path = u.remote_path)", (name,))
        return {r[0]: r[1] for r in rows}

    def digests(self, name: str) -> dict[str, str]:
        rows = self._conn.execute("SELECT file_id, sha256 FROM digests WHERE mapping = ?",
                                  (name,))
        return {r[0]: r[1] for r in rows}

    def remote_cache(self, name: str) -> list[RemoteObject]:
        """The cached listing, newest first (``created_at``, then id, both descending)."""
        rows = self._conn.execute(
            "SELECT file_id, remote_path, created_at, source, bytes FROM remote_cache"
            " WHERE mapping = ? ORDER BY created_at DESC, file_id DESC", (name,))
        return [RemoteObject(*r) for r in rows]

    def cached_rows(self, name: str) -> dict[str, CachedRow]:
        """The cached listing by id, in no order, as plain rows: a ``RemoteObject``'s
        fields in its order (``row_of``), what a full listing is compared
        with. Tuples of strings and ints, not objects: a full listing reads every row, and
        the garbage collector does not walk such tuples (it walks every object)."""
        rows = self._conn.execute(
            "SELECT file_id, remote_path, created_at, source, bytes FROM remote_cache"
            " WHERE mapping = ?", (name,))
        return {r[0]: (r[0], r[1], r[2], sys.intern(r[3]), r[4]) for r in rows}

    def listing_positions(self, name: str) -> dict[str, int]:
        """Where cached objects stood in the listing: file id -> position, in listing order
        (objects without a position are left out)."""
        rows = self._conn.execute(
            "SELECT file_id, position FROM remote_cache WHERE mapping = ?"
            " AND position IS NOT NULL ORDER BY position", (name,))
        return dict(rows.fetchall())

    def listing_digest(self, name: str) -> str | None:
        """The digest of the full listing the cache of the listing holds as it stands
        (``engine.remote.listing_digest``), or None: any write to the cache or to the
        known objects since it was set cleared it (``v007_listing_digest.sql``)."""
        row = self._conn.execute("SELECT listing_digest FROM mappings WHERE name = ?",
                                 (name,)).fetchone()
        return row[0] if row is not None else None

    def quiet_digest(self, name: str) -> str | None:
        """What the last full cycle that planned nothing saw (``engine.quiet``), or None:
        a write to the bases, own uploads, digests, upload paths or the listing digest
        since it was set cleared it (``v008_quiet_digest.sql``)."""
        row = self._conn.execute("SELECT quiet_digest FROM mappings WHERE name = ?",
                                 (name,)).fetchone()
        return row[0] if row is not None else None

    def known_objects(self, name: str) -> dict[str, str]:
        """Objects a finished decision has taken into account: file id -> local path."""
        rows = self._conn.execute(
            "SELECT file_id, path FROM known_objects WHERE mapping = ?", (name,))
        return {r[0]: r[1] for r in rows}

    def upload_paths(self, name: str) -> dict[str, str]:
        """Sandbox paths our uploads landed at this generation: remote path -> local path."""
        rows = self._conn.execute(
            "SELECT remote_path, path FROM upload_paths WHERE mapping = ?", (name,))
        return {r[0]: r[1] for r in rows}

    def cached_among(self, name: str, file_ids: Iterable[str]) -> set[str]:
        """Which of ``file_ids`` the cached listing holds: a lookup per id by primary key,
        so a pull check costs what it finds, not the size of the cache."""
        return self.scoped.cached_among(name, set(file_ids))

    @property
    def scoped(self) -> ScopedReads:
        """Reads of the rows that bear on some paths or objects (``index.scoped``)."""
        return ScopedReads(self._conn)

    def manifest(self, name: str) -> ManifestRow | None:
        """The manifest object kept in the mapping's container, if any."""
        row = self._conn.execute("SELECT file_id, remote_path, sha256 FROM manifests"
                                 " WHERE mapping = ?", (name,)).fetchone()
        return ManifestRow(*row) if row is not None else None

    def keepalive_day(self, name: str, day: str) -> KeepaliveDay:
        """Keep-alives of UTC ``day`` (YYYY-MM-DD); zeros when none was sent."""
        row = self._conn.execute("SELECT keepalives, seconds FROM keepalive_days"
                                 " WHERE mapping = ? AND day = ?", (name, day)).fetchone()
        last = self._conn.execute("SELECT max(last_at) FROM keepalive_days WHERE mapping = ?",
                                  (name,)).fetchone()
        count, seconds = (int(row[0]), float(row[1])) if row is not None else (0, 0.0)
        return KeepaliveDay(day, count, seconds, last[0] if last else None)

    def intents(self, name: str) -> list[Intent]:
        """Open intents, oldest first."""
        rows = self._conn.execute(
            "SELECT id, mapping, generation, kind, started_at, path, sha256, size,"
            " remote_path, file_id FROM intents WHERE mapping = ? ORDER BY id", (name,))
        return [Intent(r[0], r[1], r[2], IntentKind(r[3]), *r[4:]) for r in rows]

    def conflicts(self, name: str) -> list[ConflictRow]:
        rows = self._conn.execute(
            "SELECT path, copy_path, remote_id, created_at FROM conflicts WHERE mapping = ?"
            " ORDER BY created_at, id", (name,))
        return [ConflictRow(*r) for r in rows]

    def problems(self, name: str) -> list[ProblemRow]:
        rows = self._conn.execute(
            "SELECT path, kind, message, first_seen, last_seen FROM problems"
            " WHERE mapping = ? ORDER BY path, kind", (name,))
        return [ProblemRow(*r) for r in rows]


@contextmanager
def index_for_run(path: Path, *, dry_run: bool) -> Iterator[Index]:
    """The index a run plans against, closed afterwards. A dry run writes nothing: with no
    index yet it plans against an empty throwaway one, and it never moves a damaged index
    aside (a real run does, and rebuilds from the container)."""
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if dry_run and not Path(path).exists():
        tmp = tempfile.TemporaryDirectory(prefix="containersync-dry-run-")
        path = Path(tmp.name) / "index.sqlite3"
    try:
        index = Index.open(Path(path), recover=not dry_run)
        try:
            yield index
        finally:
            index.close()
    finally:
        if tmp is not None:
            tmp.cleanup()


def index_path(state_dir: Path) -> Path:
    """Where the index lives inside a state directory."""
    return Path(state_dir) / "index.sqlite3"
