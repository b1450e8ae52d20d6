"""Order by knowledge, not by clocks: properties of ``remote_view`` and of many sync rounds.

The simulated container gives objects one-second timestamps (several writes share a
second) and random ids, so ties fall either way, as on the live service.

1. ``remote_view``: a path's unseen object is never hidden by an object of ours, older or
   in the same second; an object of ours other than the base's is never current (it is
   garbage); the current object is the newest unseen one, else the base's, else none.
2. Rounds of two-sided changes, each followed by a sync (every action succeeding): a path
   changed by one side only ends with that side's result (written content, or absent),
   so nothing deleted comes back and nothing rolls back; a path both sides changed keeps
   the local result and, when the assistant wrote, its content too; each path has at most
   one object of ours (the base's); a second sync plans nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from simworld import NOW, ROOT, Obj, World

from containersync.model.entry import BaseEntry, Mode, RemoteObject
from containersync.plan.reconcile import reconcile
from containersync.plan.remote_view import remote_view

PATHS = ("a.txt", "b.txt", "d/c.txt")


@dataclass
class CoarseWorld(World):
    """Timestamps of one-second resolution (three ticks a second) and ids in random order."""

    salt: int = 0

    def put_remote(self, remote_path: str, content: str, source: str) -> Obj:
        n = self.next()
        digest = hashlib.sha256(f"{self.salt}:{n}".encode()).hexdigest()[:12]
        o = Obj(f"cfile_{digest}", remote_path, n // 3, source, content)
        self.remote[o.file_id] = o
        return o


# -- 1. remote_view ------------------------------------------------------------------------

@st.composite
def listings(draw: st.DrawFn) -> tuple[list[RemoteObject], dict[str, BaseEntry],
                                       dict[str, str], set[str]]:
    objs: list[RemoteObject] = []
    own: dict[str, str] = {}
    for i in range(draw(st.integers(0, 8))):
        path = draw(st.sampled_from(PATHS))
        ours = draw(st.booleans())
        source = "user" if ours else draw(st.sampled_from(["assistant", "assistant", "user"]))
        o = RemoteObject(f"cfile_{draw(st.integers(0, 99)):02d}{i}", f"{ROOT}/{path}",
                         draw(st.integers(10, 13)), source)
        objs.append(o)
        if ours:
            own[o.file_id] = path
    base: dict[str, BaseEntry] = {}
    for path in PATHS:
        mine = [o for o in objs if own.get(o.file_id) == path]
        # or one the assistant wrote that we pulled (known: a decision took it)
        pulled = [o for o in objs if o.remote_path == f"{ROOT}/{path}"
                  and o.source == "assistant" and o.file_id not in own]
        pick = draw(st.sampled_from([None, *mine, *pulled]))
        if pick is not None:
            base[path] = BaseEntry(path, 1, 1, "s", pick.file_id, pick.remote_path,
                                   pick.created_at, pick.source)
    known = {o.file_id for o in objs if draw(st.booleans())}
    known |= {b.remote_id for b in base.values() if b.remote_id not in own}
    return objs, base, own, known


@settings(max_examples=300, deadline=None)
@given(listings())
def test_the_current_object_is_chosen_by_knowledge(
        case: tuple[list[RemoteObject], dict[str, BaseEntry], dict[str, str], set[str]]
) -> None:
    objs, base, own, known = case
    v = remote_view(objs, base, remote_root=ROOT, own_ids=own, known=known)
    garbage = {g.file_id for g in v.garbage}
    for path in PATHS:
        here = [o for o in objs if o.remote_path == f"{ROOT}/{path}"]
        unseen = [o for o in here if o.file_id not in own and o.source == "assistant"
                  and o.file_id not in known]
        tracked = next((o for o in here if path in base and o.file_id == base[path].remote_id),
                       None)
        # while the object the base tracks (pulled or uploaded) is listed, an unseen one
        # stamped in an earlier second does not replace it: it is kept as a conflict copy
        # beside it (tied)
        older = [o for o in unseen if tracked is not None and o.created_at < tracked.created_at]
        unseen = [o for o in unseen if o not in older]
        current = v.files.get(path)
        if unseen:
            # of the newest second, the last listed; the others are tied (kept as copies)
            second = max(o.created_at for o in unseen)
            *rivals, newest = [o for o in unseen if o.created_at == second]
            assert current is not None and current.file_id == newest.file_id
            assert [f.file_id for f in v.tied.get(path, ())] == [o.file_id for o in rivals]
            if (tracked is not None and tracked.file_id in own
                    and newest.created_at == tracked.created_at):
                assert path in v.ambiguous  # compared with our upload, never hidden
            else:
                assert path not in v.ambiguous
        elif tracked is not None:
            assert current is not None and current.file_id == tracked.file_id
            assert [f.file_id for f in v.tied.get(path, ())] == [o.file_id for o in older]
        else:
            assert current is None  # no older version is ever restored
        for o in here:
            if o.file_id in own and (current is None or o.file_id != current.file_id):
                assert o.file_id in garbage  # a superseded upload is garbage, not a version


# -- 2. rounds of changes ------------------------------------------------------------------

local_op = st.sampled_from(["keep", "keep", "write", "delete"])
remote_op = st.sampled_from(["keep", "keep", "write", "rewrite", "delete"])
rounds = st.lists(st.tuples(st.fixed_dictionaries({p: local_op for p in PATHS}),
                            st.fixed_dictionaries({p: remote_op for p in PATHS})),
                  min_size=1, max_size=6)


def _assistant(w: CoarseWorld, path: str, op: str, content: str) -> str | None:
    """One assistant change to ``path`` as the sandbox sees it; returns the change made
    ("write"/"delete") or None when there was nothing to do."""
    current = w.view().files.get(path)
    if op == "write":
        w.put_remote(f"{ROOT}/{path}", content, "assistant")
        return "write"
    if op == "rewrite" and current is not None:
        w.put_remote(current.remote_path, content, "assistant")  # the file it sees
        return "write"
    if op == "delete" and current is not None:
        for fid in [f for f, o in w.remote.items() if o.remote_path == current.remote_path]:
            del w.remote[fid]
        return "delete"
    return None


@settings(max_examples=150, deadline=None)
@given(rounds, st.integers(0, 10**6))
def test_many_rounds_never_resurrect_or_roll_back(
        script: list[tuple[dict[str, str], dict[str, str]]], salt: int) -> None:
    w = CoarseWorld(salt=salt)
    for n, (local_ops, remote_ops) in enumerate(script):
        want: dict[str, str | None] = {}
        start = {p: c for p, (c, _) in w.local.items()}
        for path in PATHS:
            lop, rop = local_ops[path], remote_ops[path]
            mine, theirs = f"L{n}:{path}", f"R{n}:{path}"
            local_change = None
            if lop == "write":
                w.write_local(path, mine)
                local_change = mine
            elif lop == "delete" and path in w.local:
                del w.local[path]
                local_change = "deleted"
            remote_change = _assistant(w, path, rop, theirs)
            if local_change and not remote_change:
                want[path] = None if local_change == "deleted" else mine
            elif remote_change and not local_change:
                want[path] = None if remote_change == "delete" else theirs
            elif local_change and remote_change == "write":
                want[path] = theirs if local_change == "deleted" else mine
            elif local_change and remote_change == "delete":
                want[path] = None if local_change == "deleted" else mine
            else:
                want[path] = w.local[path][0] if path in w.local else None
            w.tick += 1  # sometimes the next second
        contents = {o.content for o in w.remote.values()}
        before = start
        w.apply(w.plan(Mode.TWO_WAY))
        copies = {c for p, (c, _) in w.local.items() if p not in PATHS}
        for path, content in want.items():
            got = w.local.get(path)
            if content is not None and content.startswith("R") and got is not None \
                    and got[0] == before.get(path) and content in copies:
                continue  # same second as our upload: compared, kept as a conflict copy
            assert (got[0] if got else None) == content, f"round {n}: {path}"
        if any(c.startswith("R") for c in contents):
            everywhere = {c for c, _ in w.local.values()} | set(w.trash)
            for path in PATHS:
                theirs = f"R{n}:{path}"
                if theirs in contents and remote_ops[path] != "delete":
                    assert theirs in everywhere, f"round {n}: the assistant's {path} lost"
        _assert_one_object_of_ours_per_path(w)
        again = reconcile(w.base, w.local_files(), w.view(), Mode.TWO_WAY, now=NOW,
                          digests=w.digests)
        assert again.actions == () and again.needs_digest == (), f"round {n}"


def _assert_one_object_of_ours_per_path(w: World) -> None:
    for path in PATHS:
        ours = [f for f, p in w.own.items() if p == path and f in w.remote]
        b = w.base.get(path)
        assert ours == ([b.remote_id] if b is not None and b.remote_id in ours else []), path
