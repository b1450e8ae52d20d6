"""Logging setup: what a user reads on stderr or in the journal."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from containersync.logs import configure_logging, get_logger, log_cycle, redact_text

KEY = "sk-proj-AbCdEf0123456789xyz"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {n: logging.getLogger(n).level for n in ("containersync", "httpx", "watchdog")}
    yield
    for h in root.handlers:
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)
    for n, lv in levels.items():
        logging.getLogger(n).setLevel(lv)
    structlog.reset_defaults()


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def test_json_lines_when_not_a_terminal_with_utc_iso_timestamps() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    get_logger("containersync.engine").info("pushed", path="a.txt", size=3)
    [record] = lines(out)
    assert record["event"] == "pushed" and record["path"] == "a.txt" and record["size"] == 3
    assert record["level"] == "info" and record["logger"] == "containersync.engine"
    assert record["timestamp"].endswith("Z") and "T" in record["timestamp"]


def test_console_renderer_on_a_terminal() -> None:
    out = TTY()
    configure_logging(stream=out)
    get_logger("containersync.daemon").warning("mapping halted", mapping="docs")
    text = out.getvalue()
    assert "mapping halted" in text and "docs" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_secrets_never_reach_a_line() -> None:
    out = io.StringIO()
    configure_logging(stream=out, level="debug")
    log = get_logger("containersync.api")
    log.info("request", api_key=KEY, token="tok-123456789", openai_api_key=KEY,
             headers={"Authorization": f"Bearer {KEY}", "Accept": "json"},
             note=f"the key is {KEY}", args=[KEY])
    logging.getLogger("httpx").warning("retrying with Authorization: Bearer abcdef123456")
    logging.getLogger("containersync.x").error("stdlib %s", KEY)
    try:
        raise RuntimeError(f"refused {KEY}")
    except RuntimeError:
        log.exception("failed")
    text = out.getvalue()
    assert KEY not in text and "AbCdEf0123456789" not in text
    assert "tok-123456789" not in text and "abcdef123456" not in text
    first = lines(out)[0]
    assert first["api_key"] == first["token"] == first["openai_api_key"] == "[redacted]"
    assert first["headers"] == {"Authorization": "[redacted]", "Accept": "json"}
    assert "RuntimeError" in lines(out)[-1]["exception"]


def test_redact_text_leaves_ordinary_words_alone() -> None:
    assert redact_text("task-force sk-1 risk-free") == "task-force sk-1 risk-free"
    assert redact_text(f"x {KEY} y") == "x sk-[redacted] y"


def test_library_loggers_are_routed_at_warning_level() -> None:
    out = io.StringIO()
    configure_logging(stream=out, level="debug")
    logging.getLogger("httpx").info("HTTP Request: GET /v1/containers")
    logging.getLogger("watchdog.observers.inotify_c").warning("Inotify queue overflowed")
    logging.getLogger("apscheduler.scheduler").debug("tick")
    records = lines(out)
    assert [r["logger"] for r in records] == ["watchdog.observers.inotify_c"]
    assert records[0]["level"] == "warning"


def test_level_filters_containersync_messages() -> None:
    out = io.StringIO()
    configure_logging(stream=out, level="warning")
    get_logger("containersync.scan").info("scanned")
    get_logger("containersync.scan").warning("symlink skipped")
    assert [r["event"] for r in lines(out)] == ["symlink skipped"]
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging(stream=out, level="chatty")


def test_configuring_twice_does_not_duplicate_lines() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(stream=first)
    configure_logging(stream=second)
    configure_logging(stream=second)
    get_logger("containersync").info("once")
    assert first.getvalue() == ""
    assert [r["event"] for r in lines(second)] == ["once"]


def test_canonical_cycle_line() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    log = get_logger("containersync.engine.cycle")
    log_cycle(log, "docs", {"pushed": 2, "pulled": 1, "conflicts": 0, "problems": 0}, 1.23456,
              generation=3)
    log_cycle(log, "docs", {"pushed": 0, "problems": 2}, 0.5)
    ok, bad = lines(out)
    assert ok["event"] == "cycle" and ok["level"] == "info"
    assert (ok["mapping"], ok["pushed"], ok["pulled"], ok["duration_s"], ok["generation"]) == \
        ("docs", 2, 1, 1.235, 3)
    assert bad["level"] == "warning" and bad["problems"] == 2
    with pytest.raises(ValueError, match="duration_s"):
        log_cycle(log, "docs", {"duration_s": 1}, 0.1)


HOSTILE = "evil\n2026-01-01 [info     ] forged line\x1b[2J\x1b[31m\x9b\u2028\udcff"


@pytest.mark.parametrize("stream", [TTY(), io.StringIO()], ids=["console", "json"])
def test_names_from_the_sandbox_reach_a_log_line_escaped(stream: io.StringIO) -> None:
    """Issue 8, finding 6: no raw control character reaches a terminal or a log line."""
    configure_logging(stream=stream)
    log = get_logger("containersync.daemon")
    log.warning("problem", path=HOSTILE, paths=[HOSTILE], message=f"at {HOSTILE}")
    log.warning(HOSTILE)
    logging.getLogger("watchdog").warning("event for %s", HOSTILE)
    text = stream.getvalue()
    assert text.count("\n") == 3 and text.endswith("\n")
    for raw in ("\n2026-01-01", "\x1b[2J", "\x9b", "\u2028", "\udcff"):
        assert raw not in text
    if not stream.isatty():  # JSON lines: no control character at all
        assert not [ch for ch in text if ch != "\n" and ord(ch) < 32]
        assert json.loads(text.splitlines()[0])["path"] == HOSTILE  # exact, JSON-escaped
    assert "forged line" in text


def test_a_password_in_a_url_never_reaches_a_line() -> None:
    """The daemon logs its endpoint at start; a proxy's ``https://user:password@host`` there
    (from the config or $OPENAI_BASE_URL) must not put the password in the journal."""
    out = io.StringIO()
    configure_logging(stream=out, level="debug")
    get_logger("containersync.daemon").info(
        "daemon-started", backend="https://alice:hunter2-pw@proxy.example:8443/v1",
        message="retrying http://bob:s3cret@10.0.0.1/v1/containers")
    text = out.getvalue()
    assert "hunter2-pw" not in text and "s3cret" not in text
    first = lines(out)[0]
    assert first["backend"] == "https://alice:[redacted]@proxy.example:8443/v1"
    assert redact_text("see https://host/v1 and user@example.com") == \
        "see https://host/v1 and user@example.com"


@pytest.mark.parametrize("password", ["p@ss@word", "@first", "a:b@c"])
def test_a_url_password_holding_at_signs_or_colons_is_masked_whole(password: str) -> None:
    # the authority ends at its last "@" (``urlsplit`` reads the password so, and so
    # does httpx): masking up to the first one printed the rest of the password
    url = f"https://alice:{password}@proxy.example:8443/v1"
    out = io.StringIO()
    configure_logging(stream=out, level="debug")
    get_logger("containersync.daemon").info("daemon-started", backend=url,
                                            message=f"retrying {url}/containers and more")
    first = lines(out)[0]
    assert first["backend"] == "https://alice:[redacted]@proxy.example:8443/v1"
    assert first["message"] == ("retrying https://alice:[redacted]@proxy.example:8443/v1"
                                "/containers and more")
    assert redact_text(f"{url} then mail bob@example.com") == \
        "https://alice:[redacted]@proxy.example:8443/v1 then mail bob@example.com"
