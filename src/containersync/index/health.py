"""The index file as a file: private modes, a corrupt copy moved aside, and every failure
of the state dir turned into one line that names the file and says what to do.

Invariants:
- The state dir is 0700 and the index (with its ``-wal``/``-shm``) and lock files 0600,
  whatever the umask: they describe the user's files and containers. A state dir left
  more open by an older version is tightened when opened (unless it is not the user's or
  is a shared sticky folder such as /tmp).
- A corrupt index is never deleted: it is renamed to ``index.sqlite3.corrupt-<UTC stamp>``
  (its ``-wal``/``-shm`` beside it), so a fresh one can be rebuilt from the containers and
  the old one can still be inspected.
- Exit codes: a state dir or index that cannot be used as configured is a ``ConfigError``
  (78); a full disk is a ``LocalError`` (1: a retry after freeing space fixes it).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

from containersync.errors import ConfigError, ContainerSyncError, LocalError

DIR_MODE = 0o700
FILE_MODE = 0o600
SIDE_FILES = ("-wal", "-shm")


def prepare_dir(folder: Path) -> None:
    """Create ``folder`` (and parents) 0700, or tighten it; refuse a file in its place."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        st = folder.stat()
        mode = stat.S_IMODE(st.st_mode)
        # never tighten a shared folder someone pointed the state dir at (/tmp: sticky)
        if mode & 0o077 and st.st_uid == os.geteuid() and not mode & stat.S_ISVTX:
            os.chmod(folder, mode & ~0o077 | 0o700)
    except (FileExistsError, NotADirectoryError):
        raise ConfigError("is not a folder (the state dir, or a folder above it, is a file)",
                          file=str(folder), fix="move that file away, or set [state] dir "
                          "to a folder") from None
    except OSError as exc:
        raise os_error(exc, folder) from None


def prepare_file(path: Path) -> None:
    """Create ``path`` 0600 if missing (SQLite gives ``-wal``/``-shm`` the database's mode),
    and tighten an existing one.

    An existing file is never opened here, only looked at and chmod-ed by path: closing any
    descriptor of a file drops every POSIX lock this process holds on it, SQLite's own
    included, so opening one connection beside another would drop the other's shared lock,
    and a second process (``status``) closing its connection could then delete the WAL the
    first still appends to, losing its commits (``test_index_concurrency``)."""
    try:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        if st is None:
            # a new file: no connection of this process can hold a lock on it yet
            # RACE: another thread may make it meanwhile (FileExistsError); it is ours
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                                 FILE_MODE))
            st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        if not os.access(path, os.R_OK | os.W_OK):
            raise PermissionError(errno.EACCES, "not readable and writable", str(path))
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(path, FILE_MODE)
    except IsADirectoryError:
        raise ConfigError("is a folder, not an index file", file=str(path),
                          fix="move it away; containersync creates the index") from None
    except PermissionError:
        raise ConfigError("cannot be opened for writing", file=str(path),
                          fix="make it writable (chmod u+w) or set [state] dir to a "
                              "folder you own") from None
    except OSError as exc:
        raise os_error(exc, path) from None
    for suffix in SIDE_FILES:
        with contextlib.suppress(FileNotFoundError):
            side = Path(f"{path}{suffix}")
            if stat.S_IMODE(side.stat().st_mode) & 0o077:
                os.chmod(side, FILE_MODE)


def is_corrupt(exc: sqlite3.Error) -> bool:
    """Damage to the file itself (not a lock, a full disk or a permission)."""
    if isinstance(exc, sqlite3.OperationalError):
        return False
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(
        exc, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError)


def move_aside(path: Path, *, now: datetime | None = None) -> Path:
    """Rename a corrupt index (and its side files) to ``<name>.corrupt-<UTC stamp>``."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        os.rename(path, aside)
        for suffix in SIDE_FILES:
            with contextlib.suppress(FileNotFoundError):
                os.rename(f"{path}{suffix}", f"{aside}{suffix}")
    except OSError as exc:
        raise os_error(exc, path) from None
    return aside


def sqlite_error(exc: sqlite3.Error, path: Path) -> ContainerSyncError:
    """The error to report for ``exc`` raised while using the index at ``path``."""
    text = str(exc)
    low = text.lower()
    if "full" in low:
        return LocalError(f"{path}: the disk holding the index is full ({text}); free some "
                          "space and run again")
    if "readonly" in low or "read-only" in low:
        return ConfigError("is read-only", file=str(path),
                           fix="make it and its folder writable (chmod u+w), or set "
                               "[state] dir to a folder you own")
    if "unable to open" in low or "disk i/o" in low:
        return ConfigError(f"cannot be opened ({text})", file=str(path),
                           fix="check that its folder exists and is writable")
    if is_corrupt(exc):
        return ConfigError(f"is damaged ({text})", file=str(path),
                           fix="run again: containersync moves it aside and rebuilds it "
                               "from the containers")
    return LocalError(f"{path}: the index cannot be used right now ({text}); run again")


def os_error(exc: OSError, path: Path) -> ContainerSyncError:
    """The error to report for an ``OSError`` on a state file or folder."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return LocalError(f"{path}: no space left ({exc.strerror}); free some space and run "
                          "again")
    if isinstance(exc, PermissionError) or exc.errno in (errno.EROFS, errno.EACCES):
        return ConfigError(f"cannot be written ({exc.strerror})", file=str(path),
                           fix="make it writable, or set [state] dir to a folder you own")
    return LocalError(f"{path}: {exc.strerror or exc}; run again")
