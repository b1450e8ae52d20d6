"""Group a container's raw file listing by the local path each object stands for, and pick
each path's current object by knowledge, not by clocks.

Pure: takes the listing and the index's records, returns a ``RemoteView``; no I/O.

Which local path an object stands for, first rule that applies wins:

1. its id is a base's ``remote_id``: that base's path (the index, not the remote path, is
   the truth: the live service prefixes upload names with random hex);
2. its id is in ``own_ids``, a ``Mapping[file_id, local path]`` of every object this
   program uploaded that the index still remembers (older uploads not yet deleted, uploads
   adopted after a crash): that path;
3. its ``remote_path`` is a sandbox path one of our uploads landed at: a base's
   ``remote_path``, the ``remote_path`` of a listed object matched by rule 1 or 2, or one
   of ``upload_paths`` (every sandbox path an upload of ours landed at this generation,
   even once that object is gone): that path. The assistant rewrote a file we uploaded at
   a server-chosen path such as ``/mnt/data/<hex>-name``; the rewrite stands for our file,
   never for a stray ``<hex>-name``;
4. otherwise its ``remote_path`` with the remote root stripped (``remote_to_local``).

Objects matched by rule 1 or 2 are *ours*. Objects that are not ours and whose ``source``
is not in ``pull_sources`` are ``foreign``: never a path's current object, never deleted.
For the rest, grouped by path, with ``known`` the ids a finished decision has already
taken into account (the index's ``known_objects``), and *unseen* meaning not ours and not
known:

- If the path has unseen objects, the newest unseen one is the current object: nobody
  has seen it, so it is a remote change whatever its timestamp. One exception: while the
  object the base tracks (one we pulled, or our upload) is still listed, an unseen object
  stamped in an earlier second than it was written before it, or is a version some
  listing missed (yet a server clock may say otherwise): it does not replace the tracked
  one, it is one of ``tied[path]`` and kept as a conflict copy, so it neither rolls the
  file back, nor has our unchanged file uploaded again, nor is lost. (A conflict whose
  copy could not be saved leaves the assistant's object unseen and stamped before our
  upload of the local version: the next run saves the copy, and uploads nothing.)
  Timestamps only order objects never seen (a first sync, a rebuilt index), and only to
  the second: of several unseen objects created in the newest second, the last in the
  listing's order is current (the server's order; the local backend lists in write
  order) and the others are ``tied[path]``, writes nobody can place before or after it,
  which reconcile keeps as conflict copies. Ids never order anything: the live service's
  ids are random.
- If the base's object is one of our uploads, is listed, and the current unseen object's
  ``created_at`` is the same second, the path is ``ambiguous``: ``created_at`` has
  one-second resolution, so the other write may have come first. Reconcile compares its
  content with the local file as if both sides changed (same: recorded; different: a
  conflict copy, and the local version uploaded again to be the later write), so neither
  write is lost.
- Otherwise the base's object, if listed, is current (unchanged). If it is not listed the
  remote deleted the path: there is no current object. An older object is never taken
  instead, so nothing deleted comes back and nothing rolls back.
- Every object of ours other than the current one is ``garbage``, to be deleted by id
  (never by path), whether or not it shares its sandbox path with another object: a
  superseded upload is never a version to restore. Objects that are not ours, other than
  the current one, are ``foreign`` (left alone). ``seen[path]`` lists the ids of the
  objects at the path that are not ours and may be pulled, for the caller to remember once
  the decision finished.

Also:
- An object that cannot be mapped to a safe relative path is a ``Problem`` of kind
  ``unsafe-remote-path`` (``Problem.path`` holds the raw remote path) when it would have
  been pulled; a foreign one is put in ``foreign`` with ``path`` set to its raw remote
  path, since it is never written anywhere and must not make every sync report a problem.
- Objects that cannot be pulled as they stand (NFC/NFD twins, conflict-copy names, a file
  below a file) are moved to ``foreign`` with a notice by ``remote_problems.screen_listing``.
- Output tuples are sorted (by path, then newest first) so views compare equal.
- ``consume=True``: ``objects`` is a list the caller no longer needs; each object leaves
  it once mapped (the list is empty afterwards), so the raw listing is freed while the
  view is built instead of being held beside the base and the whole view (issue 9: that
  stage was a full cycle's peak, ~0.3 KiB per file of raw objects).
- ``keep(obj, path)``, when given, narrows the view to the paths of the objects it accepts
  (a targeted cycle's paths, and those of new objects), with every object at them: the
  other paths, and objects with no safe path, are left out entirely. The
  mapping rules still see every object, so a narrowed view agrees with the full one on
  every path it keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet

from containersync.errors import UnsafePath
from containersync.model.entry import BaseEntry, Problem, RemoteFile, RemoteObject, RemoteView
from containersync.model.paths import remote_to_local
from containersync.plan.remote_problems import screen_listing

UNSAFE_REMOTE_PATH = "unsafe-remote-path"


def _as_file(obj: RemoteObject, path: str) -> RemoteFile:
    return RemoteFile(file_id=obj.file_id, path=path, remote_path=obj.remote_path,
                      created_at=obj.created_at, source=obj.source, bytes=obj.bytes)


def _tracked_file(obj: RemoteObject, b: BaseEntry | None) -> RemoteFile | None:
    """The object the base at its path records, built from the base's own values (equal
    to the listing's): once the raw listing is dropped, a synced file's strings are held
    once, by its base."""
    if (b is None or b.remote_id != obj.file_id or b.remote_path != obj.remote_path
            or b.remote_created_at != obj.created_at or b.source != obj.source):
        return None
    return RemoteFile(file_id=b.remote_id, path=b.path, remote_path=b.remote_path,
                      created_at=b.remote_created_at, source=b.source, bytes=obj.bytes)


class _SandboxPaths:
    """Rule 3's map of sandbox paths to local paths, without an entry per synced file.

    A base's ``remote_path`` names its sandbox path; when that is just the remote root
    plus the base's own path (every upload to a server that keeps the name we send) the
    base is found from the sandbox path itself, so only the other bases are held in a
    dict (``named``). Of several bases naming one sandbox path the one whose path sorts
    first wins; then the anchors of listed objects and the upload paths (``later``), first
    one set wins. A dict of every base's sandbox path was ~0.1 KiB per file of a full
    cycle's peak (issue 9)."""

    def __init__(self, base: Mapping[str, BaseEntry], remote_root: str) -> None:
        self._base = base
        self._prefix = remote_root.rstrip("/") + "/"
        self.named: dict[str, str] = {}
        self.later: dict[str, str] = {}
        for b in base.values():
            rp = b.remote_path
            if rp is None or self._derived(rp, b.path):
                continue
            if rp not in self.named or b.path < self.named[rp]:
                self.named[rp] = b.path

    def _derived(self, remote_path: str, path: str) -> bool:
        prefix = self._prefix
        return (len(remote_path) == len(prefix) + len(path) and remote_path.startswith(prefix)
                and remote_path.endswith(path))

    def of_base(self, remote_path: str) -> str | None:
        """The path of the first base (by path) whose sandbox path is ``remote_path``."""
        named = self.named.get(remote_path)
        if not remote_path.startswith(self._prefix):
            return named
        own = remote_path[len(self._prefix):]
        b = self._base.get(own)
        if b is None or b.remote_path != remote_path:
            return named
        return own if named is None or own < named else named

    def get(self, remote_path: str) -> str | None:
        found = self.of_base(remote_path)
        return found if found is not None else self.later.get(remote_path)

    def add(self, remote_path: str, path: str) -> None:
        self.later.setdefault(remote_path, path)


class _Either:
    """Membership in either of two mappings' keys, without a set of both."""

    def __init__(self, first: Mapping[str, str], second: Mapping[str, str]) -> None:
        self._first, self._second = first, second

    def __contains__(self, key: object) -> bool:
        return key in self._first or key in self._second


def _local_path(obj: RemoteObject, by_remote_id: Mapping[str, str], own: Mapping[str, str],
                by_remote_path: _SandboxPaths, remote_root: str) -> str:
    """The local path ``obj`` stands for (rules 1-4); raises ``UnsafePath`` for rule 4."""
    if obj.file_id in by_remote_id:
        return by_remote_id[obj.file_id]
    if obj.file_id in own:
        return own[obj.file_id]
    anchor = by_remote_path.get(obj.remote_path)
    if anchor is not None:
        return anchor
    return remote_to_local(obj.remote_path, remote_root)


def remote_view(objects: Iterable[RemoteObject], base: Mapping[str, BaseEntry], *,
                remote_root: str, pull_sources: frozenset[str] = frozenset({"assistant"}),
                own_ids: Mapping[str, str] | None = None,
                keep: Callable[[RemoteObject, str], bool] | None = None,
                known: AbstractSet[str] = frozenset(),
                upload_paths: Mapping[str, str] | None = None,
                consume: bool = False) -> RemoteView:
    """Map every listed object to a local path and pick each path's current object (see
    the module doc; ``consume``: empty the list ``objects`` as its objects are mapped)."""
    own = own_ids if own_ids is not None else {}
    by_remote_id = {b.remote_id: b.path for b in base.values() if b.remote_id is not None}
    by_remote_path = _SandboxPaths(base, remote_root)

    listed: list[RemoteObject] = (objects if consume and isinstance(objects, list)
                                  else list(objects))
    # a sandbox path a base already names keeps that base's path whatever comes after
    # (setdefault): only the others need the objects' anchors, in a stable order
    for o in sorted((o for o in listed if by_remote_path.of_base(o.remote_path) is None),
                    key=lambda o: o.file_id):
        anchor = by_remote_id.get(o.file_id) or own.get(o.file_id)
        if anchor is not None:
            by_remote_path.add(o.remote_path, anchor)
    for remote_path, anchor in sorted((upload_paths or {}).items()):
        by_remote_path.add(remote_path, anchor)
    # per path, in listing order: its one object, or (in ``several``) its objects; whether
    # an object is ours is asked again when needed (a pair per file was ~70 B of the peak)
    candidates: dict[str, RemoteFile] = {}
    several: dict[str, list[RemoteFile]] = {}

    def is_ours(file_id: str) -> bool:
        return file_id in by_remote_id or file_id in own

    foreign: list[RemoteFile] = []
    problems: list[Problem] = []

    def mapping() -> Iterator[tuple[RemoteObject, str | UnsafePath]]:
        for obj in _taken(listed) if consume else listed:
            try:
                yield obj, _local_path(obj, by_remote_id, own, by_remote_path, remote_root)
            except UnsafePath as unsafe:
                yield obj, unsafe

    # keep= picks paths, never single objects: every object at a kept path is in the view,
    # so its older objects are decided on (seen) with the newest, never left unseen; a
    # whole view maps each object as it goes (no list of the whole listing)
    mapped = mapping() if keep is None else list(mapping())
    kept = None if keep is None else {
        path for obj, path in mapped if isinstance(path, str) and keep(obj, path)}

    for obj, where in mapped:
        pulled = is_ours(obj.file_id) or obj.source in pull_sources
        if isinstance(where, UnsafePath):
            if kept is not None:
                continue
            if pulled:
                problems.append(Problem(path=obj.remote_path, kind=UNSAFE_REMOTE_PATH,
                                        message=f"remote file {obj.file_id} at "
                                                f"{obj.remote_path!r} is not pulled: "
                                                f"{where.reason}"))
            else:
                foreign.append(_as_file(obj, obj.remote_path))
            continue
        path = where
        if kept is not None and path not in kept:
            continue
        if not pulled:
            foreign.append(_as_file(obj, path))
            continue
        entry = _tracked_file(obj, base.get(path)) or _as_file(obj, path)
        if path in several:
            several[path].append(entry)
        elif path in candidates:
            several[path] = [candidates.pop(path), entry]
        else:
            candidates[path] = entry  # most paths hold one object: no list for them

    files: dict[str, RemoteFile] = {}
    garbage: list[RemoteFile] = []
    ambiguous: set[str] = set()
    seen: dict[str, tuple[str, ...]] = {}
    tied: dict[str, tuple[RemoteFile, ...]] = {}
    # the two hold no path in common: a list of both, not a set of every path
    for path in sorted([*candidates, *several]):
        one = candidates.get(path)
        if one is not None:
            at = base.get(path)
            if at is not None and at.remote_id == one.file_id:
                files[path] = one  # the base's own object, alone: what _current says
                continue
        group = [(f, is_ours(f.file_id)) for f in ([one] if one is not None else several[path])]
        current, unclear, rivals = _current(group, base.get(path), own, known)
        if current is not None:
            files[path] = current
        if rivals:
            tied[path] = rivals
        if unclear:
            ambiguous.add(path)
        for f, ours in group:
            if f is not current:
                (garbage if ours else foreign).append(f)
        others = tuple(sorted(f.file_id for f, ours in group if not ours))
        if others:
            seen[path] = others

    view = RemoteView(files=files, garbage=_by_path_newest_first(garbage),
                      foreign=_by_path_newest_first(foreign),
                      problems=tuple(sorted(problems, key=lambda p: (p.path, p.message))),
                      ambiguous=frozenset(ambiguous), seen=seen, tied=tied)
    return screen_listing(view, pull_sources=pull_sources, ours=_Either(by_remote_id, own))


def _taken(listed: list[RemoteObject]) -> Iterator[RemoteObject]:
    """The objects of ``listed`` in order, each dropped from it as it is handed out (the
    list is empty at the end): an object nothing else holds is freed once mapped."""
    listed.reverse()
    while listed:
        yield listed.pop()


def _current(group: list[tuple[RemoteFile, bool]], b: BaseEntry | None,
             own: Mapping[str, str], known: AbstractSet[str]
             ) -> tuple[RemoteFile | None, bool, tuple[RemoteFile, ...]]:
    """A path's current object, whether it is ambiguous, and the unseen objects to keep as
    conflict copies beside it (see the module doc). ``group`` is in listing order."""
    base_id = b.remote_id if b is not None else None
    tracked = next((f for f, _ in group if base_id is not None and f.file_id == base_id), None)
    unseen = [f for f, ours in group if not ours and f.file_id not in known]
    # the version the base tracks (one we pulled, or our upload) is still listed: an unseen
    # object stamped in an earlier second was written before it (or missed by a listing),
    # yet a server clock may say otherwise; it neither replaces it (rolling the file back,
    # or uploading the unchanged file again) nor is dropped: it is kept as a conflict copy
    older = [f for f in unseen if tracked is not None and f.created_at < tracked.created_at]
    unseen = [f for f in unseen if f not in older]
    if not unseen:
        return tracked, False, tuple(older)
    second = max(f.created_at for f in unseen)
    *rivals, newest = [f for f in unseen if f.created_at == second]
    # what is left is stamped in our upload's second or later: the same second cannot be
    # ordered
    unclear = (tracked is not None and tracked.file_id in own
               and newest.created_at == tracked.created_at)
    return newest, unclear, tuple(rivals)


def _by_path_newest_first(files: list[RemoteFile]) -> tuple[RemoteFile, ...]:
    newest_first = sorted(files, key=lambda f: f.order_key, reverse=True)
    return tuple(sorted(newest_first, key=lambda f: f.path))
