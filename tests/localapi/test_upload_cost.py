"""What one upload costs the local backend, and what a failed one leaves behind.

Over real HTTP, an upload is one write transaction: the container's expiry check, its activity refresh and
the file row, nothing read back. The answer is rendered from the values written, so it
must match what a later retrieve and listing show. The statements are counted with
SQLite's own trace hook on the store's connection (a private attribute: SQLite offers no
other way to see what a connection runs).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from containersync.localapi.embedded import RunningServer
from containersync.localapi.store import Store
from support.backend import raw


@contextmanager
def traced(server: RunningServer) -> Iterator[list[str]]:
    statements: list[str] = []
    conn = server.store._db._conn
    conn.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        conn.set_trace_callback(None)


def test_an_upload_is_one_transaction_that_reads_nothing_back(local_server):
    with raw(local_server) as http:
        cid = http.post("/v1/containers", json={"name": "c"}).json()["id"]
        with traced(local_server) as statements:
            response = http.post(f"/v1/containers/{cid}/files",
                                 files={"file": ("a.txt", b"hello")})
        assert response.status_code == 200
        verbs = [s.split()[0].upper() for s in statements]
        # BEGIN IMMEDIATE, the container row, its refresh, the file row, COMMIT
        assert verbs == ["BEGIN", "SELECT", "UPDATE", "INSERT", "COMMIT"], statements


def test_the_upload_answer_is_what_retrieve_and_list_show(local_server):
    with raw(local_server) as http:
        cid = http.post("/v1/containers", json={"name": "c"}).json()["id"]
        made = [http.post(f"/v1/containers/{cid}/files", files={"file": ("a.txt", b"hello")},
                          data=extra).json()
                for extra in ({}, {"path": "/workspace/b.bin"})]
        for body in made:
            fetched = http.get(f"/v1/containers/{cid}/files/{body['id']}").json()
            assert body == fetched
            assert body["bytes"] == 5 and body["container_id"] == cid
            assert isinstance(body["created_at"], int)
        listed = http.get(f"/v1/containers/{cid}/files", params={"order": "asc"}).json()
        assert listed["data"] == made


def test_an_upload_still_refreshes_the_container(local_server):
    with raw(local_server) as http:
        cid = http.post("/v1/containers", json={"name": "c"}).json()["id"]
        before = http.get(f"/v1/containers/{cid}").json()["last_active_at"]
        local_server.advance_clock(300)
        http.post(f"/v1/containers/{cid}/files", files={"file": ("a.txt", b"x")})
        local_server.advance_clock(300)  # 10 minutes since creation, 5 since the upload
        after = http.get(f"/v1/containers/{cid}").json()
        assert after["status"] == "running"
        assert after["last_active_at"] >= before + 600  # this retrieve refreshed it too
        local_server.advance_clock(19 * 60)  # 19 minutes idle: still inside 20
        assert http.get(f"/v1/containers/{cid}").json()["status"] == "running"


class _BrokenStream(io.BytesIO):
    """A body that fails after its first chunk, as a full disk or a vanished source does
    (the failure cannot be made real here without filling a disk)."""

    def read(self, size: int | None = -1) -> bytes:
        if self.tell():
            raise OSError(28, "No space left on device")
        return super().read(4)


def _files(data_dir: Path) -> list[str]:
    """The data dir's files besides the SQLite database (and its WAL) and the clock."""
    return sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*")
                  if p.is_file() and not p.name.startswith(("state.sqlite3", "clock.json")))


def test_a_failed_write_leaves_no_blob_and_no_row(tmp_path):
    store = Store(tmp_path / "data")
    try:
        cid = store.create_container({"name": "c"})["id"]
        with pytest.raises(OSError, match="No space"):
            store.add_container_file_stream(cid, path="/mnt/data/a.txt",
                                            stream=_BrokenStream(b"half of it"),
                                            source="assistant", record_bytes=True)
        assert _files(tmp_path / "data") == []  # neither the blob nor its temp file
        assert store.list_container_files(cid) == []
        made = store.add_container_file_stream(cid, path="/mnt/data/a.txt",
                                               stream=io.BytesIO(b"whole"), source="assistant",
                                               record_bytes=True)
        assert _files(tmp_path / "data") == [f"blobs/{made['id']}"]
        assert (tmp_path / "data" / "blobs" / made["id"]).read_bytes() == b"whole"
    finally:
        store.close()
