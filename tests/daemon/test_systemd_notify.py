"""sd_notify against a real AF_UNIX datagram socket standing in for systemd's."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from containersync.daemon import systemd


class FakeManager:
    """A datagram socket bound where systemd would listen; reads what we were told."""

    def __init__(self, address: str | bytes) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(5)

    def receive(self) -> list[str]:
        return self.sock.recv(4096).decode().split("\n")

    def nothing_pending(self) -> bool:
        self.sock.setblocking(False)
        try:
            self.sock.recv(4096)
        except BlockingIOError:
            return True
        finally:
            self.sock.settimeout(5)
        return False


@pytest.fixture
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeManager]:
    path = tmp_path / "notify.sock"
    m = FakeManager(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield m
    m.sock.close()


def test_ready_status_watchdog_stopping_reach_the_socket(manager: FakeManager) -> None:
    assert systemd.ready("first sync done: 3 files")
    assert manager.receive() == ["READY=1", "STATUS=first sync done: 3 files"]
    assert systemd.status("idle\n2 mappings")
    assert manager.receive() == ["STATUS=idle 2 mappings"]
    assert systemd.watchdog_ping()
    assert manager.receive() == ["WATCHDOG=1"]
    assert systemd.extend_timeout(90)
    assert manager.receive() == ["EXTEND_TIMEOUT_USEC=90000000"]
    assert systemd.stopping()
    assert manager.receive() == ["STOPPING=1"]
    assert manager.nothing_pending()


def test_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"containersync-test-{uuid.uuid4().hex}"
    m = FakeManager(b"\0" + name.encode())
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert systemd.notify("READY=1", f"MAINPID={os.getpid()}")
        assert m.receive() == ["READY=1", f"MAINPID={os.getpid()}"]
    finally:
        m.sock.close()


def test_no_socket_is_a_quiet_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.ready() is False
    assert systemd.watchdog_ping() is False


def test_dead_socket_returns_false(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens.sock"))
    assert systemd.status("x") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "relative/path")
    assert systemd.status("x") is False


def test_lines_must_be_key_value() -> None:
    with pytest.raises(ValueError, match="KEY=VALUE"):
        systemd.notify("READY")
    with pytest.raises(ValueError, match="KEY=VALUE"):
        systemd.notify("STATUS=a\nb")


@pytest.mark.parametrize(("env", "expected"), [
    ({}, None),
    ({"WATCHDOG_USEC": "30000000"}, 30.0),
    ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "{pid}"}, 30.0),
    ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
    ({"WATCHDOG_USEC": "0"}, None),
    ({"WATCHDOG_USEC": "soon"}, None),
    ({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": "nope"}, None),
])
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    env = {k: v.format(pid=os.getpid()) for k, v in env.items()}
    assert systemd.watchdog_interval(env) == expected


def test_watchdog_interval_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert systemd.watchdog_interval() == 10.0


def test_a_manager_that_stops_reading_drops_notifications_instead_of_freezing_us(
        manager: FakeManager, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full notification queue (the manager is busy, or a test does not read) must not
    block the daemon's main loop: the send gives up and the call says it did not send."""
    monkeypatch.setattr(systemd, "SEND_TIMEOUT_S", 0.05, raising=False)
    sent = [systemd.status(f"update {i}") for i in range(64)]
    assert sent[0] is True
    assert False in sent  # the queue filled up; later ones were dropped, not waited on
    assert manager.receive() == ["STATUS=update 0"]
