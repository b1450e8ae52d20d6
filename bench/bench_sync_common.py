"""What the sync benchmarks share: a served backend in its own process, a config for it,
and one timed `containersync sync --json` run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

KEY_ENV = "CONTAINERSYNC_BENCH_KEY"


def start_backend(data_dir: Path | str) -> tuple[subprocess.Popen[str], str]:
    """``containersync serve-local`` on a free loopback port; returns (process, base URL)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "containersync", "serve-local", "--port", "0",
         "--data-dir", str(data_dir)], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if "listening on " not in line:
        proc.kill()
        raise SystemExit(f"backend did not start: {line!r}")
    return proc, line.split("listening on ")[1].split()[0]


def write_config(work: Path, base_url: str) -> Path:
    config = work / "config.toml"
    config.write_text(
        f'[api]\nbase_url = "{base_url}"\napi_key_env = "{KEY_ENV}"\n'
        f'[state]\ndir = "{work / "state"}"\n'
        f'[[mappings]]\nname = "bench"\nlocal = "{work / "tree"}"\n')
    return config


def run_sync(config: Path, timeout: float) -> tuple[float, dict[str, object], int]:
    """Run one sync; returns (wall seconds, the mapping's --json result, exit code)."""
    env = {**os.environ, KEY_ENV: "sk-bench"}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "containersync", "sync", "--config", str(config), "--json"],
        capture_output=True, text=True, timeout=timeout, env=env)
    seconds = time.monotonic() - started
    if not proc.stdout.strip():
        raise SystemExit(f"sync printed no JSON: {proc.stderr[-2000:]}")
    return seconds, json.loads(proc.stdout)["mappings"][0], proc.returncode
