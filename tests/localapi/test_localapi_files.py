"""Container files and the Files API through the official SDK over real HTTP.

Covers upload (server-chosen and client-chosen paths), copies from the Files API, list
pagination past 100 files in both orders, retrieve, content download, delete, assistant
files with ``bytes: null``, and expiry driven by the backend's movable clock.
"""

from __future__ import annotations

import re

import openai
import pytest

from support.backend import add_assistant_file, raw, sdk

UPLOAD_PATH = re.compile(r"^/mnt/data/[0-9a-f]{32}-(.+)$")


def test_upload_lands_at_server_chosen_path_and_round_trips(local_server):
    with sdk(local_server) as client:
        cid = client.containers.create(name="c").id
        first = client.containers.files.create(cid, file=("data.csv", b"a,b\n1,2\n", "text/csv"))
        again = client.containers.files.create(cid, file=("data.csv", b"other"))
        assert first.id.startswith("cfile_") and len(first.id) == 6 + 32
        assert (first.object, first.container_id, first.source, first.bytes) == (
            "container.file", cid, "user", 8)
        assert UPLOAD_PATH.match(first.path).group(1) == "data.csv"
        assert again.id != first.id and again.path != first.path  # same name twice: two files
        fetched = client.containers.files.retrieve(first.id, container_id=cid)
        assert fetched.path == first.path and fetched.bytes == 8
        content = client.containers.files.content.retrieve(first.id, container_id=cid)
        assert content.read() == b"a,b\n1,2\n"
        assert content.response.headers["content-type"].startswith("text/csv")
        disposition = content.response.headers["content-disposition"]
        # the recorded live shape: a placeholder filename, the sandbox name in filename*
        assert disposition == ("attachment; filename=\"file.txt\"; filename*=UTF-8''"
                               + first.path.rsplit("/", 1)[1])


def test_upload_path_field_is_honoured_and_validated(local_server):
    with sdk(local_server) as client:
        cid = client.containers.create(name="c").id
        made = client.containers.files.create(cid, file=("s.py", b"print(1)"),
                                              extra_body={"path": "/workspace/script.py"})
        assert made.path == "/workspace/script.py"
        relative = client.containers.files.create(cid, file=("s.py", b"x"),
                                                  extra_body={"path": "out/r.txt"})
        assert relative.path == "/mnt/data/out/r.txt"
        for hostile in ("/mnt/data/../../etc/passwd", "/etc/passwd", "/mnt/data/a\x01b",
                        "x" * 2000, "/workspace", "/mnt/data/dir/"):
            with pytest.raises(openai.BadRequestError) as err:
                client.containers.files.create(cid, file=("s.py", b"x"),
                                               extra_body={"path": hostile})
            assert err.value.param == "path"
        with raw(local_server) as http:  # an empty form field (the SDK drops empty strings)
            response = http.post(f"/v1/containers/{cid}/files", files={"file": ("s", b"x")},
                                 data={"path": ""})
            assert response.status_code == 400 and response.json()["error"]["param"] == "path"
        assert len(list(client.containers.files.list(cid))) == 2


def test_assign_paths_mode_ignores_the_path_field(local_server_factory):
    server = local_server_factory(assign_paths=True)
    with sdk(server) as client:
        cid = client.containers.create(name="c").id
        made = client.containers.files.create(cid, file=("s.py", b"x"),
                                              extra_body={"path": "/workspace/script.py"})
        assert UPLOAD_PATH.match(made.path).group(1) == "s.py"


def test_hostile_upload_filenames_are_refused(local_server):
    with raw(local_server) as http:
        cid = http.post("/v1/containers", json={"name": "c"}).json()["id"]
        for name in ("../evil", "a/b", "..", "a\\b"):
            response = http.post(f"/v1/containers/{cid}/files", files={"file": (name, b"x")})
            assert response.status_code == 400, name
            assert response.json()["error"]["param"] == "file"
        assert http.get(f"/v1/containers/{cid}/files").json()["data"] == []


def test_list_pages_past_100_files_in_both_orders(local_server):
    with sdk(local_server) as client:
        cid = client.containers.create(name="many").id
        ids = [client.containers.files.create(cid, file=(f"f{i}.txt", b"%d" % i)).id
               for i in range(130)]
        assert [f.id for f in client.containers.files.list(cid, order="asc", limit=100)] == ids
        assert [f.id for f in client.containers.files.list(cid, limit=7)] == ids[::-1]
        page = client.containers.files.list(cid, order="asc", limit=100)
        assert len(page.data) == 100 and page.has_more
        rest = client.containers.files.list(cid, order="asc", limit=100, after=page.last_id)
        assert [f.id for f in rest.data] == ids[100:] and not rest.has_more


def test_files_api_and_copies_into_containers(local_server):
    with sdk(local_server) as client:
        stored = client.files.create(file=("script.py", b"print('hi')"), purpose="assistants")
        assert re.fullmatch(r"file-[A-Za-z0-9]{24}", stored.id)
        assert (stored.object, stored.bytes, stored.filename) == ("file", 11, "script.py")
        assert client.files.retrieve(stored.id).purpose == "assistants"
        assert [f.id for f in client.files.list()] == [stored.id]
        assert client.files.content(stored.id).read() == b"print('hi')"
        container = client.containers.create(name="c", file_ids=[stored.id])
        copied = list(client.containers.files.list(container.id))
        assert [UPLOAD_PATH.match(f.path).group(1) for f in copied] == ["script.py"]
        again = client.containers.files.create(container.id, file_id=stored.id)
        assert again.bytes == 11 and again.source == "user"
        assert client.files.delete(stored.id).deleted
        # the copies own their bytes: deleting the Files API file leaves them intact
        body = client.containers.files.content.retrieve(again.id, container_id=container.id)
        assert body.read() == b"print('hi')"
        with pytest.raises(openai.NotFoundError):
            client.files.retrieve(stored.id)


def test_unknown_file_ids_answer_404_and_create_nothing(local_server):
    with sdk(local_server) as client:
        with pytest.raises(openai.NotFoundError):
            client.containers.create(name="c", file_ids=["file-doesnotexist"])
        assert list(client.containers.list()) == []
        cid = client.containers.create(name="c").id
        with pytest.raises(openai.NotFoundError):
            client.containers.files.create(cid, file_id="file-doesnotexist")
        assert list(client.containers.files.list(cid)) == []


def test_delete_file_and_missing_ids(local_server):
    with sdk(local_server) as client, raw(local_server) as http:
        cid = client.containers.create(name="c").id
        fid = client.containers.files.create(cid, file=("a", b"1")).id
        assert http.delete(f"/v1/containers/{cid}/files/{fid}").json() == {
            "id": fid, "object": "container.file.deleted", "deleted": True}
        for call in (lambda: client.containers.files.retrieve(fid, container_id=cid),
                     lambda: client.containers.files.delete(fid, container_id=cid),
                     lambda: client.containers.files.content.retrieve(fid, container_id=cid),
                     lambda: client.containers.files.list("cntr_missing")):
            with pytest.raises(openai.NotFoundError):
                call()
        assert not local_server.store.blob_path(fid).exists()


def test_assistant_files_report_null_bytes(local_server):
    with sdk(local_server) as client:
        cid = client.containers.create(name="c").id
        made = add_assistant_file(local_server, cid, "/mnt/data/chart.png", b"\x89PNG")
        assert (made["source"], made["bytes"], made["path"]) == (
            "assistant", None, "/mnt/data/chart.png")
        listed = client.containers.files.list(cid).data[0]
        assert listed.bytes is None
        body = client.containers.files.content.retrieve(made["id"], container_id=cid)
        assert body.read() == b"\x89PNG"
        assert body.response.headers["content-type"] == "image/png"


def test_expiry_follows_last_activity_on_the_moved_clock(local_server):
    with sdk(local_server) as client:
        cid = client.containers.create(
            name="c", expires_after={"anchor": "last_active_at", "minutes": 2}).id
        fid = client.containers.files.create(cid, file=("a", b"1")).id
        local_server.advance_clock(100)
        client.containers.files.list(cid)  # activity: the 2 minutes start again
        local_server.advance_clock(100)
        client.containers.list()  # listing containers is not activity
        assert client.containers.retrieve(cid).status == "running"
        local_server.advance_clock(121)
        expired = client.containers.retrieve(cid)
        assert expired.status == "expired"
        with pytest.raises(openai.NotFoundError) as err:
            client.containers.files.list(cid)
        assert err.value.body["message"] == "Container is expired."
        with pytest.raises(openai.NotFoundError):
            client.containers.files.create(cid, file=("b", b"2"))
        assert client.containers.retrieve(cid).status == "expired"  # never revived
        assert [c.status for c in client.containers.list()] == ["expired"]
        assert not local_server.store.blob_path(fid).exists()
        client.containers.delete(cid)


def test_expired_status_shows_in_container_listing(local_server):
    with sdk(local_server) as client:
        cid = client.containers.create(
            name="c", expires_after={"anchor": "last_active_at", "minutes": 1}).id
        local_server.advance_clock(60)
        assert [(c.id, c.status) for c in client.containers.list()] == [(cid, "expired")]
