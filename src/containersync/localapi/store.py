"""The local backend's state: containers, container files and Files API files in a data dir.

Layout of ``data_dir``: ``state.sqlite3`` (metadata, see ``db.py``), ``blobs/<id>`` (bytes,
see ``blobs.py``), ``tmp/`` (blobs being written), ``clock.json`` (the clock offset).
Several processes may open one data dir at once (the daemon's embedded server and
``containersync local exec``): all coordination goes through SQLite and atomic renames.

Invariants:
- Expiry is checked lazily on every access to a container, *before* its ``last_active_at``
  is refreshed: a due container turns ``expired``, its file rows and blobs go, and file
  calls on it raise ``ContainerExpired`` from then on; retrieving it still works and
  never revives it.
- Refreshing calls: container retrieve, file create/delete/list/content. Listing
  containers, retrieving one file object, and the in-process readers do not refresh; a
  container listing still *shows* the request time as every ``last_active_at`` (recorded
  live), so a listed value says nothing about expiry.
- A blob is written completely before its row is inserted; rows are deleted before their
  blobs are unlinked. A crash can leave an orphan blob, never a row without bytes.
"""

from __future__ import annotations

import json
import mimetypes
import posixpath
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, BinaryIO, TypeVar

from containersync.localapi import validate, wire
from containersync.localapi.blobs import BlobStore
from containersync.localapi.clock import Clock
from containersync.localapi.db import Database
from containersync.localapi.errors import (
    BadRequest,
    ContainerExpired,
    ContainerNotFound,
    NotFound,
    missing,
)
from containersync.localapi.validate import ListQuery

T = TypeVar("T")
Row = Any  # sqlite3.Row; kept loose so callers can index by name
_EXPIRED = object()
FILES_MAX_LIMIT = 10_000


def guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _file_not_found(kind: str, object_id: str) -> NotFound:
    return NotFound(f"No such {kind} object: {object_id}", param="id")


class Store:
    """All reads and writes of one data dir. Thread-safe; safe across processes."""

    def __init__(self, data_dir: Path, *, clock: Clock | None = None, assign_paths: bool = False,
                 max_expiry_minutes: int = validate.LIVE_MAX_EXPIRY_MINUTES,
                 omit_fields: tuple[str, ...] = ()) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.clock = clock if clock is not None else Clock(self.data_dir / "clock.json")
        self.assign_paths = assign_paths
        self.max_expiry_minutes = max_expiry_minutes
        unknown = sorted(set(omit_fields) - set(wire.OMITTABLE))
        if unknown:
            raise ValueError(f"cannot omit container fields {unknown}: choose from "
                             f"{', '.join(wire.OMITTABLE)}")
        #: container fields left out of every answer (live objects may lack any but ``id``)
        self.omit_fields = tuple(omit_fields)
        self._blobs = BlobStore(self.data_dir)
        self._db = Database(self.data_dir / "state.sqlite3")
        #: container id -> its domain secrets; in memory only (lost on restart), so no
        #: secret ever lands in the data dir (which, for ``base_url = "local"``, is in the
        #: state dir)
        self._domain_secrets: dict[str, list[dict[str, str]]] = {}

    def close(self) -> None:
        self._db.close()

    # -- containers -------------------------------------------------------------------

    def _render(self, row: Row, *, listed_at: float | None = None) -> dict[str, Any]:
        return wire.container(row, omit=self.omit_fields, last_active_at=listed_at)

    def create_container(self, body: object) -> dict[str, Any]:
        spec = validate.container_spec(body, max_minutes=self.max_expiry_minutes)
        made: list[str] = []
        try:
            with self._db.write() as conn:
                now = self.clock.now()
                cid = wire.new_container_id(now)
                sources = [self._file_row(conn, fid) for fid in spec.file_ids]
                conn.execute(
                    "INSERT INTO containers (id, name, created_at, last_active_at, expires_minutes,"
                    " memory_limit, network_policy, skills, status)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running')",
                    (cid, spec.name, now, now, spec.expires_minutes, spec.memory_limit,
                     json.dumps(spec.network_policy), json.dumps(spec.skills)))
                for src in sources:
                    fid = wire.new_container_file_id()
                    made.append(fid)
                    size = self._blobs.copy(src["id"], fid)
                    self._insert_file(conn, cid, fid, now, self._upload_path(src["filename"]),
                                      "user", size, True, src["content_type"])
                if spec.domain_secrets:
                    self._domain_secrets[cid] = spec.domain_secrets
                return self._render(self._container_row(conn, cid))
        except BaseException:
            self._blobs.remove(made)
            raise

    def create_auto_container(self) -> dict[str, Any]:
        """A container as the Responses API makes one on its own (``container: {"type":
        "auto"}``): named ``auto``, with the defaults; it shows in listings like any other."""
        return self.create_container({"name": "auto"})

    def get_container(self, cid: str, *, refresh: bool = False) -> dict[str, Any]:
        """The container object after the expiry check (``refresh``: count as activity)."""
        return self._with_container(cid, lambda conn, row, now: self._render(row),
                                    refresh=refresh, need_running=False)

    def container_skills(self, cid: str) -> list[dict[str, Any]]:
        """The skills a container was created with (never on the wire, as live): for
        in-process readers (``local exec``, tests)."""
        with self._db.read() as conn:
            skills: list[dict[str, Any]] = json.loads(self._container_row(conn, cid)["skills"])
            return skills

    def container_domain_secrets(self, cid: str) -> list[dict[str, str]]:
        """The domain secrets a container was created with, if this process made it."""
        return list(self._domain_secrets.get(cid, []))

    def list_containers(self, query: ListQuery) -> dict[str, Any]:
        garbage: list[str] = []
        with self._db.write() as conn:
            now = self.clock.now()
            due = conn.execute("SELECT id FROM containers WHERE status = 'running'"
                               " AND last_active_at + expires_minutes * 60 <= ?", (now,))
            for (cid,) in due.fetchall():
                garbage += self._expire(conn, cid)
            where, args = ("name = ?", (query.name,)) if query.name is not None else ("1", ())
            # every listed container, expired ones too, shows the request time as
            # last_active_at (recorded live) without its expiry moving
            result = self._page(conn, "containers", where, args, query,
                                lambda row: self._render(row, listed_at=now))
        self._blobs.remove(garbage)
        return result

    def delete_container(self, cid: str) -> dict[str, Any]:
        with self._db.write() as conn:
            self._container_row(conn, cid)
            blobs = [r[0] for r in conn.execute(
                "SELECT id FROM container_files WHERE container_id = ?", (cid,))]
            conn.execute("DELETE FROM container_files WHERE container_id = ?", (cid,))
            conn.execute("DELETE FROM containers WHERE id = ?", (cid,))
        self._blobs.remove(blobs)
        return wire.deleted(cid, "container.deleted")

    # -- container files ---------------------------------------------------------------

    def upload_container_file(self, cid: str, *, stream: BinaryIO, filename: str | None,
                              content_type: str | None, path: str | None = None) -> dict[str, Any]:
        """A user upload: honours ``path`` unless the store assigns paths like live."""
        if path is not None and not self.assign_paths:
            final = validate.sandbox_path(path)
        else:
            final = self._upload_path(validate.upload_filename(filename))
        return self._new_file(cid, final, "user", True, content_type or guess_type(final),
                              lambda fid: self._blobs.write_stream(fid, stream))

    def add_container_file(self, cid: str, *, path: str, content: Path, source: str,
                           record_bytes: bool) -> dict[str, Any]:
        """A file written inside the sandbox (``source`` usually ``assistant``)."""
        with open(content, "rb") as stream:
            return self.add_container_file_stream(cid, path=path, stream=stream, source=source,
                                                  record_bytes=record_bytes)

    def add_container_file_stream(self, cid: str, *, path: str, stream: BinaryIO, source: str,
                                  record_bytes: bool) -> dict[str, Any]:
        """``add_container_file`` reading the bytes from an open binary stream."""
        final = validate.sandbox_path(path)
        return self._new_file(cid, final, source, record_bytes, guess_type(final),
                              lambda fid: self._blobs.write_stream(fid, stream))

    def copy_file_into_container(self, cid: str, file_id: str) -> dict[str, Any]:
        with self._db.read() as conn:
            src = self._file_row(conn, file_id)
        return self._new_file(cid, self._upload_path(src["filename"]), "user", True,
                              src["content_type"], lambda fid: self._blobs.copy(file_id, fid))

    def list_container_files(self, cid: str) -> list[dict[str, Any]]:
        """Every file object of a live container, oldest first (no refresh)."""
        def rows(conn: Any, row: Row, now: float) -> list[dict[str, Any]]:
            cur = conn.execute("SELECT * FROM container_files WHERE container_id = ?"
                               " ORDER BY created_at, seq", (cid,))
            return [wire.container_file(r) for r in cur]
        return self._with_container(cid, rows, refresh=False)

    def list_container_files_page(self, cid: str, query: ListQuery) -> dict[str, Any]:
        return self._with_container(cid, lambda conn, row, now: self._page(
            conn, "container_files", "container_id = ?", (cid,), query,
            wire.listed_container_file, columns=", ".join(wire.LISTED_FILE_COLUMNS)),
            refresh=True)

    def get_container_file(self, cid: str, fid: str) -> dict[str, Any]:
        return self._with_container(
            cid, lambda conn, row, now: wire.container_file(self._cfile_row(conn, cid, fid)),
            refresh=False)

    def open_container_file(self, cid: str, fid: str) -> tuple[IO[bytes], str, str]:
        """An open handle on the bytes, the content type and the download filename."""
        def opener(conn: Any, row: Row, now: float) -> tuple[IO[bytes], str, str]:
            frow = self._cfile_row(conn, cid, fid)
            try:
                handle = open(self._blobs.path(fid), "rb")  # noqa: SIM115 - the response closes it
            except FileNotFoundError:
                raise NotFound(f"File with id '{fid}' not found.") from None
            return handle, frow["content_type"], posixpath.basename(frow["path"])
        return self._with_container(cid, opener, refresh=True)

    def delete_container_file(self, cid: str, fid: str) -> None:
        def drop(conn: Any, row: Row, now: float) -> None:
            self._cfile_row(conn, cid, fid)
            conn.execute("DELETE FROM container_files WHERE id = ?", (fid,))
        self._with_container(cid, drop, refresh=True)
        self._blobs.remove([fid])

    def blob_path(self, file_id: str) -> Path:
        if not file_id or "/" in file_id or file_id.startswith("."):
            raise NotFound(f"File with id '{file_id}' not found.")
        return self._blobs.path(file_id)

    # -- Files API ---------------------------------------------------------------------

    def create_file(self, *, stream: BinaryIO, filename: str | None, content_type: str | None,
                    purpose: str | None) -> dict[str, Any]:
        if not purpose:
            raise missing("purpose")
        name = validate.upload_filename(filename)
        fid = wire.new_file_id()
        size = self._blobs.write_stream(fid, stream)
        with self._db.write() as conn:
            conn.execute("INSERT INTO files (id, created_at, filename, purpose, size, content_type)"
                         " VALUES (?, ?, ?, ?, ?, ?)",
                         (fid, self.clock.now(), name, purpose, size,
                          content_type or guess_type(name)))
            return wire.file(self._file_row(conn, fid))

    def list_files(self, query: ListQuery, purpose: str | None = None) -> dict[str, Any]:
        where, args = ("purpose = ?", (purpose,)) if purpose else ("1", ())
        with self._db.read() as conn:
            return self._page(conn, "files", where, args, query, wire.file)

    def get_file(self, file_id: str) -> dict[str, Any]:
        with self._db.read() as conn:
            return wire.file(self._file_row(conn, file_id))

    def delete_file(self, file_id: str) -> dict[str, Any]:
        with self._db.write() as conn:
            self._file_row(conn, file_id)
            conn.execute("DELETE FROM files WHERE id = ?", (file_id,))
        self._blobs.remove([file_id])
        return wire.deleted(file_id, "file")

    def open_file(self, file_id: str) -> tuple[IO[bytes], str, str]:
        with self._db.read() as conn:
            row = self._file_row(conn, file_id)
            try:
                handle = open(self._blobs.path(file_id), "rb")  # noqa: SIM115
            except FileNotFoundError:
                raise _file_not_found("File", file_id) from None
            return handle, row["content_type"], row["filename"]

    # -- internals ---------------------------------------------------------------------

    def _with_container(self, cid: str, op: Callable[[Any, Row, float], T], *, refresh: bool,
                        need_running: bool = True) -> T:
        """Run ``op`` in one write transaction after the expiry check (then the refresh)."""
        garbage: list[str] = []
        result: Any
        with self._db.write() as conn:
            row = self._container_row(conn, cid)
            now = self.clock.now()
            if row["status"] == "running" and now >= row["last_active_at"] + 60 * row["expires_minutes"]:
                garbage = self._expire(conn, cid)
                row = self._container_row(conn, cid)
            elif refresh and row["status"] == "running":
                conn.execute("UPDATE containers SET last_active_at = ? WHERE id = ?", (now, cid))
                row = {**dict(row), "last_active_at": now}  # what a re-read would return
            expired = row["status"] != "running" and need_running
            result = _EXPIRED if expired else op(conn, row, now)
        self._blobs.remove(garbage)
        if result is _EXPIRED:
            raise ContainerExpired(cid)
        return result  # type: ignore[no-any-return]

    def _new_file(self, cid: str, path: str, source: str, record_bytes: bool, content_type: str,
                  write: Callable[[str], int]) -> dict[str, Any]:
        fid = wire.new_container_file_id()
        try:
            size = write(fid)
            def insert(conn: Any, row: Row, now: float) -> dict[str, Any]:
                self._insert_file(conn, cid, fid, now, path, source, size, record_bytes,
                                  content_type)
                # rendered from the values just written (in ``LISTED_FILE_COLUMNS``' order):
                # reading the row back costs a query per upload and can only return these
                return wire.listed_container_file(
                    (fid, cid, now, size, int(record_bytes), path, source))
            return self._with_container(cid, insert, refresh=True)
        except BaseException:
            self._blobs.remove([fid])
            raise

    @staticmethod
    def _insert_file(conn: Any, cid: str, fid: str, now: float, path: str, source: str,
                     size: int, record_bytes: bool, content_type: str) -> None:
        conn.execute(
            "INSERT INTO container_files (id, container_id, created_at, path, source, size,"
            " record_bytes, content_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (fid, cid, now, path, source, size, int(record_bytes), content_type))

    @staticmethod
    def _upload_path(filename: str) -> str:
        return f"{validate.UPLOAD_ROOT}/{wire.upload_prefix()}-{filename}"

    @staticmethod
    def _expire(conn: Any, cid: str) -> list[str]:
        blobs = [r[0] for r in conn.execute(
            "SELECT id FROM container_files WHERE container_id = ?", (cid,))]
        conn.execute("DELETE FROM container_files WHERE container_id = ?", (cid,))
        conn.execute("UPDATE containers SET status = 'expired' WHERE id = ?", (cid,))
        return blobs

    @staticmethod
    def _container_row(conn: Any, cid: str) -> Row:
        row = conn.execute("SELECT * FROM containers WHERE id = ?", (cid,)).fetchone()
        if row is None:
            raise ContainerNotFound(cid)
        return row

    @staticmethod
    def _cfile_row(conn: Any, cid: str, fid: str) -> Row:
        row = conn.execute("SELECT * FROM container_files WHERE id = ? AND container_id = ?",
                           (fid, cid)).fetchone()
        if row is None:
            raise NotFound(f"File with id '{fid}' not found.")
        return row

    @staticmethod
    def _file_row(conn: Any, file_id: str) -> Row:
        row = conn.execute("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()
        if row is None:
            raise _file_not_found("File", file_id)
        return row

    @staticmethod
    def _page(conn: Any, table: str, where: str, args: tuple[Any, ...], query: ListQuery,
              render: Callable[[Row], dict[str, Any]], *, columns: str = "*") -> dict[str, Any]:
        """One page ordered by ``(created_at, seq)``; ``after`` must name an item of the list.
        ``render`` gets each row of ``columns``."""
        direction, cmp = ("ASC", ">") if query.order == "asc" else ("DESC", "<")
        if query.after is not None:
            cursor = conn.execute(f"SELECT created_at, seq FROM {table} WHERE id = ? AND {where}",
                                  (query.after, *args)).fetchone()
            if cursor is None:
                raise BadRequest(f"Invalid 'after': no object with id '{query.after}' in this list.",
                                 param="after", code="invalid_cursor")
            where += f" AND (created_at, seq) {cmp} (?, ?)"
            args = (*args, cursor["created_at"], cursor["seq"])
        rows = conn.execute(f"SELECT {columns} FROM {table} WHERE {where} ORDER BY created_at {direction},"
                            f" seq {direction} LIMIT ?", (*args, query.limit + 1)).fetchall()
        return wire.page([render(r) for r in rows[: query.limit]], len(rows) > query.limit)
