"""Large transfers stream, many threads share one pool, and the API key never leaks.

All against the real local backend over loopback HTTP.
"""

from __future__ import annotations

import hashlib
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from containersync.api import ContainersClient, ContainerSpec
from containersync.errors import AuthError, LocalError
from containersync.localapi.embedded import start_server

MiB = 1024 * 1024


class HashingSink:
    """A destination that hashes what it is given and keeps none of it (like a disk)."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def truncate(self, size: int | None = None) -> int:
        self.digest, self.size = hashlib.sha256(), 0
        return 0


@pytest.mark.slow
def test_256_mib_round_trip_streams(local: Any, local_client: ContainersClient,
                                    tmp_path: Path) -> None:
    size = 256 * MiB
    source = tmp_path / "big.bin"
    with source.open("wb") as fh:  # sparse: cheap to make, still 256 MiB on the wire
        fh.truncate(size)
    box = local_client.create_container(ContainerSpec(name="big"))

    tracemalloc.start()
    try:
        obj = local_client.upload_file(box.id, source)
        sink = HashingSink()
        written, sha = local_client.download_file(box.id, obj.id, sink)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert obj.bytes == size
    assert written == size == sink.size
    zeros = hashlib.sha256()
    for _ in range(size // MiB):
        zeros.update(bytes(MiB))
    assert sha == zeros.hexdigest() == sink.digest.hexdigest()
    # peak Python allocations (client and in-process server together) far below the size
    assert peak < 32 * MiB, f"peak {peak / MiB:.1f} MiB"


def test_eight_threads_share_one_client(local_client: ContainersClient, tmp_path: Path) -> None:
    box = local_client.create_container(ContainerSpec(name="busy"))
    sources = []
    for i in range(24):
        path = tmp_path / f"t{i}.bin"
        path.write_bytes(f"file {i} ".encode() * (i + 1) * 100)
        sources.append(path)
    before = local_client.requests_made
    seen_threads: set[str] = set()
    lock = threading.Lock()

    def round_trip(path: Path) -> tuple[str, str]:
        with lock:
            seen_threads.add(threading.current_thread().name)
        obj = local_client.upload_file(box.id, path, remote_path=f"/mnt/data/{path.name}")
        sink = HashingSink()
        local_client.download_file(box.id, obj.id, sink)  # type: ignore[arg-type]
        return obj.id, sink.digest.hexdigest()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(round_trip, sources))

    assert len(seen_threads) > 1
    assert [sha for _, sha in results] == [hashlib.sha256(p.read_bytes()).hexdigest()
                                          for p in sources]
    assert local_client.requests_made - before == 48  # exactly one upload + one download each
    assert sorted(f.id for f in local_client.list_files(box.id)) == sorted(
        fid for fid, _ in results)


def test_auth_errors_never_show_the_key(tmp_path: Path, sleeps: Any) -> None:
    secret = "sk-test-Wrong-Key-0123456789abcdef"
    with start_server(tmp_path / "srv", api_key="sk-right") as server:
        with ContainersClient.connect(server.base_url, secret, sleep=sleeps) as wrong:
            with pytest.raises(AuthError) as caught:
                wrong.retrieve_container("cntr_" + "0" * 48)
            assert caught.value.status == 401
            for text in (str(caught.value), repr(caught.value), repr(wrong),
                         str(caught.value.__cause__)):
                assert secret not in text
                assert "Wrong-Key" not in text
            assert sleeps.delays == []  # 401 is not retried
        with ContainersClient.connect(server.base_url, None, sleep=sleeps) as anonymous, \
                pytest.raises(AuthError):
            list(anonymous.list_containers())
        with ContainersClient.connect(server.base_url, "sk-right", sleep=sleeps) as right:
            assert list(right.list_containers()) == []


class FullDisk(HashingSink):
    def write(self, data: bytes) -> int:
        raise OSError(28, "No space left on device")


def test_a_full_disk_is_a_local_error(local_client: ContainersClient, tmp_path: Path) -> None:
    box = local_client.create_container(ContainerSpec(name="full"))
    source = tmp_path / "f.bin"
    source.write_bytes(b"z" * 4096)
    obj = local_client.upload_file(box.id, source)
    with pytest.raises(LocalError, match="No space left"):
        local_client.download_file(box.id, obj.id, FullDisk())  # type: ignore[arg-type]
    assert local_client.requests_made == 4  # look-up, create, upload, one download: no retry
