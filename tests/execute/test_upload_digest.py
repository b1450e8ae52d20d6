"""An upload's digest is the one of the bytes it sent, read once from disk.

The executor's ``on_bytes`` hook runs on the transfer thread after each chunk is read for
sending: the tests edit the file there, i.e. while it is being uploaded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from containersync.api.client import ContainersClient
from containersync.api.wire import ContainerSpec
from containersync.execute.executor import Executor, Target
from containersync.execute.outcome import Outcome
from containersync.execute.trash import Trash
from containersync.model.entry import LocalFile
from containersync.model.plan import Upload
from containersync.scan.digest import sha256_file
from support.executing import Collect

SIZE = 3 * 1024 * 1024  # many chunks: httpx reads an upload 64 KiB at a time


def _run(tmp_path: Path, server: object, on_bytes: Callable[[int], None],
         ) -> tuple[Outcome, str, LocalFile, bytes]:
    root = tmp_path / "root"
    root.mkdir()
    path = root / "big.bin"
    path.write_bytes(os.urandom(SIZE))
    st = path.stat()
    local = LocalFile("big.bin", st.st_size, st.st_mtime_ns, sha256_file(path))
    with ContainersClient.connect(server.base_url, None, max_retries=0) as client:  # type: ignore[attr-defined]
        cid = client.create_container(ContainerSpec(name="digest")).id
        executor = Executor(Target("m", root, cid, "/mnt/data", True), client,
                            Trash(tmp_path / "trash", 1),
                            now=lambda: datetime.now(UTC), on_bytes=on_bytes)
        collect = Collect()
        executor.run([Upload("big.bin", local)], step=collect)
        [outcome] = collect.outcomes
        assert outcome.new_remote is not None
        remote = client.file_sha256(cid, outcome.new_remote.file_id)
    return outcome, remote, local, path.read_bytes()


def test_an_upload_reads_the_file_once_and_records_the_digest_of_what_it_sent(
        tmp_path: Path, local_server: object) -> None:
    read: list[int] = []
    outcome, remote, local, _ = _run(tmp_path, local_server, read.append)
    assert sum(read) == SIZE  # every byte read once, for sending and hashing together
    assert outcome.kind == "uploaded" and outcome.problem is None
    assert outcome.base is not None and outcome.base.sha256 == remote == local.sha256
    assert outcome.digest == (outcome.new_remote.file_id, remote)  # type: ignore[union-attr]


def test_a_file_changed_during_its_upload_is_not_recorded_with_the_planned_digest(
        tmp_path: Path, local_server: object) -> None:
    """Edited after its first chunk was sent: the remote object holds the old start and
    the new end. The base must say what the object holds (so the next run uploads again),
    and nothing may claim the planned digest for it."""
    edited: list[bool] = []

    def edit(_n: int) -> None:
        if not edited:
            edited.append(True)
            with open(tmp_path / "root" / "big.bin", "r+b") as fh:
                fh.write(b"\x00" * 4096)  # already sent: the object keeps the old start
                fh.seek(SIZE - 4096)
                fh.write(b"\x00" * 4096)  # not yet sent: the object gets the new end

    outcome, remote, local, now = _run(tmp_path, local_server, edit)
    assert remote != local.sha256  # the object really is a mix
    assert outcome.base is not None and outcome.base.sha256 == remote
    assert outcome.base.mtime_ns != os.stat(tmp_path / "root" / "big.bin").st_mtime_ns
    assert outcome.digest is None  # nothing cached as the file's digest
    assert outcome.problem is not None and outcome.problem.kind == "changed-while-uploading"
    assert hashlib.sha256(now).hexdigest() != remote  # nor is it the file as it is now
