"""The container manifest (``model.manifest``): when the server chooses the sandbox paths
(as the live service does: flat ``/mnt/data/<hex>-<name>``), one JSON file in the container
maps every synced file's logical path to where it really is. Real backend in assign-paths
mode, the CLI, real files.

The manifest is never a user file: never pulled, not in the counts, not in the rails; and
its name in the local root is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from containersync.localapi.embedded import RunningServer
from containersync.model.manifest import MANIFEST_NAME, render
from support.backend import raw
from support.scenario import TEST_KEY, World, counts, remote_content

MANIFEST_AT = re.compile(r"^/mnt/data/(?:[0-9a-f]{32}-)?" + re.escape(MANIFEST_NAME) + "$")
FILES = {"data/2024/sales.csv": "region,amount\nnorth,10\n",
         "archive/sales.csv": "region,amount\nold,1\n",
         "notes.md": "look at the sales\n"}


@pytest.fixture
def assigned(local_server_factory: Callable[..., RunningServer], tmp_path: Path) -> World:
    return World(local_server_factory(assign_paths=True), tmp_path)


@pytest.fixture
def honoured(local_server_factory: Callable[..., RunningServer], tmp_path: Path) -> World:
    return World(local_server_factory(assign_paths=False), tmp_path)


def manifests(world: World) -> list[dict[str, Any]]:
    found = [o for o in world.all_objects() if MANIFEST_AT.match(o["path"])]
    assert found == world.manifests()
    return found


def only_manifest(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one manifest object in the container and what it says."""
    found = manifests(world)
    assert len(found) == 1, found
    doc = json.loads(remote_content(world.server, world.cid, found[0]["id"]))
    return found[0], doc


def assert_manifest_true(world: World) -> dict[str, str]:
    """The manifest lists exactly the synced files, each at a sandbox path that holds it."""
    _, doc = only_manifest(world)
    assert doc["containersync_manifest"] == 1 and doc["remote_root"] == "/mnt/data"
    files: dict[str, str] = doc["files"]
    assert set(files) == set(world.local())
    by_path = {o["path"]: o for o in world.objects()}
    for rel, sandbox in files.items():
        assert sandbox == world.sandbox_path(rel)
        content = remote_content(world.server, world.cid, by_path[sandbox]["id"]).decode()
        assert content == world.local()[rel]
    return files


def test_manifest_maps_every_file_to_its_server_chosen_path(assigned: World) -> None:
    assigned.write(FILES)
    result = assigned.sync()
    assert result.code == 0 and result.counts == counts(uploaded=3)
    files = assert_manifest_true(assigned)
    # the server chose flat, prefixed paths: the two sales.csv are told apart only here
    assert all(re.match(r"^/mnt/data/[0-9a-f]{32}-[^/]+$", p) for p in files.values())
    assert files["data/2024/sales.csv"] != files["archive/sales.csv"]
    # never a user file: not in the remote tree, never pulled back
    assert assigned.remote() == FILES
    assert assigned.local() == FILES


def test_manifest_follows_a_rename_and_a_delete(assigned: World) -> None:
    assigned.write(FILES)
    assert assigned.sync().code == 0
    first, _ = only_manifest(assigned)
    (assigned.root / "data/2024/sales.csv").rename(assigned.root / "data/sales-2024.csv")
    (assigned.root / "notes.md").unlink()
    result = assigned.sync()
    assert result.code == 0
    assert result.counts == counts(uploaded=1, deleted_remote=2)  # the manifest is not counted
    second, doc = only_manifest(assigned)  # the old one was deleted after the new one came
    assert second["id"] != first["id"]
    assert set(doc["files"]) == {"data/sales-2024.csv", "archive/sales.csv"}
    assert_manifest_true(assigned)


def test_a_second_sync_writes_no_manifest(assigned: World) -> None:
    assigned.write(FILES)
    assert assigned.sync().code == 0
    before = [(o["id"], o["path"]) for o in assigned.objects()]
    again = assigned.sync()
    assert again.code == 0 and again.counts == counts()
    assert [(o["id"], o["path"]) for o in assigned.objects()] == before


def test_a_pulled_file_is_in_the_manifest_at_the_path_code_gave_it(assigned: World) -> None:
    assigned.write(FILES)
    assert assigned.sync().code == 0
    assigned.assistant("mkdir -p /mnt/data/out && printf 42 > /mnt/data/out/total.txt")
    result = assigned.sync()
    assert result.code == 0 and result.counts == counts(downloaded=1)
    files = assert_manifest_true(assigned)
    assert files["out/total.txt"] == "/mnt/data/out/total.txt"


def test_no_manifest_where_the_server_keeps_the_folder_tree(honoured: World) -> None:
    honoured.write(FILES)
    assert honoured.sync().code == 0
    assert manifests(honoured) == []
    assert honoured.sandbox_path("data/2024/sales.csv") == "/mnt/data/data/2024/sales.csv"


@pytest.mark.parametrize("assign", [False, True], ids=["paths-honoured", "paths-assigned"])
def test_the_manifest_name_is_refused_as_a_local_file(
        local_server_factory: Callable[..., RunningServer], tmp_path: Path,
        assign: bool) -> None:
    world = World(local_server_factory(assign_paths=assign), tmp_path)
    world.write({**FILES, MANIFEST_NAME: "my own notes, not a manifest\n"})
    result = world.sync()
    assert result.code == 1  # a problem the user must fix, said clearly
    problems = [p for p in result.m["problems"] if p["path"] == MANIFEST_NAME]
    assert [p["kind"] for p in problems] == ["reserved-name"]
    assert "rename it" in problems[0]["message"]
    assert result.counts == counts(uploaded=3)
    assert (world.root / MANIFEST_NAME).read_text() == "my own notes, not a manifest\n"
    contents = [remote_content(world.server, world.cid, o["id"]) for o in world.objects()]
    assert b"my own notes, not a manifest\n" not in contents
    # and a manifest the sandbox holds never lands on it
    world.assistant(f"printf '{{}}' > /mnt/data/{MANIFEST_NAME}")
    again = world.sync()
    assert again.counts == counts()
    assert (world.root / MANIFEST_NAME).read_text() == "my own notes, not a manifest\n"
    # what the code wrote there is left alone in the sandbox too (not ours to delete)
    written = [o for o in world.all_objects() if o["source"] == "assistant"]
    assert [o["path"] for o in written] == [f"/mnt/data/{MANIFEST_NAME}"]
    assert world.sync().counts == counts()
    assert [o["id"] for o in world.all_objects() if o["source"] == "assistant"] == [
        written[0]["id"]]


def test_pulling_user_uploads_still_never_pulls_the_manifest(assigned: World) -> None:
    assigned.configure(pull_sources=["assistant", "user"])
    assigned.write(FILES)
    assert assigned.sync().code == 0
    assert only_manifest(assigned)
    again = assigned.sync()
    assert again.code == 0 and again.counts == counts()
    assert assigned.local() == FILES


def test_the_manifest_does_not_hide_an_emptied_container(assigned: World) -> None:
    """Rail 3 counts user files: a container that lost them all but the manifest is still
    an emptied remote, and the sync halts."""
    assigned.write(FILES)
    assert assigned.sync().code == 0
    users = [o["path"] for o in assigned.objects()]
    assigned.assistant("rm -f " + " ".join(users))
    assert len(manifests(assigned)) == 1
    result = assigned.sync()
    assert result.code == 3
    assert assigned.local() == FILES


def test_a_manifest_left_by_a_crash_is_cleaned_up(assigned: World) -> None:
    """An upload of the manifest whose record was lost (a crash between the two) is
    found by its name and deleted; it is never taken for a user file."""
    assigned.write(FILES)
    assert assigned.sync().code == 0
    stale = render({"gone.txt": "/mnt/data/0f0f-gone.txt"}, "/mnt/data")  # an older one of ours
    with raw(assigned.server, api_key=TEST_KEY) as client:
        client.post(f"/v1/containers/{assigned.cid}/files",
                    files={"file": (MANIFEST_NAME, stale)}).raise_for_status()
    assert len(manifests(assigned)) == 2
    result = assigned.sync()
    assert result.code == 0 and result.counts == counts()
    assert_manifest_true(assigned)


def test_another_upload_of_the_manifests_name_is_left_alone(assigned: World) -> None:
    """Another tool's upload at the manifest's name (or ours of a user file of that name,
    after a lost index) is not a manifest of ours: it is never deleted (review finding)."""
    assigned.write(FILES)
    assert assigned.sync().code == 0
    with raw(assigned.server, api_key=TEST_KEY) as client:
        other = client.post(f"/v1/containers/{assigned.cid}/files",
                            files={"file": (MANIFEST_NAME, b'{"not": "ours"}')}).json()
    assert assigned.sync().code == 0
    assert other["id"] in {o["id"] for o in assigned.all_objects()}
    assert remote_content(assigned.server, assigned.cid, other["id"]) == b'{"not": "ours"}'


def test_a_lost_index_rebuilds_and_the_manifest_follows(assigned: World) -> None:
    """The manifest is derived from the index: with the index lost, the rebuild writes a
    new one and deletes the one it no longer knows (it never took it for a user file)."""
    assigned.write(FILES)
    assert assigned.sync().code == 0
    old, _ = only_manifest(assigned)
    for leftover in assigned.state.glob("index.sqlite3*"):
        leftover.unlink()
    result = assigned.sync()
    assert result.code == 0 and result.counts["deleted_local"] == 0
    assert result.counts["downloaded"] == 0  # the manifest was not pulled as a file
    new, _ = only_manifest(assigned)
    assert new["id"] != old["id"]
    assert_manifest_true(assigned)
    assert assigned.local() == FILES


def test_a_new_generation_gets_its_own_manifest(assigned: World) -> None:
    assigned.write(FILES)
    assert assigned.sync().code == 0
    first = assigned.cid
    assigned.server.advance_clock(21 * 60)  # the container expires
    result = assigned.sync()
    assert result.code == 0 and result.m["new_generation"]
    assert assigned.cid != first
    assert_manifest_true(assigned)


def test_a_user_file_of_the_manifests_name_in_a_folder_is_synced_both_ways(
        assigned: World) -> None:
    """The live service stores ``docs/containersync-manifest.json`` flat, at
    ``/mnt/data/<hex>-containersync-manifest.json``: a manifest-looking name. Code in the
    sandbox rewriting it there is the user's file changing, and is pulled (review finding)."""
    assigned.write({"docs/containersync-manifest.json": "mine", "a.txt": "a"})
    assert assigned.sync().code == 0
    assigned.assistant_changes({"docs/containersync-manifest.json": "rewritten in the sandbox"})
    pulled = assigned.sync()
    assert pulled.code == 0, pulled.out
    assert assigned.local()["docs/containersync-manifest.json"] == "rewritten in the sandbox"
