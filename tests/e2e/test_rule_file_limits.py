"""A rule file (``.containersyncignore``, ``.gitignore`` with ``use_gitignore``) is held to
the config's ``exclude`` limits (issue 8 follow-up): one huge line cost ~30 s on every scan.
Over a limit, the mapping refuses to sync (exit 78, naming the file and the line) rather than
sync with fewer rules than the user wrote; other mappings still sync. The daemon halts the
mapping the same way, and exits 78 when that is every mapping at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from containersync.config import MAX_PATTERN_CHARS, MAX_PATTERNS
from containersync.localapi.embedded import RunningServer
from support.daemon_harness import DaemonRun, wait_for
from support.scenario import KEY_ENV, MAPPING, sync, write_config

ENV = {KEY_ENV: "sk-scenario-unused"}
LONG = "a" * (MAX_PATTERN_CHARS + 1)
CASES = {
    "long-line": (".containersyncignore", f"secret.txt\n# a comment\n{LONG}\n", "line 3"),
    "too-many": (".containersyncignore",
                 "secret.txt\n" + "".join(f"p{i}\n" for i in range(MAX_PATTERNS)),
                 f"more than {MAX_PATTERNS}"),
    "gitignore": (".gitignore", f"secret.txt\n{LONG}\n", "line 2"),
}


def _root(tmp_path: Path, name: str, text: str) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    (root / "secret.txt").write_text("held back by the rule file")
    (root / name).write_text(text)
    return root


@pytest.mark.parametrize("case", list(CASES))
def test_a_rule_file_over_the_limits_refuses_the_mapping(
        tmp_path: Path, local_server: RunningServer, case: str) -> None:
    name, text, where = CASES[case]
    root = _root(tmp_path, name, text)
    good = tmp_path / "good"
    good.mkdir()
    (good / "a.txt").write_text("a")
    config = write_config(tmp_path / "c.toml", base_url=local_server.base_url,
                          state=tmp_path / "state", local=root, use_gitignore=True)
    config.write_text(config.read_text() + f'\n[[mappings]]\nname = "good"\nlocal = "{good}"\n')
    result = sync(config, env=ENV)
    assert result.code == 78, (result.out, result.err)
    statuses = {m["mapping"]: m["status"] for m in result.json["mappings"]}
    assert statuses == {MAPPING: "config-error", "good": "converged"}
    assert str(root / name) in result.err and where in result.err
    assert "Traceback" not in result.err
    assert len(result.err) < 2000  # the pattern is not echoed whole


def test_the_daemon_refuses_an_over_long_rule_file_at_start_up(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server)
    (run.local / "secret.txt").write_text("held back by the rule file")
    (run.local / ".containersyncignore").write_text(f"secret.txt\n{LONG}\n")
    runs.append(run.start())
    assert run.proc is not None
    assert run.proc.wait(30) == 78, run.log()
    log = run.log()
    assert "Traceback" not in log and "line 2" in log
    assert str(run.local / ".containersyncignore") in log


def test_a_rule_file_grown_over_the_limit_halts_the_running_mapping(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server)
    rules = run.local / ".containersyncignore"
    rules.write_text("secret.txt\n")
    (run.local / "a.txt").write_text("a")
    runs.append(run.start())
    run.wait_remote(lambda r: "a.txt" in r, "the first sync")
    rules.write_text(f"secret.txt\n{LONG}\n")
    (run.local / "secret.txt").write_text("must stay here")
    daemon = wait_for(lambda: (lambda d: d if d["state"] == "halted" else None)(run.daemon()),
                      "the mapping halted")
    assert "line 2" in daemon["error"] and str(rules) in daemon["error"]
    (run.local / "b.txt").write_text("b")  # a change while halted is not synced either
    rules.write_text("secret.txt\n")  # fixed: the mapping resumes
    run.wait_remote(lambda r: "b.txt" in r, "the mapping resumed", timeout=90)
    assert "secret.txt" not in run.remote()
    assert "Traceback" not in run.log()
    assert run.stop() == 0
