"""The harness's backend: ``serve_counted.py`` as a subprocess, its request counter, and a
read-only look at its SQLite state from this process (no HTTP, so polling it neither
loads the server nor refreshes a container).

``seed_files`` writes container-file rows and blobs straight into the data dir in one
transaction (the store's own layout: ``state.sqlite3`` and ``blobs/<id>``): 100,000 files
take seconds instead of the minutes the upload API needs. Rows that use it say
``"seeded": "direct"`` in the report.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx

from containersync.localapi.clock import Clock
from containersync.localapi.wire import new_container_file_id

HERE = Path(__file__).resolve().parent
START_TIMEOUT_S = 30


class Backend:
    """One served backend on a free loopback port; a context manager."""

    def __init__(self, data_dir: Path, *, latency_ms: int = 0) -> None:
        self.data_dir = data_dir
        self.latency_ms = latency_ms
        data_dir.mkdir(parents=True, exist_ok=True)
        self._log = data_dir.parent / f"{data_dir.name}.serve.log"
        with open(self._log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(HERE / "serve_counted.py"), "--data-dir", str(data_dir),
                 "--latency-ms", str(latency_ms)], stderr=err, stdout=subprocess.DEVNULL)
        self.base_url = self._wait_listening()
        self.root_url = self.base_url.removesuffix("/v1")
        self._db: sqlite3.Connection | None = None

    def _wait_listening(self) -> str:
        end = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < end:
            text = self._log.read_text(errors="replace")
            if "listening on " in text:
                return text.split("listening on ")[1].split()[0]
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.proc.kill()
        raise RuntimeError(f"backend did not start: {self._log.read_text()[-2000:]}")

    def requests(self) -> int:
        """How many ``/v1`` requests the backend has received so far."""
        return int(httpx.get(f"{self.root_url}/_bench/requests").json()["requests"])

    def create_container(self, name: str) -> str:
        reply = httpx.post(f"{self.base_url}/containers", json={"name": name},
                           headers={"Authorization": "Bearer sk-bench"}, timeout=60)
        reply.raise_for_status()
        return str(reply.json()["id"])

    # -- the state, read (and seeded) directly ------------------------------------------

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(self.data_dir / "state.sqlite3", timeout=60,
                                       isolation_level=None, check_same_thread=False)
        return self._db

    def containers(self) -> list[tuple[str, str]]:
        """(id, name) of every container, oldest first."""
        return list(self.db.execute("SELECT id, name FROM containers ORDER BY seq"))

    def file_count(self, cid: str | None = None) -> int:
        if cid is None:
            return int(self.db.execute("SELECT count(*) FROM container_files").fetchone()[0])
        return int(self.db.execute("SELECT count(*) FROM container_files WHERE container_id = ?",
                                   (cid,)).fetchone()[0])

    def last_seq(self) -> int:
        row = self.db.execute("SELECT max(seq) FROM container_files").fetchone()
        return int(row[0] or 0)

    def paths_since(self, seq: int) -> tuple[set[str], int]:
        """Paths of file rows inserted after ``seq``, and the newest seq seen."""
        rows = self.db.execute("SELECT seq, path FROM container_files WHERE seq > ?",
                               (seq,)).fetchall()
        return {path for _, path in rows}, max((s for s, _ in rows), default=seq)

    def seed_files(self, cid: str, files: Iterable[tuple[str, bytes]], *, source: str) -> int:
        """Insert ``(sandbox path, content)`` files into ``cid`` in one transaction; the
        blobs are written first (as the store does). ``source="assistant"`` files report
        ``bytes: null`` like files written in a live sandbox. Returns how many."""
        blobs = self.data_dir / "blobs"
        now = Clock(self.data_dir / "clock.json").now()
        rows = []
        for i, (path, content) in enumerate(files):
            fid = new_container_file_id()
            (blobs / fid).write_bytes(content)
            # distinct created_at, as real uploads get from the store's float clock: with
            # ties, the store's page query scans every tied row for each page
            rows.append((fid, cid, now + i * 1e-5, path, source, len(content),
                         int(source != "assistant"), "text/plain"))
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(
                "INSERT INTO container_files (id, container_id, created_at, path, source, size,"
                " record_bytes, content_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return len(rows)

    def stop(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
