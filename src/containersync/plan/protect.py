"""Pull-protected paths: what the sandbox writes there never lands on this machine.

Pure. ``pull_protected(rel)`` says whether a relative path is one where a file from the
sandbox would run or steer on the user's machine; ``hold_back_pulls(plan)`` removes every
local write a plan makes at such a path and names the paths it held back.

The list (matched in any case: on a case-insensitive filesystem ``.ENVRC`` *is* ``.envrc``):

- ``.envrc`` in any folder: direnv runs it on ``cd``, before anyone could read it;
- the rule files of the root, ``.containersyncignore`` and ``.gitignore``: they decide what
  is sent to the sandbox, so the sandbox must not write them;
- anything in or named ``.git``, ``.hg`` or ``.svn`` at any depth: hooks and config there run
  commands (git hooks, ``core.fsmonitor``, a ``.git`` *file* pointing git at a folder the
  sandbox filled, hg hooks), and nothing a user reviews (``git diff``) shows them;
- anything under ``.vscode`` or ``.idea``: editors run tasks on folder open and start the
  interpreters and tools these settings name.

Files that only run when the user runs them (a ``Makefile``, ``package.json`` scripts,
``.pre-commit-config.yaml``) are ordinary project files: they are pulled, and show in a diff.

Invariants:
- ``hold_back_pulls`` removes exactly the ``Download`` and ``SaveConflictCopy`` actions
  (and their ``Conflict`` entries) at protected paths, and turns a ``TrashLocal`` there
  into an upload of the user's copy (or, for a mapping that never uploads, a dropped
  base); every other action stays, so a protected file the user changed is still
  uploaded.
- ``decided`` is kept whole: holding a pull back is itself a decision, so once a path's
  other actions succeed the objects seen there become known (a held-back object is not
  offered, nor reported, again; a later write of the sandbox there is held back anew).
- Nothing the sandbox does makes such a file appear, change or disappear locally.
"""

from __future__ import annotations

from containersync.model.plan import (
    Download,
    DropBase,
    Plan,
    SaveConflictCopy,
    TrashLocal,
    Upload,
)

#: names that are protected in any folder (compared case-folded)
PROTECTED_NAMES = frozenset({".envrc"})
#: names of folders (or files) at any depth whose whole content is protected
PROTECTED_TREES = frozenset({".git", ".hg", ".svn", ".vscode", ".idea"})
#: paths protected at the root only: the ignore rule files we read
PROTECTED_ROOT_FILES = frozenset({".containersyncignore", ".gitignore"})

_LOCAL_WRITES = (Download, TrashLocal, SaveConflictCopy)


def pull_protected(rel: str) -> bool:
    """True if a file from the sandbox must never be written (or removed) at ``rel``."""
    folded = rel.casefold()
    if folded in PROTECTED_ROOT_FILES:
        return True
    parts = folded.split("/")
    return parts[-1] in PROTECTED_NAMES or any(p in PROTECTED_TREES for p in parts)


def hold_back_pulls(plan: Plan, *, resend: bool = True) -> tuple[Plan, tuple[str, ...]]:
    """``plan`` without its local writes at protected paths, and those paths (sorted).
    The sandbox's deletion of such a file (a ``TrashLocal``) leaves the user's copy the
    only one: with ``resend`` (a mapping that uploads) it is uploaded again, else its base
    is dropped (the copy stays, untracked), so the deletion is held back once, not by
    every cycle while the container lacks the file."""
    held = {a.path for a in plan.actions if isinstance(a, _LOCAL_WRITES) and pull_protected(a.path)}
    if not held:
        return plan, ()
    actions = tuple(_instead(a, resend) if a.path in held and isinstance(a, TrashLocal) else a
                    for a in plan.actions
                    if not (a.path in held and isinstance(a, (Download, SaveConflictCopy))))
    conflicts = tuple(c for c in plan.conflicts if c.path not in held)
    # holding back is a decision too: every path's objects must still become known, or an
    # older version the assistant wrote elsewhere is "new" again once the newest one is
    # deleted, and a held-back rival of the user's upload is a conflict (and an upload) again
    return (Plan(actions=actions, conflicts=conflicts, problems=plan.problems,
                 needs_digest=plan.needs_digest, decided=plan.decided),
            tuple(sorted(held)))


def _instead(trash: TrashLocal, resend: bool) -> Upload | DropBase:
    if resend:
        return Upload(path=trash.path, local=trash.expect_local)
    return DropBase(path=trash.path)
