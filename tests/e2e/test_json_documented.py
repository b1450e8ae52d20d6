"""Every JSON document the commands print is the one ``docs/json.md`` describes.

The doc is parsed (one table per schema: field path, type, meaning); each document printed
by ``sync --json`` (a real run, a dry run, a halt), ``status --json`` (with and without a
running daemon) and each line of the daemon's ``--log-format json`` must carry its
``schema``, and every key in it must be documented with a type its value has. A time field
(type ``time``) must be ISO 8601 UTC (``2026-12-01T11:30:00Z``), never epoch seconds.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

from containersync import cli
from containersync.localapi.embedded import RunningServer
from support.daemon_harness import DaemonRun, wait_for
from support.scenario import World

DOC = Path(__file__).resolve().parents[2] / "docs" / "json.md"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
_HEADING = re.compile(r"^## `(containersync\.[a-z]+/\d+)`")
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|")


def documented() -> dict[str, dict[str, str]]:
    """schema -> {field path: type}, from the doc's tables."""
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        heading = _HEADING.match(line)
        if heading:
            current = out.setdefault(heading.group(1), {})
        elif line.startswith("## "):
            current = None
        elif current is not None and (row := _ROW.match(line)):
            current[row.group(1)] = row.group(2)
    return out


def _flatten(value: Any, path: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            out += [(sub, item), *_flatten(item, sub)]
    elif isinstance(value, list):
        for item in value:  # an element that is an object is described by its fields
            out += [] if isinstance(item, dict) else [(f"{path}[]", item)]
            out += _flatten(item, f"{path}[]")
    return out


def _has_type(value: Any, kind: str) -> bool:
    return {
        "null": value is None,
        "string": isinstance(value, str),
        "time": isinstance(value, str) and bool(ISO.match(value)),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
    }[kind]


def undocumented(doc: dict[str, Any], *, open_fields: bool = False) -> list[str]:
    """What in ``doc`` the spec does not describe (``open_fields``: a log line, whose
    event-specific fields are documented per event, so only the envelope is checked)."""
    spec = documented().get(doc.get("schema", ""))
    if spec is None:
        return [f"schema {doc.get('schema')!r} is not documented"]
    wrong = []
    for path, value in _flatten(doc):
        kinds = spec.get(path)
        if kinds is None:
            if not (open_fields and re.split(r"[.\[]", path)[0] not in spec):
                wrong.append(f"{path}: not documented")
            continue
        if not any(_has_type(value, k.strip()) for k in kinds.split(" or ")):
            wrong.append(f"{path}: {value!r} is not {kinds}")
    return wrong


def _status(config: Path) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["status", "--config", str(config), "--json"]) == 0
    parsed: dict[str, Any] = json.loads(out.getvalue())
    return parsed


def test_the_doc_parses_into_every_schema() -> None:
    spec = documented()
    assert set(spec) == {"containersync.sync/1", "containersync.status/1",
                         "containersync.log/1"}
    assert all("schema" in fields for fields in spec.values())


def test_sync_and_status_print_only_documented_fields(world: World) -> None:
    world.write({"a.txt": "a", "b.txt": "bb", "sub/c.txt": "c", ".env": "SECRET=1"})
    first = world.sync()
    assert first.code == 0 and undocumented(first.json) == []
    assert first.json["schema"] == "containersync.sync/1"
    assert ISO.match(first.m["expires_at"])
    world.assistant_changes({"out.txt": "from the sandbox", "a.txt": "changed there"})
    world.write({"a.txt": "changed here", "new.txt": "n", "b.txt": None})
    dry = world.sync("--dry-run")
    assert dry.code == 0 and undocumented(dry.json) == []
    assert dry.json["dry_run"] is True
    second = world.sync()
    assert second.code == 0 and undocumented(second.json) == []
    assert second.m["conflicts"] == 1  # a.txt changed on both sides

    status = _status(world.config)
    assert status["schema"] == "containersync.status/1" and undocumented(status) == []
    shown = status["mappings"][0]
    assert shown["conflicts"] and ISO.match(shown["conflicts"][0]["at"])


def test_a_halted_sync_prints_only_documented_fields(world: World) -> None:
    world.write({f"f{i}.txt": str(i) for i in range(8)})
    assert world.sync().code == 0
    world.write({f"f{i}.txt": None for i in range(5)})
    halted = world.sync()
    assert halted.code == 3 and halted.m["status"] == "halted"
    assert undocumented(halted.json) == []
    status = _status(world.config)
    assert status["mappings"][0]["halt"] is not None and undocumented(status) == []


def test_status_beside_a_running_daemon_and_its_log_lines_are_documented(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server)
    (run.local / "a.txt").write_text("a")
    runs.append(run.start())
    run.wait_ready()
    (run.local / "b.txt").write_text("b")
    run.wait_remote(lambda files: "b.txt" in files, "b.txt pushed")
    wait_for(lambda: run.status()["daemon"].get("cycles", 0) >= 2, "a second cycle")
    status = _status(run.config)
    daemon = status["mappings"][0]["daemon"]
    assert daemon["running"] is True and ISO.match(daemon["last_cycle"]["at"])
    assert undocumented(status) == []
    assert run.stop() == 0

    lines = [json.loads(line) for line in run.log().splitlines() if line.startswith("{")]
    assert lines
    for line in lines:
        assert line["schema"] == "containersync.log/1", line
        assert line["message"] and line["event"] != line["message"], line
        assert undocumented(line, open_fields=True) == [], line
