"""Logging setup: structlog and stdlib loggers to one stream, secrets never printed.

``configure_logging()`` routes everything through one stdlib handler with a structlog
``ProcessorFormatter``: containersync's structlog loggers *and* stdlib loggers of the
libraries (watchdog, uvicorn, httpx, httpcore, apscheduler) come out in the same format.
The libraries are held at WARNING (httpx logs every request at INFO).

Output: a console renderer when the stream is a terminal, JSON lines otherwise (or as
forced by ``json=``), each with ``"schema": "containersync.log/1"`` (docs/json.md); the console renderer colours by ``containersync.colors.use_color``
(``NO_COLOR``, ``FORCE_COLOR``, else a terminal); timestamps are ISO 8601 in UTC; exceptions are rendered as text
before redaction so a traceback cannot carry a secret past it.

Redaction (invariant: no secret reaches a log line):

1. values under keys that name secrets (``api_key``, ``authorization``, ``token``,
   ``password``, ``secret``, ``*_api_key``, ``*_token``, ...; any case, nested dicts too)
   become ``"[redacted]"``;
2. in every string value, anything shaped like an OpenAI key (``sk-...``) or a bearer
   credential (``Bearer ...``), or a password in a URL (``scheme://user:password@``), is masked;
3. the finished line is scanned once more with the same patterns (covers text a
   renderer produced from objects' ``repr``).

Under journald (``JOURNAL_STREAM`` names the device and inode of the stream, as systemd
sets it for the stream it connected): plain lines ``<N>event: message key=value ...`` with
the syslog priority of the level (``<3>`` error, ``<4>`` warning, ``<6>`` info, ``<7>``
debug), so ``journalctl -p warning`` filters; no timestamp (the journal has one) and no
colour. JSON lines there get the same prefix (journald strips it). Every line of a
traceback carries it, since journald makes each line an entry.

Events (STYLE.md section 9; docs/logging.md lists them): ``event`` is a stable kebab-case
identifier (``cycle``, ``problem``, ``container-replaced``), the sentence for people is in
``message``. A library's stdlib record becomes ``event="library"`` with its text as
``message``.

Names from the sandbox (invariant: no raw control character reaches a log line): JSON lines
escape them by themselves; the console renderer writes strings raw, so in console mode every
string value passes through ``display.printable`` first (a traceback keeps its line breaks).

``configure_logging`` is idempotent: calling it again replaces the handler it installed
before instead of adding a second one. ``log_cycle`` writes the per-cycle "canonical log
line" (STYLE.md section 9).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from containersync.colors import use_color
from containersync.display import printable, printable_lines
from containersync.journal import render_journal_line, under_journald, with_priority
from containersync.jsondoc import schema

if TYPE_CHECKING:  # structlog loads with the first line logged (``get_logger``)
    from structlog.typing import EventDict, Processor, WrappedLogger

LIBRARY_LOGGERS = ("watchdog", "uvicorn", "uvicorn.access", "uvicorn.error", "httpx",
                   "httpcore", "apscheduler")
REDACTED = "[redacted]"
LOG_SCHEMA = schema("log")

_SECRET_KEY = re.compile(
    r"^(?:api[_-]?key|authorization|proxy[_-]authorization|token|access[_-]?token|"
    r"refresh[_-]?token|password|passwd|secret|client[_-]secret|cookie|set[_-]cookie|"
    r".*[_-]api[_-]?key|.*[_-]token|.*[_-]secret|.*[_-]password)$",
    re.IGNORECASE,
)
_SECRET_TEXT = re.compile(
    r"(?P<key>\bsk-[A-Za-z0-9_\-]{6,})"
    r"|(?P<bearer>\b[Bb]earer\s+)[A-Za-z0-9._~+/=\-]{6,}"
    # a URL's password: scheme://user:password@, up to the authority's last "@" (as
    # urlsplit and httpx read it: a password may hold a raw "@")
    r"|(?P<userinfo>://[^/\s:@]*:)[^/\s]+@"
)

_HANDLER_MARK = "_containersync_handler"


def redact_text(text: str) -> str:
    """Mask API keys, bearer credentials and URL passwords inside free text."""

    def repl(match: re.Match[str]) -> str:
        if match.group("bearer"):
            return match.group("bearer") + REDACTED
        if match.group("userinfo"):
            return match.group("userinfo") + REDACTED + "@"
        return "sk-" + REDACTED

    return _SECRET_TEXT.sub(repl, text)


def _redact_value(key: str | None, value: Any) -> Any:
    if key is not None and _SECRET_KEY.match(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(None, v) for v in value)
    return value


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: redaction rules 1 and 2 (see module docstring)."""
    for key in list(event_dict):
        if key.startswith("_"):  # structlog's own bookkeeping (_record, _from_structlog)
            continue
        event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


def escape_for_console(_logger: WrappedLogger, _method: str,
                       event_dict: EventDict) -> EventDict:
    """structlog processor: escape every string value (see the module docstring); other
    values are rendered with ``repr``, which escapes by itself."""
    for key, value in event_dict.items():
        if isinstance(value, str) and not key.startswith("_"):
            event_dict[key] = printable_lines(value) if key == "exception" else printable(value)
    return event_dict


def add_schema(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor (JSON lines): ``schema`` first, as every JSON document we print
    (``containersync.jsondoc``; the fields: docs/json.md)."""
    return {"schema": LOG_SCHEMA, **event_dict}


def library_event(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor (stdlib records only): a library's sentence goes to
    ``message``; its event is ``library``."""
    event_dict["message"] = str(event_dict.get("event", ""))
    event_dict["event"] = "library"
    return event_dict


def _redact_line(_logger: WrappedLogger, _method: str, line: Any) -> Any:
    return redact_text(line) if isinstance(line, str) else line


def configure_logging(*, json: bool | None = None, level: str = "info",
                      stream: TextIO | None = None, journal: bool | None = None) -> None:
    """Send all logging to ``stream`` (default stderr); see the module docstring.

    ``json``: JSON lines (True), the console renderer (False) or by the stream (None:
    journal lines under journald, console on a terminal, else JSON). ``journal``: prefix
    the syslog priority (None: when ``stream`` is journald's)."""
    import structlog

    stream = sys.stderr if stream is None else stream
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    if journal is None:
        journal = under_journald(stream)
    plain = json is None and journal
    if json is None:
        json = not (journal or (hasattr(stream, "isatty") and stream.isatty()))

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer() if json
        else render_journal_line if plain
        else structlog.dev.ConsoleRenderer(colors=use_color(stream) and not journal))
    if journal:
        renderer = with_priority(renderer)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared, library_event],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    add_schema if json else escape_for_console, renderer, _redact_line],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(numeric)
    logging.getLogger("containersync").setLevel(numeric)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))

    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


class _Deferred:
    """A module's logger until it first logs: importing structlog (~0.05 s, asyncio with
    it) waits for a line to log, so a ``sync`` that logs nothing never pays for it."""

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, attr: str) -> Any:
        if self._logger is None:
            import structlog

            self._logger = structlog.stdlib.get_logger(self._name)
        return getattr(self._logger, attr)


def get_logger(name: str) -> Any:
    """A structlog logger bound to the stdlib logger ``name`` (use ``__name__``); structlog
    is imported when it first logs."""
    return _Deferred(name)


def log_cycle(logger: Any, mapping: str, counts: Mapping[str, int], duration_s: float,
              *, message: str | None = None, **extra: Any) -> None:
    """One "canonical log line" per sync cycle: ``event="cycle"``, mapping, counts, duration
    (``message``: the summary line for people, if given).

    ``counts`` (e.g. pushed, pulled, deleted, conflicts, problems) and ``extra`` become
    top-level fields; a name that clashes with the fixed fields is an error. Logged at
    warning level when ``counts["problems"]`` or ``extra["halted"]`` is truthy.
    """
    fields: dict[str, Any] = {"mapping": mapping, "duration_s": round(duration_s, 3)}
    if message is not None:
        fields["message"] = message
    for source in (counts, extra):
        for key, value in source.items():
            if key in fields or key in ("event", "level", "timestamp", "logger", "message"):
                raise ValueError(f"log_cycle field {key!r} given twice or reserved")
            fields[key] = value
    method = logger.warning if counts.get("problems") or extra.get("halted") else logger.info
    method("cycle", **fields)
