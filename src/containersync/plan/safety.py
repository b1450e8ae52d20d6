"""Safety rails 1-3 of SYNC_SEMANTICS: decide whether a plan must not run. Pure.

``check_safety`` looks at a plan and the snapshots it came from and returns a ``Halt``
(a stable kebab-case rail name and a human reason with numbers) or ``None``. Each rail is a
halt, never "sync less". Checked in this order, the first that trips wins:

1. ``local-root-gone``: the local root is missing, not a directory, or empty while the
   index tracks two or more files there (an unmounted disk is not a deletion). A root
   that is a file halts at any count, even with ``force`` (nothing can sync into a file).
2. ``remote-emptied``: the same container, still running, lists no files while the index
   tracks two or more remote files (base entries with a ``remote_id``).
3. ``too-many-deletions``: one pass would delete more than half of a side's tracked files,
   and more than one. Local deletions are ``TrashLocal``; remote deletions are
   ``DeleteRemote`` of a tracked path that leaves it with no file (garbage, i.e. an older
   version whose path keeps a newer object, and ``Upload.replaces`` do not count). A
   deletion paired with a creation of the same sha256 on that side (a rename: an
   ``Upload`` of the same content, or a ``Download`` whose digest is known and equal) does
   not count.

Rail 3 also counts over **windows** (the daemon's, SYNC_SEMANTICS "max-delete"): each
``DeletionTally`` in ``windows`` is what earlier cycles of the window deleted and created;
the plan halts when the window's deletions plus its own would exceed the share of what the
side tracked before the window began (renames pair across the whole window). So a mass
deletion the daemon sees as many small cycles halts like one ``sync`` would. The caller
keeps the windows (``daemon/deletions.py``); this module only takes their counts.

``force=True`` turns every rail off but a root that is a file. The caller raises ``Halted(rail, reason)``
(``Halt.as_error()``) or records the halt for ``status``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from containersync.errors import Halted, InvariantViolation
from containersync.model.entry import BaseEntry, RemoteView
from containersync.model.kinds import RootState
from containersync.model.plan import Action, DeleteRemote, Download, Plan, TrashLocal, Upload

TOO_MANY_DELETIONS = "too-many-deletions"
LOCAL_ROOT_GONE = "local-root-gone"
REMOTE_EMPTIED = "remote-emptied"

# Values of ``local_root_state`` (what the scanner found at the local root).
ROOT_OK = RootState.OK
ROOT_MISSING = RootState.MISSING
ROOT_NOT_A_DIRECTORY = RootState.NOT_A_DIRECTORY
ROOT_EMPTY = RootState.EMPTY
ROOT_UNREADABLE = RootState.UNREADABLE
ROOT_STATES = frozenset(RootState)

_FORCE_HINT = "run again with --force if that is intended"
_NO_DIGESTS: Mapping[str, str] = {}


@dataclass(frozen=True, slots=True)
class Halt:
    rail: str
    reason: str

    def as_error(self) -> Halted:
        return Halted(self.rail, self.reason)


@dataclass(frozen=True, slots=True)
class DeletionTally:
    """sha256 of each tracked file deleted, and of each file created, per side."""

    local_deleted: tuple[str, ...] = ()
    local_created: tuple[str, ...] = ()
    remote_deleted: tuple[str, ...] = ()
    remote_created: tuple[str, ...] = ()
    #: which window this is, for the halt's reason ("in the last minute")
    label: str = ""

    def __add__(self, other: DeletionTally) -> DeletionTally:
        return DeletionTally(self.local_deleted + other.local_deleted,
                             self.local_created + other.local_created,
                             self.remote_deleted + other.remote_deleted,
                             self.remote_created + other.remote_created, self.label)

    def side(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if name == "local":
            return self.local_deleted, self.local_created
        return self.remote_deleted, self.remote_created

    def net_deleted(self, name: str) -> int:
        """Deletions on side ``name`` that no creation of the same content pairs with."""
        deleted, created = self.side(name)
        return len(deleted) - _paired(deleted, created)

    @property
    def empty(self) -> bool:
        return not (self.local_deleted or self.local_created or self.remote_deleted
                    or self.remote_created)


def tally(actions: Iterable[Action], base: Mapping[str, BaseEntry], remote: RemoteView,
          digests: Mapping[str, str] = _NO_DIGESTS) -> DeletionTally:
    """What ``actions`` delete and create, counted as rail 3 counts them. Give it the
    actions that were carried out to learn what a cycle did (for a window)."""
    plan = Plan(actions=tuple(actions))
    local_deleted, remote_deleted = _deletions(plan, base, remote)
    local_made, remote_made = _creations(plan, digests)
    return DeletionTally(tuple(local_deleted), tuple(local_made), tuple(remote_deleted),
                         tuple(remote_made))


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def check_safety(plan: Plan, base: Mapping[str, BaseEntry], remote: RemoteView, *,
                 local_root_state: str, remote_listed_count: int,
                 container_running: bool, force: bool,
                 digests: Mapping[str, str] = _NO_DIGESTS,
                 max_delete_fraction: float = 0.5,
                 windows: Sequence[DeletionTally] = (),
                 tracked: tuple[int, int] | None = None) -> Halt | None:
    """The first rail ``plan`` trips, or ``None`` (always ``None`` with ``force``).

    ``local_root_state`` is one of ``ROOT_STATES``; ``remote_listed_count`` is how many
    objects the full listing returned (all of them, foreign included); ``digests`` is the
    same known-digest map given to ``reconcile`` (used to recognise pulled renames).
    ``max_delete_fraction``: the share of a side's tracked files one pass may delete
    (SYNC_SEMANTICS: half).
    ``windows``: what earlier cycles of each deletion window did (see the module doc).
    ``tracked``: (files, files with a remote object) the index tracks, when ``base`` holds
    only the paths a targeted cycle covers; else counted from ``base``.
    """
    if local_root_state not in ROOT_STATES:
        raise InvariantViolation(f"unknown local root state {local_root_state!r}")
    if tracked is None:
        tracked = (len(base), sum(1 for b in base.values() if b.remote_id is not None))
    tracked_local, tracked_remote = tracked
    if local_root_state == ROOT_NOT_A_DIRECTORY:
        # a mapping that synced before (a never-synced one is a ConfigError earlier): not a
        # typo, and nothing can be synced into a file, so it halts at any count, even forced
        return Halt(LOCAL_ROOT_GONE,
                    f"the local folder is not a directory while the index tracks {tracked_local} "
                    "files there: it synced before and is a file now; nothing can be synced "
                    "into a file and --force cannot change that: move the file away and "
                    "make the folder again, or fix `local`")
    if force:
        return None
    if local_root_state != ROOT_OK and tracked_local >= 2:
        what = {ROOT_MISSING: "is missing", ROOT_NOT_A_DIRECTORY: "is not a directory",
                ROOT_EMPTY: "is empty", ROOT_UNREADABLE: "cannot be read"}[
                    RootState(local_root_state)]
        return Halt(LOCAL_ROOT_GONE,
                    f"the local folder {what} while the index tracks {tracked_local} files "
                    f"there; if a disk is not mounted, mount it; if the files were removed on "
                    "purpose, run again with --force")
    if container_running and remote_listed_count == 0 and tracked_remote >= 2:
        return Halt(REMOTE_EMPTIED,
                    f"the running container lists no files while the index tracks "
                    f"{tracked_remote} remote files; if they were deleted on purpose, "
                    "run again with --force")
    own = tally(plan.actions, base, remote, digests)
    for window in (DeletionTally(), *windows):
        halt = _too_many(window, own, tracked_local, tracked_remote, max_delete_fraction)
        if halt is not None:
            return halt
    return None


def _too_many(window: DeletionTally, own: DeletionTally, tracked_local: int,
              tracked_remote: int, fraction: float) -> Halt | None:
    seen = window + own
    for side, tracked_now in (("local", tracked_local), ("remote", tracked_remote)):
        deleted, made = seen.side(side)
        renames = _paired(deleted, made)
        count = len(deleted) - renames
        # the window's files were tracked when it began: count against that, not what is left
        tracked = tracked_now + window.net_deleted(side)
        if count > 1 and count > tracked * fraction:
            note = f" (not counting {renames} renamed)" if renames else ""
            earlier = window.net_deleted(side)
            if earlier > 0:
                note += f"; {earlier} of them already deleted {window.label or 'earlier'}"
            return Halt(TOO_MANY_DELETIONS,
                        f"would delete {count} of {tracked} tracked {side} files{note}; "
                        f"{_FORCE_HINT}")
    return None


def _deletions(plan: Plan, base: Mapping[str, BaseEntry],
               remote: RemoteView) -> tuple[list[str], list[str]]:
    """sha256 of each tracked file this plan removes locally / remotely (one per path)."""
    uploaded = {a.path for a in plan.actions if isinstance(a, Upload)}
    local: dict[str, str] = {}
    remote_gone: dict[str, str] = {}
    for a in plan.actions:
        b = base.get(a.path)
        if isinstance(a, TrashLocal):
            local[a.path] = a.expect_local.sha256
        elif isinstance(a, DeleteRemote) and b is not None and a.path not in uploaded:
            winner = remote.files.get(a.path)
            if winner is None or winner.file_id == a.remote.file_id:
                remote_gone[a.path] = b.sha256
    return list(local.values()), list(remote_gone.values())


def _creations(plan: Plan, digests: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """sha256 of each file this plan creates locally (known digests only) / remotely."""
    local: list[str] = []
    remote: list[str] = []
    for a in plan.actions:
        if isinstance(a, Upload):
            remote.append(a.local.sha256)
        elif isinstance(a, Download) and a.remote.file_id in digests:
            local.append(digests[a.remote.file_id])
    return local, remote


def _paired(deleted: Iterable[str], created: Iterable[str]) -> int:
    """How many deletions a creation of the same content pairs with (each used once)."""
    gone, made = Counter(deleted), Counter(created)
    return sum(min(n, made[sha]) for sha, n in gone.items())
