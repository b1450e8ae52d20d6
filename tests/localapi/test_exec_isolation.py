"""``local exec`` isolation, end to end: absolute sandbox paths, memory limit, network policy.

Each test runs the real CLI as a subprocess against a served backend. Where the platform
refuses a namespace (not root and no user namespaces), the test that needs it is skipped
with the reason the probe gave; the memory test holds either way (cgroup, else RLIMIT_AS).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_exec_cli import PREFIX, create_container, listing, local_exec, upload

from containersync.localapi.embedded import RunningServer
from containersync.localapi.exec_limits import own_cgroup_dirs
from containersync.localapi.isolation import probe_in_child

CAN = probe_in_child()
needs_mounts = pytest.mark.skipif(CAN["mount"] is not None,
                                  reason=f"platform refuses a mount namespace: {CAN['mount']}")
needs_netns = pytest.mark.skipif(CAN["network"] is not None,
                                 reason=f"platform refuses a network namespace: {CAN['network']}")
PY = sys.executable


@needs_mounts
def test_the_command_sees_absolute_sandbox_paths(local_server: RunningServer) -> None:
    cid = create_container(local_server)
    upload(local_server, cid, "/mnt/data/in.txt", b"data;")
    upload(local_server, cid, "/workspace/lib.py", b"WORD = 'ws'\n")
    code = ("import os, sys; sys.path.insert(0, '/workspace'); import lib;"
            "open('/mnt/data/out.txt', 'w').write(open('/mnt/data/in.txt').read() + lib.WORD);"
            "open('/workspace/made.txt', 'w').write('w');"
            "print(os.getcwd(), sorted(os.listdir('/mnt')))")

    result = local_exec(cid, PY, "-c", code, server=local_server)

    assert (result.returncode, result.stdout) == (0, "/mnt/data ['data']\n"), result.stderr
    files = listing(local_server, cid)
    assert {"/mnt/data/out.txt", "/workspace/made.txt"} <= set(files)
    assert files["/mnt/data/out.txt"]["source"] == "assistant"
    # nothing leaked into our own mount namespace
    assert " /mnt/data " not in Path("/proc/self/mountinfo").read_text()


def test_memory_limit_kills_a_command_over_it(local_server: RunningServer) -> None:
    cid = create_container(local_server, memory_limit="512m")
    over = local_exec(cid, PY, "-c", "b = b'x' * (900 << 20); print('survived')",
                      server=local_server)
    assert over.returncode != 0
    assert "survived" not in over.stdout
    assert ("killed by the OOM killer" in over.stderr
            or "memory limit is approximate" in over.stderr), over.stderr

    under = local_exec(cid, PY, "-c", "b = b'x' * (64 << 20); print('fine')",
                       server=local_server)
    assert (under.returncode, under.stdout) == (0, "fine\n"), under.stderr
    # this process's groups only (the embedded server runs here): a suite run beside this
    # one has its own commands' groups under the same parent while they run
    leftovers = [p for _, parent in own_cgroup_dirs()
                 for p in parent.glob(f"containersync-exec-{os.getpid()}-*")]
    assert leftovers == []


def test_without_a_cgroup_the_rlimit_fallback_still_stops_the_command(tmp_path: Path) -> None:
    for sub in ("mnt/data", "workspace"):
        (tmp_path / sub).mkdir(parents=True)
    argv = [PY, "-m", "containersync.localapi.isolation", "--tree", str(tmp_path),
            "--memory", str(512 << 20), "--", PY, "-c", "b = b'x' * (900 << 20)"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "MemoryError" in done.stderr
    assert f"{PREFIX} memory limit is approximate" in done.stderr


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on loopback in *our* network namespace; connects complete via backlog."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield int(server.getsockname()[1])


def connect_code(port: int) -> str:
    return (f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5);"
            "print('connected')")


@needs_netns
def test_network_disabled_cannot_reach_a_loopback_server(local_server: RunningServer,
                                                          listener: int) -> None:
    cid = create_container(local_server, network_policy={"type": "disabled"})
    result = local_exec(cid, PY, "-c", connect_code(listener), server=local_server)
    assert result.returncode != 0
    assert "connected" not in result.stdout
    assert "Network is unreachable" in result.stderr or "Errno" in result.stderr


def test_allowlist_runs_with_network_and_says_it_is_not_enforced(
        local_server: RunningServer, listener: int) -> None:
    cid = create_container(local_server, network_policy={
        "type": "allowlist", "allowed_domains": ["example.com"]})
    result = local_exec(cid, PY, "-c", connect_code(listener), server=local_server)
    assert (result.returncode, result.stdout) == (0, "connected\n"), result.stderr
    assert f"{PREFIX} network_policy allowlist cannot be enforced locally" in result.stderr
