"""containersync: keep local folders mirrored with OpenAI Containers.

The Python API (``docs/python-api.md``)::

    import containersync
    report = containersync.sync("./work")          # one sync, no config file
    with containersync.Mirror("./work") as m:      # kept in sync in the background
        ... m.container_id ...; m.sync()

The names below load on first use, so ``import containersync`` (and the command line's
``--version``) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from containersync.mirror import Mirror, sync
    from containersync.report import SyncCounts, SyncProblem, SyncReport

_LAZY = {"sync": "containersync.mirror", "Mirror": "containersync.mirror",
         "SyncReport": "containersync.report", "SyncCounts": "containersync.report",
         "SyncProblem": "containersync.report"}

__all__ = ["Mirror", "SyncCounts", "SyncProblem", "SyncReport", "__version__", "sync"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'containersync' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
