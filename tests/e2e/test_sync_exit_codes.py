"""What a user's shell sees from ``containersync sync``: exit codes, the lock, and secrets.

0 converged · 1 per-path problems · 2 usage · 3 halted (see test_sync_max_delete and
test_sync_rails) · 78 bad config (file and field named on stderr). Every run here is a
subprocess. A second process holding the mapping lock makes sync refuse and name the
holder. The API key never appears in stdout, stderr, ``--json`` or the state dir.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess as sp
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from containersync import cli
from support.backend import add_assistant_file
from support.scenario import KEY_ENV, World, counts, sync

NOBODY = 65534


@pytest.fixture
def world(local_server, tmp_path: Path) -> World:
    return World(local_server, tmp_path)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder another user can reach (pytest's tmp dirs are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="containersync-e2e-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_converged_is_0(world: World) -> None:
    world.write({"a.txt": "a"})
    result = world.sync(subprocess=True)
    assert (result.code, result.json["exit_code"], result.m["status"]) == (0, 0, "converged")


def _sync_as_nobody(config: Path) -> tuple[int, str]:
    """``cli.main(["sync", ...])`` in a forked child that dropped to uid/gid nobody (root
    reads anything; the interpreter lives under /root, so no ``user=`` subprocess; the
    caller must have imported what the child needs).
    Returns the child's exit status and what it printed."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        code = 70
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            err = io.StringIO()
            with contextlib.redirect_stdout(err), contextlib.redirect_stderr(err):
                code = cli.main(["sync", "--config", str(config)])
            os.write(write_end, err.getvalue().encode())
        except BaseException:
            os.write(write_end, traceback.format_exc().encode())
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        stderr = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), stderr


def test_unreadable_local_file_is_1_and_the_rest_syncs(local_server, open_dir: Path,
                                                        tmp_path: Path) -> None:
    # nobody cannot read the interpreter's stdlib under /root: a throwaway sync here
    # imports every module the forked child will need
    warm = World(local_server, tmp_path / "warm-up")
    warm.configure(container={"name": "warm-up"})  # its own container, not the one below
    warm.write({"w.txt": "w"})
    assert warm.sync().code == 0
    world = World(local_server, open_dir)
    world.write({"ok.txt": "fine", "locked.txt": "private"})
    (world.root / "locked.txt").chmod(0)
    if os.geteuid() != 0:
        result = world.sync(subprocess=True)
        code, stderr = result.code, result.err
    else:
        world.state.mkdir()
        for path in (world.root, world.root / "ok.txt", world.state):
            os.chown(path, NOBODY, NOBODY)
        world.config.chmod(0o644)
        with _environ_key():
            code, stderr = _sync_as_nobody(world.config)
    assert code == 1, stderr
    assert "locked.txt" in stderr and "Traceback" not in stderr
    assert world.remote() == {"ok.txt": "fine"}


@contextlib.contextmanager
def _environ_key() -> Iterator[None]:
    os.environ[KEY_ENV] = "unused"
    try:
        yield
    finally:
        os.environ.pop(KEY_ENV, None)


def test_file_outside_the_remote_root_is_a_problem_never_written(world: World) -> None:
    world.write({"a.txt": "a"})
    assert world.sync().code == 0
    add_assistant_file(world.server, world.cid, "/workspace/x", b"outside")
    result = world.sync(subprocess=True)
    assert result.code == 1, result.err
    assert [(p["kind"], p["path"]) for p in result.m["problems"]] == [
        ("unsafe-remote-path", "/workspace/x")]
    assert world.local() == {"a.txt": "a"}
    assert not (world.base / "workspace").exists()


def test_bad_config_is_78_naming_file_and_field(world: World) -> None:
    world.configure(mode="sideways")
    result = world.sync(subprocess=True)
    assert result.code == 78
    assert str(world.config) in result.err and "mappings[0].mode" in result.err
    assert "two-way" in result.err  # the fix lists the valid modes
    assert result.out == ""


def test_missing_config_is_78(tmp_path: Path) -> None:
    result = sync(tmp_path / "nope.toml", subprocess=True)
    assert result.code == 78 and "nope.toml" in result.err


def test_usage_error_is_2(world: World) -> None:
    result = world.sync("--no-such-flag", subprocess=True)
    assert result.code == 2 and "--no-such-flag" in result.err


HOLDER = """
import sys
from pathlib import Path
from containersync.index.lock import MappingLock
lock = MappingLock(Path(sys.argv[1]), sys.argv[2], purpose="a test holding the lock")
lock.acquire()
print("held", flush=True)
sys.stdin.read()
"""


def test_a_held_lock_refuses_and_names_the_holder(world: World) -> None:
    world.write({"a.txt": "a"})
    holder = sp.Popen([sys.executable, "-c", HOLDER, str(world.state), world.key], stdin=sp.PIPE,
                      stdout=sp.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = world.sync(subprocess=True)
        assert result.code == 1, result.err
        assert result.m["status"] == "locked"
        assert "a test holding the lock" in result.err and str(holder.pid) in result.err
    finally:
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.close()
        holder.wait(timeout=10)
        holder.stdout.close()
    after = world.sync()
    assert (after.code, after.counts) == (0, counts(uploaded=1))


SECRET = "sk-scenario-SECRET-4f9a8e"


def _leaks(text: str | bytes, key: str) -> bool:
    data = text.encode() if isinstance(text, str) else text
    return key.encode() in data


def test_api_key_never_appears(local_server_factory, tmp_path: Path) -> None:
    server = local_server_factory(api_key=SECRET)
    world = World(server, tmp_path, api_key=SECRET)
    world.write({"a.txt": "a", "unsafe": "x"})
    ok = world.sync(subprocess=True)
    assert ok.code == 0, ok.err
    world.assistant_changes({"b.txt": "b", "a.txt": None})
    add_assistant_file(server, world.cid, "/workspace/x", b"outside")  # a problem line too
    pulled = world.sync(subprocess=True, json_out=False)
    assert pulled.code == 1
    for result in (ok, pulled):
        assert not _leaks(result.out + result.err, SECRET)
    # a wrong key fails loudly, and neither key is printed
    wrong = "sk-scenario-WRONG-77c1d0"
    bad = sync(world.config, subprocess=True, env={KEY_ENV: wrong})
    assert bad.code != 0
    assert not _leaks(bad.out + bad.err, wrong) and not _leaks(bad.out + bad.err, SECRET)
    for path in world.state.rglob("*"):
        if path.is_file():
            assert not _leaks(path.read_bytes(), SECRET), path
    assert not _leaks(world.config.read_bytes(), SECRET)  # only the variable's name
