"""What one upload costs the local backend's SQLite, over real HTTP.

An upload is one write transaction: the container's expiry check, its activity refresh and
the file row, nothing read back. The answer is rendered from the values written, so it
must match what a later retrieve and listing show. The statements are counted with
SQLite's own trace hook on the store's connection (a private attribute: SQLite offers no
other way to see what a connection runs).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from containersync.localapi.embedded import RunningServer
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
