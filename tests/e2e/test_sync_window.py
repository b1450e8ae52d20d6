"""The adaptive transfer window against a real backend: the configured ``concurrency`` is a
hard bound the server never sees exceeded, a 429 with ``Retry-After`` slows everyone down,
and the push still completes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

from containersync.api.client import ContainersClient
from containersync.api.wire import ContainerSpec
from containersync.execute.executor import Executor, Target
from containersync.execute.outcome import Outcome
from containersync.execute.trash import Trash
from containersync.localapi.embedded import RunningServer
from containersync.model.entry import LocalFile
from containersync.model.plan import Upload
from containersync.scan.digest import sha256_file
from support.backend import add_assistant_file, inject_fault, raw
from support.executing import Collect
from support.scenario import World, counts

BOUND = 4


def _inflight(server: RunningServer) -> dict[str, int]:
    with raw(server, api_key=None) as client:
        body: dict[str, int] = client.get("/_local/inflight").json()
        return body


def _bounded(world: World, concurrency: int) -> None:
    """At most ``concurrency`` in flight; retries enough that 12 injected 429s spread over
    the first requests cannot exhaust one of them (each needs 11 in a row)."""
    text = world.config.read_text(encoding="utf-8")
    world.config.write_text(
        text.replace("[api]\n", f"[api]\nconcurrency = {concurrency}\nmax_retries = 10\n", 1),
        encoding="utf-8")


def test_a_push_through_429s_completes_and_never_exceeds_the_bound(
        local_server_factory, tmp_path: Path) -> None:
    server = local_server_factory(latency_ms=20)  # slow enough that transfers overlap
    world = World(server, tmp_path)
    _bounded(world, BOUND)
    world.write({f"d{i % 3}/f{i:03d}.txt": f"file {i}\n" for i in range(60)})
    inject_fault(server, method="POST", path_regex=r"/files$", status=429, times=12,
                 retry_after_ms=30)
    result = world.sync()
    assert result.code == 0, result.err
    assert result.counts == counts(uploaded=60)
    assert world.remote() == world.local()
    seen = _inflight(server)
    assert seen["now"] == 0
    assert 2 <= seen["peak"] <= BOUND, seen  # concurrent, and never over the bound


def test_a_429_shrinks_the_window_of_every_thread_and_its_wait_holds_the_others(
        local_server: RunningServer) -> None:
    """One thread's 429 halves the client's window (every executor on it reads the same
    one) and its ``Retry-After`` delays the next request of any other thread."""
    slept: list[float] = []
    http = httpx.Client(base_url=local_server.base_url + "/", timeout=10)
    with ContainersClient(http, sleep=slept.append, concurrency=16) as client:
        pacer = client.pacer
        assert pacer.limit == 8
        inject_fault(local_server, method="GET", path_regex=r"^/v1/containers$", status=429,
                     times=1, retry_after_ms=400)
        list(client.list_containers())  # retried once, after the server's wait
        assert pacer.pushbacks == 1 and pacer.limit == 4
        assert slept == [0.4]
        with ThreadPoolExecutor(1) as other:  # another thread's next request
            other.submit(lambda: list(client.list_containers())).result()
        # the second request waited what was left of the server's 0.4 s (no time passed:
        # the injected sleep does not sleep), not a full backoff of its own
        assert len(slept) == 2 and 0.0 < slept[1] <= 0.4, slept


def test_downloads_share_the_window_and_its_bound(local_server_factory, tmp_path: Path) -> None:
    server = local_server_factory(latency_ms=20)
    world = World(server, tmp_path)
    _bounded(world, BOUND)
    assert world.sync().code == 0  # the container
    for i in range(40):
        add_assistant_file(server, world.cid, f"/mnt/data/out/r{i:02d}.txt", f"r{i}\n".encode(),
                           record_bytes=True)
    with raw(server, api_key=None) as client:
        client.delete("/_local/inflight").raise_for_status()
    result = world.sync()
    assert (result.code, result.counts) == (0, counts(downloaded=40)), result.err
    assert 2 <= _inflight(server)["peak"] <= BOUND


def test_executors_sharing_a_client_share_its_bound(local_server_factory, tmp_path: Path,
                                                    ) -> None:
    """Two mappings' executors on one client at once: together never more in flight than
    the client's bound (counted by the server)."""
    server = local_server_factory(latency_ms=20)
    http = httpx.Client(base_url=server.base_url + "/", timeout=10,
                        limits=httpx.Limits(max_connections=BOUND))
    with ContainersClient(http, concurrency=BOUND) as client:
        cid = client.create_container(ContainerSpec(name="shared")).id

        def push(name: str) -> list[Outcome]:
            root = tmp_path / name
            root.mkdir()
            actions = []
            for i in range(30):
                f = root / f"{name}{i:02d}.txt"
                f.write_text(f"{name} {i}\n")
                st = f.stat()
                actions.append(Upload(f.name, LocalFile(f.name, st.st_size, st.st_mtime_ns,
                                                        sha256_file(f))))
            executor = Executor(Target(name, root, cid, f"/mnt/data/{name}", True), client,
                                Trash(tmp_path / f"trash-{name}", 1),
                                now=lambda: datetime.now(UTC))
            collect = Collect()
            executor.run(actions, step=collect)
            return collect.outcomes

        with ThreadPoolExecutor(2) as mappings:
            results = [f.result() for f in [mappings.submit(push, n) for n in ("a", "b")]]
    assert all(o.kind == "uploaded" for got in results for o in got)
    assert sum(len(got) for got in results) == 60
    seen = _inflight(server)
    assert 2 <= seen["peak"] <= BOUND, seen
    assert client.pacer.peak <= BOUND
