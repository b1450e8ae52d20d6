"""Shared parts of the crash-safety tests (``test_sync_crash*.py``): a mapping driven by the
real CLI as a subprocess, a server-side kill point, and the convergence check.

How a kill point is chosen, deterministically: ``KillPoint`` wraps one method of the
backend's ``Store`` (the server runs in the test process) so that the N-th matching request
first runs for real and then SIGKILLs the client before the answer leaves: the server has
acted, the client never learns it (or, with ``after=False``, the client dies just before the
server acts). This is a timing hook on the test's backend, not a mock: the request, the store
and the client are all real.

``assert_converged`` runs sync again and checks what a user would see (SYNC_SEMANTICS "Crash
safety"): exit 0; the local tree is exactly the expected one (no ``.containersync-tmp-*``, no
partial file); one remote object per path with the right content (downloaded over HTTP and
compared); one running container for the mapping's name; no pending intent in the index;
and a further sync that transfers and hashes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from containersync.index.store import Index
from containersync.localapi.embedded import RunningServer
from containersync.localapi.errors import ApiError
from containersync.model.entry import NO_MTIME
from containersync.model.manifest import is_manifest_path
from support.scenario import mapping_key

MAPPING = "crash"
CONTAINER_NAME = f"containersync-{MAPPING}"
KEY_ENV = "CONTAINERSYNC_CRASH_TEST_KEY"
RUN_TIMEOUT_S = 90


class KillPoint:
    """SIGKILL the sync process when the backend serves the ``nth`` call of ``method``.

    ``after=True`` runs the real call first (the server acted, the answer is lost);
    ``after=False`` kills before the store is touched (and the call then fails)."""

    def __init__(self, server: RunningServer, method: str, nth: int, *, after: bool = True,
                 match: Callable[..., bool] = lambda *a, **k: True) -> None:
        self.store = server.store
        self.method = method
        self.nth, self.after, self.match = nth, after, match
        self.pid: int | None = None
        self.fired = threading.Event()
        self._count = 0
        self._lock = threading.Lock()
        self._real = getattr(self.store, method)
        setattr(self.store, method, self._call)

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        fire = False
        if self.match(*args, **kwargs):
            with self._lock:
                self._count += 1
                fire = self._count == self.nth
        if fire and not self.after:
            self._kill()
            # an ordinary error answer that nobody reads: the client is gone already
            raise ApiError("the client was killed before this call ran", status=503)
        result = self._real(*args, **kwargs)
        if fire and self.after:
            self._kill()
        return result

    def _kill(self) -> None:
        assert self.pid is not None
        os.kill(self.pid, signal.SIGKILL)
        self.fired.set()

    def remove(self) -> None:
        setattr(self.store, self.method, self._real)


@dataclass
class Rig:
    """One mapping (local folder + state dir + config) pointed at a served backend."""

    server: RunningServer
    root: Path
    state: Path
    config: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, KEY_ENV: "sk-crash-test", "PYTHONUNBUFFERED": "1"}

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "containersync", "sync", "--config", str(self.config),
             "--json"], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def sync(self) -> tuple[int, dict[str, Any]]:
        proc = self.start()
        out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
        assert out.strip(), f"no JSON on stdout; stderr:\n{err[-3000:]}"
        result = json.loads(out)
        return proc.returncode, result["mappings"][0]

    def sync_killed_at(self, point: KillPoint) -> None:
        """Run a sync that ``point`` kills; fail if it ends any other way."""
        proc = self.start()
        point.pid = proc.pid
        try:
            out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
        finally:
            point.remove()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert point.fired.is_set(), f"the kill point was never reached:\n{out}\n{err[-3000:]}"
        assert proc.returncode == -signal.SIGKILL

    def index(self) -> Index:
        return Index.open(self.state / "index.sqlite3")

    @property
    def key(self) -> str:
        """The mapping's index key (its identity) in this rig's config."""
        return mapping_key(self.config, MAPPING)

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.base_url + "/", timeout=30,
                            headers={"Authorization": "Bearer sk-crash-test"})


def make_rig(tmp_path: Path, server: RunningServer) -> Rig:
    root, state = tmp_path / "tree", tmp_path / "state"
    root.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[api]\nbase_url = "{server.base_url}"\napi_key_env = "{KEY_ENV}"\nmax_retries = 2\n'
        f'[state]\ndir = "{state}"\n'
        f'[[mappings]]\nname = "{MAPPING}"\nlocal = "{root}"\n')
    return Rig(server, root, state, config)


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def pushed_tree(n: int, *, version: int = 0) -> dict[str, bytes]:
    """``n`` small files in 10 folders; basenames are unique (the live service keeps only
    the basename of an upload)."""
    return {f"d{i % 10}/f{i:04d}.txt": f"file {i} v{version}\n".encode() * (1 + i % 7)
            for i in range(n)}


def local_tree(root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def containers_named(rig: Rig) -> list[dict[str, Any]]:
    with rig.http() as http:
        body = http.get("containers", params={"name": CONTAINER_NAME, "limit": 100}).json()
    return [c for c in body["data"] if c["status"] == "running"]


def remote_objects(rig: Rig, cid: str) -> list[tuple[dict[str, Any], bytes]]:
    """Every object of the container with its content, downloaded over HTTP."""
    out = []
    with rig.http() as http:
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100, "order": "asc"}
            if after:
                params["after"] = after
            page = http.get(f"containers/{cid}/files", params=params).json()
            for obj in page["data"]:
                content = http.get(f"containers/{cid}/files/{obj['id']}/content")
                content.raise_for_status()
                out.append((obj, content.content))
            if not page["has_more"] or not page["data"]:
                return out
            after = page["data"][-1]["id"]


def assert_converged(rig: Rig, expected: dict[str, bytes], *, honoured: bool) -> None:
    """Run sync again and check everything a user could look at."""
    code, result = rig.sync()
    assert code == 0, result
    assert result["status"] == "converged"
    assert local_tree(rig.root) == expected

    containers = containers_named(rig)
    assert len(containers) == 1, containers
    cid = containers[0]["id"]
    objects = remote_objects(rig, cid)
    with rig.index() as index:
        assert index.intents(rig.key) == []
        bases = index.bases(rig.key)
        state = index.mapping(rig.key)
    assert state is not None and state.container_id == cid
    # the container manifest: one, true, where the server chose the paths; else none
    manifests = [(o, d) for o, d in objects if is_manifest_path(o["path"], "/mnt/data")]
    objects = [(o, d) for o, d in objects if not is_manifest_path(o["path"], "/mnt/data")]
    by_id = {obj["id"]: (obj, data) for obj, data in objects}
    if honoured:
        assert manifests == []
    elif expected:
        assert len(manifests) == 1, [o["path"] for o, _ in manifests]
        said = json.loads(manifests[0][1])["files"]
        assert said == {rel: by_id[b.remote_id or ""][0]["path"] for rel, b in bases.items()}
    assert len(objects) == len(expected), sorted(o["path"] for o, _ in objects)
    assert set(bases) == set(expected)
    assert {b.remote_id for b in bases.values()} == set(by_id)
    for rel, base in bases.items():
        obj, data = by_id[base.remote_id or ""]
        assert hashlib.sha256(data).hexdigest() == hashlib.sha256(expected[rel]).hexdigest(), rel
        if honoured or obj["source"] == "assistant":
            assert obj["path"] == f"/mnt/data/{rel}"

    # the next sync transfers nothing and reads only the files whose stat the index does
    # not trust yet (written within the racy window of the sync that recorded them)
    untrusted = sum(b.mtime_ns == NO_MTIME for b in bases.values())
    code, again = rig.sync()
    assert code == 0
    for counter in ("uploaded", "downloaded", "deleted_remote", "deleted_local", "conflicts"):
        assert again[counter] == 0, (counter, again)
    assert again["files_hashed"] == untrusted, again


def rig_maker(tmp_path: Path, local_server_factory: Callable[..., RunningServer],
              ) -> Callable[..., Rig]:
    """``make(**start_server_kwargs)``: a served backend (5 ms latency unless told) and a rig."""
    def make(**server_kwargs: Any) -> Rig:
        server = local_server_factory(latency_ms=server_kwargs.pop("latency_ms", 5),
                                      **server_kwargs)
        return make_rig(tmp_path, server)
    return make


def assistant_writes(rig: Rig, cid: str, count: int) -> dict[str, bytes]:
    """Code "in the sandbox" writes ``count`` files, through ``containersync local exec``."""
    script = (f"for i in $(seq 1 {count}); do mkdir -p out/g$((i % 5)); "
              "head -c $((100 + i * 37)) /dev/zero | tr '\\0' x > out/g$((i % 5))/r$i.dat; "
              "done")
    subprocess.run(
        [sys.executable, "-m", "containersync", "local", "exec", cid,
         "--base-url", rig.server.base_url, "--api-key", "sk-crash-test", "--", "sh", "-c",
         script], check=True, capture_output=True, timeout=RUN_TIMEOUT_S, env=rig.env)
    return {f"out/g{i % 5}/r{i}.dat": b"x" * (100 + i * 37) for i in range(1, count + 1)}


def wait_until_open(pid: int, path: Path, timeout: float) -> bool:
    """Poll ``/proc/PID/fd`` until the process has ``path`` open."""
    deadline = time.monotonic() + timeout
    fd_dir = Path(f"/proc/{pid}/fd")
    target = str(path)
    while time.monotonic() < deadline:
        try:
            for fd in os.listdir(fd_dir):
                try:
                    if os.readlink(fd_dir / fd) == target:
                        return True
                except OSError:
                    continue
        except OSError:
            return False
        time.sleep(0.001)
    return False
