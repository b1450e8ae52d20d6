"""Rename a file to a name that must be free: never over a file someone made meanwhile.

``os.replace`` replaces whatever is at the destination. Our local writes land a file at a
name that was just checked to be free (a new download), or just emptied (the old copy moved
to the trash), or that nothing should hold (a conflict copy); a file the user saves there
between the check and the rename must fail the rename, not be written over.

``rename_noreplace`` raises ``FileExistsError`` when the destination exists, atomically:
``renameat2(RENAME_NOREPLACE)`` on Linux (glibc 2.28+, most local filesystems); where that
is missing or refused, a hard link to the new name (which fails on an existing name, on
NFS too) and an unlink of the old; where hard links are refused too (FAT, some FUSE), a
check and a plain rename.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Callable

RENAME_NOREPLACE = 1
_AT_FDCWD = -100
#: errors that say "this system or filesystem cannot do that", not "the name is taken"
_UNSUPPORTED = frozenset({errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP})


def _renameat2() -> Callable[..., int] | None:
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _renameat2()


def rename_noreplace(src: str | os.PathLike[str], dst: str | os.PathLike[str], *,
                     src_dir_fd: int | None = None, dst_dir_fd: int | None = None) -> None:
    """Rename ``src`` (relative to folder ``src_dir_fd``, if given) to ``dst`` (relative
    to ``dst_dir_fd``); raises ``FileExistsError`` if ``dst`` exists, leaving both as
    they were."""
    old, new = os.fsencode(src), os.fsencode(dst)
    if b"\0" in old or b"\0" in new:
        # as os.rename: ctypes would pass the name up to its NUL (another file's name)
        raise ValueError("rename_noreplace: embedded null byte")
    if _RENAMEAT2 is not None:
        if _RENAMEAT2(_AT_FDCWD if src_dir_fd is None else src_dir_fd, old,
                      _AT_FDCWD if dst_dir_fd is None else dst_dir_fd, new,
                      RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in _UNSUPPORTED:
            raise OSError(code, os.strerror(code), os.fsdecode(dst))
    try:
        os.link(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED | {errno.EPERM}:
            raise
    else:
        os.unlink(src, dir_fd=src_dir_fd)
        return
    # RACE: no atomic way on this filesystem: a file made at ``dst`` between this check and
    # the rename is replaced (the window is one system call wide)
    try:
        os.stat(dst, dir_fd=dst_dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        os.rename(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
        return
    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fsdecode(dst))
