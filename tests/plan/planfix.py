"""Small named fixtures for the plan tests: one path, a few versions of it on each side."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from containersync.model.entry import BaseEntry, LocalFile, RemoteFile, RemoteView

NOW = datetime(2026, 11, 23, 10, 15, 0, tzinfo=UTC)
ROOT = "/mnt/data"
P = "a.txt"
COPY = "a.conflict-20261123-101500.txt"


def sha(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def local(content: str = "v1", *, path: str = P, mtime_ns: int = 1_000) -> LocalFile:
    return LocalFile(path=path, size=len(content), mtime_ns=mtime_ns, sha256=sha(content))


def base(content: str = "v1", *, path: str = P, remote_id: str | None = "cfile_base",
         remote_path: str | None = None) -> BaseEntry:
    if remote_id is not None and remote_path is None:
        remote_path = f"{ROOT}/0f0f-{path}"
    return BaseEntry(path=path, size=len(content), mtime_ns=1_000, sha256=sha(content),
                     remote_id=remote_id, remote_path=remote_path,
                     remote_created_at=100 if remote_id else None,
                     source="user" if remote_id else None)


def remote(file_id: str, *, path: str = P, created_at: int = 200, source: str = "assistant",
           size: int | None = None, remote_path: str | None = None) -> RemoteFile:
    return RemoteFile(file_id=file_id, path=path, remote_path=remote_path or f"{ROOT}/{path}",
                      created_at=created_at, source=source, bytes=size)


def tracked(b: BaseEntry) -> RemoteFile:
    """The remote object a base records (what we uploaded or downloaded)."""
    assert b.remote_id is not None and b.remote_path is not None
    return RemoteFile(file_id=b.remote_id, path=b.path, remote_path=b.remote_path,
                      created_at=b.remote_created_at or 100, source=b.source or "user",
                      bytes=b.size)


def view(*files: RemoteFile, garbage: tuple[RemoteFile, ...] = ()) -> RemoteView:
    return RemoteView(files={f.path: f for f in files}, garbage=garbage)
