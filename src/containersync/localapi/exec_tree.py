"""The work tree of ``containersync local exec``: container files in, file changes out.

``materialise`` writes the newest object of every sandbox path into a fresh directory laid
out like the sandbox (``/mnt/data/a.csv`` -> ``<tree>/mnt/data/a.csv``) and remembers each
file's sha256. After the command ran, ``diff_tree`` walks the tree again and says which
sandbox paths were created or changed, which were deleted, and what was skipped.

Invariants:
- For each sandbox path only the newest object by ``(created_at, id)`` is written; every
  object id at that path is remembered, so a deletion removes them all.
- Paths come from code an AI model wrote: one that is not absolute, has ``.``/``..``/empty
  segments, NUL or control characters is never written (it is reported instead). Files are
  created with ``O_EXCL|O_NOFOLLOW`` in directories this module just made.
- Only regular files are reported as written. Symlinks, sockets, FIFOs and devices are
  skipped and reported; a materialised file replaced by one of those is left as it was
  remotely (neither rewritten nor deleted). Empty directories do not exist remotely.
- Change means different content (sha256), never just a newer mtime.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SANDBOX_DIRS = ("mnt/data", "workspace")


@dataclass(frozen=True)
class Materialised:
    """One sandbox path as the command found it."""

    path: str
    sha256: str
    object_ids: tuple[str, ...]


@dataclass
class TreeChanges:
    written: list[str] = field(default_factory=list)  # created or changed sandbox paths
    deleted: list[Materialised] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # human-readable reasons


def unsafe_reason(sandbox_path: str) -> str | None:
    """Why ``sandbox_path`` must not be written into the tree (None when it is fine)."""
    if not sandbox_path.startswith("/"):
        return "not an absolute path"
    try:
        sandbox_path.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if any(ord(c) < 32 or ord(c) == 127 for c in sandbox_path):
        return "contains NUL or control characters"
    parts = sandbox_path[1:].split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "has empty, '.' or '..' segments"
    if any(len(os.fsencode(p)) > 255 for p in parts):
        return "a name is longer than 255 bytes"
    return None


def newest_by_path(objects: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Group file objects by ``path``; each list is oldest first, so ``[-1]`` is current."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for obj in objects:
        groups.setdefault(str(obj["path"]), []).append(obj)
    for group in groups.values():
        group.sort(key=lambda o: (int(o.get("created_at") or 0), str(o["id"])))
    return groups


def materialise(tree: Path, objects: Iterable[Mapping[str, Any]],
                fetch: Callable[[str, Path], None],
                tolerate: tuple[type[Exception], ...] = ()) -> tuple[dict[str, Materialised],
                                                                   list[str]]:
    """Fill the empty directory ``tree``; ``fetch(file_id, dest)`` writes one object's bytes.

    Returns the materialised paths and the reasons for every path that was not written.
    Errors of the types in ``tolerate`` (e.g. an object deleted meanwhile) skip that path
    instead of failing the whole run.
    """
    for sub in SANDBOX_DIRS:
        (tree / sub).mkdir(parents=True, exist_ok=True)
    done: dict[str, Materialised] = {}
    skipped: list[str] = []
    caught: tuple[type[Exception], ...] = (OSError, ValueError, *tolerate)
    for path, group in sorted(newest_by_path(objects).items()):
        why = unsafe_reason(path)
        if why:
            skipped.append(f"{path!r} not materialised: {why}")
            continue
        dest = tree / path[1:]
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))
            fetch(str(group[-1]["id"]), dest)
        except caught as exc:
            with contextlib.suppress(OSError):
                dest.unlink()
            skipped.append(f"{path} not materialised: {exc}")
            continue
        done[path] = Materialised(path, sha256_of(dest), tuple(str(o["id"]) for o in group))
    return done, skipped


def diff_tree(tree: Path, before: Mapping[str, Materialised]) -> TreeChanges:
    """Compare the tree after the command with what ``materialise`` put there."""
    changes = TreeChanges()
    seen: set[str] = set()
    unread: list[str] = []
    for rel, mode in _walk(tree, "", unread):
        path = "/" + rel
        seen.add(path)
        if not stat.S_ISREG(mode):
            kind = "symlink" if stat.S_ISLNK(mode) else "special file"
            extra = " (the previous file is kept remotely)" if path in before else ""
            changes.skipped.append(f"{path} ignored: a {kind}{extra}")
            continue
        why = unsafe_reason(path)
        if why:
            changes.skipped.append(f"{path!r} ignored: {why}")
            continue
        try:
            digest = sha256_of(tree / rel)
        except OSError as exc:
            changes.skipped.append(f"{path} ignored: {exc.strerror or exc}")
            continue
        old = before.get(path)
        if old is None or old.sha256 != digest:
            changes.written.append(path)
    for rel in unread:
        changes.skipped.append(f"/{rel} could not be read: files below it are left as they were")
    kept = tuple(f"/{rel}/" for rel in unread)
    changes.deleted = [m for p, m in sorted(before.items())
                       if p not in seen and not p.startswith(kept)]
    changes.written.sort()
    return changes


def _walk(root: Path, rel: str, unread: list[str]) -> Iterator[tuple[str, int]]:
    """(relative POSIX path, lstat mode) of every non-directory below ``root``.

    Directories that cannot be listed are appended to ``unread`` instead.
    """
    try:
        with os.scandir(root / rel if rel else root) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        unread.append(rel)
        return
    for entry in entries:
        child = f"{rel}/{entry.name}" if rel else entry.name
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISDIR(mode):
            yield from _walk(root, child, unread)
        else:
            yield child, mode


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
