"""The real executor, run without an index: for tests of ``execute`` that look at what it
did to files and the container, not at what the index recorded.

- ``Sandbox``/``sandbox``: a local root and a fresh container on a real backend, over HTTP.
- ``executor``: an ``Executor`` on a sandbox (mapping ``m``, remote root ``/mnt/data``).
- ``Collect``: a ``Step`` that writes no intents and keeps what finished, batch by batch
  (the daemon's step, ``engine.apply``, records the same outcomes in the index).
- ``put_remote``/``stat_local``: a remote object and a local file as a plan describes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from containersync.api.client import ContainersClient
from containersync.api.wire import ContainerSpec
from containersync.execute.executor import Executor, Finished, Target
from containersync.execute.outcome import Outcome
from containersync.execute.trash import Trash
from containersync.localapi.embedded import RunningServer
from containersync.model.entry import LocalFile, RemoteFile
from containersync.model.plan import Action
from containersync.scan.digest import sha256_file


@dataclass(frozen=True)
class Sandbox:
    root: Path  # the local root (empty at first)
    client: ContainersClient
    cid: str  # the container


@contextmanager
def sandbox(server: RunningServer, tmp: Path, name: str) -> Iterator[Sandbox]:
    """``tmp / "root"`` and a container ``name`` on ``server`` (no retries: errors surface)."""
    root = tmp / "root"
    root.mkdir()
    with ContainersClient.connect(server.base_url, None, max_retries=0) as client:
        yield Sandbox(root, client, client.create_container(ContainerSpec(name=name)).id)


def executor(box: Sandbox, tmp: Path, **kwargs: Any) -> Executor:
    """The executor of mapping ``m`` on ``box``; its trash under ``tmp / "trash"``."""
    return Executor(Target("m", box.root, box.cid, "/mnt/data", True), box.client,
                    Trash(tmp / "trash", 1), now=lambda: datetime.now(UTC), **kwargs)


class Collect:
    """A ``Step`` with no index: nothing starts with an intent; each batch of finished
    outcomes (durable by then) is kept, then handed to ``on_batch``."""

    def __init__(self, on_batch: Callable[[Sequence[Finished]], None] = lambda _b: None
                 ) -> None:
        self.finished: list[Finished] = []
        self._on_batch = on_batch

    def __call__(self, finished: Sequence[Finished], starting: Sequence[Action],
                 _dropped: Sequence[int]) -> list[int | None]:
        if finished:
            self.finished.extend(finished)
            self._on_batch(finished)
        return [None] * len(starting)

    @property
    def outcomes(self) -> list[Outcome]:
        """Every outcome so far, in the order they were recorded."""
        return [o for o, _ in self.finished]


def put_remote(box: Sandbox, tmp: Path, rel: str, data: bytes) -> RemoteFile:
    """``data`` uploaded to ``/mnt/data/<rel>``, described as a listing of the sandbox's
    files does (written by the assistant)."""
    src = tmp / "src" / rel
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(data)
    made = box.client.upload_file(box.cid, src, remote_path=f"/mnt/data/{rel}")
    return RemoteFile(made.id, rel, made.path, made.created_at, "assistant", len(data))


def stat_local(root: Path, rel: str) -> LocalFile:
    """``rel`` under ``root`` as the scanner describes it (stat and digest)."""
    st = (root / rel).lstat()
    return LocalFile(rel, st.st_size, st.st_mtime_ns, sha256_file(root / rel))
