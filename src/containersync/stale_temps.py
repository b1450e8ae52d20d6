"""Sweep the temp files of writers killed between their ``mkstemp`` and their rename.

A file replaced atomically (temp file, then ``os.replace``) leaves its temp file behind when
the process dies in between; nothing else ever removes it. The writer's next start sweeps
its own folder with ``sweep``.

Invariant: only what such a writer makes is removed: a regular file (not a link, not a
folder) named ``prefix`` plus ``tempfile.mkstemp``'s eight random characters, owned by this
user, and older than ``older_than`` seconds (a younger one may be another process's write
in progress). Anything that cannot be looked at or removed stays.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path


def sweep(folder: Path, prefix: str, *, older_than: float, now: float) -> None:
    """Remove the stale temp files of ``prefix`` in ``folder`` (see the module doc)."""
    name = re.compile(re.escape(prefix) + r"[a-z0-9_]{8}")
    try:
        found = [n for n in os.listdir(folder) if name.fullmatch(n)]
    except OSError:
        return
    for entry in found:
        path = folder / entry
        with contextlib.suppress(OSError):
            st = path.lstat()
            if (stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid()
                    and now - st.st_mtime > older_than):
                # RACE: replaced by a link after the lstat, unlink removes the link itself
                os.unlink(path)
