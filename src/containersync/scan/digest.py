"""Content digests: streaming sha256 of files and of bytes as they are written.

Invariants: files are read in fixed-size chunks (never whole into memory) and, unless
asked, without following symlinks; a ``HashingWriter``'s digest and size describe exactly
the bytes that reached the underlying file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


def sha256_fd(fd: int, *, chunk: int = CHUNK, buffer: bytearray | None = None
              ) -> tuple[str, int]:
    """Hash an open file descriptor from its current position to the end.

    Returns the hex digest and the number of bytes read. Pass a reusable ``buffer`` when
    hashing many files (it sets the chunk size).
    """
    h = hashlib.sha256()
    buf = bytearray(chunk) if buffer is None else buffer
    view = memoryview(buf)
    total = 0
    while True:
        n = os.readv(fd, [buf])
        if not n:
            return h.hexdigest(), total
        h.update(view[:n])
        total += n


def sha256_file(path: Path | str, *, chunk: int = CHUNK, follow_symlinks: bool = False) -> str:
    """The hex sha256 of the file at ``path``; a symlink raises ``OSError`` (ELOOP) unless
    ``follow_symlinks``."""
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    fd = os.open(path, flags)
    try:
        return sha256_fd(fd, chunk=chunk)[0]
    finally:
        os.close(fd)


class HashingWriter:
    """Wraps a binary file: everything written goes through sha256 and a byte count.

    Use it inside ``write_atomically``'s ``fill`` for downloads, then record
    ``hexdigest()`` and ``size`` as what is now on disk.
    """

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Write all of ``data`` (``out`` must be buffered: it writes everything or raises)."""
        self._out.write(data)
        self._hash.update(data)
        n = memoryview(data).nbytes
        self.size += n
        return n

    def write_all(self, chunks: Iterable[bytes]) -> None:
        """Write every chunk of an iterable of bytes (e.g. ``response.iter_bytes()``)."""
        for piece in chunks:
            self.write(piece)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
