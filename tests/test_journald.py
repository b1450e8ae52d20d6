"""Under journald the log is plain lines with ``<N>`` syslog priority prefixes, so
``journalctl -p warning`` filters by level; event names are stable identifiers.

systemd sets ``JOURNAL_STREAM=<dev>:<inode>`` of the stream it connected; a program is
under journald only if its stderr *is* that stream (a child whose stderr was redirected
inherits the variable but is not). The streams here are real files whose device and inode
the variable names, as systemd would set them.
"""

from __future__ import annotations

import ast
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import structlog

import containersync
from containersync.logs import configure_logging, get_logger, log_cycle, under_journald

DOCS = Path(__file__).resolve().parents[1] / "docs" / "logging.md"
IDENTIFIER = re.compile(r"^[a-z]+(-[a-z]+)*$")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in root.handlers:
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)
    structlog.reset_defaults()


def _journal_env(stream: IO[str], monkeypatch: pytest.MonkeyPatch) -> None:
    st = os.fstat(stream.fileno())
    monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")


def _written(stream: IO[str]) -> list[str]:
    logging.getLogger().handlers[-1].flush()
    stream.flush()
    return Path(stream.name).read_text(encoding="utf-8").splitlines()


def test_each_level_gets_its_syslog_priority(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with open(tmp_path / "stderr", "w", encoding="utf-8") as stream:
        _journal_env(stream, monkeypatch)
        assert under_journald(stream)
        configure_logging(level="debug", stream=stream)
        log = get_logger("containersync.daemon.worker")
        log.debug("notify-failed", message="sd_notify failed")
        log.info("daemon-started", message="daemon started", mappings=["docs"])
        log.warning("problem", message="too large", mapping="docs", path="a b.txt")
        log.error("key-refused", message="the API refused the key")
        logging.getLogger("watchdog.observers").warning("inotify said %s", "no")
        lines = _written(stream)
    assert [line[:3] for line in lines] == ["<7>", "<6>", "<4>", "<3>", "<4>"]
    assert lines[1] == '<6>daemon-started: daemon started mappings=["docs"]'
    assert lines[2] == '<4>problem: too large mapping=docs path="a b.txt"'
    assert lines[4] == "<4>library: inotify said no"
    assert not any("\x1b[" in line for line in lines)  # plain: journald keeps raw bytes


def test_a_traceback_keeps_its_priority_on_every_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open(tmp_path / "stderr", "w", encoding="utf-8") as stream:
        _journal_env(stream, monkeypatch)
        configure_logging(stream=stream)
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            get_logger("containersync.daemon.worker").exception("mapping-crashed",
                                                                message="loop crashed")
        lines = _written(stream)
    assert len(lines) > 2 and all(line.startswith("<3>") for line in lines)
    assert lines[0] == "<3>mapping-crashed: loop crashed"


def test_a_stream_journald_did_not_connect_is_not_the_journal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child of a journald service whose stderr goes to a file inherits JOURNAL_STREAM."""
    with open(tmp_path / "journal", "w") as journal, \
            open(tmp_path / "file", "w", encoding="utf-8") as stream:
        _journal_env(journal, monkeypatch)
        assert not under_journald(stream)
        configure_logging(stream=stream)
        get_logger("containersync.x").warning("problem", message="m")
        [line] = _written(stream)
    assert line.startswith("{") and '"event": "problem"' in line
    monkeypatch.setenv("JOURNAL_STREAM", "garbage")
    assert not under_journald(stream)


def test_the_canonical_cycle_line_under_journald(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with open(tmp_path / "stderr", "w", encoding="utf-8") as stream:
        _journal_env(stream, monkeypatch)
        configure_logging(stream=stream)
        log = get_logger("containersync.daemon.worker")
        log_cycle(log, "docs", {"uploaded": 1, "problems": 0}, 0.25, message="docs: synced")
        log_cycle(log, "docs", {"uploaded": 0, "problems": 2}, 0.5)
        ok, bad = _written(stream)
    assert ok == "<6>cycle: docs: synced mapping=docs duration_s=0.25 uploaded=1 problems=0"
    assert bad.startswith("<4>cycle ")


# -- event names -----------------------------------------------------------------------

def _log_calls() -> Iterator[tuple[str, int, ast.expr]]:
    """(file, line, first argument) of every call ``log.<level>(...)`` in the package."""
    root = Path(containersync.__file__).parent
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "log"
                    and node.func.attr in ("debug", "info", "warning", "error", "exception",
                                           "critical")):
                rel = path.relative_to(root).as_posix()
                yield rel, node.lineno, node.args[0] if node.args else ast.Constant(None)


def documented_events() -> set[str]:
    text = DOCS.read_text(encoding="utf-8")
    return set(re.findall(r"^\| `([a-z-]+)` \|", text, flags=re.MULTILINE))


def test_every_event_is_a_documented_identifier_not_a_sentence() -> None:
    calls = list(_log_calls())
    assert len(calls) > 20
    documented = documented_events()
    wrong = []
    for rel, line, arg in calls:
        name = arg.value if isinstance(arg, ast.Constant) else None
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            wrong.append(f"{rel}:{line}: {ast.unparse(arg)} is not a kebab-case identifier")
        elif name not in documented:
            wrong.append(f"{rel}:{line}: {name!r} is not in docs/logging.md")
    assert wrong == []
    assert "cycle" in documented and "library" in documented
