"""Names from the sandbox reach a terminal escaped, and each problem is printed once (issue 8,
findings 6 and 9's last line).

The local backend refuses C0 control characters in paths (``validate.sandbox_path``); the live
service's rules are not documented, so the C0 names go straight into the backend's store, as
a service that accepted them would list them. C1 controls (``\\x9b`` is CSI on an 8-bit
terminal), line separators and bidi overrides pass the backend's own check.
"""

from __future__ import annotations

import io
import subprocess
import sys
import unicodedata

import pytest

from containersync.localapi.embedded import RunningServer
from support.backend import add_assistant_file
from support.scenario import KEY_ENV, World

FORGED = "m: problem (forged) evil.txt: fake"
C0_NAMES = [f"line\n{FORGED}", "tab\there.txt", "nul\x00.txt", "\x1b[2J\x1b[31mred.txt",
            "cr\rover.txt", "bell\x07.txt", "del\x7f.txt"]
OTHER_NAMES = ["c1\x9b31m.txt", "nel\x85.txt", "ls\u2028sep.txt", "bidi\u202etxt.exe"]


def _store_unchecked(server: RunningServer, cid: str, path: str) -> None:
    store = server.store
    store._new_file(cid, path, "assistant", True, "text/plain",
                    lambda fid: store._blobs.write_stream(fid, io.BytesIO(b"z")))


def _hostile_world(world: World) -> World:
    world.write({"a.txt": "a", "d/x.txt": "x"})
    assert world.sync().code == 0
    for name in C0_NAMES:
        _store_unchecked(world.server, world.cid, f"/mnt/data/{name}")
    for name in OTHER_NAMES:
        add_assistant_file(world.server, world.cid, f"/mnt/data/{name}", b"z")
    add_assistant_file(world.server, world.cid, "/mnt/data/d", b"a file over a folder")
    return world


def _unsafe(text: str) -> list[str]:
    """Characters that must never reach a terminal raw (a newline ends a line: allowed)."""
    return [ch for ch in text if ch != "\n" and (
        unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs")
        or "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069")]


def _check(text: str) -> None:
    assert _unsafe(text) == [], repr(text)
    assert not any(line.startswith(FORGED) for line in text.splitlines()), text


def test_sync_and_status_print_sandbox_names_escaped(world: World) -> None:
    _hostile_world(world)
    for flags in ((), ("--dry-run",)):
        result = world.sync(*flags, json_out=False, subprocess=True)
        _check(result.out + result.err)
        assert "\\x1b[2J\\x1b[31mred.txt" in result.out
        assert "line\\nm: problem (forged)" in result.out
    as_json = world.sync()  # JSON escapes by itself, and keeps the names exact
    assert {p["path"] for p in as_json.m["problems"]} >= {f"/mnt/data/{n}" for n in C0_NAMES}
    done = subprocess.run([sys.executable, "-m", "containersync", "status", "--config",
                           str(world.config)], capture_output=True, text=True, timeout=60,
                          check=False, env={KEY_ENV: "unused", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    _check(done.stdout + done.stderr)
    assert "nul\\x00.txt" in done.stdout


def test_each_problem_is_printed_once(world: World) -> None:
    _hostile_world(world)
    result = world.sync(json_out=False, subprocess=True)
    text = result.out + result.err
    assert sum("tab\\there.txt" in line for line in text.splitlines()) == 1, text
    # an executor's problem (a remote file where a local folder is) is said once, too
    assert sum(" d: " in line or line.endswith(": d") for line in text.splitlines()) == 1, text


@pytest.mark.parametrize("name", C0_NAMES + OTHER_NAMES)
def test_printable_escapes_what_a_terminal_would_obey(name: str) -> None:
    from containersync.display import printable

    shown = printable(name)
    assert _unsafe(shown) == [] and "\n" not in shown
    assert printable("ordinary name — ünïcode 日本語.txt") == "ordinary name — ünïcode 日本語.txt"
    assert printable("lone \udcff surrogate") == "lone \\udcff surrogate"
