"""File bytes of the local backend: one immutable blob file per file id.

Invariants:
- A blob appears only complete: bytes go to a temp file in the same directory tree, are
  fsynced, then renamed to ``blobs/<id>``. A reader never sees a partial blob.
- Blobs are never modified after the rename; copying one (``file_ids``, ``file_id``)
  hard-links when it can, which is safe because of that.
- Removing a missing blob is not an error (another process may have won the race).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._blobs = root / "blobs"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._blobs.mkdir(parents=True, exist_ok=True)

    def path(self, blob_id: str) -> Path:
        return self._blobs / blob_id

    def write_stream(self, blob_id: str, stream: BinaryIO) -> int:
        """Copy ``stream`` (from its current position) into a new blob; returns its size."""
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix=blob_id + ".")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
                size = out.tell()
            os.replace(tmp_name, self.path(blob_id))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        self._fsync_dir()
        return size

    def write_file(self, blob_id: str, source: Path) -> int:
        with open(source, "rb") as stream:
            return self.write_stream(blob_id, stream)

    def copy(self, source_id: str, blob_id: str) -> int:
        """A new blob with the bytes of ``source_id``."""
        src = self.path(source_id)
        try:
            os.link(src, self.path(blob_id))
        except OSError:
            return self.write_file(blob_id, src)
        return src.stat().st_size

    def remove(self, blob_ids: list[str]) -> None:
        for blob_id in blob_ids:
            with contextlib.suppress(FileNotFoundError):
                self.path(blob_id).unlink()

    def _fsync_dir(self) -> None:
        fd = os.open(self._blobs, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
