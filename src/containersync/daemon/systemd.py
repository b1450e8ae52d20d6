"""sd_notify(3) with the standard library only: tell systemd how the daemon is doing.

Protocol: newline-separated ``KEY=VALUE`` lines in one datagram on the AF_UNIX socket named
by ``$NOTIFY_SOCKET`` (a path, or an abstract name written ``@name``). Without
``$NOTIFY_SOCKET`` (not started by systemd, or ``Type=simple``) every call is a no-op that
returns False, so the daemon calls these unconditionally.

How the daemon uses it (STYLE.md section 9):

- ``ready()`` after the first sync cycle (``Type=notify``: systemd holds dependent units
  and ``systemctl start`` until then);
- ``status(text)`` with a one-line summary after each cycle;
- ``watchdog_ping()`` from the loop that does the work, every ``watchdog_interval() / 2``
  seconds (a stuck loop then gets the unit restarted by ``WatchdogSec=``);
- ``stopping()`` on the first SIGTERM, before draining;
- ``extend_timeout(s)`` while a first sync or a drain runs longer than the unit's
  ``TimeoutStartSec=``/``TimeoutStopSec=``.

Invariants: never raises for a missing or dead socket (returns False and logs at debug);
never blocks for long: a manager that does not read its socket (its queue holds
``net.unix.max_dgram_qlen`` datagrams, often 10) gets the notification dropped after
``SEND_TIMEOUT_S`` instead of freezing the daemon's main loop (signals included);
never unsets the environment (child processes of the daemon are not ours to notify for).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from containersync.logs import get_logger

log = get_logger(__name__)
SEND_TIMEOUT_S = 1.0


def _address(env: Mapping[str, str]) -> str | bytes | None:
    raw = env.get("NOTIFY_SOCKET", "")
    if not raw:
        return None
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()  # Linux abstract namespace
    if raw.startswith("/"):
        return raw
    log.debug("notify-socket-ignored",
              message="ignoring NOTIFY_SOCKET: neither a path nor @abstract", socket=raw)
    return None


def notify(*lines: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``lines`` (each ``KEY=VALUE``) as one notification; True when it was sent."""
    for line in lines:
        if "\n" in line or "=" not in line:
            raise ValueError(f"not a KEY=VALUE line: {line!r}")
    address = _address(os.environ if env is None else env)
    if address is None or not lines:
        return False
    payload = "\n".join(lines).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(SEND_TIMEOUT_S)
            sock.connect(address)
            sock.sendall(payload)
    except OSError as error:
        log.debug("notify-failed", message="sd_notify failed", socket=address, error=str(error))
        return False
    return True


def ready(status_text: str | None = None) -> bool:
    """``READY=1`` (optionally with a first ``STATUS=``)."""
    lines = ["READY=1"]
    if status_text is not None:
        lines.append(_status_line(status_text))
    return notify(*lines)


def _status_line(text: str) -> str:
    return "STATUS=" + " ".join(text.split())  # one line, no newlines


def status(text: str) -> bool:
    """``STATUS=<text>``, shown by ``systemctl status`` (newlines are folded to spaces)."""
    return notify(_status_line(text))


def stopping(status_text: str | None = None) -> bool:
    """``STOPPING=1``: the daemon is draining after SIGTERM."""
    lines = ["STOPPING=1"]
    if status_text is not None:
        lines.append(_status_line(status_text))
    return notify(*lines)


def watchdog_ping() -> bool:
    """``WATCHDOG=1``: the work loop is alive."""
    return notify("WATCHDOG=1")


def extend_timeout(seconds: float) -> bool:
    """``EXTEND_TIMEOUT_USEC``: ask for ``seconds`` more to start or stop (a long first sync)."""
    return notify(f"EXTEND_TIMEOUT_USEC={max(1, int(seconds * 1_000_000))}")


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """``WatchdogSec=`` in seconds when it applies to this process, else None.

    Reads ``$WATCHDOG_USEC``; when ``$WATCHDOG_PID`` is set it must be our pid (otherwise
    the variable was inherited from a parent that systemd watches, not us). Ping at half
    this interval.
    """
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec:
        return None
    if pid:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None
