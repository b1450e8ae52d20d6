"""Group a container's raw file listing by the local path each object stands for.

Pure: takes the listing and the index's records, returns a ``RemoteView``; no I/O.

Which local path an object stands for, first rule that applies wins:

1. its id is a base's ``remote_id``: that base's path (the index, not the remote path, is
   the truth: the live service prefixes upload names with random hex);
2. its id is in ``own_ids``, a ``Mapping[file_id, local path]`` of every object this
   program uploaded that the index still remembers (older uploads not yet deleted, uploads
   adopted after a crash): that path;
3. its ``remote_path`` equals a base's ``remote_path``, or the ``remote_path`` of a listed
   object matched by rule 1 or 2 (the assistant rewrote a file we uploaded at a
   server-chosen path such as ``/mnt/data/<hex>-name``; after our next upload of that path
   the base moves on, but our older object still anchors the sandbox path): that path;
4. otherwise its ``remote_path`` with the remote root stripped (``remote_to_local``).

Objects matched by rule 1 or 2 are *ours*. Invariants of the result:

- An object whose ``source`` is not in ``pull_sources`` and that is not ours is
  ``foreign``: it never takes part in choosing the newest object of a path. So a user
  upload that is not ours, newer than our object at the same path, can neither be pulled
  nor turn our object into garbage (our object stays ``files[path]``).
- Among the remaining objects of a path the newest (``created_at``, then id) is
  ``files[path]``; older ones are ``garbage`` if ours, ``foreign`` otherwise.
- An older object of ours that shares its ``remote_path`` with any other listed object is
  *not* garbage but ``foreign``: deleting it by id could remove the sandbox file the other
  object now names. It is left alone.
- An object that cannot be mapped to a safe relative path is a ``Problem`` of kind
  ``unsafe-remote-path`` (``Problem.path`` holds the raw remote path) when it would have
  been pulled; a foreign one is put in ``foreign`` with ``path`` set to its raw remote
  path, since it is never written anywhere and must not make every sync report a problem.
- Objects that cannot be pulled as they stand (NFC/NFD twins, conflict-copy names, a file
  below a file) are moved to ``foreign`` with a notice by ``remote_problems.screen_listing``.
- Output tuples are sorted (by path, then newest first) so views compare equal.
- Same-second rivals: ``created_at`` has one-second resolution, so when our object and
  an object that is not ours share the newest second at a path, their order is unknown. If
  the other one is in ``unseen`` (first listed now, so no earlier plan saw it), it is
  taken as the newest and the path is marked ``ambiguous``: reconcile compares its content
  with the local file as if both sides changed, so neither write is lost (same content:
  recorded; different: a conflict copy). A rival seen before is older than our upload,
  which was planned after it.
- ``keep(obj, path)``, when given, narrows the view to the objects it accepts (a targeted
  cycle's paths): the others, and objects with no safe path, are left out entirely. The
  mapping rules still see every object, so a narrowed view agrees with the full one on
  every path it keeps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet

from containersync.errors import UnsafePath
from containersync.model.entry import BaseEntry, Problem, RemoteFile, RemoteObject, RemoteView
from containersync.model.paths import remote_to_local
from containersync.plan.remote_problems import screen_listing

UNSAFE_REMOTE_PATH = "unsafe-remote-path"


def _as_file(obj: RemoteObject, path: str) -> RemoteFile:
    return RemoteFile(file_id=obj.file_id, path=path, remote_path=obj.remote_path,
                      created_at=obj.created_at, source=obj.source, bytes=obj.bytes)


def _local_path(obj: RemoteObject, by_remote_id: Mapping[str, str], own: Mapping[str, str],
                by_remote_path: Mapping[str, str], remote_root: str) -> str:
    """The local path ``obj`` stands for (rules 1-4); raises ``UnsafePath`` for rule 4."""
    if obj.file_id in by_remote_id:
        return by_remote_id[obj.file_id]
    if obj.file_id in own:
        return own[obj.file_id]
    if obj.remote_path in by_remote_path:
        return by_remote_path[obj.remote_path]
    return remote_to_local(obj.remote_path, remote_root)


def remote_view(objects: Iterable[RemoteObject], base: Mapping[str, BaseEntry], *,
                remote_root: str, pull_sources: frozenset[str] = frozenset({"assistant"}),
                own_ids: Mapping[str, str] | None = None,
                keep: Callable[[RemoteObject, str], bool] | None = None,
                unseen: AbstractSet[str] = frozenset()) -> RemoteView:
    """Map every listed object to a local path and pick the newest per path (see module doc)."""
    own = own_ids if own_ids is not None else {}
    by_remote_id = {b.remote_id: b.path for b in base.values() if b.remote_id is not None}
    by_remote_path: dict[str, str] = {}
    for b in sorted(base.values(), key=lambda e: e.path):
        if b.remote_path is not None:
            by_remote_path.setdefault(b.remote_path, b.path)

    listed = list(objects)
    for o in sorted(listed, key=lambda o: o.file_id):
        anchor = by_remote_id.get(o.file_id) or own.get(o.file_id)
        if anchor is not None:
            by_remote_path.setdefault(o.remote_path, anchor)
    path_count = Counter(o.remote_path for o in listed)
    candidates: dict[str, list[tuple[RemoteFile, bool]]] = {}
    foreign: list[RemoteFile] = []
    problems: list[Problem] = []

    for obj in listed:
        ours = obj.file_id in by_remote_id or obj.file_id in own
        pulled = ours or obj.source in pull_sources
        try:
            path = _local_path(obj, by_remote_id, own, by_remote_path, remote_root)
        except UnsafePath as exc:
            if keep is not None:
                continue
            if pulled:
                problems.append(Problem(path=obj.remote_path, kind=UNSAFE_REMOTE_PATH,
                                        message=f"remote file {obj.file_id} at "
                                                f"{obj.remote_path!r} is not pulled: "
                                                f"{exc.reason}"))
            else:
                foreign.append(_as_file(obj, obj.remote_path))
            continue
        if keep is not None and not keep(obj, path):
            continue
        if not pulled:
            foreign.append(_as_file(obj, path))
            continue
        candidates.setdefault(path, []).append((_as_file(obj, path), ours))

    files: dict[str, RemoteFile] = {}
    garbage: list[RemoteFile] = []
    ambiguous: set[str] = set()
    for path in sorted(candidates):
        group = sorted(candidates[path], key=lambda fo: fo[0].order_key, reverse=True)
        rival = _same_second_rival(group, unseen)
        if rival is not None:
            group.remove(rival)
            group.insert(0, rival)
            ambiguous.add(path)
        files[path] = group[0][0]
        for older, ours in group[1:]:
            if ours and path_count[older.remote_path] == 1:
                garbage.append(older)
            else:
                foreign.append(older)

    view = RemoteView(files=files, garbage=_by_path_newest_first(garbage),
                      foreign=_by_path_newest_first(foreign),
                      problems=tuple(sorted(problems, key=lambda p: (p.path, p.message))),
                      ambiguous=frozenset(ambiguous))
    return screen_listing(view, pull_sources=pull_sources, ours=by_remote_id.keys() | own.keys())


def _same_second_rival(group: list[tuple[RemoteFile, bool]],
                       unseen: AbstractSet[str]) -> tuple[RemoteFile, bool] | None:
    """In a newest-first group headed by our object, the newest never-seen object that is
    not ours and shares its second (see the module doc), if any."""
    top, top_ours = group[0]
    if not top_ours:
        return None
    for item in group[1:]:
        obj, ours = item
        if obj.created_at != top.created_at:
            return None
        if not ours and obj.file_id in unseen:
            return item
    return None


def _by_path_newest_first(files: list[RemoteFile]) -> tuple[RemoteFile, ...]:
    newest_first = sorted(files, key=lambda f: f.order_key, reverse=True)
    return tuple(sorted(newest_first, key=lambda f: f.path))
