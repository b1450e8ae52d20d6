"""A tiny in-memory world for property tests: a local tree, a container and an index.

``World.apply`` carries out plan actions the way the executor does (check what the action
expects, act, record the base from the result); nothing here decides anything, so the
tests exercise ``remote_view`` + ``reconcile`` only. Contents are short strings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from containersync.model.entry import (
    BaseEntry,
    LocalFile,
    Mode,
    RemoteObject,
    RemoteView,
)
from containersync.model.plan import (
    Action,
    DeleteRemote,
    Download,
    DropBase,
    Plan,
    RecordBase,
    SaveConflictCopy,
    TrashLocal,
    Upload,
)
from containersync.plan.reconcile import reconcile
from containersync.plan.remote_view import remote_view

ROOT = "/mnt/data"
NOW = datetime(2026, 11, 23, 10, 15, 0, tzinfo=UTC)


def sha(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


@dataclass
class Obj:
    file_id: str
    remote_path: str
    created_at: int
    source: str
    content: str


@dataclass
class World:
    local: dict[str, tuple[str, int]] = field(default_factory=dict)  # path -> content, mtime
    remote: dict[str, Obj] = field(default_factory=dict)
    base: dict[str, BaseEntry] = field(default_factory=dict)
    own: dict[str, str] = field(default_factory=dict)  # our uploads: file id -> path
    digests: dict[str, str] = field(default_factory=dict)  # what the index knows
    trash: list[str] = field(default_factory=list)
    tick: int = 100
    known: dict[str, str] = field(default_factory=dict)  # objects decided on: id -> path
    upload_paths: dict[str, str] = field(default_factory=dict)  # sandbox path -> path
    last_view: RemoteView | None = None

    # --- the outside world changing things ------------------------------------------------
    def next(self) -> int:
        self.tick += 1
        return self.tick

    def write_local(self, path: str, content: str) -> None:
        self.local[path] = (content, self.next())

    def put_remote(self, remote_path: str, content: str, source: str) -> Obj:
        n = self.next()
        o = Obj(f"cfile_{n:04d}", remote_path, n, source, content)
        self.remote[o.file_id] = o
        return o

    # --- snapshots, as the scanner and the lister give them -------------------------------
    def local_files(self) -> dict[str, LocalFile]:
        return {p: LocalFile(p, len(c), m, sha(c)) for p, (c, m) in self.local.items()}

    def view(self) -> RemoteView:
        objs = [RemoteObject(o.file_id, o.remote_path, o.created_at, o.source,
                             None if o.source == "assistant" else len(o.content))
                for o in self.remote.values()]
        return remote_view(objs, self.base, remote_root=ROOT, own_ids=self.own,
                           known=frozenset(self.known), upload_paths=self.upload_paths)

    def plan(self, mode: Mode) -> Plan:
        """Reconcile; fetch what the plan needs hashed (as the caller does) and again."""
        self.last_view = view = self.view()
        plan = reconcile(self.base, self.local_files(), view, mode, now=NOW,
                         digests=self.digests)
        if plan.needs_digest:
            for rf in plan.needs_digest:
                self.digests[rf.file_id] = sha(self.remote[rf.file_id].content)
            plan = reconcile(self.base, self.local_files(), view, mode, now=NOW,
                             digests=self.digests)
            assert not plan.needs_digest
        return plan

    # --- the executor -------------------------------------------------------------------
    def _expect(self, path: str, expected: LocalFile | None) -> None:
        assert self.local_files().get(path) == expected, f"{path}: not what the plan saw"

    def _record(self, path: str, o: Obj) -> None:
        content, mtime = self.local[path]
        self.base[path] = BaseEntry(path, len(content), mtime, sha(content), o.file_id,
                                    o.remote_path, o.created_at, o.source)

    def apply(self, plan: Plan) -> None:
        """Carry out every action (all succeed here), then remember what the plan's view
        saw at each decided path, as the engine does once a path's actions succeeded."""
        for action in plan.actions:
            self._apply(action)
        if self.last_view is not None:
            for path in plan.decided:
                self.known.update(dict.fromkeys(self.last_view.seen.get(path, ()), path))
        live = set(self.remote)
        self.known = {f: p for f, p in self.known.items() if f in live}

    def _apply(self, a: Action) -> None:
        if isinstance(a, Upload):
            self._expect(a.path, a.local)
            content = self.local[a.path][0]
            o = self.put_remote(f"{ROOT}/{self.tick:032x}-{a.path.rpartition('/')[2]}",
                                content, "user")
            self.own[o.file_id] = a.path
            self.upload_paths[o.remote_path] = a.path
            self.digests[o.file_id] = sha(content)
            self._record(a.path, o)
            if a.replaces is not None:
                del self.remote[a.replaces.file_id]
                self.own.pop(a.replaces.file_id, None)
        elif isinstance(a, DeleteRemote):
            del self.remote[a.remote.file_id]
            self.own.pop(a.remote.file_id, None)
            b = self.base.get(a.path)
            if b is not None and b.remote_id == a.remote.file_id:
                del self.base[a.path]
        elif isinstance(a, Download):
            self._expect(a.path, a.expect_local)
            if a.path in self.local:
                self.trash.append(self.local[a.path][0])
            o = self.remote[a.remote.file_id]
            self.write_local(a.path, o.content)
            self.digests[o.file_id] = sha(o.content)
            self._record(a.path, o)
        elif isinstance(a, TrashLocal):
            self._expect(a.path, a.expect_local)
            self.trash.append(self.local.pop(a.path)[0])
            del self.base[a.path]
        elif isinstance(a, SaveConflictCopy):
            assert a.copy_path not in self.local
            self.write_local(a.copy_path, self.remote[a.remote.file_id].content)
        elif isinstance(a, RecordBase):
            self._expect(a.path, a.local)
            self._record(a.path, self.remote[a.remote.file_id])
        elif isinstance(a, DropBase):
            del self.base[a.path]
        else:  # pragma: no cover
            raise AssertionError(f"unknown action {a!r}")
