"""``containersync.Mirror`` end to end, exactly as docs/python-api.md shows it with the
``openai`` SDK: everything but the model call. The tool dicts are built from
``m.container_id``; what is asserted is what the user sees (the folder's files in the
container the tools name, and a file the code wrote there on disk after ``m.sync()``)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import openai
import pytest

import containersync
from containersync import cli
from containersync.errors import AuthError, Halted, LockedError
from containersync.localapi.embedded import RunningServer
from support.scenario import assistant, tree, write


def _status_json(folder: str) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["status", folder, "--json"]) == 0
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def test_mirror_as_documented_with_the_openai_sdk(sdk_env: RunningServer) -> None:
    write(Path("work"), {"data/sales.csv": "region,amount\nnorth,10\nsouth,32\n",
                         "notes.md": "sum the amounts\n"})
    client = openai.OpenAI()  # the same OPENAI_BASE_URL / OPENAI_API_KEY as containersync

    with containersync.Mirror("work") as m:
        code_interpreter = {"type": "code_interpreter", "container": m.container_id}
        shell = {"type": "shell",
                 "environment": {"type": "container_reference",
                                 "container_id": m.container_id}}
        # the container both tools name holds the folder, at the paths the code will use
        cid = code_interpreter["container"]
        assert shell["environment"]["container_id"] == cid
        assert client.containers.retrieve(cid).status == "running"
        paths = {f.path for f in client.containers.files.list(cid)}
        assert {"/mnt/data/data/sales.csv", "/mnt/data/notes.md"} <= paths

        # ... client.responses.create(model=..., tools=[code_interpreter], input=...) ...
        # the code it runs writes an output in the container:
        assistant(sdk_env, cid, "mkdir -p out && awk -F, 'NR>1{s+=$2} END{print s}' "
                                "data/sales.csv > out/total.txt")
        report = m.sync()

        assert Path("work/out/total.txt").read_text() == "42\n"
        assert report.container_id == cid and report.converged
        assert report.counts.downloaded == 1 and report.counts.problems == 0
        assert report.bytes_down == 3
        status = m.status()
        assert status["endpoint"] == sdk_env.base_url and status["local"].endswith("work")
        [shown] = _status_json("work")["mappings"]  # `containersync status work` sees it
        assert shown["daemon"]["running"] and shown["container"]["id"] == cid

        # a local edit while the mirror runs reaches the container on the next sync()
        write(Path("work"), {"notes.md": "sum the amounts by region\n"})
        m.sync()
        listed = client.containers.files.list(cid)
        newest = max((f for f in listed if f.path == "/mnt/data/notes.md"),
                     key=lambda f: (f.created_at, f.id))
        body = client.containers.files.content.retrieve(newest.id, container_id=cid)
        assert body.read() == b"sum the amounts by region\n"

    assert tree(Path("work"))["out/total.txt"] == "42\n"


def test_a_second_mirror_of_the_same_folder_reuses_the_container(
        sdk_env: RunningServer) -> None:
    write(Path("work"), {"a.txt": "a"})
    with containersync.Mirror("work") as m:
        first = m.container_id
    with containersync.Mirror("work") as m:
        assert m.container_id == first


def test_a_dry_run_beside_a_running_mirror(sdk_env: RunningServer) -> None:
    write(Path("work"), {"a.txt": "a"})
    with containersync.Mirror("work") as m:
        report = containersync.sync("work", dry_run=True)  # the mirror holds the lock
        assert report.container_id == m.container_id and report.planned == ()


def test_entering_a_mirror_raises_halted_and_leaves_nothing_running(
        sdk_env: RunningServer) -> None:
    write(Path("work"), {f"f{i}.txt": str(i) for i in range(4)})
    containersync.sync("work")
    for i in range(3):
        Path(f"work/f{i}.txt").unlink()
    with pytest.raises(Halted), containersync.Mirror("work"):
        raise AssertionError("the block must not run")
    # the lock was released: a forced sync proceeds at once
    assert containersync.sync("work", force=True).counts.deleted_remote == 3


def test_a_second_mirror_of_a_folder_in_use_raises_locked(sdk_env: RunningServer) -> None:
    write(Path("work"), {"a.txt": "a"})
    with containersync.Mirror("work"):
        with pytest.raises(LockedError, match="containersync daemon"):
            containersync.Mirror("work").start()
        with pytest.raises(LockedError):
            containersync.sync("work")


def test_a_refused_key_raises_auth_error_on_entering(
        local_server_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    guarded = local_server_factory(api_key="sk-the-right-one")
    monkeypatch.setenv("OPENAI_BASE_URL", guarded.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-a-wrong-one")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    write(tmp_path / "work", {"a.txt": "a"})
    with pytest.raises(AuthError), containersync.Mirror(tmp_path / "work"):
        raise AssertionError("the block must not run")
    mirror = containersync.Mirror(tmp_path / "work", api_key="sk-the-right-one")
    with mirror as m:
        assert m.container_id.startswith("cntr_")


def test_the_background_loop_does_not_print_on_stdout(
        sdk_env: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    """In a notebook, structlog's unconfigured default printed a line per cycle."""
    import structlog

    structlog.reset_defaults()
    write(Path("work"), {"a.txt": "a"})
    with containersync.Mirror("work") as m:
        write(Path("work"), {"b.txt": "b"})
        m.sync()
    out = capsys.readouterr().out
    assert "cycle" not in out and out == ""
