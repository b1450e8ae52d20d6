"""The journal's line format: ``<N>event: message key=value ...``, and when to use it.

systemd sets ``JOURNAL_STREAM=<device>:<inode>`` for the stream it connected to journald;
``under_journald(stream)`` is true only when ``stream`` is that one (a child whose stderr
was redirected inherits the variable but writes elsewhere). ``with_priority`` prefixes
each line of a renderer's output with the level's syslog priority (sd-daemon(3)), which
journald strips and records, so ``journalctl -p warning`` filters. The line carries no
timestamp, level word or colour: the journal has its own. Used by ``logs.py``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the command line imports this module; structlog loads only to log
    from structlog.typing import EventDict, Processor, WrappedLogger

ERROR, WARNING, INFO, DEBUG = 3, 4, 6, 7
#: structlog level -> syslog priority (``<N>``, sd-daemon(3))
PRIORITY = {"critical": 2, "error": ERROR, "exception": ERROR, "warning": WARNING,
            "info": INFO, "debug": DEBUG}


def under_journald(stream: Any, env: Mapping[str, str] | None = None) -> bool:
    """Whether ``stream`` is the one journald connected: ``JOURNAL_STREAM`` names its
    ``<device>:<inode>`` (a child whose stderr was redirected inherits the variable but
    writes elsewhere)."""
    env = os.environ if env is None else env
    dev, _, ino = env.get("JOURNAL_STREAM", "").partition(":")
    if not (dev.isdigit() and ino.isdigit()):
        return False
    try:
        st = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # no descriptor (a StringIO) or closed
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(ino))


def _logfmt(value: Any) -> str:
    """A ``key=value`` value: a bare word, else quoted (strings were escaped before)."""
    if isinstance(value, str):
        if value and not re.search(r'[\s"=]', value):
            return value
        return '"' + value.replace('"', '\\"') + '"'
    if value is None or isinstance(value, (bool, int, float, list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, default=repr)
    return repr(value)


def render_journal_line(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> str:
    """structlog renderer: ``event: message key=value ...`` (the priority is added by
    ``with_priority``); the level, timestamp and logger are left to the journal."""
    fields = {k: v for k, v in event_dict.items()
              if k not in ("event", "message", "level", "timestamp", "logger", "exception")}
    head = str(event_dict.get("event", ""))
    message = event_dict.get("message")
    if message not in (None, ""):
        head += f": {message}"
    line = " ".join([head, *(f"{k}={_logfmt(v)}" for k, v in fields.items())])
    exception = event_dict.get("exception")
    return f"{line}\n{exception}" if exception else line


def with_priority(renderer: Processor) -> Processor:
    """``renderer``, each output line prefixed with the level's ``<N>`` priority."""

    def render(logger: WrappedLogger, method: str, event_dict: EventDict) -> Any:
        prio = PRIORITY.get(str(event_dict.get("level", method)), 6)
        text = renderer(logger, method, event_dict)
        if not isinstance(text, str):
            return text
        return "\n".join(f"<{prio}>{line}" for line in text.split("\n"))

    return render


def for_stream(text: str, stream: Any, priority: int) -> str:
    """``text`` as a command prints it on ``stream``: each line prefixed ``<priority>`` when
    the stream is journald's (a ``sync`` run by a systemd timer), else unchanged."""
    if not under_journald(stream):
        return text
    return "\n".join(f"<{priority}>{line}" for line in text.split("\n"))
