"""Remote objects that cannot be pulled as they stand: found before planning, each turned
into a ``Problem`` that says what the user can do, instead of being dropped silently.

Pure: a ``RemoteView`` (and, for ``screen_local``, the local scan) in, a ``RemoteView`` out
whose ``files`` hold only what can be pulled; every object taken out is moved to
``foreign`` (left alone: never pulled, never deleted) and named in ``problems``.

From the listing alone (``screen_listing``, the last step of ``remote_view``):
- ``name-collision``: two sandbox names that differ only in their Unicode normal form
  (``café`` written NFC and NFD) map to one local path; the newest is pulled, the other
  never could be. Rename one in the sandbox.
- ``conflict-copy-name``: a sandbox file named like a conflict copy
  (``x.conflict-20261123-101500.txt``). Conflict copies are never synced, so it is never
  pulled; rename it in the sandbox.
- ``file-under-file``: the listing holds a file ``x.txt`` and also ``x.txt/child``. A path
  cannot be a file and a folder at once: **the file wins**, the child is the problem;
  unless the child is an object the index tracks (a local file stands behind it; the local
  path ``x.txt`` is a folder, so the file ``x.txt`` is ``folder-in-the-way`` below).

Against the local scan (``screen_local``, after the scan), for a remote object that is a
change (not the object the base already records) at a path that cannot take a file:
- ``blocked-by-symlink``: the path, or a folder above it, is a symbolic link locally
  (links are never written through);
- ``folder-in-the-way``: the path is a folder locally that stays (it holds files that are
  not being deleted, or nothing at all).

These kinds are notices: reported the first time they are seen, shown by ``status``;
they do not make a run "finished with problems", since retrying cannot change them.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Container, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import replace

from containersync.model.entry import BaseEntry, LocalFile, Problem, RemoteFile, RemoteView
from containersync.model.paths import is_conflict_copy

NAME_COLLISION = "name-collision"
CONFLICT_COPY_NAME = "conflict-copy-name"
FILE_UNDER_FILE = "file-under-file"
BLOCKED_BY_SYMLINK = "blocked-by-symlink"
FOLDER_IN_THE_WAY = "folder-in-the-way"

#: every kind above: notices, reported once
REMOTE_NOTICE_KINDS = frozenset({NAME_COLLISION, CONFLICT_COPY_NAME, FILE_UNDER_FILE,
                                 BLOCKED_BY_SYMLINK, FOLDER_IN_THE_WAY})


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _folders(paths: Iterable[str]) -> set[str]:
    """Every folder above any of ``paths``."""
    parents = {p.rpartition("/")[0] for p in paths}
    parents.discard("")
    return {a for parent in parents for a in (*_ancestors(parent), parent)}


def _without(view: RemoteView, dropped: Mapping[str, RemoteFile],
             problems: list[Problem]) -> RemoteView:
    if not dropped and not problems:
        return view
    files = {p: f for p, f in view.files.items() if p not in dropped}
    # what could not be pulled must stay unseen, to be pulled once the cause is gone
    gone = {f.file_id for f in dropped.values()}
    seen = {p: kept for p, ids in view.seen.items()
            if (kept := tuple(i for i in ids if i not in gone))}
    foreign = sorted([*view.foreign, *dropped.values()],
                     key=lambda f: (f.path, -f.created_at, f.file_id))
    tied = {p: t for p, t in view.tied.items() if p in files}
    return replace(view, files=files, foreign=tuple(foreign), seen=seen, tied=tied,
                   problems=tuple(sorted([*view.problems, *problems],
                                         key=lambda p: (p.path, p.message))))


def screen_listing(view: RemoteView, *, pull_sources: AbstractSet[str],
                   ours: Container[str] = frozenset()) -> RemoteView:
    """Take out what the listing alone shows cannot be pulled (see the module doc).
    ``ours``: ids of objects the index tracks; one of them is never taken out (a local
    file stands behind it: dropping it would read as a remote deletion)."""
    dropped: dict[str, RemoteFile] = {}
    problems: list[Problem] = []
    twins: dict[str, list[RemoteFile]] = {}
    for other in view.foreign:
        twins.setdefault(other.path, []).append(other)
    # only a path that is also a folder of the listing can be "a file above" another: found
    # from the (few) distinct parent folders, not from every path's ancestors
    under_files = view.files.keys() & _folders(view.files)
    for path, rf in view.files.items():
        spelled = [o for o in twins.get(path, ())
                   if o.source in pull_sources and o.remote_path != rf.remote_path
                   and unicodedata.normalize("NFC", o.remote_path)
                   == unicodedata.normalize("NFC", rf.remote_path)]
        if spelled:
            problems.append(Problem(path, NAME_COLLISION,
                                    f"the sandbox holds {len(spelled) + 1} names that differ "
                                    "only in Unicode normalisation (NFC/NFD); only the newest "
                                    f"({rf.remote_path!r}) is pulled: rename the others in "
                                    "the sandbox"))
        if is_conflict_copy(path):
            dropped[path] = rf
            problems.append(Problem(path, CONFLICT_COPY_NAME,
                                    f"sandbox file {rf.remote_path!r} is named like a conflict "
                                    "copy, which is never synced: rename it in the sandbox to "
                                    "pull it"))
            continue
        above = next((a for a in _ancestors(path) if a in under_files),
                     None) if under_files else None
        if above is not None and rf.file_id not in ours:
            dropped[path] = rf
            problems.append(Problem(path, FILE_UNDER_FILE,
                                    f"not pulled: {above!r} is a file in the sandbox listing "
                                    "too, and the file wins; move one of them in the sandbox"))
    return _without(view, dropped, problems)


def screen_local(view: RemoteView, base: Mapping[str, BaseEntry],
                 local: Mapping[str, LocalFile], *, folders: AbstractSet[str],
                 links: AbstractSet[str]) -> RemoteView:
    """Take out remote changes that the local tree cannot take (see the module doc).
    ``folders``: every local folder the scan saw; ``links``: every local symlink."""
    dropped: dict[str, RemoteFile] = {}
    problems: list[Problem] = []
    local_paths = sorted(local)
    for path, rf in view.files.items():
        b = base.get(path)
        if b is not None and b.remote_id == rf.file_id:
            continue  # not a change: the base already records this object
        link = next((a for a in [*_ancestors(path), path] if a in links), None)
        if link is not None:
            dropped[path] = rf
            problems.append(Problem(path, BLOCKED_BY_SYMLINK,
                                    f"sandbox file {rf.remote_path!r} is not pulled: "
                                    f"{link!r} is a symbolic link here, and links are never "
                                    "written through; remove or rename the link to pull it"))
        elif path in folders and _folder_stays(path, local_paths, base, view):
            dropped[path] = rf
            problems.append(Problem(path, FOLDER_IN_THE_WAY,
                                    f"sandbox file {rf.remote_path!r} is not pulled: {path!r} "
                                    "is a folder here; rename the folder or the sandbox file"))
    return _without(view, dropped, problems)


def _folder_stays(folder: str, local_paths: list[str], base: Mapping[str, BaseEntry],
                  view: RemoteView) -> bool:
    """False when every file in the local ``folder`` is tracked and gone from the remote:
    the plan moves them to the trash and the emptied folder is removed, so the file can
    be pulled next cycle without a notice."""
    prefix = folder + "/"
    start = bisect.bisect_left(local_paths, prefix)
    inside = []
    for p in local_paths[start:]:
        if not p.startswith(prefix):
            break
        inside.append(p)
    if not inside:
        return True
    return any(p not in base or p in view.files for p in inside)
