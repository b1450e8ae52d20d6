"""Where the folder's files are in the sandbox, from the Python API: ``Mirror.sandbox_path``,
``Mirror.instructions()`` and the same on ``SyncReport``, against a served local backend
that chooses upload paths as the live service does (flat ``/mnt/data/<hex>-<name>``) and one
that keeps the tree. The paths are checked with the ``openai`` SDK, as a user's script would
read them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import openai
import pytest

import containersync
from containersync.errors import ContainerSyncError, UnknownPath
from containersync.localapi.embedded import RunningServer
from support.backend import TEST_KEY
from support.scenario import assistant, write

FILES = {"data/2024/sales.csv": "region,amount\nnorth,10\n",
         "archive/sales.csv": "region,amount\nold,1\n"}


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: RunningServer) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    for name in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "CONTAINERSYNC_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def live_like(local_server_factory: Callable[..., RunningServer], tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> RunningServer:
    server = local_server_factory(assign_paths=True)
    _env(monkeypatch, tmp_path, server)
    return server


@pytest.fixture
def tree_keeping(local_server_factory: Callable[..., RunningServer], tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> RunningServer:
    server = local_server_factory(assign_paths=False)
    _env(monkeypatch, tmp_path, server)
    return server


def _content(client: openai.OpenAI, cid: str, sandbox: str) -> bytes:
    [obj] = [f for f in client.containers.files.list(cid) if f.path == sandbox]
    return client.containers.files.content.retrieve(obj.id, container_id=cid).read()


def test_mirror_says_where_each_file_is_when_the_server_chose(
        live_like: RunningServer) -> None:
    write(Path("work"), FILES)
    client = openai.OpenAI()
    with containersync.Mirror("work") as m:
        cid = m.container_id
        where = m.sandbox_path("data/2024/sales.csv")
        assert where.startswith("/mnt/data/") and where.endswith("-sales.csv")
        assert where != m.sandbox_path("archive/sales.csv")
        assert _content(client, cid, where) == FILES["data/2024/sales.csv"].encode()
        assert m.sandbox_path(Path("archive") / "sales.csv") == m.sandbox_path(
            "./archive/sales.csv")
        assert m.sandbox_paths() == {rel: m.sandbox_path(rel) for rel in FILES}

        # the manifest in the container says the same
        manifest = m.manifest_path
        assert manifest is not None and manifest.endswith("containersync-manifest.json")
        said = json.loads(_content(client, cid, manifest))["files"]
        assert said == m.sandbox_paths()

        text = m.instructions()
        assert manifest in text and where in text and "data/2024/sales.csv" in text
        assert "'work'" in text and "/mnt/data" in text

        # an edit uploads a new object; the path follows it
        write(Path("work"), {"data/2024/sales.csv": "region,amount\nnorth,11\n"})
        m.sync()
        moved = m.sandbox_path("data/2024/sales.csv")
        assert _content(client, cid, moved) == b"region,amount\nnorth,11\n"
        assert json.loads(_content(client, cid, m.manifest_path or ""))["files"][
            "data/2024/sales.csv"] == moved

        # a file the code wrote keeps the path the code gave it
        assistant(live_like, cid, "mkdir -p out && printf 42 > out/total.txt")
        m.sync()
        assert m.sandbox_path("out/total.txt") == "/mnt/data/out/total.txt"


def test_an_unknown_path_is_a_clear_key_error(live_like: RunningServer) -> None:
    write(Path("work"), FILES)
    with containersync.Mirror("work") as m:
        for wrong in ("data/2025/sales.csv", "sales.csv", "../etc/passwd", "/mnt/data/x"):
            with pytest.raises(KeyError) as caught:
                m.sandbox_path(wrong)
            assert isinstance(caught.value, UnknownPath | ContainerSyncError)
        with pytest.raises(UnknownPath, match=r"no synced file 'data/2025/sales.csv'"):
            m.sandbox_path("data/2025/sales.csv")


def test_sync_report_carries_the_paths_and_instructions(live_like: RunningServer) -> None:
    write(Path("work"), FILES)
    report = containersync.sync("work")
    assert set(report.sandbox_paths) == set(FILES)
    assert report.manifest_path is not None
    assert report.sandbox_path("archive/sales.csv") == report.sandbox_paths["archive/sales.csv"]
    with pytest.raises(KeyError):
        report.sandbox_path("nope.csv")
    assert report.manifest_path in report.instructions()
    again = containersync.sync("work")  # nothing changed: the same paths, still told
    assert again.sandbox_paths == report.sandbox_paths
    assert again.manifest_path == report.manifest_path


def test_where_the_server_keeps_the_tree_paths_are_the_folder_paths(
        tree_keeping: RunningServer) -> None:
    write(Path("work"), FILES)
    with containersync.Mirror("work") as m:
        assert m.sandbox_path("data/2024/sales.csv") == "/mnt/data/data/2024/sales.csv"
        assert m.manifest_path is None
        text = m.instructions()
        assert "manifest" not in text and "/mnt/data/archive/sales.csv" in text
