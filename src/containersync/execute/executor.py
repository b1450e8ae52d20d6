"""Carry out a plan: the only place where a sync cycle touches files and the remote.

Invariants:
- Every action is checked against the state it was planned on just before it acts
  (``localfs.matches``; a download through the folder it lands in, ``write_atomically``'s
  ``expect``); a mismatch is a per-path problem, and the next cycle re-plans.
- An intent row is written (by the caller's ``step``, on the calling thread) before
  each remote side effect, and cleared with the result in the same transaction, but only
  when the result is known (``Outcome.known``): an upload or delete that failed in a way
  the server may have acted on keeps its intent for settling.
- An upload that landed is "uploaded" even when deleting the object it replaced failed:
  the new object and base are recorded, the failure is the outcome's problem.
- Remote deletions run after every upload and download of the plan, so a rename uploads
  the new name before the old one is deleted; a path whose earlier action failed has its
  deletions left for the next cycle (its superseded objects stay until it is decided
  again, so an upload that failed never leaves the path without the object the base
  records).
- Local writes go through ``localfs`` (temp file + fsync + rename, no symlink following);
  replaced or deleted local files go to the trash, never straight to unlink.
- A download is recorded only once it is durable: its content is fsynced before the
  rename on its transfer thread; the folders whose entries the renames and new folders of
  a batch of finished downloads changed are fsynced on the calling thread, each once,
  before ``step`` records that batch (an outcome whose folder could not be synced becomes
  a problem). Folders the executor makes are declared as its own writes (``on_local_write``).
- Transfers run on a thread pool, each in a slot of the client's adaptive window
  (``api.pacing``), taken before the transfer is handed to a thread, without waiting, by
  the calling thread or by the transfer thread that just gave one back (``execute.feed``):
  transfers in flight never exceed the window, across every executor sharing the client,
  and no transfer thread waits for a slot. Index writes stay on the calling thread: one
  transaction (``step``) records a window of finished outcomes and writes the next
  window's intents, while the window is kept full from the intents written before.
- A local folder that our trash moves emptied is removed after the plan ran (deepest first,
  then parents emptied that way), through ``open_parent`` so no link is followed. Never
  the root, never a folder that still holds anything (``rmdir`` refuses), and never one
  that was already empty or that the user emptied (we only look at folders we took from).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from containersync.api.client import ContainersClient
from containersync.api.pacing import COMPARABLE_BYTES, Pacer, Slot
from containersync.errors import (
    AuthError,
    ContainerGone,
    ContainerSyncError,
    LocalError,
    Rejected,
    RemoteFileGone,
)
from containersync.execute import localfs
from containersync.execute.feed import Feed
from containersync.execute.outcome import Outcome
from containersync.execute.trash import Trash
from containersync.model.entry import (
    UNHASHED,
    BaseEntry,
    LocalFile,
    Problem,
    RemoteFile,
    RemoteObject,
)
from containersync.model.kinds import OutcomeKind
from containersync.model.paths import conflict_copies_of, local_to_remote
from containersync.model.plan import (
    Action,
    Conflict,
    DeleteRemote,
    Download,
    DropBase,
    RecordBase,
    SaveConflictCopy,
    TrashLocal,
    Upload,
)
from containersync.watch.own_writes import ABSENT, NEW_FOLDER, NOTHING, Expected, Fingerprint

MAX_CONFLICT_COPIES = 10
#: a problem: the listing left out an object that is still there (a local file kept)
LISTING_MISSED = "listing-missed"
#: errors that stop the whole cycle instead of becoming a per-path problem
FATAL = (ContainerGone, AuthError)
#: an action's outcome and the id of the intent written before it (None: no intent)
Finished = tuple[Outcome, int | None]
#: one transaction: record what finished, clear what never started, begin what starts
Step = Callable[[Sequence[Finished], Sequence[Action], Sequence[int]], Sequence[int | None]]


@dataclass(frozen=True)
class Target:
    """Where the executor acts: the local root and the container."""

    mapping: str
    local_root: Path
    container_id: str
    remote_root: str
    honour_paths: bool


class Executor:
    def __init__(
        self,
        target: Target,
        client: ContainersClient,
        trash: Trash,
        *,
        now: Callable[[], datetime],
        pacer: Pacer | None = None,
        on_local_write: Callable[[str, Expected], None] = lambda _rel, _expected: None,
        on_bytes: Callable[[int], None] = lambda _n: None,
        wait_tick: float = 5.0,
    ) -> None:
        self.t = target
        self.wait_tick = wait_tick  # how often ``while_waiting`` runs while slots are busy
        self.client = client
        self.trash = trash
        self.now = now
        #: how many transfers run at once: the client's adaptive window, shared by every
        #: executor on that client (``api.pacing``); ``pacer`` replaces it (tests)
        self.pacer = pacer or client.pacer
        #: the threads that run the transfers: the client's, shared with every executor and
        #: listing on it (``api.pool``), so their number never grows with the mappings
        self.pool = client.pool
        self.on_local_write = on_local_write
        self.on_bytes = on_bytes  # bytes as they move, from the transfer threads
        self._emptied: set[str] = set()  # folders (relative) we trashed a file from

    # -- scheduling --------------------------------------------------------------------

    def run(
        self,
        actions: Sequence[Action],
        *,
        step: Step,
        should_stop: Callable[[], bool] = lambda: False,
        while_waiting: Callable[[], None] = lambda: None,
    ) -> None:
        """Run ``actions``. ``step(finished, starting, dropped)`` is one transaction on
        this thread: it records the outcomes that finished (durable by then), clears the
        intents of ``dropped`` (actions begun but never started: a drain or a fatal error
        came first) and writes the intents of ``starting``, returning their ids; nothing
        of ``starting`` runs before it returned. The next intents are written
        while a window's worth of begun actions is still waiting, and finished transfers
        start those on their own threads (``execute.feed``), so the window stays full
        while this thread commits. A fatal error (container gone, auth) stops starting,
        lets in-flight work finish, and is re-raised. ``should_stop()`` returning True
        stops starting too (a drain): in-flight work finishes and is recorded, the rest
        is left for the next cycle. ``while_waiting`` runs every few seconds while a long
        transfer keeps every slot busy (the daemon's liveness heartbeat: waiting on a
        transfer that is still moving is not a hang)."""
        first = [a for a in actions if not isinstance(a, DeleteRemote)]
        failed: set[str] = set()
        record = step

        def track(finished: Sequence[Finished], starting: Sequence[Action],
                  dropped: Sequence[int]) -> Sequence[int | None]:
            failed.update(o.action.path for o, _ in finished if not o.ok)
            return record(finished, starting, dropped)

        self._run_phase(first, track, should_stop, while_waiting)
        # a path whose upload or download failed keeps its old objects: deleting the
        # one the base tracks would leave the next run nothing to compare with
        second = [a for a in actions if isinstance(a, DeleteRemote) and a.path not in failed]
        self._run_phase(second, step, should_stop, while_waiting)
        self._remove_emptied_folders()

    def _run_phase(
        self,
        actions: Iterable[Action],
        step: Step,
        should_stop: Callable[[], bool],
        while_waiting: Callable[[], None],
    ) -> None:
        # a position in the list, not a re-sliced rest: slicing copied what was left once
        # per batch, quadratic in the plan's size
        queue, at = list(actions), 0
        feed = Feed(self.pool, self.pacer, self._paced)
        fatal: BaseException | None = None
        results: list[Finished] = []
        stopping = False
        try:
            while True:
                dropped: list[int] = []
                if not stopping and (fatal is not None or should_stop()):
                    stopping = True
                    dropped = feed.close()
                for fut, intent in feed.finished():
                    try:
                        results.append((fut.result(), intent))
                    except FATAL as exc:
                        fatal = fatal or exc
                if fatal is not None and not stopping:
                    stopping = True
                    dropped = feed.close()
                limit = self.pacer.limit
                starting: list[Action] = []
                # begun actions waiting for a slot: topped up to two windows once fewer
                # than one window is left, so a commit is paid per window of finishes and
                # the transfers never wait for it
                ready = feed.ready
                if not stopping and at < len(queue) and ready < limit:
                    starting = queue[at:at + 2 * limit - ready]
                    at += len(starting)
                idle = feed.idle()
                # finished outcomes ride with the next intents; once no more are coming, a
                # window of them is recorded alone (and the last ones when all is done)
                alone = idle or (len(results) >= limit and (stopping or at >= len(queue)))
                if starting or dropped or (results and alone):
                    durable, results = self._make_durable(results), []
                    try:
                        ids = step(durable, starting, dropped)
                    except FATAL as exc:
                        fatal, starting, ids = fatal or exc, [], []
                    feed.add(zip(starting, ids, strict=True))
                    continue
                if idle and (stopping or at >= len(queue)):
                    break
                inflight = feed.inflight()
                if inflight:
                    finished, _ = wait(inflight, timeout=self.wait_tick,
                                       return_when=FIRST_COMPLETED)
                    if not finished:
                        while_waiting()
                elif feed.head_is_remote():
                    # nothing of ours in flight: the window is full of other executors'
                    # transfers; wait here (the calling thread) for one of its slots
                    slot = self.pacer.take(timeout=self.wait_tick)
                    if slot is None:
                        while_waiting()
                    else:
                        feed.start(slot)
                else:
                    feed.start()
        except BaseException:
            # the pool is shared (every mapping's transfers): nothing of this run may go on
            # after it returns, so what was submitted finishes before the error leaves
            feed.close()
            wait(feed.inflight())
            raise
        if fatal is not None:
            raise fatal

    def _make_durable(self, results: list[Finished]) -> list[Finished]:
        """fsync, once each, the folders the finished local writes left unsynced; an outcome
        whose folder failed is not recorded as done.

        RACE: between a rename and this sync the file is visible but may not survive a
        power cut; nothing records it before this returns, so a crash leaves a complete
        file with no base (compared by content next cycle) and its download intent open."""
        folders = dict.fromkeys(f for o, _ in results for f in o.unsynced_folders)
        failed: dict[str, str] = {}
        for folder in folders:
            try:
                localfs.sync_folders(self.t.local_root, [folder])
            except LocalError as exc:
                failed[folder] = str(exc)
        if not failed:
            return results
        out: list[Finished] = []
        for outcome, intent in results:
            why = next((failed[f] for f in outcome.unsynced_folders if f in failed), None)
            if why is not None:
                outcome = _problem(outcome.action, "local-error", f"written but not durable: {why}")
            out.append((outcome, intent))
        return out

    # -- one action --------------------------------------------------------------------

    def _paced(self, action: Action, held: Slot | None) -> Outcome:
        """``perform`` inside its slot of the transfer window when it talks to the remote;
        a success of a small transfer teaches the window its round trip."""
        if held is None:
            return self.perform(action)
        with self.pacer.holding(held) as slot:
            outcome = self.perform(action)
            slot.comparable = (outcome.ok and outcome.kind != "skipped"
                               and _size(action) is not None
                               and (_size(action) or 0) <= COMPARABLE_BYTES)
            return outcome

    def perform(self, action: Action) -> Outcome:
        """Carry out one action; per-path failures become ``Outcome.problem``."""
        try:
            if isinstance(action, Upload):
                return self._upload(action)
            if isinstance(action, DeleteRemote):
                return self._delete_remote(action)
            if isinstance(action, Download):
                return self._download(action)
            if isinstance(action, TrashLocal):
                return self._trash_local(action)
            if isinstance(action, SaveConflictCopy):
                return self._save_conflict(action)
            if isinstance(action, RecordBase):
                return self._record_base(action)
            if isinstance(action, DropBase):
                return Outcome(action, OutcomeKind.DROPPED, drop_base=True)
        except FATAL:
            raise
        except ContainerSyncError as exc:
            out = _problem(action, _failure_kind(action), str(exc))
            # an upload or delete that failed any other way than a refusal may still have
            # happened on the server: its intent stays open until settling knows
            out.known = not (isinstance(action, Upload | DeleteRemote)
                             and not isinstance(exc, LocalError | Rejected))
            return out
        except OSError as exc:
            return _problem(action, "local-error", f"{exc.strerror or exc}")
        raise AssertionError(f"unknown action {action!r}")

    def _upload(self, a: Upload) -> Outcome:
        root = self.t.local_root
        if not localfs.matches(root, a.path, a.local):
            return _problem(a, "changed-since-scan", "changed while syncing; will retry")
        remote_path = local_to_remote(a.path, self.t.remote_root) if self.t.honour_paths else None
        sent = self.client.send_file(
            self.t.container_id, localfs.disk_path(root, a.path), remote_path=remote_path,
            filename=a.path.rsplit("/", 1)[-1], expect_sha256=a.local.sha256 or None,
            on_sent=self.on_bytes, opener=lambda: localfs.open_to_read(root, a.path),
        )
        obj = sent.obj
        # the base describes the bytes that were sent, never the plan's digest: a file
        # edited during the upload (or since the scan) left another content remotely
        # (a file the scan left unhashed, ``UNHASHED``, is the file as it was stat'ed)
        same = (sent.stable and (sent.size, sent.mtime_ns) == (a.local.size, a.local.mtime_ns)
                and a.local.sha256 in (UNHASHED, sent.sha256))
        stable = same and localfs.matches(root, a.path, a.local)
        deleted: tuple[str, ...] = ()
        problem: Problem | None = None
        if not same:
            problem = Problem(a.path, "changed-while-uploading",
                              "changed while it was uploaded; will upload again")
        if a.replaces is not None and a.replaces.file_id != obj.id:
            # the upload landed whatever happens next: it is recorded either way, and an
            # old object that could not be deleted stays ours but not the base's (garbage,
            # deleted by a later run)
            try:
                self._delete_quietly(a.replaces.file_id)
                deleted = (a.replaces.file_id,)
            except FATAL:
                raise
            except ContainerSyncError as exc:
                problem = Problem(a.path, "remote-delete-failed",
                                  f"uploaded, but the replaced object {a.replaces.file_id}"
                                  f" could not be deleted yet: {exc}")
        base = BaseEntry(
            # not the same: a size/mtime that cannot match forces the next scan to hash
            path=a.path, size=a.local.size, mtime_ns=a.local.mtime_ns if same else -1,
            sha256=sent.sha256 or "", remote_id=obj.id, remote_path=obj.path,
            remote_created_at=obj.created_at, source=obj.source,
        )
        new = RemoteObject(obj.id, obj.path, obj.created_at, obj.source, obj.bytes)
        return Outcome(
            a, OutcomeKind.UPLOADED, problem=problem, base=base, new_remote=new,
            deleted_remote_ids=deleted,
            # what was sent is only known for sure when the file did not move meanwhile
            digest=(obj.id, base.sha256) if stable else None,
            bytes_up=a.local.size,
        )

    def _delete_remote(self, a: DeleteRemote) -> Outcome:
        self._delete_quietly(a.remote.file_id)
        return Outcome(a, OutcomeKind.DELETED_REMOTE, deleted_remote_ids=(a.remote.file_id,))

    def _still_there(self, file_id: str) -> bool:
        """Whether the container still holds ``file_id`` (asked by id: a deletion on
        the strength of a listing is checked before a local file goes; any other
        failure than "gone" raises, and the file stays)."""
        try:
            self.client.retrieve_file(self.t.container_id, file_id)
        except RemoteFileGone:
            return False
        return True

    def _delete_quietly(self, file_id: str) -> None:
        with contextlib.suppress(RemoteFileGone):
            self.client.delete_file(self.t.container_id, file_id)

    def _download(self, a: Download) -> Outcome:
        root, old = self.t.local_root, a.expect_local

        def before_replace() -> None:
            # after the last look (``expect``): the old copy goes to the trash
            if old is not None:
                self.trash.move_in(root, a.path, self.t.mapping, self.now(), expect=old)

        try:
            # the target must be what we planned on, before the fetch and before the rename
            local, nbytes, folders = self._fetch_into(
                a.path, a.remote, expect=lambda st: localfs.stat_matches(st, old),
                before_replace=before_replace)
        except localfs.NotAsExpected as exc:
            if exc.fetched:
                raise LocalError(f"{a.path!r} changed locally while downloading; kept it"
                                 ) from None
            return _problem(a, "changed-since-scan", "changed locally while syncing; will retry")
        return Outcome(
            a, OutcomeKind.DOWNLOADED, base=_base_from(local, a.remote), digest=(a.remote.file_id, local.sha256),
            bytes_down=nbytes, unsynced_folders=folders,
        )

    def _save_conflict(self, a: SaveConflictCopy) -> Outcome:
        local, nbytes, folders = self._fetch_into(a.copy_path, a.remote)
        self._prune_conflict_copies(a.path)
        return Outcome(
            a, OutcomeKind.CONFLICT_COPY, digest=(a.remote.file_id, local.sha256), bytes_down=nbytes,
            conflict=Conflict(a.path, a.copy_path, a.remote.file_id), unsynced_folders=folders,
        )

    def _fetch_into(
        self, rel: str, remote: RemoteFile, *,
        expect: Callable[[os.stat_result | None], bool] | None = None,
        before_replace: Callable[[], None] | None = None,
    ) -> tuple[LocalFile, int, tuple[str, ...]]:
        """Download ``remote`` to ``rel``; what was written (described by the stat of the
        temporary file once its content was durable: the rename keeps inode, size and
        mtime, and a later user edit must not be taken for our bytes), the byte count and
        the folders left for ``_make_durable`` to sync."""
        cid = self.t.container_id
        landed: list[os.stat_result] = []
        folders: list[str] = []

        def on_landing(st: os.stat_result) -> None:
            landed.append(st)
            self.on_local_write(rel, Fingerprint.of(st))

        nbytes, sha = localfs.write_atomically(
            self.t.local_root, rel,
            lambda f: self.client.download_file(cid, remote.file_id, f, on_received=self.on_bytes),
            expect=expect, before_replace=before_replace, on_landing=on_landing,
            unsynced=folders.append,
            made=self._made_folder,
        )
        st = landed[-1]
        return LocalFile(rel, st.st_size, st.st_mtime_ns, sha), nbytes, tuple(folders)

    def _made_folder(self, folder: str, what: os.stat_result | Literal[False] | None) -> None:
        """A folder made for a download is our write, declared before its ``mkdir``.

        RACE: ``NEW_FOLDER`` takes any folder at ``folder`` for ours until the ``mkdir``
        answers; a user's folder made there in that instant loses its creation event only
        (a folder carries no content: each file in it has its own event, and the folder
        is the one this download then lands in)."""
        if what is None:
            self.on_local_write(folder, NEW_FOLDER)
        elif what is False:
            self.on_local_write(folder, NOTHING)
        else:
            self.on_local_write(folder, Fingerprint.of(what))

    def _prune_conflict_copies(self, rel: str) -> None:
        folder_rel, _, _ = rel.rpartition("/")
        folder = self.t.local_root / folder_rel if folder_rel else self.t.local_root
        try:
            names = sorted(e.name for e in folder.iterdir())
        except OSError:
            return
        copies = conflict_copies_of(rel, names)  # oldest first
        for extra in copies[: max(0, len(copies) - MAX_CONFLICT_COPIES)]:
            extra_rel = f"{folder_rel}/{extra}" if folder_rel else extra
            self.on_local_write(extra_rel, ABSENT)
            self.trash.move_in(self.t.local_root, extra_rel, self.t.mapping, self.now())

    def _trash_local(self, a: TrashLocal) -> Outcome:
        if not localfs.matches(self.t.local_root, a.path, a.expect_local):
            return _problem(a, "changed-since-scan", "changed locally while syncing; kept")
        if a.gone is not None and self._still_there(a.gone):
            # the listing left the object out, yet it is there: the file stays, tracked
            return _problem(a, LISTING_MISSED, f"its remote object {a.gone} was missing from"
                            " the container's listing but is still there; kept")
        self.on_local_write(a.path, ABSENT)
        self.trash.move_in(self.t.local_root, a.path, self.t.mapping, self.now(),
                           expect=a.expect_local)
        folder = a.path.rpartition("/")[0]
        if folder:
            self._emptied.add(folder)
        return Outcome(a, OutcomeKind.TRASHED_LOCAL, drop_base=True)

    def _remove_emptied_folders(self) -> None:
        pending = set(self._emptied)
        while pending:
            rel = max(pending, key=lambda r: (r.count("/"), r))  # deepest first
            pending.discard(rel)
            try:
                fd, name = localfs.open_parent(self.t.local_root, rel, create=False)
            except (OSError, ContainerSyncError):
                continue
            try:
                self.on_local_write(rel, ABSENT)
                os.rmdir(name, dir_fd=fd)  # only an empty folder; a link is ENOTDIR
            except OSError:
                continue
            finally:
                os.close(fd)
            parent = rel.rpartition("/")[0]
            if parent:
                pending.add(parent)

    def _record_base(self, a: RecordBase) -> Outcome:
        return Outcome(a, OutcomeKind.RECORDED, base=_base_from(a.local, a.remote),
                       digest=(a.remote.file_id, a.local.sha256))


def _base_from(local: LocalFile, remote: RemoteFile) -> BaseEntry:
    return BaseEntry(
        path=local.path, size=local.size, mtime_ns=local.mtime_ns, sha256=local.sha256,
        remote_id=remote.file_id, remote_path=remote.remote_path,
        remote_created_at=remote.created_at, source=remote.source,
    )


def _size(action: Action) -> int | None:
    """The bytes a remote action moves (None: not known beforehand)."""
    if isinstance(action, Upload):
        return action.local.size
    if isinstance(action, Download | SaveConflictCopy):
        return action.remote.bytes
    return 0


def _problem(action: Action, kind: str, message: str) -> Outcome:
    return Outcome(action, OutcomeKind.SKIPPED, problem=Problem(action.path, kind, message))


def _failure_kind(action: Action) -> str:
    return {
        Upload: "upload-failed",
        DeleteRemote: "remote-delete-failed",
        Download: "download-failed",
        SaveConflictCopy: "download-failed",
        TrashLocal: "local-error",
    }.get(type(action), "failed")

