"""Shared set-up of the daemon benches: a served local backend in this process, a config,
and ``python -m containersync daemon`` as a subprocess (so daemon and backend do not share
a GIL any more than they would in real use)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from containersync.index.store import Index
from containersync.localapi.embedded import RunningServer

KEY_ENV = "CONTAINERSYNC_BENCH_KEY"


def write_config(tmp: Path, server: RunningServer, local: Path, **daemon: object) -> Path:
    lines = ["[api]", f'base_url = "{server.base_url}"', f'api_key_env = "{KEY_ENV}"',
             "[state]", f'dir = "{tmp / "state"}"', "[daemon]"]
    lines += [f"{k} = {v}" for k, v in daemon.items()]
    lines += ["[[mappings]]", 'name = "bench"', f'local = "{local}"']
    config = tmp / "config.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def start_daemon(config: Path, log: Path, *, debug: bool = False) -> subprocess.Popen[bytes]:
    """``debug``: log at debug level (a line per action carried out, each timestamped)."""
    env = {**os.environ, KEY_ENV: "sk-bench-not-a-secret"}
    env.pop("NOTIFY_SOCKET", None)
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "containersync", "daemon", "--config",
                                 str(config), "--log-format", "json",
                                 *(["--log-level", "debug"] if debug else [])], stdout=out,
                                stderr=subprocess.STDOUT, env=env)


def container_id(state: Path, timeout: float = 600, name: str = "bench") -> str:
    """The container of mapping ``name`` once the daemon recorded one. The index keys a
    mapping by its identity (``bench-<hash>``), and shows ``name`` as its display name."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if (state / "index.sqlite3").exists():
            with Index.open(state / "index.sqlite3") as index:
                rows = [index.mapping(key) for key in index.mapping_names()]
            for row in rows:
                if row is not None and row.container_id and name in (row.name, row.display_name):
                    return row.container_id
        time.sleep(0.05)
    raise TimeoutError("no container")


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
