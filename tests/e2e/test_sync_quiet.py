"""``sync --quiet``: nothing but the problems, one line each, once; the exit code is the
same as without it. ``--json`` still prints the whole document on stdout."""

from __future__ import annotations

import json
import os
import re
import subprocess as sp
import sys

from support.backend import inject_fault
from support.scenario import KEY_ENV, World


def _fail_next_upload(world: World) -> None:
    # a 400 is not retried: the upload of one file fails, the others go through
    inject_fault(world.server, method="POST", path_regex=r"/containers/[^/]+/files$",
                 status=400, times=1)


def test_quiet_prints_only_each_problem_once_and_keeps_the_exit_code(world: World) -> None:
    world.write({"a.txt": "a"})
    assert world.sync().code == 0
    world.write({"b.txt": "b", "c.txt": "c"})
    os.symlink("a.txt", world.root / "link")  # a notice, not a problem
    _fail_next_upload(world)
    loud = world.sync(json_out=False)
    assert loud.code == 1
    assert any(line.startswith("m: synced") for line in loud.out.splitlines())

    world.write({"d.txt": "d"})
    _fail_next_upload(world)
    quiet = world.sync("--quiet", json_out=False)
    assert quiet.code == 1, quiet.err
    lines = quiet.out.splitlines() + quiet.err.splitlines()
    assert len(lines) == 1, lines  # the one upload that failed; nothing else
    assert lines[0].startswith("m: problem (upload-failed) ")

    clean = world.sync("--quiet", json_out=False)  # everything goes through now
    assert (clean.code, clean.out, clean.err) == (0, "", "")


def test_quiet_with_json_keeps_the_document_and_says_problems_on_stderr(
        world: World) -> None:
    world.write({"a.txt": "a", "b.txt": "b"})
    _fail_next_upload(world)
    result = world.sync("--quiet")
    assert result.code == 1 and result.json["exit_code"] == 1
    assert len(result.m["problems"]) == 1
    [line] = result.err.splitlines()
    problem = result.m["problems"][0]
    assert line == f"m: problem ({problem['kind']}) {problem['path']}: {problem['message']}"
    assert json.loads(result.out)["schema"] == "containersync.sync/1"


def test_quiet_dry_run_and_quiet_halt(world: World) -> None:
    world.write({f"f{i}.txt": str(i) for i in range(4)})
    dry = world.sync("--quiet", "--dry-run", json_out=False)
    assert (dry.code, dry.out, dry.err) == (0, "", "")
    assert world.sync("--quiet", json_out=False).code == 0
    world.write(dict.fromkeys(["f0.txt", "f1.txt", "f2.txt"]))
    halted = world.sync("--quiet", json_out=False)
    assert halted.code == 3
    [line] = halted.out.splitlines() + halted.err.splitlines()
    assert line.startswith("m: HALTED (")


def _under_journald(world: World, *argv: str) -> tuple[int, list[str]]:
    """``containersync sync`` as a systemd timer runs it: stdout and stderr one stream,
    the one JOURNAL_STREAM names."""
    out = world.base / "journal"
    with open(out, "wb") as stream:
        st = os.fstat(stream.fileno())
        env = {**os.environ, KEY_ENV: "sk-scenario-unused",
               "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        code = sp.run([sys.executable, "-m", "containersync", *argv], stdout=stream,
                      stderr=stream, env=env, timeout=120, check=False).returncode
    return code, out.read_text().splitlines()


def test_sync_under_journald_gives_each_line_its_priority(world: World) -> None:
    world.write({"a.txt": "a", "b.txt": "b"})
    _fail_next_upload(world)
    code, lines = _under_journald(world, "sync", "--config", str(world.config))
    assert code == 1
    assert all(re.match(r"^<[346]>", line) for line in lines), lines
    assert [line for line in lines if line.startswith("<4>")] == [
        line for line in lines if line.startswith("<4>m: problem (upload-failed) ")]
    assert len([line for line in lines if line.startswith("<4>")]) == 1
    assert any(line.startswith("<6>m: synced") for line in lines)

    world.config.write_text("[api\n")  # broken: the error is an error
    code, lines = _under_journald(world, "sync", "--config", str(world.config))
    assert code == 78 and lines and lines[0].startswith("<3>containersync: configuration")
