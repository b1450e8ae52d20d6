"""The HTTP boundary: typed wire models and the one client that talks to the Containers API."""

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
