"""``containersync local exec`` end to end: the CLI as a subprocess against a real served backend.

What a user sees: the command's exit code and output, and the container's file listing
afterwards (ids, ``source``, ``bytes``), over HTTP and with the data dir opened directly
while the server keeps serving it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from containersync.localapi.embedded import RunningServer
from support.backend import add_assistant_file, raw

PREFIX = "containersync local exec:"


def create_container(server: RunningServer, **body: Any) -> str:
    with raw(server) as client:
        response = client.post("/v1/containers", json={"name": "exec-test", **body})
        response.raise_for_status()
        return str(response.json()["id"])


def upload(server: RunningServer, cid: str, path: str, content: bytes) -> dict[str, Any]:
    with raw(server) as client:
        response = client.post(f"/v1/containers/{cid}/files", files={"file": ("f", content)},
                               data={"path": path})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def listing(server: RunningServer, cid: str) -> dict[str, dict[str, Any]]:
    """Newest object per path, as the sync engine would read it."""
    with raw(server) as client:
        response = client.get(f"/v1/containers/{cid}/files", params={"order": "asc",
                                                                     "limit": 100})
        response.raise_for_status()
        return {o["path"]: o for o in response.json()["data"]}


def content(server: RunningServer, cid: str, fid: str) -> bytes:
    with raw(server) as client:
        return client.get(f"/v1/containers/{cid}/files/{fid}/content").content


def local_exec(cid: str, *command: str, server: RunningServer | None = None,
               data_dir: Path | None = None, options: tuple[str, ...] = (),
               ) -> subprocess.CompletedProcess[str]:
    where = ["--base-url", server.base_url] if server else ["--data-dir", str(data_dir)]
    argv = [sys.executable, "-m", "containersync", "local", "exec", cid, *where, *options,
            "--", *command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_created_changed_and_deleted_files_are_recorded_as_assistant_files(
        local_server: RunningServer) -> None:
    cid = create_container(local_server)
    keep = upload(local_server, cid, "/mnt/data/keep.txt", b"same")
    change = upload(local_server, cid, "/mnt/data/change.txt", b"before")
    upload(local_server, cid, "/workspace/gone.py", b"print(1)")
    script = ("cat keep.txt > /dev/null; echo after > change.txt; rm ../../workspace/gone.py;"
              " mkdir -p out; printf 'a,b\\n' > out/new.csv")

    result = local_exec(cid, "sh", "-c", script, server=local_server)

    assert result.returncode == 0, result.stderr
    files = listing(local_server, cid)
    assert sorted(files) == ["/mnt/data/change.txt", "/mnt/data/keep.txt",
                             "/mnt/data/out/new.csv"]
    assert files["/mnt/data/keep.txt"]["id"] == keep["id"]
    assert files["/mnt/data/keep.txt"]["source"] == "user"
    changed, new = files["/mnt/data/change.txt"], files["/mnt/data/out/new.csv"]
    assert changed["id"] != change["id"]
    assert (changed["source"], changed["bytes"]) == ("assistant", None)
    assert (new["source"], new["bytes"]) == ("assistant", None)
    assert content(local_server, cid, changed["id"]) == b"after\n"
    assert content(local_server, cid, new["id"]) == b"a,b\n"


def test_record_bytes_reports_the_size(local_server: RunningServer) -> None:
    cid = create_container(local_server)
    result = local_exec(cid, "sh", "-c", "printf 12345 > five.bin", server=local_server,
                        options=("--record-bytes",))
    assert result.returncode == 0, result.stderr
    made = listing(local_server, cid)["/mnt/data/five.bin"]
    assert (made["source"], made["bytes"]) == ("assistant", 5)


def test_the_command_sees_the_newest_object_of_a_path(local_server: RunningServer) -> None:
    cid = create_container(local_server)
    upload(local_server, cid, "/mnt/data/v.txt", b"old")
    local_server.advance_clock(1)  # newest is by (created_at, id): make created_at differ
    add_assistant_file(local_server, cid, "/mnt/data/v.txt", b"new")
    result = local_exec(cid, "cat", "v.txt", server=local_server)
    assert (result.returncode, result.stdout) == (0, "new")


def test_deleting_a_path_removes_every_object_there(local_server: RunningServer) -> None:
    cid = create_container(local_server)
    upload(local_server, cid, "/mnt/data/v.txt", b"old")
    add_assistant_file(local_server, cid, "/mnt/data/v.txt", b"new")
    result = local_exec(cid, "rm", "v.txt", server=local_server)
    assert result.returncode == 0, result.stderr
    assert listing(local_server, cid) == {}


def test_exit_code_and_output_pass_through(local_server: RunningServer) -> None:
    cid = create_container(local_server)
    result = local_exec(cid, "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7",
                        server=local_server)
    assert result.returncode == 7
    assert result.stdout == "to-stdout\n"
    assert "to-stderr\n" in result.stderr
    assert all(line.startswith(PREFIX) or line == "to-stderr"
               for line in result.stderr.splitlines())


def test_a_missing_command_exits_127(local_server: RunningServer) -> None:
    cid = create_container(local_server)
    result = local_exec(cid, "no-such-command-xyz", server=local_server)
    assert result.returncode == 127
    assert f"{PREFIX} command not found: no-such-command-xyz" in result.stderr


def test_symlinks_the_command_makes_are_ignored_and_said(local_server: RunningServer) -> None:
    cid = create_container(local_server)
    result = local_exec(cid, "ln", "-s", "/etc/passwd", "pw", server=local_server)
    assert result.returncode == 0
    assert f"{PREFIX} /mnt/data/pw ignored: a symlink" in result.stderr
    assert listing(local_server, cid) == {}


@pytest.mark.parametrize("expire", [True, False], ids=["expired", "unknown"])
def test_expired_or_unknown_container_runs_nothing(local_server: RunningServer, tmp_path: Path,
                                                   expire: bool) -> None:
    cid = create_container(local_server) if expire else "cntr_" + "0" * 48
    if expire:
        local_server.advance_clock(21 * 60)
    marker = tmp_path / "ran"
    result = local_exec(cid, "touch", str(marker), server=local_server)
    assert result.returncode == 1
    assert not marker.exists()
    assert "nothing was run" in result.stderr
    assert ("expired" if expire else "not found") in result.stderr


def test_data_dir_mode_works_while_a_server_uses_the_same_data_dir(
        local_server: RunningServer) -> None:
    cid = create_container(local_server)
    upload(local_server, cid, "/mnt/data/in.txt", b"from the server")
    result = local_exec(cid, "sh", "-c", "cat in.txt; cp in.txt copy.txt; rm in.txt",
                        data_dir=local_server.store.data_dir)
    assert (result.returncode, result.stdout) == (0, "from the server"), result.stderr
    files = listing(local_server, cid)
    assert sorted(files) == ["/mnt/data/copy.txt"]
    assert files["/mnt/data/copy.txt"]["source"] == "assistant"
    assert content(local_server, cid, files["/mnt/data/copy.txt"]["id"]) == b"from the server"


def test_data_dir_without_backend_state_is_a_usage_error(tmp_path: Path) -> None:
    result = local_exec("cntr_x", "true", data_dir=tmp_path / "empty")
    assert result.returncode == 2
    assert "no local backend data" in result.stderr


def test_sigterm_reaches_the_command_and_its_files_are_still_recorded(
        local_server: RunningServer) -> None:
    cid = create_container(local_server)
    argv = [sys.executable, "-m", "containersync", "local", "exec", cid, "--base-url",
            local_server.base_url, "--", "sh", "-c",
            "echo partial > p.txt; echo ready; exec sleep 30"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"  # the command is running: stop us now
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert listing(local_server, cid)["/mnt/data/p.txt"]["source"] == "assistant"
