"""Helpers for the daemon's end-to-end tests (no tests here).

``DaemonRun`` writes a config pointing at a served local backend, starts
``python -m containersync daemon`` as a real subprocess, and lets a test look at what a
user would see: ``containersync status`` data (the same ``collect`` the command prints), the
container's listing in the backend, the log, and systemd notifications on a real
AF_UNIX datagram socket. Every wait polls with a bounded deadline; nothing sleeps a fixed
debounce.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from containersync.commands.status import collect
from containersync.config import load_config
from containersync.localapi.embedded import RunningServer
from containersync.localapi.errors import NotFound
from containersync.model.manifest import is_manifest_path

KEY_ENV = "CONTAINERSYNC_TEST_KEY"
DEADLINE = 30.0


def wait_for(cond: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    end = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Notifications:
    """A NOTIFY_SOCKET the test binds, collecting what the daemon sends.

    A thread reads it all the time, as systemd does: an unread socket fills after
    ``net.unix.max_dgram_qlen`` datagrams (often 10), and the daemon then drops
    notifications (it never blocks on them), so a test reading only now and then would
    miss some."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.lines.extend(data.decode().splitlines())

    def drain(self) -> list[str]:
        """Everything received so far."""
        with self._lock:
            return list(self.lines)

    def close(self) -> None:
        """Stop reading, after taking what is still queued."""
        self._closed.set()
        self._reader.join(1)
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:  # TimeoutError: nothing left
                break
            with self._lock:
                self.lines.extend(data.decode().splitlines())
        self.sock.close()


class DaemonRun:
    def __init__(self, tmp: Path, server: RunningServer, *, daemon: dict[str, Any] | None = None,
                 container: dict[str, Any] | None = None, base_url: str | None = None) -> None:
        self.tmp = tmp
        self.server = server
        self.local = tmp / "folder"
        self.local.mkdir(exist_ok=True)
        self.state = tmp / "state"
        self.config = tmp / "config.toml"
        self.log_path = tmp / "daemon.log"
        settings = {"debounce_ms": 50, "max_wait_ms": 1000, "pull_interval_seconds": 0.5,
                    **(daemon or {})}
        lines = ["[api]", f'base_url = "{base_url or server.base_url}"',
                 f'api_key_env = "{KEY_ENV}"', "max_retries = 1", "timeout_seconds = 5",
                 "[state]", f'dir = "{self.state}"', "[daemon]"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
        lines += ["[[mappings]]", 'name = "m"', f'local = "{self.local}"']
        if container:
            lines.append("[mappings.container]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in container.items()]
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None
        self.notify: Notifications | None = None

    def start(self, *, notify: bool = False, prefix: list[str] | None = None,
              log_level: str = "info") -> DaemonRun:
        env = {**os.environ, KEY_ENV: "sk-test-not-a-secret"}
        env.pop("NOTIFY_SOCKET", None)
        if notify:
            self.notify = Notifications(self.tmp / "notify.sock")
            env["NOTIFY_SOCKET"] = str(self.notify.path)
        cmd = [*(prefix or []), sys.executable, "-m", "containersync", "daemon", "--config",
               str(self.config), "--log-format", "json", "--log-level", log_level]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        return self

    # -- what a user sees -------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        result = collect(load_config(self.config).config)
        mapping: dict[str, Any] = result["mappings"][0]
        return mapping

    def daemon(self) -> dict[str, Any]:
        """The running daemon's part of ``status`` (waits until it has written one)."""
        found: dict[str, Any] = wait_for(
            lambda: (lambda d: d if d["running"] else None)(self.status()["daemon"]),
            "the daemon's state")
        return found

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def container_id(self) -> str:
        cid = wait_for(lambda: self.status()["container"]["id"], "a container")
        return str(cid)

    def remote(self, cid: str | None = None) -> dict[str, bytes]:
        """The container's files as {path below /mnt/data: content} (no keep-alive effect),
        without containersync's manifest (where the server chose the paths): not a file."""
        cid = cid or self.container_id()
        out: dict[str, bytes] = {}
        for f in self.server.store.list_container_files(cid):
            if f.get("source") == "user" and is_manifest_path(f["path"], "/mnt/data"):
                continue
            try:
                handle, _, _ = self.server.store.open_container_file(cid, f["id"])
            except NotFound:
                continue  # deleted by the daemon between the listing and the read
            with handle:
                out[f["path"].removeprefix("/mnt/data/")] = handle.read()
        return out

    def wait_remote(self, cond: Callable[[dict[str, bytes]], bool], what: str,
                    timeout: float = DEADLINE, cid: str | None = None) -> dict[str, bytes]:
        seen: list[dict[str, bytes]] = [{}]

        def check() -> dict[str, bytes] | None:
            seen[0] = self.remote(cid)
            return seen[0] if cond(seen[0]) else None

        try:
            result: dict[str, bytes] = wait_for(check, what, timeout)
        except AssertionError as exc:
            listing = self.server.store.list_container_files(cid or self.container_id())
            raise AssertionError(
                f"{exc}\ncontainer holds: {seen[0]!r}\nobjects: "
                f"{[(f['id'], f['path']) for f in listing]!r}\n"
                f"daemon log (tail):\n{self.log()[-6000:]}") from None
        return result

    def wait_ready(self) -> None:
        wait_for(lambda: self.status()["daemon"].get("cycles", 0) >= 1, "the first sync")

    # -- stopping -----------------------------------------------------------------------------

    def stop(self, timeout: float = 40.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if self.notify is not None:
                self.notify.drain()
                self.notify.close()
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.notify is not None:
            self.notify.close()
