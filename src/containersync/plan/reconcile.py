"""Decide, per path, what makes the local folder and the container agree: ``reconcile``.

Pure: snapshots in (base, local scan, remote view, mode, ``now``, known digests), a
``Plan`` out. No I/O, no clock. The decisions for one path live in ``plan.decide``; this
module classifies each side against the base, handles the per-plan bookkeeping (conflict
copy names, garbage, ordering) and assembles the plan.

Invariants:
- Every path of ``base | local | remote.files`` is classified; paths in ``ignored`` and
  conflict copies (``is_conflict_copy``) get no action at all: never uploaded, never
  pulled, never deleted (changing ignore rules never deletes what became ignored).
- A path whose decision needs the remote content and has no digest is listed in
  ``needs_digest`` and gets no action this round, not even garbage deletion.
- ``Upload.replaces`` is only ever the object the base tracks for that path.
- Garbage (objects of ours that are not a path's current one) is deleted in ``two-way``
  and ``push``; ``pull`` never touches the remote.
- Deleting a path's current object (the local file was deleted), or the remote deleting
  the object the base tracks (the assistant deleted its newest version), also deletes the
  older versions others wrote there that a decision already took into account (``seen``,
  not current: the losing side of a conflict, an assistant's earlier write): the sandbox
  would show one of them again. Objects nobody has seen are never deleted; ``pull`` never
  deletes anything remote.
- Conflict copy names never collide with a local, base or remote path, or with each other.
- Actions are sorted by path (then by the order they must run in), so plans compare equal.
- ``Plan.decided`` holds every path decided this round that has a base or an action;
  ignored paths, conflict copies and paths waiting on a digest are never in it, nor is a
  remote-only path that the mode leaves alone (push), so its object stays unseen.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from datetime import datetime

from containersync.model.entry import BaseEntry, LocalFile, Mode, RemoteFile, RemoteView
from containersync.model.paths import conflict_copy_name, is_conflict_copy
from containersync.model.plan import Action, Conflict, DeleteRemote, Plan, SaveConflictCopy
from containersync.plan.decide import (
    Decision,
    Local,
    Sides,
    classify_local,
    classify_remote,
    decide,
)

_NO_DIGESTS: Mapping[str, str] = {}
_MAX_COPY_TRIES = 1000


def reconcile(base: Mapping[str, BaseEntry], local: Mapping[str, LocalFile],
              remote: RemoteView, mode: Mode, *, now: datetime,
              digests: Mapping[str, str] = _NO_DIGESTS,
              ignored: AbstractSet[str] = frozenset()) -> Plan:
    """Plan the actions for one mapping (see the module doc and SYNC_SEMANTICS.md).

    ``digests`` maps remote file ids to the sha256 of their content, as far as known (the
    index knows our uploads and downloads; the caller adds objects it fetched because a
    previous plan listed them in ``needs_digest``). ``now`` (timezone-aware) stamps
    conflict copy names.
    """
    # one set of every path, grown in place: ``a | b | c`` held four sets of the whole tree
    # at once, a full cycle's peak (issue 9). Keys one by one: ``set.update`` of a dict
    # sizes the table for all of its keys being new, doubling it for paths already in it
    taken: set[str] = set(base)
    taken.update(iter(local))
    taken.update(iter(remote.files))
    actions: list[tuple[str, int, Action]] = []
    conflicts: list[Conflict] = []
    waiting: list[RemoteFile] = []
    paused: set[str] = set()
    # each path comes once: a list until the plan's frozen set (not a set and its copy)
    decided: list[str] = []

    shadows = _shadows(remote)
    for path in sorted(taken):
        if path in ignored or is_conflict_copy(path):
            continue
        b = base.get(path)
        lf = local.get(path)
        rf = remote.files.get(path)
        if in_sync(path, b, lf, rf, remote):
            decided.append(path)  # what ``decide`` says in every mode, without building it
            continue
        local_state = classify_local(b, lf)
        if path in remote.ambiguous and local_state is Local.UNCHANGED:
            # a same-second rival may be newer than our upload: compare it, do not assume
            local_state = Local.MODIFIED
        sides = Sides(path=path, base=b, local=lf, remote=rf,
                      local_state=local_state, remote_state=classify_remote(b, rf),
                      remote_digest=digests.get(rf.file_id) if rf is not None else None)
        decision: Decision = decide(sides, mode)
        rivals, unhashed = _rivals(remote, path, rf, mode, digests)
        if decision.needs_digest or unhashed:
            assert rf is not None
            want = [rf, *unhashed] if decision.needs_digest else unhashed
            waiting.extend(f for f in want if f not in waiting)
            paused.add(path)
            continue
        if decision.actions or rivals or b is not None:
            # a remote-only object that this mode ignores (push) stays unseen, so a later
            # mode that pulls still sees it as new
            decided.append(path)
        for step, action in enumerate(decision.actions):
            actions.append((path, step, action))
        if _sandbox_drops_path(mode, b, rf, decision):
            for n, older in enumerate(shadows.get(path, ())):
                actions.append((path, 200 + n, DeleteRemote(path=path, remote=older)))
        if decision.conflict:
            assert rf is not None and lf is not None
            copy_path = _free_copy_name(path, now, taken)
            taken.add(copy_path)
            actions.append((path, -1, SaveConflictCopy(path=path, remote=rf,
                                                       copy_path=copy_path)))
            conflicts.append(Conflict(path=path, copy_path=copy_path,
                                      remote_file_id=rf.file_id))

        for n, rival in enumerate(rivals):
            copy_path = _free_copy_name(path, now, taken)
            taken.add(copy_path)
            actions.append((path, -2 - n, SaveConflictCopy(path=path, remote=rival,
                                                           copy_path=copy_path)))
            conflicts.append(Conflict(path=path, copy_path=copy_path,
                                      remote_file_id=rival.file_id))

    if mode is not Mode.PULL:
        for old in remote.garbage:
            if old.path not in paused and old.path not in ignored:
                actions.append((old.path, 100, DeleteRemote(path=old.path, remote=old)))

    actions.sort(key=lambda item: (item[0], item[1]))
    del taken  # not held beside ``decided``'s frozen set
    return Plan(actions=tuple(a for _, _, a in actions), conflicts=tuple(conflicts),
                problems=tuple(remote.problems),
                needs_digest=tuple(sorted(waiting, key=lambda f: f.path)),
                decided=frozenset(decided))


def in_sync(path: str, b: BaseEntry | None, lf: LocalFile | None, rf: RemoteFile | None,
            remote: RemoteView) -> bool:
    """True when neither side changed since the base: the local file holds the base's
    content and the current object is the base's, with no same-second rival and no doubt
    about its order. Such a path needs nothing in any mode (and no digest): most paths of
    a large tree, in most cycles. ``tests/plan/test_in_sync.py`` checks it against
    ``decide``."""
    return (b is not None and lf is not None and rf is not None
            and rf.file_id == b.remote_id and lf.sha256 == b.sha256
            and path not in remote.tied and path not in remote.ambiguous)


def digest_wanted(base: Mapping[str, BaseEntry], local: Mapping[str, LocalFile],
                  remote: RemoteView) -> set[str]:
    """The ids of the objects whose known digest ``reconcile`` may ask for: each current
    object at a path that is not ``in_sync``, and every same-second rival."""
    ids = {rf.file_id for path, rf in remote.files.items()
           if not in_sync(path, base.get(path), local.get(path), rf, remote)}
    ids.update(f.file_id for rivals in remote.tied.values() for f in rivals)
    return ids


def _rivals(remote: RemoteView, path: str, rf: RemoteFile | None, mode: Mode,
            digests: Mapping[str, str]) -> tuple[list[RemoteFile], list[RemoteFile]]:
    """The same-second rivals of ``rf`` to save as conflict copies (their content differs
    from ``rf``'s), and the objects to hash before that can be told (``remote.tied``)."""
    tied = remote.tied.get(path, ()) if rf is not None and mode is not Mode.PUSH else ()
    if not tied:
        return [], []
    assert rf is not None
    copies: list[RemoteFile] = []
    unhashed: list[RemoteFile] = []
    for rival in tied:
        if rival.bytes is not None and rf.bytes is not None and rival.bytes != rf.bytes:
            copies.append(rival)
            continue
        ours, theirs = digests.get(rf.file_id), digests.get(rival.file_id)
        if ours is None or theirs is None:
            unhashed += [f for f, d in ((rf, ours), (rival, theirs)) if d is None]
        elif ours != theirs:
            copies.append(rival)
    return copies, list({f.file_id: f for f in unhashed}.values())


def _sandbox_drops_path(mode: Mode, b: BaseEntry | None, rf: RemoteFile | None,
                        decision: Decision) -> bool:
    """Whether the path's current object goes (or went): we delete it, or the remote deleted
    the object the base tracks. Either way the older versions others wrote there, already
    decided on, must go too, or the sandbox shows one of them again."""
    if mode is Mode.PULL:
        return False
    if rf is None:
        return b is not None and b.remote_id is not None
    return any(isinstance(a, DeleteRemote) for a in decision.actions)


def _shadows(remote: RemoteView) -> dict[str, list[RemoteFile]]:
    """Per path, the older versions by others that a decision already took into account
    (``seen``, not current): the sandbox shows one of them once the current one is gone."""
    out: dict[str, list[RemoteFile]] = {}
    for f in remote.foreign:
        if f.file_id in remote.seen.get(f.path, ()):
            out.setdefault(f.path, []).append(f)
    return out


def _free_copy_name(path: str, now: datetime, taken: AbstractSet[str]) -> str:
    """The first conflict copy name for ``path`` at ``now`` that nothing else uses."""
    for n in range(_MAX_COPY_TRIES):
        if n == 1:
            continue  # n=1 spells the same name as n=0
        name = conflict_copy_name(path, now, n)
        if name not in taken:
            return name
    raise AssertionError(f"no free conflict copy name for {path!r}")  # pragma: no cover
