"""The folder-only command line (``sync FOLDER``, ``status FOLDER``, ``daemon FOLDER``): no
config file, the endpoint and key from ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` as the SDK
reads them, pointing at a served local backend."""

from __future__ import annotations

import json
import os
import signal
import subprocess as sp
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from containersync.localapi.embedded import RunningServer
from support.backend import TEST_KEY, raw
from support.scenario import remote_tree, write


def wait_for(cond: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll ``cond`` until truthy, with a bounded deadline (no fixed sleeps)."""
    end = time.monotonic() + timeout
    while not (value := cond()):
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
    return value


@pytest.fixture
def env(local_server: RunningServer, tmp_path: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "CONTAINERSYNC_CONFIG",
                        "NO_COLOR", "FORCE_COLOR")}
    return {**out, "OPENAI_BASE_URL": local_server.base_url, "OPENAI_API_KEY": TEST_KEY,
            "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
            "XDG_CONFIG_HOME": str(tmp_path / "no-config-here")}


def _cli(env: dict[str, str], *argv: str) -> sp.CompletedProcess[str]:
    return sp.run([sys.executable, "-m", "containersync", *argv], capture_output=True,
                  text=True, timeout=120, check=False, env=env)


def _json(done: sp.CompletedProcess[str]) -> Any:
    assert done.stdout.strip().startswith("{"), done.stderr
    return json.loads(done.stdout)


def _containers(server: RunningServer) -> list[dict[str, Any]]:
    with raw(server) as client:
        data: list[dict[str, Any]] = client.get("/v1/containers").json()["data"]
        return data


def test_sync_folder_then_status_folder(local_server: RunningServer, tmp_path: Path,
                                        env: dict[str, str]) -> None:
    folder = tmp_path / "analysis"
    write(folder, {"data.csv": "1,2\n", "sub/notes.md": "n"})
    done = _cli(env, "sync", str(folder), "--container", "my-analysis", "--json")
    assert done.returncode == 0, done.stderr
    [m] = _json(done)["mappings"]
    assert m["uploaded"] == 2
    [made] = _containers(local_server)
    assert (made["id"], made["name"]) == (m["container_id"], "my-analysis")
    assert remote_tree(local_server, m["container_id"]) == {"data.csv": "1,2\n",
                                                            "sub/notes.md": "n"}

    shown = _cli(env, "status", str(folder), "--container", "my-analysis", "--json")
    assert shown.returncode == 0, shown.stderr
    [s] = _json(shown)["mappings"]
    assert s["container"]["id"] == m["container_id"] and s["local"] == str(folder)
    assert s["endpoint"] == {"base_url": local_server.base_url, "source": "$OPENAI_BASE_URL"}
    text = _cli(env, "status", str(folder), "--container", "my-analysis").stdout
    assert f"endpoint:   {local_server.base_url} (from $OPENAI_BASE_URL)" in text


def test_sync_folder_adopts_a_container_by_id(local_server: RunningServer, tmp_path: Path,
                                             env: dict[str, str]) -> None:
    with raw(local_server) as client:
        cid = client.post("/v1/containers", json={"name": "from-the-sdk"}).json()["id"]
    folder = tmp_path / "w"
    write(folder, {"a.txt": "a"})
    done = _cli(env, "sync", str(folder), "--container", cid, "--mode", "push", "--json")
    assert done.returncode == 0, done.stderr
    assert _json(done)["mappings"][0]["container_id"] == cid
    assert [c["id"] for c in _containers(local_server)] == [cid]


def test_no_key_for_a_url_is_a_config_error_before_any_request(
        local_server: RunningServer, tmp_path: Path, env: dict[str, str]) -> None:
    del env["OPENAI_API_KEY"]
    folder = tmp_path / "w"
    write(folder, {"a.txt": "a"})
    done = _cli(env, "sync", str(folder))
    assert done.returncode == 78
    assert "$OPENAI_API_KEY is not set" in done.stderr and "Traceback" not in done.stderr
    assert _containers(local_server) == []
    del env["OPENAI_BASE_URL"]  # the default is then the live service: refused the same way
    done = _cli(env, "sync", str(folder))
    assert done.returncode == 78 and "https://api.openai.com/v1" in done.stderr


def test_folder_options_without_a_folder_are_refused(tmp_path: Path,
                                                     env: dict[str, str]) -> None:
    done = _cli(env, "sync", "--container", "x")
    assert done.returncode == 2 and "--container only apply with FOLDER" in done.stderr


def test_daemon_folder_pushes_a_change_and_drains_on_sigterm(
        local_server: RunningServer, tmp_path: Path, env: dict[str, str]) -> None:
    folder = tmp_path / "live"
    write(folder, {"first.txt": "1"})
    argv = [sys.executable, "-m", "containersync", "daemon", str(folder), "--log-format",
            "json"]
    with sp.Popen(argv, env=env, stdout=sp.DEVNULL, stderr=sp.PIPE, text=True) as proc:
        try:
            cid = wait_for(lambda: [c["id"] for c in _containers(local_server)],
                           "the daemon's container")[0]
            wait_for(lambda: remote_tree(local_server, cid) == {"first.txt": "1"},
                     "the first sync")
            write(folder, {"second.txt": "2"})
            wait_for(lambda: "second.txt" in remote_tree(local_server, cid),
                     "the watcher's push")
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
