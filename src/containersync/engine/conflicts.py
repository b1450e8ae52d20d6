"""Forget conflict copies the user deleted (SYNC_SEMANTICS "Output": ``status`` shows the
copies that still exist).

A conflict row names a copy saved beside its path. Once the copy is gone (the user looked
at it and threw it away, or moved it out), the row is noise: ``status`` already hides it
(it checks each copy when it reads, and never writes), and a finished full cycle, which
holds the mapping's lock, forgets the row here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from containersync.errors import ContainerSyncError
from containersync.execute.localfs import open_parent

if TYPE_CHECKING:  # ``status`` imports this module: keep it light
    from containersync.engine.context import MappingContext


def copy_exists(root: str, copy_path: str) -> bool:
    """Whether the conflict copy ``copy_path`` (relative) is still in the folder, looked up
    without following links in its parents."""
    try:
        dfd, name = open_parent(root, copy_path, create=False)
    except (OSError, ContainerSyncError):  # a parent gone or replaced: not there
        return False
    try:
        os.stat(name, dir_fd=dfd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False
    except OSError:
        return True  # unreadable is not gone
    finally:
        os.close(dfd)


def forget_gone_copies(ctx: MappingContext) -> int:
    """Drop the rows of conflict copies no longer on disk; returns how many."""
    if not ctx.settings.local_root.is_dir():
        return 0  # an unmounted disk has not lost its copies
    root = str(ctx.settings.local_root)
    gone = [c.copy_path for c in ctx.index.conflicts(ctx.name)
            if not copy_exists(root, c.copy_path)]
    if gone:
        with ctx.index.write() as tx:
            for copy_path in gone:
                tx.remove_conflict(ctx.name, copy_path)
    return len(gone)
