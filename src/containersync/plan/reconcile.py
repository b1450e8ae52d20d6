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
- Deleting a path's current object (the local file was deleted) also deletes the older
  versions others wrote there that a decision already took into account (``seen``, not
  current: the losing side of a conflict, an assistant's earlier write): the sandbox would
  show one of them again. Objects nobody has seen are never deleted.
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
    taken: set[str] = set(base) | set(local) | set(remote.files)
    actions: list[tuple[str, int, Action]] = []
    conflicts: list[Conflict] = []
    waiting: list[RemoteFile] = []
    paused: set[str] = set()
    decided: set[str] = set()

    shadows = _shadows(remote)
    for path in sorted(taken):
        if path in ignored or is_conflict_copy(path):
            continue
        b = base.get(path)
        lf = local.get(path)
        rf = remote.files.get(path)
        local_state = classify_local(b, lf)
        if path in remote.ambiguous and local_state is Local.UNCHANGED:
            # a same-second rival may be newer than our upload: compare it, do not assume
            local_state = Local.MODIFIED
        sides = Sides(path=path, base=b, local=lf, remote=rf,
                      local_state=local_state, remote_state=classify_remote(b, rf),
                      remote_digest=digests.get(rf.file_id) if rf is not None else None)
        decision: Decision = decide(sides, mode)
        if decision.needs_digest:
            assert rf is not None
            waiting.append(rf)
            paused.add(path)
            continue
        if decision.actions or b is not None:
            # a remote-only object that this mode ignores (push) stays unseen, so a later
            # mode that pulls still sees it as new
            decided.add(path)
        for step, action in enumerate(decision.actions):
            actions.append((path, step, action))
        if rf is not None and any(isinstance(a, DeleteRemote) for a in decision.actions):
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

    if mode is not Mode.PULL:
        for old in remote.garbage:
            if old.path not in paused and old.path not in ignored:
                actions.append((old.path, 100, DeleteRemote(path=old.path, remote=old)))

    actions.sort(key=lambda item: (item[0], item[1]))
    return Plan(actions=tuple(a for _, _, a in actions), conflicts=tuple(conflicts),
                problems=tuple(remote.problems),
                needs_digest=tuple(sorted(waiting, key=lambda f: f.path)),
                decided=frozenset(decided))


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
