"""State that outlives a server and is shared between processes; admin routes.

Restarts keep everything; two ``Store`` objects (as two processes would) write one data
dir concurrently; the clock offset is shared through the data dir; fault and latency
injection behave as documented; ``serve-local`` exits 0 on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import openai
import pytest

from containersync.localapi.clock import Clock
from containersync.localapi.store import Store
from containersync.localapi.validate import ListQuery
from support.backend import clear_faults, inject_fault, raw, sdk


def test_restart_keeps_containers_files_and_bytes(local_server_factory, tmp_path):
    data_dir = tmp_path / "backend"
    first = local_server_factory(data_dir=data_dir)
    with sdk(first) as client:
        cid = client.containers.create(name="durable").id
        fid = client.containers.files.create(cid, file=("a.txt", b"kept")).id
        stored = client.files.create(file=("f.bin", b"\x00\x01"), purpose="assistants").id
    first.stop()
    second = local_server_factory(data_dir=data_dir)
    with sdk(second) as client:
        assert client.containers.retrieve(cid).name == "durable"
        assert [f.id for f in client.containers.files.list(cid)] == [fid]
        assert client.containers.files.content.retrieve(fid, container_id=cid).read() == b"kept"
        assert client.files.content(stored).read() == b"\x00\x01"


def test_two_stores_write_one_data_dir_concurrently(tmp_path):
    stores = [Store(tmp_path), Store(tmp_path)]
    source = tmp_path / "payload.txt"
    source.write_bytes(b"x" * 100)
    cid = stores[0].create_container({"name": "shared"})["id"]
    errors: list[BaseException] = []

    def work(store: Store, tag: str) -> None:
        try:
            for i in range(40):
                store.add_container_file(cid, path=f"/mnt/data/{tag}/{i}", content=source,
                                         source="assistant", record_bytes=True)
                store.create_container({"name": tag})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s, f"t{n}")) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    files = stores[1].list_container_files(cid)
    assert len(files) == 80 and all(f["bytes"] == 100 for f in files)
    assert all(stores[0].blob_path(f["id"]).read_bytes() == b"x" * 100 for f in files)
    page = stores[0].list_containers(ListQuery(limit=100, order="asc", after=None))
    assert len(page["data"]) == 81
    for store in stores:
        store.close()


def test_clock_offset_is_shared_through_the_data_dir(tmp_path, local_server_factory):
    server = local_server_factory(data_dir=tmp_path)
    other = Store(tmp_path)  # a second "process" on the same dir
    try:
        cid = other.create_container({"name": "c", "expires_after": {
            "anchor": "last_active_at", "minutes": 1}})["id"]
        with raw(server) as http:
            before = http.get("/_local/clock").json()["now"]
            after = http.post("/_local/clock/advance", json={"seconds": 3600}).json()["now"]
            assert after - before >= 3600
            assert http.post("/_local/clock/advance", json={"seconds": -1}).status_code == 400
        assert other.clock.now() >= after
        assert other.get_container(cid)["status"] == "expired"
    finally:
        other.close()
    assert Clock(tmp_path / "clock.json").offset() >= 3600


def test_in_process_store_api(tmp_path):
    store = Store(tmp_path)
    payload = tmp_path / "out.png"
    payload.write_bytes(b"png")
    cid = store.create_container({"name": "c"})["id"]
    made = store.add_container_file(cid, path="/mnt/data/out.png", content=payload,
                                    source="assistant", record_bytes=False)
    assert made["bytes"] is None and made["source"] == "assistant"
    assert store.blob_path(made["id"]).read_bytes() == b"png"
    assert [f["id"] for f in store.list_container_files(cid)] == [made["id"]]
    store.delete_container_file(cid, made["id"])
    assert store.list_container_files(cid) == []
    assert store.get_container(cid)["status"] == "running"
    store.close()


def test_faults_before_and_after(local_server):
    with sdk(local_server) as client:
        inject_fault(local_server, method="POST", path_regex=r"^/v1/containers$", status=503,
                     times=1, when="before", retry_after_ms=10)
        with pytest.raises(openai.InternalServerError):
            client.containers.create(name="lost")
        assert list(client.containers.list()) == []
        inject_fault(local_server, method="POST", path_regex=r"^/v1/containers$", status=500,
                     times=1, when="after")
        with pytest.raises(openai.InternalServerError):
            client.containers.create(name="ambiguous")
        assert [c.name for c in client.containers.list()] == ["ambiguous"]  # it did happen
    with sdk(local_server, max_retries=2) as client:
        inject_fault(local_server, path_regex="/v1/containers", status=429, times=2,
                     retry_after_ms=1, headers={"x-extra": "1"})
        assert [c.name for c in client.containers.list()] == ["ambiguous"]  # retried through
        inject_fault(local_server, path_regex="/v1/", status=503, times=5)
        clear_faults(local_server)
        assert client.containers.list().data


def test_latency_injection_slows_v1_only(local_server_factory):
    server = local_server_factory(latency_ms=150)
    with raw(server) as http:
        started = time.monotonic()
        http.get("/v1/containers")
        assert time.monotonic() - started >= 0.15
        started = time.monotonic()
        http.get("/_local/clock")
        assert time.monotonic() - started < 0.15


def test_serve_local_serves_and_exits_zero_on_sigterm(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "containersync", "serve-local", "--port", "0",
         "--data-dir", str(tmp_path / "d"), "--api-key", "k"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONWARNINGS": "error"})
    try:
        line = proc.stderr.readline()
        assert "listening on http://127.0.0.1:" in line
        base = line.split("listening on ")[1].split()[0]
        response = httpx.post(f"{base}/containers", json={"name": "cli"},
                              headers={"Authorization": "Bearer k"})
        assert response.status_code == 200
        assert httpx.get(f"{base}/containers").status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def test_serve_local_can_leave_container_fields_out(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "containersync", "serve-local", "--port", "0",
         "--data-dir", str(tmp_path / "d"), "--omit-container-field", "memory_limit",
         "--omit-container-field", "network_policy"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONWARNINGS": "error"})
    try:
        line = proc.stderr.readline()
        base = line.split("listening on ")[1].split()[0]
        made = httpx.post(f"{base}/containers", json={"name": "sparse", "memory_limit": "4g"})
        assert made.status_code == 200
        body = made.json()
        assert "memory_limit" not in body and "network_policy" not in body
        assert body["id"].startswith("cntr_") and body["name"] == "sparse"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
