"""Bad input never crashes the backend or corrupts its state.

Each case sends something hostile or broken (raw httpx or a raw socket where the SDK would
refuse to), then checks the server still answers and the data made before is intact.
"""

from __future__ import annotations

import socket

import pytest

from support.backend import raw, sdk


@pytest.fixture
def seeded(local_server):
    """A container with one file: the state every case must leave untouched."""
    with sdk(local_server) as client:
        cid = client.containers.create(name="keep").id
        fid = client.containers.files.create(cid, file=("keep.txt", b"precious")).id
    return local_server, cid, fid


def assert_intact(server, cid, fid):
    with sdk(server) as client:
        assert [c.id for c in client.containers.list()] == [cid]
        assert [f.id for f in client.containers.files.list(cid)] == [fid]
        assert client.containers.files.content.retrieve(fid, container_id=cid).read() == b"precious"


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b"null", b"\xff\xfe", b'{"name": "x",}'])
def test_malformed_json_is_a_400(seeded, body):
    server, cid, fid = seeded
    with raw(server) as http:
        response = http.post("/v1/containers", content=body,
                             headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"
        response = http.post(f"/v1/containers/{cid}/files", content=body,
                             headers={"content-type": "application/json"})
        assert response.status_code == 400
    assert_intact(server, cid, fid)


def test_broken_multipart_bodies_are_a_400(seeded):
    server, cid, fid = seeded
    with raw(server) as http:
        cases = [
            (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nhalf",
             "multipart/form-data; boundary=b"),  # the closing boundary never comes
            (b"garbage", "multipart/form-data"),  # no boundary at all
            (b"--b\r\nno headers here\r\n--b--\r\n", "multipart/form-data; boundary=b"),
        ]
        for body, content_type in cases:
            response = http.post(f"/v1/containers/{cid}/files", content=body,
                                 headers={"content-type": content_type})
            assert response.status_code == 400, body
            assert http.post("/v1/files", content=body,
                             headers={"content-type": content_type}).status_code == 400
    assert_intact(server, cid, fid)


def test_connection_dropped_mid_upload(seeded):
    server, cid, fid = seeded
    head = (f"POST /v1/containers/{cid}/files HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
            '--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n')
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(head.encode() + b"x" * 1000)
    assert_intact(server, cid, fid)


def test_hostile_query_values(seeded):
    server, cid, fid = seeded
    with raw(server) as http:
        for query in ({"limit": "9" * 40}, {"limit": "-1"}, {"after": "'; DROP TABLE x; --"},
                      {"order": "\x00"}):
            assert http.get(f"/v1/containers/{cid}/files", params=query).status_code == 400
            assert http.get("/v1/containers", params=query).status_code == 400
    assert_intact(server, cid, fid)


def test_unknown_fields_and_routes(seeded):
    server, cid, fid = seeded
    with raw(server) as http:
        made = http.post("/v1/containers", json={"name": "extra", "colour": "blue",
                                                 "expires_after": {"anchor": "last_active_at",
                                                                   "minutes": 3, "x": 1}})
        assert made.status_code == 200 and "colour" not in made.json()
        http.delete(f"/v1/containers/{made.json()['id']}")
        missing = http.get("/v1/containers/x/files/y/z")
        assert missing.status_code == 404 and "error" in missing.json()
        assert http.put("/v1/containers").status_code == 405
        traversal = http.get(f"/v1/containers/{cid}/files/..%2F..%2Fstate.sqlite3/content")
        assert traversal.status_code == 404
    assert_intact(server, cid, fid)


def test_unknown_after_cursor_is_a_400_not_an_empty_page(seeded):
    """An empty page would end a client's listing early; a 400 makes it start over."""
    server, cid, fid = seeded
    with raw(server) as http:
        response = http.get(f"/v1/containers/{cid}/files", params={"after": "cfile_gone"})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "after"
    assert_intact(server, cid, fid)
