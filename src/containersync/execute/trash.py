"""The trash: where every local file containersync deletes or overwrites is kept for a while.

Layout: ``<trash>/<mapping>/<UTC YYYYmmdd-HHMMSS.ffffff>[-n]/<rel>`` — one folder per move,
keeping the file's relative path, so a user can find and restore it by hand.

Invariants:
- Never follows symlinks: a symlink is moved (or re-created) as a link; parent folders in
  the local root are opened without following links (``localfs.open_parent``).
- A move given the file the caller checked (``expect``) is compared with it once moved: a
  file saved since the check goes back to its name (never over a newer save) and the move
  fails, so the trash never takes a save in place of the file the plan saw.
- A move is a rename when trash and root share a filesystem; otherwise the file is copied,
  fsynced, and only then unlinked from the root (never lost in between).
- The trash must not lie inside the local root (the scanner would sync it back).
- ``purge`` removes only move folders older than the retention and never follows links.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat as st_mod
from datetime import UTC, datetime, timedelta
from pathlib import Path

from containersync.errors import LocalError, UnsafePath
from containersync.execute.localfs import open_parent, stat_matches
from containersync.execute.noreplace import rename_noreplace
from containersync.model.entry import LocalFile
from containersync.model.paths import check_component, normalize_relpath

_STAMP = "%Y%m%d-%H%M%S.%f"
_STAMP_LEN = len("20261123-101500.123456")


class Trash:
    def __init__(self, dir: Path, retention_days: float) -> None:
        self.dir = Path(dir)
        self.retention = timedelta(days=retention_days)

    def _slot(self, mapping: str, now: datetime) -> Path:
        base = self.dir / check_component(mapping)
        stamp = now.astimezone(UTC).strftime(_STAMP)
        base.mkdir(parents=True, exist_ok=True)
        n = 1
        while True:
            slot = base / (stamp if n == 1 else f"{stamp}-{n}")
            try:
                slot.mkdir()
                return slot
            except FileExistsError:
                n += 1

    def move_in(self, root: Path, rel: str, mapping: str, now: datetime,
                expect: LocalFile | None = None) -> Path:
        """Move the file (or link) at ``rel`` out of ``root`` into the trash; return where.

        ``expect``: the file the caller checked (size, mtime_ns). What was moved is compared
        with it *after* the move, which no later save can race (a rename moves one inode):
        a file saved between the caller's check and the move goes back to ``rel`` and the
        move fails (``LocalError``), so a user's save never ends in the trash in its place.
        """
        rel = normalize_relpath(rel)
        real_root = os.path.realpath(root)
        real_trash = os.path.realpath(self.dir)
        if real_trash == real_root or real_trash.startswith(real_root + os.sep):
            raise UnsafePath(str(self.dir), "the trash must not be inside the local root")
        dfd, name = open_parent(root, rel, create=False)
        try:
            s = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            slot = self._slot(mapping, now)
            dest = slot / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(name, dest, src_dir_fd=dfd)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                _copy_out(dfd, name, s, dest)
                # RACE: across filesystems a save between this look and the unlink is lost
                # from the root (its copy in the trash is the one made before it)
                _check_moved(os.stat(name, dir_fd=dfd, follow_symlinks=False), expect, rel, dest)
                os.unlink(name, dir_fd=dfd)
            else:
                moved = os.stat(dest, follow_symlinks=False)
                if not _same(moved, expect):
                    _put_back(dest, dfd, name, rel)
            os.fsync(dfd)
            return dest
        except FileNotFoundError as exc:
            raise LocalError(f"cannot move {rel!r} to the trash: it is gone") from exc
        except OSError as exc:
            raise LocalError(f"cannot move {rel!r} to the trash: {exc.strerror}") from exc
        finally:
            os.close(dfd)

    def purge(self, now: datetime, mapping: str | None = None) -> int:
        """Remove move folders older than the retention (of every mapping, or only of
        ``mapping``: the daemon's worker purges its own); return how many were removed."""
        cutoff = now.astimezone(UTC) - self.retention
        removed = 0
        if not self.dir.is_dir():
            return 0
        only = check_component(mapping) if mapping is not None else None
        for folder in os.scandir(self.dir):
            if not folder.is_dir(follow_symlinks=False) or only not in (None, folder.name):
                continue
            for slot in os.scandir(folder.path):
                try:
                    when = datetime.strptime(slot.name[:_STAMP_LEN], _STAMP)
                except ValueError:
                    continue  # not ours: leave it
                if when.replace(tzinfo=UTC) < cutoff:
                    if slot.is_dir(follow_symlinks=False):
                        shutil.rmtree(slot.path)
                    else:
                        os.unlink(slot.path)
                    removed += 1
        return removed


def _same(st: os.stat_result, expect: LocalFile | None) -> bool:
    """What was moved is the file the caller checked (None: nothing was checked)."""
    return expect is None or stat_matches(st, expect)


def _check_moved(st: os.stat_result, expect: LocalFile | None, rel: str, dest: Path) -> None:
    if not _same(st, expect):
        raise LocalError(f"{rel!r} changed just before it was moved to the trash; kept it "
                         f"(a copy of the earlier version is at {str(dest)!r})")


def _put_back(dest: Path, dfd: int, name: str, rel: str) -> None:
    """Return a file that changed since the caller's check to its name (never over a file
    saved there since), and fail the move."""
    try:
        rename_noreplace(dest, name, dst_dir_fd=dfd)
    except FileExistsError:
        raise LocalError(f"{rel!r} changed while it was moved to the trash and was saved "
                         f"again since; the changed version is at {str(dest)!r}") from None
    with contextlib.suppress(OSError):
        dest.parent.rmdir()  # the move's own slot, empty again (a nested path keeps it)
    raise LocalError(f"{rel!r} changed just before it was moved to the trash; kept it")


def _copy_out(dfd: int, name: str, s: os.stat_result, dest: Path) -> None:
    """Copy one entry across filesystems, durably, without following links."""
    if st_mod.S_ISLNK(s.st_mode):
        os.symlink(os.readlink(name, dir_fd=dfd), dest)
        return
    if not st_mod.S_ISREG(s.st_mode):
        raise LocalError(f"cannot move {name!r} to the trash across filesystems: not a file")
    src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dfd)
    try:
        with open(dest, "xb") as out:
            while chunk := os.read(src, 1024 * 1024):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    finally:
        os.close(src)
    os.utime(dest, ns=(s.st_atime_ns, s.st_mtime_ns))
    os.chmod(dest, st_mod.S_IMODE(s.st_mode))
    dirfd = os.open(dest.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)
