"""``containersync.sync()``: one sync of one folder with no config file; its typed report,
its dry run, its errors (the classes of ``containersync.errors``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import containersync
from containersync.errors import ConfigError, Halted
from containersync.localapi.embedded import RunningServer
from support.backend import raw
from support.scenario import assistant, create_container, remote_objects, tree, write


def _containers(server: RunningServer) -> list[dict[str, object]]:
    with raw(server) as client:
        data: list[dict[str, object]] = client.get("/v1/containers").json()["data"]
        return data


def test_sync_reports_what_it_did_in_a_frozen_typed_report(sdk_env: RunningServer) -> None:
    write(Path("proj"), {"a.txt": "aa", "sub/b.txt": "bbb"})
    report = containersync.sync("proj")
    assert report.converged and report.counts.uploaded == 2 and report.bytes_up == 5
    assert report.counts == containersync.SyncCounts(uploaded=2)
    assert report.container_id is not None and report.container_id.startswith("cntr_")
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.converged = False  # type: ignore[misc]
    [made] = _containers(sdk_env)
    assert made["id"] == report.container_id
    assert made["name"] == f"containersync-{report.mapping}"
    assert report.mapping.startswith("proj-")

    assistant(sdk_env, report.container_id, "echo out > result.txt")
    again = containersync.sync("proj")
    assert again.container_id == report.container_id
    assert again.counts == containersync.SyncCounts(downloaded=1)
    assert tree(Path("proj"))["result.txt"] == "out\n"


def test_two_folders_with_the_same_name_get_their_own_containers(
        sdk_env: RunningServer) -> None:
    write(Path("one/data"), {"x": "1"})
    write(Path("two/data"), {"y": "2"})
    first, second = containersync.sync("one/data"), containersync.sync("two/data")
    assert first.container_id != second.container_id
    assert second.counts.uploaded == 1 and second.counts.deleted_remote == 0


def test_container_by_name_and_by_id(sdk_env: RunningServer) -> None:
    write(Path("w"), {"f.txt": "f"})
    named = containersync.sync("w", container="analysis")
    assert {c["name"] for c in _containers(sdk_env)} == {"analysis"}
    cid = create_container(sdk_env, "made-by-the-sdk")
    adopted = containersync.sync("w", container=cid)
    assert adopted.container_id == cid != named.container_id
    assert [o["path"] for o in remote_objects(sdk_env, cid)] == ["/mnt/data/f.txt"]


def test_dry_run_changes_nothing_and_says_what_it_would_do(sdk_env: RunningServer) -> None:
    write(Path("w"), {"f.txt": "f", "g.txt": "g"})
    report = containersync.sync("w", dry_run=True)
    assert report.dry_run and report.container_id is None
    assert sorted((a.action, a.path) for a in report.planned) == [("Upload", "f.txt"),
                                                                 ("Upload", "g.txt")]
    # it says what it would change, and that the sides do not agree yet
    assert report.would is not None and report.would.uploaded == 2
    assert report.would_bytes_up == 2 and not report.converged
    assert _containers(sdk_env) == []


def test_a_safety_rail_raises_halted_and_force_goes_past_it(sdk_env: RunningServer) -> None:
    write(Path("w"), {f"f{i}.txt": str(i) for i in range(4)})
    containersync.sync("w")
    for i in range(3):
        Path(f"w/f{i}.txt").unlink()
    with pytest.raises(Halted) as caught:
        containersync.sync("w")
    assert caught.value.rail
    assert containersync.sync("w", force=True).counts.deleted_remote == 3


def test_a_url_without_a_key_is_refused_before_any_request(
        sdk_env: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    write(Path("w"), {"f.txt": "f"})
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        containersync.sync("w")
    assert _containers(sdk_env) == []
    # an explicit key works where the variable is missing
    assert containersync.sync("w", api_key="sk-local-test").counts.uploaded == 1


def test_a_folder_name_with_a_dollar_is_taken_literally(sdk_env: RunningServer) -> None:
    write(Path("$HOME-copy"), {"f.txt": "f"})
    report = containersync.sync("$HOME-copy")
    assert report.counts.uploaded == 1


def test_a_dry_run_leaves_a_damaged_index_where_it_is_and_a_real_run_rebuilds(
        sdk_env: RunningServer, tmp_path: Path) -> None:
    """The API and the CLI open the index through one function: a dry run writes nothing,
    so it must not move a damaged index aside (the API's own copy of that code once did)."""
    write(Path("proj"), {"a.txt": "aa"})
    first = containersync.sync("proj")
    index = tmp_path / "xdg-state" / "containersync" / "index.sqlite3"
    for side in (index.with_name(index.name + "-wal"), index.with_name(index.name + "-shm")):
        side.unlink(missing_ok=True)
    index.write_bytes(b"this is not a database" * 100)
    with pytest.raises(containersync.errors.ContainerSyncError):
        containersync.sync("proj", dry_run=True)
    assert index.read_bytes().startswith(b"this is not a database")
    assert not list(index.parent.glob("index.sqlite3.corrupt-*"))

    rebuilt = containersync.sync("proj")
    assert rebuilt.container_id == first.container_id and rebuilt.counts.uploaded == 0
    assert list(index.parent.glob("index.sqlite3.corrupt-*"))
