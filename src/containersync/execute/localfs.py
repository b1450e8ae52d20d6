"""Every local write containersync makes goes through here.

Invariants:
- Nothing is created, written or renamed outside the local root: every path is
  normalized (``normalize_relpath``) and its parent folders are opened one by one from the
  root with ``O_NOFOLLOW|O_DIRECTORY``, so a symlink (or a file) where a folder is expected
  raises ``UnsafePath`` instead of being followed.
- A file appears under its real name only complete and fsynced: content goes to
  ``.containersync-tmp-<random>`` in the same folder (``O_EXCL|O_NOFOLLOW``), is fsynced, then
  renamed to the target's name once that is free (never over a file saved there since the
  check: ``noreplace``), and the folder is fsynced (``write_atomically``), or, for a
  caller that lands many files, the folder and the parents of the folders it made are
  named to the caller, who fsyncs each of them once (``sync_folders``) before it relies on
  any of those files. On any failure the temporary file is removed and the target is
  untouched.
- OS failures become ``LocalError``; errors of our own tree raised by ``fill`` (say a
  ``TransientError`` while streaming a download) pass through unchanged.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat as st_mod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO, Literal, TypeVar

from containersync.errors import ContainerSyncError, LocalError, UnsafePath
from containersync.execute import noreplace
from containersync.model.entry import LocalFile
from containersync.model.paths import nfc_match, normalize_relpath
from containersync.scan.digest import sha256_fd
from containersync.scan.ignore import TEMP_PREFIX

T = TypeVar("T")
#: ``open_parent``'s report on a folder it makes: None (about to), its stat, or False
Made = Callable[[str, os.stat_result | Literal[False] | None], None]
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def open_parent(root: Path | str, rel: str, *, create: bool,
                made: Made | None = None) -> tuple[int, str]:
    """Open the folder holding ``rel`` without following links; return (fd, last name).

    ``create`` makes missing folders; ``made(folder, what)`` hears of each one it is about
    to make (relative path; ``what`` None) and then of the result: the folder's ``fstat``
    once this call made it, ``False`` when someone else's was there. Without ``create`` a
    missing folder raises ``FileNotFoundError``. A symlink or non-folder on the way raises
    ``UnsafePath``.
    """
    rel = normalize_relpath(rel)
    *dirs, name = rel.split("/")
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise LocalError(f"cannot open local root {os.fspath(root)!r}: {exc.strerror}") from exc
    walked = ""
    try:
        for part in dirs:
            walked = f"{walked}/{part}" if walked else part
            part = on_disk_name(fd, part)
            try:
                nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                # FileExistsError: made by someone else meanwhile; opened (checked) below
                if made is not None:
                    made(walked, None)  # about to make it: see ``made``
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                    ours = True
                except FileExistsError:
                    ours = False
                nfd = _open_dir_checked(fd, part, walked)
                if made is not None:
                    made(walked, os.fstat(nfd) if ours else False)
            except OSError as exc:
                nfd = _open_dir_checked(fd, part, walked, exc)
            os.close(fd)
            fd = nfd
        name = on_disk_name(fd, name)
    except BaseException:
        os.close(fd)
        raise
    return fd, name


def on_disk_name(dfd: int, name: str) -> str:
    """The entry of folder ``dfd`` that the NFC name ``name`` stands for: ``name`` itself,
    or a spelling stored in another normal form (the scanner reports a name stored
    decomposed, as some tools write them, under its NFC form). ``name`` when neither exists."""
    if name.isascii():
        return name
    try:
        os.stat(name, dir_fd=dfd, follow_symlinks=False)
        return name
    except OSError:
        pass
    try:
        entries = os.listdir(dfd)
    except OSError:
        return name
    return nfc_match(entries, name) or name


def disk_path(root: Path, rel: str) -> Path:
    """The path of ``rel`` as spelled on disk (see ``on_disk_name``), for readers that open
    by path, such as an upload."""
    if rel.isascii():
        return Path(root, rel)
    dfd, name = open_parent(root, rel, create=False)
    try:
        folder = os.readlink(f"/proc/self/fd/{dfd}") if os.path.isdir("/proc/self/fd") else None
    finally:
        os.close(dfd)
    if folder is None:
        return Path(root, rel)
    return Path(folder, name)


def _open_dir_checked(fd: int, part: str, walked: str, first: OSError | None = None) -> int:
    try:
        s = os.stat(part, dir_fd=fd, follow_symlinks=False)
    except OSError as exc:
        raise LocalError(f"cannot open folder {walked!r}: {exc.strerror}") from exc
    if st_mod.S_ISLNK(s.st_mode):
        raise UnsafePath(walked, "a parent folder is a symbolic link")
    if not st_mod.S_ISDIR(s.st_mode):
        raise UnsafePath(walked, "a parent folder is not a folder")
    try:
        return os.open(part, _DIR_FLAGS, dir_fd=fd)
    except OSError as exc:
        raise LocalError(f"cannot open folder {walked!r}: {exc.strerror}") from (first or exc)


def safe_parent(root: Path, rel: str) -> Path:
    """Create the missing parent folders of ``rel`` inside ``root``; return the parent."""
    fd, _ = open_parent(root, rel, create=True)
    os.close(fd)
    head = normalize_relpath(rel).rpartition("/")[0]
    return Path(root, head) if head else Path(root)


class NotAsExpected(LocalError):
    """What ``write_atomically`` found at its target is not what ``expect`` accepts;
    ``fetched``: whether ``fill`` had run (the content was fetched for nothing)."""

    def __init__(self, rel: str, *, fetched: bool) -> None:
        when = "while it was written" if fetched else "before it was written"
        super().__init__(f"{rel!r} changed {when}; kept it")
        self.fetched = fetched


def write_atomically(root: Path, rel: str, fill: Callable[[BinaryIO], T], *,
                     expect: Callable[[os.stat_result | None], bool] | None = None,
                     before_replace: Callable[[], None] | None = None,
                     on_landing: Callable[[os.stat_result], None] | None = None,
                     unsynced: Callable[[str], None] | None = None,
                     made: Made | None = None) -> T:
    """Write ``rel`` via a temporary file that ``fill`` writes; return what ``fill`` returns.

    Durability: the content is fsynced before the rename. The rename (and the folders made
    for it) is durable on return, unless ``unsynced`` is given: then, instead of fsyncing
    them here, it is called with each folder (relative, ``""`` for the root) whose entries
    changed, the parents of made folders included, and the caller fsyncs them
    (``sync_folders``) before it records ``rel`` as written. ``made``: see ``open_parent``.

    ``on_landing`` gets the temporary file's ``lstat`` once its content is durable and
    before anything happens at ``rel``: what ``rel`` will look like (a rename keeps inode,
    size and mtime), so a watcher knows our write before any of its events.

    ``expect(st)`` is asked of the target's ``lstat`` (None: nothing there) before ``fill``
    runs and again once the content is durable, both times through the folder handle the
    rename goes through (no second walk from the root); a refusal raises ``NotAsExpected``
    and leaves the target as it was. Folders are made only where ``expect(None)`` holds: a
    file expected at ``rel`` needs its folder, and one deleted since is not made again.
    ``before_replace`` runs after the second look, just before the rename: the place to
    move the old copy to the trash. If it raises, nothing is replaced. The rename never
    replaces: a file at ``rel`` then (one ``before_replace`` left, or one saved since)
    fails the write with ``LocalError``.
    """
    folders: list[str] = []  # whose entries this write changes, to fsync

    def on_made(folder: str, what: os.stat_result | Literal[False] | None) -> None:
        if what:
            folders.append(folder.rpartition("/")[0])
        if made is not None:
            made(folder, what)

    create = expect is None or expect(None)
    try:
        dfd, name = open_parent(root, rel, create=create, made=on_made)
    except FileNotFoundError:
        if create:
            raise
        raise NotAsExpected(rel, fetched=False) from None
    folders.append(normalize_relpath(rel).rpartition("/")[0])
    tmp = f"{TEMP_PREFIX}{secrets.token_hex(8)}"
    created = False
    try:
        target = _stat_at(dfd, name)
        if expect is not None and not expect(target):
            raise NotAsExpected(rel, fetched=False)
        if target is not None and st_mod.S_ISDIR(target.st_mode):
            raise LocalError(f"cannot write {rel!r}: a folder is in the way")
        fd = os.open(tmp, _NEW_FILE, 0o666, dir_fd=dfd)
        created = True
        with os.fdopen(fd, "wb") as out:
            if target is not None and st_mod.S_ISREG(target.st_mode):
                os.fchmod(out.fileno(), st_mod.S_IMODE(target.st_mode))
            result = fill(out)
            out.flush()
            os.fsync(out.fileno())
        if on_landing is not None:
            # RACE: ``before_replace`` may move the old copy away before the rename; an
            # event of that move seen while ``rel`` is absent does not match the landing
            # fingerprint and is reported: one needless rescan, never a swallowed edit
            on_landing(os.stat(tmp, dir_fd=dfd, follow_symlinks=False))
        if expect is not None and not expect(_stat_at(dfd, name)):
            raise NotAsExpected(rel, fetched=True)
        if before_replace is not None:
            before_replace()
        # the name is free now (checked, or its old copy trashed): a file saved there since
        # fails the rename instead of being written over
        try:
            noreplace.rename_noreplace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except FileExistsError:
            raise LocalError(f"{rel!r} was saved while it was downloaded; kept it") from None
        created = False
        if unsynced is None:
            os.fsync(dfd)
            sync_folders(root, folders[:-1])
        else:
            for folder in folders:
                unsynced(folder)
        return result
    except ContainerSyncError:
        raise
    except OSError as exc:
        raise LocalError(f"cannot write {rel!r}: {exc.strerror or exc}") from exc
    except Exception as exc:
        raise LocalError(f"cannot write {rel!r}: {exc}") from exc
    finally:
        if created:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dfd)
        os.close(dfd)


def sync_folders(root: Path | str, folders: Iterable[str]) -> None:
    """fsync each folder (relative, ``""`` the root) once, so the renames and creations
    in it are durable; opened without following links. Raises ``LocalError``."""
    for folder in dict.fromkeys(folders):
        try:
            if folder:
                pfd, name = open_parent(root, folder, create=False)
                try:
                    fd = os.open(name, _DIR_FLAGS, dir_fd=pfd)
                finally:
                    os.close(pfd)
            else:
                fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise LocalError(f"cannot open folder {folder!r} to sync it: "
                             f"{exc.strerror or exc}") from exc
        try:
            os.fsync(fd)
        except OSError as exc:
            raise LocalError(f"cannot sync folder {folder!r}: {exc.strerror or exc}") from exc
        finally:
            os.close(fd)


def open_to_read(root: Path, rel: str) -> int:
    """A descriptor of the regular file at ``rel``, opened without following a link at
    any step (an upload reads what the scan described, never what a link put in its place
    since; its folders too). Raises ``LocalError``."""
    try:
        dfd, name = open_parent(root, rel, create=False)
    except (OSError, UnsafePath) as exc:
        raise LocalError(f"cannot read {rel!r}: {exc}") from exc
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                     dir_fd=dfd)
    except OSError as exc:
        raise LocalError(f"cannot read {rel!r}: {exc.strerror}") from exc
    finally:
        os.close(dfd)
    if not st_mod.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LocalError(f"cannot read {rel!r}: not a regular file")
    return fd


def _stat_at(dfd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _lstat(root: Path | str, rel: str) -> os.stat_result | None:
    try:
        dfd, name = open_parent(root, rel, create=False)
    except FileNotFoundError:
        return None
    try:
        return _stat_at(dfd, name)
    finally:
        os.close(dfd)


def stat_matches(s: os.stat_result | None, expect: LocalFile | None) -> bool:
    """Whether ``s`` (an lstat, None: nothing there) is what a plan expected: ``None``
    means nothing may be there; otherwise a regular file with the same size and mtime_ns."""
    if expect is None:
        return s is None
    return (s is not None and st_mod.S_ISREG(s.st_mode)
            and (s.st_size, s.st_mtime_ns) == (expect.size, expect.mtime_ns))


def matches(root: Path, rel: str, expect: LocalFile | None, *, check_hash: bool = False) -> bool:
    """True if ``rel`` is still what a plan expected (``stat_matches``, and the sha256 too
    if asked)."""
    if not stat_matches(_lstat(root, rel), expect):
        return False
    return expect is None or not check_hash or stat_local(root, rel).sha256 == expect.sha256


def stat_local(root: Path, rel: str, sha256: str | None = None) -> LocalFile:
    """Describe the regular file at ``rel`` now; ``sha256`` is what the caller wrote there
    (``HashingWriter.hexdigest()``), else the file is read and hashed."""
    rel = normalize_relpath(rel)
    dfd, name = open_parent(root, rel, create=False)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                     dir_fd=dfd)
    except OSError as exc:
        raise LocalError(f"cannot read {rel!r}: {exc.strerror}") from exc
    finally:
        os.close(dfd)
    try:
        s = os.fstat(fd)
        if not st_mod.S_ISREG(s.st_mode):
            raise LocalError(f"{rel!r} is not a regular file")
        if sha256 is None:
            sha256, count = sha256_fd(fd)
            after = os.fstat(fd)
            if count != after.st_size or after.st_mtime_ns != s.st_mtime_ns:
                raise LocalError(f"{rel!r} changed while it was read")
        return LocalFile(rel, s.st_size, s.st_mtime_ns, sha256)
    finally:
        os.close(fd)
