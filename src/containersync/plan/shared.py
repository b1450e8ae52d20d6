"""Sparing the objects another mapping of the same index still records.

Two folders can share one container (two configs with the same state dir and mapping
name: two identities that merge with what the container holds). An object both synced, a
file with the same content recorded by content or a file the assistant wrote that both
pulled, is then the base of each. When one folder edits or deletes its copy, deleting that
object would delete on the strength of the other folder's state: the other folder would
take it for a deletion in the sandbox and trash its unchanged file.

So a plan never deletes such an object: an upload that would replace it leaves it in
place (the new upload becomes this mapping's object), a local deletion forgets the base
instead of deleting remotely, and a superseded object of ours that another mapping now
records is left to that mapping. Pure: a plan and the claimed ids in, a plan out.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import replace

from containersync.model.entry import BaseEntry
from containersync.model.plan import Action, DeleteRemote, DropBase, Plan, Upload


def deleted_ids(plan: Plan) -> set[str]:
    """The remote objects ``plan`` would delete (by ``DeleteRemote`` or as an upload's
    replaced object)."""
    out: set[str] = set()
    for a in plan.actions:
        if isinstance(a, DeleteRemote):
            out.add(a.remote.file_id)
        elif isinstance(a, Upload) and a.replaces is not None:
            out.add(a.replaces.file_id)
    return out


def spare_claimed(plan: Plan, base: Mapping[str, BaseEntry],
                  claimed: AbstractSet[str]) -> Plan:
    """``plan`` with no deletion of an object in ``claimed`` (module doc)."""
    if not claimed:
        return plan
    actions: list[Action] = []
    for a in plan.actions:
        if isinstance(a, Upload) and a.replaces is not None \
                and a.replaces.file_id in claimed:
            actions.append(replace(a, replaces=None))
        elif isinstance(a, DeleteRemote) and a.remote.file_id in claimed:
            at = base.get(a.path)
            if at is not None and at.remote_id == a.remote.file_id:
                actions.append(DropBase(a.path))  # deleted here: forget it, keep it there
            # else: a superseded object another mapping records now: its to keep
        else:
            actions.append(a)
    return replace(plan, actions=tuple(actions))
