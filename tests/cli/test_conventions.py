"""The command line's conventions: a fast ``--version`` (the parser imports no daemon,
backend or HTTP stack), "did you mean" for a mistyped command or option, no silent
abbreviations, a quiet exit on a closed pipe, ``NO_COLOR``/``FORCE_COLOR``."""

from __future__ import annotations

import io
import logging
import os
import subprocess as sp
import sys
from pathlib import Path

import pytest

from containersync.localapi.embedded import RunningServer
from containersync.logs import configure_logging, get_logger
from support.backend import TEST_KEY
from support.scenario import KEY_ENV, write_config

HEAVY = ("uvicorn", "starlette", "apscheduler", "httpx", "watchdog",
         "containersync.daemon.service", "containersync.daemon.worker",
         "containersync.localapi", "containersync.engine.session",
         "containersync.engine.cycle", "containersync.api.client")


def _imported(*argv: str) -> set[str]:
    done = sp.run([sys.executable, "-X", "importtime", "-m", "containersync", *argv],
                  capture_output=True, text=True, timeout=60, check=False)
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


@pytest.mark.parametrize("argv", [("--version",), ("sync", "--help"), ("daemon", "--help"),
                                  ("status", "--help"), ("init", "--help")])
def test_the_parser_imports_no_daemon_backend_or_http_stack(argv: tuple[str, ...]) -> None:
    modules = _imported(*argv)
    assert "containersync.cli" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert heavy == []


def _loaded_after(*argv: str) -> set[str]:
    """``sys.modules`` once the command line ran ``argv`` in a fresh interpreter (it also
    holds what ``importlib.import_module`` loaded, which ``-X importtime`` does not show)."""
    code = ("import sys, contextlib, io\n"
            "from containersync.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    code = main(sys.argv[1:])\n"
            "print(code, *sorted(sys.modules))\n")
    done = sp.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                  timeout=60, check=True)
    exit_code, *modules = done.stdout.split()
    assert exit_code == "0", done.stderr
    return set(modules)


#: what ``status`` of a never-synced mapping has no use for: no daemon, no HTTP, no
#: executor, no exclude matcher (its mapping has no ``exclude``), no log pipeline, and no
#: index code while there is no index
STATUS_NEEDS_NONE_OF = (*HEAVY, "structlog", "pathspec", "containersync.execute",
                        "containersync.scan", "containersync.engine", "containersync.logs",
                        "containersync.index", "sqlite3")


def test_status_with_no_daemon_and_no_index_imports_only_what_it_reads(tmp_path: Path) -> None:
    """Issue 9: ``status`` starts as fast as the config allows; the import list is the
    deterministic stand-in for its start-up time (``bench/run.py --rows startup``)."""
    (tmp_path / "tree").mkdir()
    config = write_config(tmp_path / "c.toml", base_url="http://127.0.0.1:9/v1",
                          state=tmp_path / "state", local=tmp_path / "tree")
    modules = _loaded_after("status", "--config", str(config))
    assert "containersync.commands.status" in modules
    assert "containersync.config" in modules
    heavy = sorted(m for m in modules if m.startswith(STATUS_NEEDS_NONE_OF))
    assert heavy == []


def test_a_sync_against_a_url_never_loads_the_embedded_backend(
        local_server: RunningServer, tmp_path: Path) -> None:
    """Issue 9: the embedded backend (uvicorn, starlette, the app) is only for ``base_url =
    "local"``; importing it cost every ``sync`` and daemon against a URL ~0.2 s of
    start-up (a 500 MiB upload's fixed overhead)."""
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a.txt").write_text("a")
    config = write_config(tmp_path / "c.toml", base_url=local_server.base_url,
                          state=tmp_path / "state", local=tmp_path / "tree")
    code = ("import os, sys, contextlib, io\n"
            "from containersync.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    code = main(sys.argv[1:])\n"
            "print(code, *sorted(sys.modules))\n")
    done = sp.run([sys.executable, "-c", code, "sync", "--config", str(config)],
                  capture_output=True, text=True, timeout=60, check=False,
                  env={**os.environ, KEY_ENV: TEST_KEY})
    exit_code, *modules = done.stdout.split()
    assert exit_code == "0", done.stderr
    assert "containersync.engine.session" in modules  # it synced
    embedded = sorted(m for m in modules
                      if m.split(".")[0] in ("uvicorn", "starlette")
                      or m.startswith("containersync.localapi"))
    assert embedded == []


def _cli(*argv: str, env: dict[str, str] | None = None) -> sp.CompletedProcess[str]:
    return sp.run([sys.executable, "-m", "containersync", *argv], capture_output=True,
                  text=True, timeout=60, check=False, env={**os.environ, **(env or {})})


def test_a_mistyped_command_gets_a_suggestion() -> None:
    done = _cli("snyc")
    assert done.returncode == 2
    assert "unknown command 'snyc'; did you mean 'sync'?" in done.stderr


def test_long_options_are_never_abbreviated(tmp_path: Path) -> None:
    """`--dry` used to run as `--dry-run` (argparse's default prefix matching)."""
    done = _cli("sync", "--dry", "--config", str(tmp_path / "none.toml"))
    assert done.returncode == 2
    assert "--dry (did you mean --dry-run?)" in done.stderr
    assert "configuration" not in done.stderr  # refused before anything ran


def test_a_closed_pipe_ends_quietly(local_server: RunningServer, tmp_path: Path) -> None:
    """`sync --json | head`: the reader goes away early; no traceback, 141 like SIGPIPE."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(1500):  # a dry-run plan well over a pipe's 64 KiB buffer
        (folder / f"file-{i:04d}-with-a-longish-name.txt").write_text("x")
    config = write_config(tmp_path / "c.toml", base_url=local_server.base_url,
                          state=tmp_path / "state", local=folder)
    argv = [sys.executable, "-m", "containersync", "sync", "--config", str(config),
            "--dry-run", "--json"]
    env = {**os.environ, KEY_ENV: TEST_KEY}
    with sp.Popen(argv, stdout=sp.PIPE, stderr=sp.PIPE, env=env) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(10)  # like `head -c 10`
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _console_line(stream: io.StringIO) -> str:
    configure_logging(json=False, stream=stream)
    get_logger("containersync.test").warning("colour check", mapping="m")
    logging.getLogger().handlers[-1].flush()
    return stream.getvalue()


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def test_no_color_turns_the_console_log_plain_on_a_terminal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert "\x1b[" in _console_line(_Terminal())
    monkeypatch.setenv("NO_COLOR", "1")
    line = _console_line(_Terminal())
    assert "colour check" in line and "\x1b[" not in line


def test_force_color_colours_a_pipe_and_no_color_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "\x1b[" not in _console_line(io.StringIO())
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in _console_line(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in _console_line(io.StringIO())
