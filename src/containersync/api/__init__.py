"""The HTTP boundary: typed wire models and the one client that talks to the Containers API."""

import sys

# The httpx package imports its command-line client (``httpx._main``: click and pygments,
# ~0.05 s) whenever click is installed; containersync never runs it. ``None`` in
# ``sys.modules`` makes just that import fail, so httpx binds its stub ``httpx.main``
# instead; the entry is removed again at once (a later ``import httpx._main`` works).
if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx  # noqa: F401
    finally:
        del sys.modules["httpx._main"]

from containersync.api.client import ContainersClient
from containersync.api.wire import (
    Container,
    ContainerFile,
    ContainerSpec,
    ExpiresAfter,
    FileObject,
    Page,
)

__all__ = [
    "Container",
    "ContainerFile",
    "ContainerSpec",
    "ContainersClient",
    "ExpiresAfter",
    "FileObject",
    "Page",
]
