"""Properties of reconcile over random two-sided changes, run through the ``simworld`` executor.

1. Convergence: after a plan is applied, reconciling again plans nothing (in every mode).
2. No change is lost: a local edit is never overwritten; every new remote version and
   every local edit still exists somewhere (local tree, container or trash) afterwards.
3. Conflicts keep both versions: the local one under its name, the remote one as the
   conflict copy; in two-way the container then holds the local version at the path.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from simworld import NOW, ROOT, World, sha

from containersync.model.entry import BaseEntry, Mode
from containersync.plan.reconcile import reconcile

PATHS = ("a.txt", "b.csv", "d/c.txt")
CONTENTS = ("x", "y", "zz")


@dataclass(frozen=True)
class Scenario:
    mode: Mode
    initial: dict[str, str | None]
    new_generation: bool
    local_ops: dict[str, tuple[str, ...]]
    remote_ops: dict[str, tuple[str, ...]]


content = st.sampled_from(CONTENTS)
local_op = st.one_of(st.just(("keep",)), st.just(("touch",)), st.just(("delete",)),
                     st.tuples(st.just("write"), content))
remote_op = st.one_of(st.just(("keep",)), st.just(("delete",)),
                      st.tuples(st.sampled_from(["assistant", "rewrite", "user"]), content))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    return Scenario(
        mode=draw(st.sampled_from(list(Mode))),
        initial=draw(st.fixed_dictionaries({p: st.none() | content for p in PATHS})),
        new_generation=draw(st.booleans()),
        local_ops=draw(st.fixed_dictionaries({p: local_op for p in PATHS})),
        remote_ops=draw(st.fixed_dictionaries({p: remote_op for p in PATHS})),
    )


def build(s: Scenario) -> World:
    """A world in sync with ``initial``, then changed on both sides by the scenario."""
    w = World()
    for path, c in s.initial.items():
        if c is None:
            continue
        w.write_local(path, c)
        o = w.put_remote(f"{ROOT}/{w.tick:032x}-{path.rpartition('/')[2]}", c, "user")
        w.own[o.file_id] = path
        w.digests[o.file_id] = sha(c)
        mtime = w.local[path][1]
        w.base[path] = BaseEntry(path, len(c), mtime, sha(c), o.file_id, o.remote_path,
                                 o.created_at, "user")
    if s.new_generation:
        w.remote.clear()
        w.base = {p: BaseEntry(p, b.size, b.mtime_ns, b.sha256) for p, b in w.base.items()}
    for path, op in s.local_ops.items():
        if op[0] == "touch" and path in w.local:
            w.write_local(path, w.local[path][0])
        elif op[0] == "delete":
            w.local.pop(path, None)
        elif op[0] == "write":
            w.write_local(path, op[1])
    for path, op in s.remote_ops.items():
        b = w.base.get(path)
        if op[0] == "delete":
            for fid in [f for f, o in w.remote.items()
                        if w.own.get(f) == path or o.remote_path == f"{ROOT}/{path}"]:
                del w.remote[fid]
        elif op[0] == "rewrite" and b is not None and b.remote_path is not None:
            w.put_remote(b.remote_path, op[1], "assistant")
        elif op[0] in ("assistant", "rewrite"):
            w.put_remote(f"{ROOT}/{path}", op[1], "assistant")
        elif op[0] == "user":  # a stranger's upload: foreign, never pulled
            w.put_remote(f"{ROOT}/{path}", op[1], "user")
    return w


def changed_versions(w: World) -> tuple[dict[str, str], set[str]]:
    """Local edits (path -> content) and remote new/newer versions (contents)."""
    edits = {p: c for p, (c, _) in w.local.items()
             if p not in w.base or w.base[p].sha256 != sha(c)}
    view = w.view()
    remote_new = {w.remote[f.file_id].content for p, f in view.files.items()
                  if p not in w.base or w.base[p].remote_id != f.file_id}
    return edits, remote_new


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_applying_a_plan_converges(s: Scenario) -> None:
    w = build(s)
    w.apply(w.plan(s.mode))
    again = reconcile(w.base, w.local_files(), w.view(), s.mode, now=NOW, digests=w.digests)
    assert again.actions == ()
    assert again.needs_digest == ()


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_no_change_is_lost(s: Scenario) -> None:
    w = build(s)
    edits, remote_new = changed_versions(w)
    w.apply(w.plan(s.mode))
    for path, c in edits.items():
        assert w.local[path][0] == c, f"local edit of {path} was overwritten"
    everywhere = ({c for c, _ in w.local.values()} | {o.content for o in w.remote.values()}
                  | set(w.trash))
    assert remote_new <= everywhere


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_conflicts_keep_both_versions(s: Scenario) -> None:
    w = build(s)
    before = {p: c for p, (c, _) in w.local.items()}
    remote_before = {fid: o.content for fid, o in w.remote.items()}
    plan = w.plan(s.mode)
    w.apply(plan)
    for conflict in plan.conflicts:
        assert w.local[conflict.path][0] == before[conflict.path]
        assert w.local[conflict.copy_path][0] == remote_before[conflict.remote_file_id]
        assert before[conflict.path] != remote_before[conflict.remote_file_id]
        if s.mode is Mode.TWO_WAY:
            winner = w.view().files[conflict.path]
            assert w.remote[winner.file_id].content == before[conflict.path]


def test_a_conflict_happens_in_this_world() -> None:
    """Guard against a generator that never reaches the interesting case."""
    s = Scenario(Mode.TWO_WAY, {"a.txt": "x", "b.csv": None, "d/c.txt": None}, False,
                 {"a.txt": ("write", "y"), "b.csv": ("keep",), "d/c.txt": ("keep",)},
                 {"a.txt": ("rewrite", "zz"), "b.csv": ("keep",), "d/c.txt": ("keep",)})
    w = build(s)
    plan = w.plan(s.mode)
    assert [c.path for c in plan.conflicts] == ["a.txt"]
    w.apply(plan)
    assert w.local["a.txt"][0] == "y"
    assert w.local["a.conflict-20261123-101500.txt"][0] == "zz"
    assert reconcile(w.base, w.local_files(), w.view(), s.mode, now=NOW,
                     digests=w.digests).empty
