"""The seeded change script of the fault soak: random changes on both sides and random
faults, with every change entered in a ``support.ledger.Ledger`` as it is made.

Each change reads the side it acts on just before acting (the user sees the folder, the
assistant sees the sandbox), so the ledger's "who had seen what" stays exact while the
daemon runs. Assistant changes go through the store in this process, never through the
faults. ``problems()`` is the ledger's check of the current state (empty once converged).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import time
from pathlib import Path
from typing import Any

from containersync.index.store import Index
from containersync.localapi.embedded import RunningServer
from containersync.localapi.errors import NotFound
from support.backend import add_assistant_file, inject_fault
from support.daemon_harness import DaemonRun
from support.ledger import (
    Ledger,
    RemoteObject,
    body,
    local_tokens,
    remote_objects,
    token_of,
)
from support.scenario import mapping_key

_WORD = re.compile(r"[@\w./-]+")
FOLDERS = ["", "d/", "d/e/", "h/", "k/"]
FILES = [f"{d}{n}" for d in FOLDERS for n in ("f0.txt", "f1.txt", "f2.md", "f3.csv")]
MOVES = [("d", "h"), ("h", "d"), ("d/e", "k/e"), ("k", "h")]
OPS = {"local_write": 30, "local_delete": 8, "local_rename": 8, "folder_rename": 2,
       "folder_delete": 2, "assistant_write": 20, "assistant_delete": 8, "fault": 12,
       "tick": 10}
FAULTS: list[dict[str, Any]] = [
    {"status": 503},
    {"status": 502, "method": "POST", "path_regex": r"/files$", "when": "after"},
    {"status": 503, "method": "DELETE", "path_regex": r"/files/", "when": "after"},
    {"status": 429, "retry_after_ms": 700},
    {"drop": True},
    {"drop": True, "method": "POST", "path_regex": r"/files$", "when": "after"},
    {"drop": True, "method": "DELETE", "path_regex": r"/files/", "when": "after"},
    {"when": "pass", "delay_ms": 800},
]


def _utime_when_back(path: Path, mtime_ns: int, *, within_s: float = 2.0) -> None:
    """Set ``path``'s times to ``mtime_ns``. RACE: a write lands just as the daemon moves
    the file to its trash (the assistant deleted it): the move finds the file changed
    since its check and puts it back (``execute.trash``), and for that moment the path
    is empty. Retried until it is back; a file still gone after ``within_s`` is left to
    the ledger, which reports the edit as lost if it is nowhere."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            os.utime(path, ns=(mtime_ns, mtime_ns))
            return
        except FileNotFoundError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.005)


class Script:
    def __init__(self, rng: random.Random, run: DaemonRun, server: RunningServer) -> None:
        self.rng, self.run, self.server = rng, run, server
        self.root = run.local
        self.ledger = Ledger()
        self.anchors: dict[str, str] = {}
        self.cid: str | None = None
        self.key: str | None = None  # the mapping's index key (its identity)
        self.changes = self.faults = 0
        self.mtime = time.time_ns()
        self.journal: list[str] = []  # one line per change, for a failure's reproduction

    def log(self, text: str) -> None:
        self.journal.append(f"#{len(self.journal) + 1} {text}")

    def history(self, problems: list[str], per_problem: int = 14) -> list[str]:
        """For each problem, the journal lines about its contents and paths: from the
        first line naming one of its tokens (the write) to the end, at most
        ``per_problem`` of them, so a lost or returning version can be followed."""
        out: list[str] = []
        for problem in problems:
            words = {w for w in _WORD.findall(problem) if "." in w or w.startswith("@")}
            tokens = {w for w in words if w.startswith("@")}
            words |= {t.split("-", 2)[2] for t in tokens if t.count("-") >= 2}
            lines = [(i, line) for i, line in enumerate(self.journal)
                     if words & set(_WORD.findall(line))]
            first = next((i for i, line in lines if tokens & set(_WORD.findall(line))), 0)
            picked = [line for i, line in lines if i >= first][:per_problem]
            out += [f"  {problem[:60]}:"] + [f"    {line}" for line in picked]
        return out

    # -- the two sides, as they are now ----------------------------------------------------

    def local(self) -> dict[str, str | None]:
        local = local_tokens(self.root)
        self.ledger.observe(local)
        return local

    def token_at(self, rel: str) -> str | None:
        """The token of one local file, read just before acting on it (the daemon may
        have replaced it a moment ago; reading one file keeps that window tiny)."""
        try:
            with open(self.root / rel, "rb") as f:
                return token_of(f.read(200))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def own(self) -> dict[str, str]:
        """File id -> local path of every object the index records as ours."""
        self.key = self.key or mapping_key(self.run.config)
        with Index.open(self.run.state / "index.sqlite3") as index:
            own = dict(index.own_uploads(self.key))
            own.update({b.remote_id: p for p, b in index.bases(self.key).items()
                        if b.remote_id})
            return own

    def objects(self) -> list[RemoteObject]:
        assert self.cid
        return remote_objects(self.server.store, self.cid, self.own(), self.anchors)

    def problems(self) -> list[str]:
        cid = self.run.status()["container"]["id"]
        if cid != self.cid:
            return [f"the daemon moved to container {cid} (was {self.cid})"]
        return self.ledger.violations(self.local(), self.objects())

    # -- changes ---------------------------------------------------------------------------

    def _kind(self) -> str:
        return self.rng.choices(["small", "empty", "large"], [85, 10, 5])[0]

    def _put(self, rel: str, kind: str) -> None:
        path = self.root / rel
        if path.is_dir():
            return
        old = self.token_at(rel)
        self.ledger.superseded(rel, [old])
        token = self.ledger.new_token("L", rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body(token, kind))
        self.mtime = max(time.time_ns(), self.mtime + 10_000_000)  # coarse fs timestamps
        _utime_when_back(path, self.mtime)
        self.ledger.placed(rel, token if kind != "empty" else None)
        self.log(f"local write {rel} {token} {kind} over {old}")

    def seed_files(self, n: int) -> None:
        for rel in self.rng.sample(FILES, n):
            self._put(rel, self._kind())

    def step(self) -> None:
        op = self.rng.choices(list(OPS), list(OPS.values()))[0]
        if op in ("fault", "tick"):
            getattr(self, op)()
        elif getattr(self, op)():
            self.changes += 1

    def local_write(self) -> bool:
        self._put(self.rng.choice(FILES), self._kind())
        return True

    def local_delete(self) -> bool:
        local = self.local()
        present = sorted(p for p in local if p in FILES)
        if not present:
            return False
        rel = self.rng.choice(present)
        token = self.token_at(rel)
        (self.root / rel).unlink(missing_ok=True)
        self.ledger.deleted(rel, [token])
        self.log(f"local delete {rel} {token}")
        return True

    def local_rename(self) -> bool:
        local = self.local()
        src, dst = self.rng.choice(FILES), self.rng.choice(FILES)
        if src not in local or dst in local or (self.root / dst).is_dir():
            return False
        (self.root / dst).parent.mkdir(parents=True, exist_ok=True)
        token = self.token_at(src)
        os.rename(self.root / src, self.root / dst)
        self.ledger.moved(src, dst, token)
        self.log(f"local rename {src} -> {dst} {token}")
        return True

    def folder_rename(self) -> bool:
        src, dst = self.rng.choice(MOVES)
        if not (self.root / src).is_dir() or (self.root / dst).exists():
            return False
        inside = {p: t for p, t in self.local().items() if p.startswith(src + "/")}
        (self.root / dst).parent.mkdir(parents=True, exist_ok=True)
        os.rename(self.root / src, self.root / dst)
        for rel, token in inside.items():
            self.ledger.moved(rel, dst + rel[len(src):], token)
            self.log(f"local rename (folder) {rel} -> {dst + rel[len(src):]} {token}")
        return True

    def folder_delete(self) -> bool:
        folder = self.rng.choice(["d", "h", "k", "d/e"])
        if not (self.root / folder).is_dir():
            return False
        for rel, token in self.local().items():
            if rel.startswith(folder + "/"):
                self.ledger.deleted(rel, [token])
                self.log(f"local delete (folder) {rel} {token}")
        # like `rm -rf`: an entry the daemon removed meanwhile (its temporary file, a
        # download it moved into place) is not an error
        shutil.rmtree(self.root / folder, onerror=_gone_is_fine)
        return True

    def assistant_write(self) -> bool:
        assert self.cid
        rel = self.rng.choice(FILES)
        seen = [o for o in self.objects() if o.rel == rel]
        ours = [o.path for o in seen if o.source == "user"]
        where = ours[-1] if ours and self.rng.random() < 0.5 else f"/mnt/data/{rel}"
        kind = self._kind()
        token = self.ledger.new_token("A", rel)
        made = add_assistant_file(self.server, self.cid, where, body(token, kind),
                                  record_bytes=self.rng.random() < 0.5)
        # a sandbox write replaces what is there when it lands, read or not: include what
        # the daemon uploaded between our look and the write
        after = [o for o in self.objects() if o.rel == rel]
        ids = [o.id for o in after]
        landed = after[:ids.index(made["id"])] if made["id"] in ids else []
        self.ledger.superseded(rel, (o.token for o in seen + landed))
        self.ledger.placed(rel, token if kind != "empty" else None)
        self.log(f"assistant write {rel} {token} {kind} at {where} over "
                 f"{[o.token for o in seen]}")
        return True

    def assistant_delete(self) -> bool:
        assert self.cid
        objects = self.objects()
        mapped = sorted({o.rel for o in objects if not o.rel.startswith("?")})
        if not mapped:
            return False
        rel = self.rng.choice(mapped)
        newest = [o for o in objects if o.rel == rel][-1]
        # the sandbox file (every object at its path), or one API delete of the newest
        doomed = [o for o in objects if o.path == newest.path] if self.rng.random() < 0.7 \
            else [newest]
        for o in doomed:
            with contextlib.suppress(NotFound):  # the daemon deleted it meanwhile
                self.server.store.delete_container_file(self.cid, o.id)
        self.ledger.deleted(rel, [o.token for o in doomed])
        self.log(f"assistant delete {rel} at {newest.path}: {[o.token for o in doomed]}")
        return True

    def fault(self) -> None:
        fault = dict(self.rng.choice(FAULTS))
        if fault.get("retry_after_ms"):
            fault["retry_after_ms"] = self.rng.randint(200, 1200)
        fault["times"] = self.rng.randint(1, 3)
        inject_fault(self.server, **fault)
        self.faults += 1
        self.log(f"fault {fault}")

    def tick(self) -> None:
        self.server.advance_clock(1)
        self.log("tick")


def _gone_is_fine(_fn: object, _path: str, exc: tuple[type[BaseException], BaseException,
                                                    object]) -> None:
    if not isinstance(exc[1], FileNotFoundError):
        raise exc[1]
