"""While a slow transfer holds every slot, the executor keeps calling ``while_waiting``: the
daemon's watchdog heartbeat must not stop during a long upload. The slowness is real: the
local backend delays every request (latency injection)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from containersync.api.client import ContainersClient
from containersync.api.pacing import Pacer
from containersync.api.wire import ContainerSpec
from containersync.execute.executor import Executor, Target
from containersync.execute.trash import Trash
from containersync.model.entry import LocalFile
from containersync.model.plan import Upload
from containersync.scan.digest import sha256_file
from support.executing import Collect


def test_while_waiting_runs_during_a_slow_upload(
        tmp_path: Path, local_server_factory: Callable[..., object]) -> None:
    server = local_server_factory(latency_ms=800)
    root = tmp_path / "root"
    root.mkdir()
    (root / "big.bin").write_bytes(b"x" * 1000)
    st = (root / "big.bin").stat()
    local = LocalFile("big.bin", st.st_size, st.st_mtime_ns, sha256_file(root / "big.bin"))
    with ContainersClient.connect(server.base_url, None, max_retries=0) as client:  # type: ignore[attr-defined]
        cid = client.create_container(ContainerSpec(name="slow")).id
        executor = Executor(Target("m", root, cid, "/mnt/data", True), client,
                            Trash(tmp_path / "trash", 1),
                            now=lambda: datetime.now(UTC), pacer=Pacer(1, start=1), wait_tick=0.1)
        beats: list[int] = []
        collect = Collect()
        executor.run([Upload("big.bin", local)], step=collect,
                     while_waiting=lambda: beats.append(1))
    assert [o.kind for o in collect.outcomes] == ["uploaded"]
    assert len(beats) >= 3  # ~0.8 s of waiting, a beat every 0.1 s
