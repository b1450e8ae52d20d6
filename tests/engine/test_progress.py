"""Progress on long work: bytes move while one large file is on its way, with the rate and
the time left. The client reports each chunk as it is sent or received (a real upload and
download through the local backend over HTTP); the live line is drawn on a real terminal
(a pseudo-terminal from ``pty.openpty``) with the clock given as a plain variable."""

from __future__ import annotations

import io
import os
import pty
import select
from pathlib import Path
from typing import Any

from containersync.api import ContainersClient, ContainerSpec
from containersync.engine.progress import Progress
from containersync.localapi.embedded import start_server
from containersync.model.entry import LocalFile, RemoteFile
from containersync.model.plan import Download, Plan, Upload

MIB = 2**20


def test_the_client_reports_bytes_as_they_move(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(5 * MIB))
    sent: list[int] = []
    received: list[int] = []
    with start_server(tmp_path / "srv") as server, \
            ContainersClient.connect(server.base_url, None) as api:
        box = api.create_container(ContainerSpec(name="progress"))
        obj = api.upload_file(box.id, source, remote_path="/mnt/data/big.bin", on_sent=sent.append)
        api.download_file(box.id, obj.id, io.BytesIO(), on_received=received.append)
    assert sum(sent) == sum(received) == 5 * MIB
    assert len(sent) > 1 and len(received) > 1  # in chunks, while the file moves


class Clock:
    t = 100.0

    def __call__(self) -> float:
        return self.t


def _plan(size: int) -> Plan:
    up = Upload(path="big.bin", local=LocalFile("big.bin", size, 1, "s"), replaces=None)
    down = Download(path="out.csv", remote=RemoteFile("cfile_1", "out.csv", "/mnt/data/out.csv",
                                                      1, "assistant", size), expect_local=None)
    return Plan(actions=(up, down))


def _terminal() -> tuple[Any, int]:
    master, slave = pty.openpty()
    return os.fdopen(slave, "w"), master


def _last_draw(master: int, expect: str, wait: float = 5.0) -> str:
    """The last line drawn so far. A pty hands written bytes to its reader a moment later
    (the kernel pushes them through a work queue), so one read right after a draw may hold
    only an earlier one: read until the last draw holds ``expect`` or nothing more arrives
    for ``wait`` seconds (the assertion then fails on what was drawn)."""
    text = ""
    while expect not in (last := text.rsplit("\r\x1b[2K", 1)[-1]):
        ready, _, _ = select.select([master], [], [], wait)
        if not ready:
            return last
        text += os.read(master, 65536).decode()
    return last


def test_the_live_line_shows_bytes_rate_and_time_left_mid_file() -> None:
    stream, master = _terminal()
    clock = Clock()
    try:
        progress = Progress("m", stream=stream, clock=clock)
        assert progress.live
        progress.on_plan(_plan(40 * MIB))
        progress.on_bytes(MIB)  # the first chunk starts the clock
        clock.t += 2.0
        progress.on_bytes(19 * MIB)  # 20 MiB in 2 s: 10 MiB/s, 60 MiB left: 6 s
        line = _last_draw(master, "20.0/80.0 MiB")
        assert "0/2 files" in line and "20.0/80.0 MiB" in line, line
        assert "10.0 MiB/s" in line and "ETA 0:06" in line, line
        clock.t += 0.01
        progress.on_bytes(MIB)  # drawn at most ten times a second
        clock.t += 0.2
        progress.on_bytes(MIB)
        assert "22.0/80.0 MiB" in _last_draw(master, "22.0/80.0 MiB")
    finally:
        stream.close()
        os.close(master)


def test_plain_output_has_one_line_per_action_and_no_bar() -> None:
    out = io.StringIO()
    progress = Progress("m", stream=out)
    progress.on_plan(_plan(MIB))
    progress.on_bytes(MIB)
    assert out.getvalue() == ""  # bytes alone print nothing on a pipe or a file
