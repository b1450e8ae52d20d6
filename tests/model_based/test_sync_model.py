"""Model-based test of ``containersync sync`` (issue 7's proof): arbitrary interleavings of
local and assistant changes, faults after the server acted, and same-second clocks.

The real CLI (``cli.main``, in process) runs against the real local backend over loopback
HTTP, with its one-second clock moved only by the ``tick`` rule, so most changes share a
second. After each clean sync (faults off) ``support.ledger`` checks: every last write
survives (at its name or as a conflict copy), nothing deleted comes back, no object of ours
is duplicated or orphaned, the folder and the container agree, and a second sync is a no-op.
A failure prints Hypothesis's step list (the reproduction) and both sides.

Default, per path mode: issue 7's findings 1-4 as explicit examples, then 6 random ones
(``CONTAINERSYNC_MODEL_EXAMPLES``), not shrunk (``CONTAINERSYNC_MODEL_SHRINK=1`` shrinks a
failure to its shortest step list; that replays hundreds of runs). ``-m soak``: 200
examples of up to 40 steps, shrunk.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, note, settings
from hypothesis import strategies as st

from containersync.localapi.embedded import RunningServer, start_server
from support.backend import add_assistant_file, clear_faults, inject_fault, raw
from support.ledger import Ledger, RemoteObject, body, describe, local_tokens, remote_objects
from support.scenario import KEY_ENV, MAPPING, World, sync

FILES = [f"{d}{n}" for d in ("", "d/", "d/e/", "h/") for n in ("a.txt", "b.md")]
DIR_MOVES = [("d", "h"), ("h", "d"), ("d/e", "h/e")]
KINDS = st.sampled_from(["small", "small", "small", "empty", "large"])
MOVES = ("uploaded", "downloaded", "deleted_remote", "deleted_local", "conflicts")
AFTER = {"when": "after", "retry_after_ms": 0}
#: each fault acts once or twice (``times``); the client retries once (``max_retries = 1``)
FAULTS = {
    "upload lands, answer 503": dict(method="POST", path_regex=r"/files$", status=503, **AFTER),
    "upload lands, connection drops": dict(method="POST", path_regex=r"/files$", drop=True,
                                           when="after"),
    "delete acts, answer 503": dict(method="DELETE", path_regex=r"/files/", status=503, **AFTER),
    "delete refused 503": dict(method="DELETE", path_regex=r"/files/", status=503,
                               retry_after_ms=0),
    "listing 503": dict(method="GET", path_regex=r"/files$", status=503, retry_after_ms=0),
    "download 429": dict(method="GET", path_regex=r"/content$", status=429, retry_after_ms=0),
    "container retrieve 503": dict(method="GET", path_regex=r"^/v1/containers/[^/]+$",
                                   status=503, retry_after_ms=0),
}


class ModelRun:
    """One mapping, one backend, one tmp dir; each step method is a no-op when it does
    not apply (nothing to delete, no container yet)."""

    def __init__(self, assign_paths: bool) -> None:
        self.assign_paths = assign_paths
        self.tmp = Path(tempfile.mkdtemp(prefix="containersync-model-"))
        self.server: RunningServer = start_server(self.tmp / "backend",
                                                  assign_paths=self.assign_paths)
        self.world = World(self.server, self.tmp)
        self.ledger = Ledger()
        self.anchors: dict[str, str] = {}
        self.mtime = time.time_ns()
        self.cid: str | None = None
        self._configure()

    def _configure(self) -> None:
        lines = ["[api]", f'base_url = "{self.server.base_url}"', f'api_key_env = "{KEY_ENV}"',
                 "max_retries = 1", "timeout_seconds = 10", "concurrency = 1",
                 "[state]", f'dir = "{self.world.state}"',
                 "[[mappings]]", f'name = "{MAPPING}"', f'local = "{self.world.root}"']
        self.world.config.write_text("\n".join(lines) + "\n")

    def close(self) -> None:
        self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- helpers --------------------------------------------------------------------------

    def run_sync(self) -> dict[str, Any]:
        result = sync(self.world.config, "--force", env={KEY_ENV: "sk-unused"})
        assert result.json, f"sync printed no result (exit {result.code}): {result.err}"
        m = result.m
        self.cid = self.cid or m.get("container_id")
        moved = {k: m[k] for k in MOVES if m.get(k)}
        note(f"  -> exit {result.code} {m.get('status')}: {moved} "
             f"{m.get('problems') or m.get('reason') or ''}")
        return {"code": result.code, **m}

    def local(self) -> dict[str, str | None]:
        return local_tokens(self.world.root)

    def objects(self) -> list[RemoteObject]:
        assert self.cid
        _, own = self.world._read_index()
        return remote_objects(self.server.store, self.cid, own, self.anchors)

    def at(self, rel: str) -> list[RemoteObject]:
        return [o for o in self.objects() if o.rel == rel]

    def put_local(self, rel: str, data: bytes) -> None:
        path = self.world.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        # the file system's timestamps are coarse (a few ms): make every write visible
        # as a change, as a real user's edits seconds apart would be
        self.mtime = max(time.time_ns(), self.mtime + 10_000_000)
        os.utime(path, ns=(self.mtime, self.mtime))

    def check(self) -> None:
        first = self.run_sync()
        local, objects = self.local(), self.objects()
        problems = self.ledger.violations(local, objects)
        self.ledger.observe(local)
        if first["code"] != 0:
            problems.insert(0, f"the clean sync exited {first['code']}: {first.get('problems')}")
        second = self.run_sync()
        moved = {k: second[k] for k in MOVES if second.get(k)}
        if moved or second["code"] != 0:
            problems.append(f"a second sync was not a no-op: exit {second['code']}, {moved}")
        assert not problems, "\n".join(["invariants broken after a clean sync:", *problems,
                                        describe(objects, local)])

    # -- rules ----------------------------------------------------------------------------

    def first_sync(self, files: list[str], kind: str) -> None:
        for rel in files:
            token = self.ledger.new_token("L", rel)
            self.put_local(rel, body(token, kind))
            self.ledger.placed(rel, token if kind != "empty" else None)
        self.run_sync()

    def local_write(self, rel: str, kind: str) -> None:
        if (self.world.root / rel).is_dir():
            return
        self.ledger.superseded(rel, [self.local().get(rel)])
        token = self.ledger.new_token("L", rel)
        self.put_local(rel, body(token, kind))
        self.ledger.placed(rel, token if kind != "empty" else None)

    def local_delete(self, rel: str) -> None:
        local = self.local()
        if rel in local:
            self.ledger.deleted(rel, [local[rel]])
            (self.world.root / rel).unlink()

    def local_rename(self, src: str, dst: str) -> None:
        local = self.local()
        if src not in local or dst in local or src == dst:
            return
        (self.world.root / dst).parent.mkdir(parents=True, exist_ok=True)
        os.rename(self.world.root / src, self.world.root / dst)
        self.ledger.moved(src, dst, local[src])

    def local_rename_folder(self, move: tuple[str, str]) -> None:
        src, dst = (self.world.root / m for m in move)
        if not src.is_dir() or dst.exists():
            return
        inside = {p: t for p, t in self.local().items() if p.startswith(move[0] + "/")}
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.rename(src, dst)
        for rel, token in inside.items():
            self.ledger.moved(rel, move[1] + rel[len(move[0]):], token)

    def local_delete_folder(self, folder: str) -> None:
        if not (self.world.root / folder).is_dir():
            return
        for rel, token in self.local().items():
            if rel.startswith(folder + "/"):
                self.ledger.deleted(rel, [token])
        shutil.rmtree(self.world.root / folder)

    def assistant_write(self, rel: str, kind: str, at_ours: bool, record_bytes: bool) -> None:
        if self.cid is None:
            return
        seen = self.at(rel)
        ours = [o.path for o in seen if o.source == "user"]
        where = ours[-1] if at_ours and ours else f"/mnt/data/{rel}"
        self.ledger.superseded(rel, (o.token for o in seen))
        token = self.ledger.new_token("A", rel)
        add_assistant_file(self.server, self.cid, where, body(token, kind),
                           record_bytes=record_bytes)
        self.ledger.placed(rel, token if kind != "empty" else None)
        note(f"  assistant wrote {token} at {where}")

    def assistant_delete(self, rel: str, every: bool) -> None:
        """``every``: the sandbox file goes (every object at its path, as ``rm`` in
        ``local exec``); else one API delete of the newest object standing for ``rel``."""
        seen = self.at(rel) if self.cid else []
        if not seen:
            return
        where = seen[-1].path
        doomed = [o for o in self.objects() if o.path == where] if every else seen[-1:]
        with raw(self.server) as client:
            for o in doomed:
                client.delete(f"/v1/containers/{self.cid}/files/{o.id}").raise_for_status()
        self.ledger.deleted(rel, [o.token for o in doomed])
        note(f"  assistant deleted {[o.id for o in doomed]} at {where}: "
             f"{[o.token for o in doomed]}")

    def tick(self) -> None:
        self.server.advance_clock(1)

    def sync_with_faults(self, faults: tuple[tuple[str, int], ...]) -> None:
        for fault, times in faults:
            inject_fault(self.server, times=times, **FAULTS[fault])
        try:
            self.run_sync()
        finally:
            clear_faults(self.server)

    def sync_while_assistant_writes(self, rel: str) -> None:
        """The assistant writes ``rel`` between our plan and our first upload."""
        if self.cid is None:
            return
        seen = self.at(rel)
        token = self.ledger.new_token("A", rel)
        inject_fault(self.server, method="POST", path_regex=r"/files$", when="pass",
                     write={"path": f"/mnt/data/{rel}", "content": token + "\n"})
        try:
            self.run_sync()
        finally:
            clear_faults(self.server)
        if any(o.token == token for o in self.objects()):  # no upload, no write
            self.ledger.superseded(rel, (o.token for o in seen))
            self.ledger.placed(rel, token)

    def clean_sync_and_check(self) -> None:
        if self.cid is not None:
            self.check()




class Step(tuple[Any, ...]):
    """One rule application, printed as a call: ``local_write('a.txt', 'small')``."""

    def __repr__(self) -> str:
        return f"{self[0]}({', '.join(map(repr, self[1:]))})"


def _step(name: str, *args: st.SearchStrategy[Any]) -> st.SearchStrategy[Step]:
    return st.tuples(st.just(name), *args).map(Step)


PATH = st.sampled_from(FILES)
STEPS = st.one_of(
    _step("local_write", PATH, KINDS), _step("local_write", PATH, KINDS),
    _step("local_delete", PATH), _step("local_rename", PATH, PATH),
    _step("local_rename_folder", st.sampled_from(DIR_MOVES)),
    _step("local_delete_folder", st.sampled_from(["d", "h", "d/e"])),
    _step("assistant_write", PATH, KINDS, st.booleans(), st.booleans()),
    _step("assistant_write", PATH, KINDS, st.booleans(), st.booleans()),
    _step("assistant_delete", PATH, st.booleans()),
    _step("tick"), _step("tick"),
    _step("sync_with_faults", st.lists(st.tuples(st.sampled_from(sorted(FAULTS)),
                                                  st.integers(1, 2)),
                                        min_size=1, max_size=2).map(tuple)),
    _step("sync_while_assistant_writes", PATH),
    _step("clean_sync_and_check"),
)
START = st.tuples(st.lists(PATH, max_size=3, unique=True), KINDS)
MODES = pytest.mark.parametrize("assign_paths", [False, True],
                                ids=["paths-honoured", "paths-assigned"])


def play(assign_paths: bool, start: tuple[list[str], str], steps: list[Step]) -> None:
    run = ModelRun(assign_paths)
    try:
        run.first_sync(*start)
        run.ledger.observe(run.local())
        for step in steps:
            note(repr(step))
            getattr(run, step[0])(*step[1:])
            run.ledger.observe(run.local())
        run.check()
    finally:
        run.close()


#: shrinking a failure replays hundreds of runs (minutes); on by default only under -m soak
SHRINK = os.environ.get("CONTAINERSYNC_MODEL_SHRINK", "") == "1"


def _settings(examples: int, *, shrink: bool) -> settings:
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])
    return settings(max_examples=examples, deadline=None, database=None, phases=phases,
                    report_multiple_bugs=False, suppress_health_check=list(HealthCheck))


def _steps(*steps: tuple[Any, ...]) -> list[Step]:
    return [Step(s) for s in steps]


#: issue 7's findings 1-4, replayed on every run before the random examples
ISSUE_7 = [
    # 1: same-second edits on both sides, then a calm sync
    ((["a.txt"], "small"), _steps(("local_write", "a.txt", "small"),
                                  ("assistant_write", "a.txt", "small", True, True),
                                  ("clean_sync_and_check",))),
    # 2: the assistant writes between our plan and our upload
    (([], "small"), _steps(("local_write", "a.txt", "small"),
                           ("sync_while_assistant_writes", "a.txt"))),
    # 3: the assistant rewrites our upload; then a local delete / the assistant's delete
    ((["a.txt"], "small"), _steps(("tick",), ("assistant_write", "a.txt", "small", True, True),
                                  ("clean_sync_and_check",), ("local_delete", "a.txt"))),
    ((["a.txt"], "small"), _steps(("tick",), ("assistant_write", "a.txt", "small", False, True),
                                  ("clean_sync_and_check",),
                                  ("assistant_delete", "a.txt", False))),
    # 4: an upload lands, then its follow-up fails (the replaced object's delete; the
    # answer, twice, so the retry lands a second copy)
    ((["a.txt"], "small"), _steps(("local_write", "a.txt", "large"),
                                  ("sync_with_faults", (("delete refused 503", 2),)))),
    ((["a.txt"], "small"), _steps(("local_write", "a.txt", "small"),
                                  ("sync_with_faults",
                                   (("upload lands, connection drops", 2),)))),
]


def _with_issue_7(test: Any) -> Any:
    for start, steps in reversed(ISSUE_7):
        test = example(start=start, steps=steps)(test)
    return test


@MODES
@_settings(int(os.environ.get("CONTAINERSYNC_MODEL_EXAMPLES", "6")), shrink=SHRINK)
@given(start=START, steps=st.lists(STEPS, max_size=12))
@_with_issue_7
def test_sync_model(assign_paths: bool, start: tuple[list[str], str],
                    steps: list[Step]) -> None:
    play(assign_paths, start, steps)


@pytest.mark.soak
@MODES
@_settings(200, shrink=True)
@given(start=START, steps=st.lists(STEPS, max_size=40))
def test_sync_model_deep(assign_paths: bool, start: tuple[list[str], str],
                         steps: list[Step]) -> None:
    play(assign_paths, start, steps)
