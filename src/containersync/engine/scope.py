"""What a targeted cycle reads from the index: the rows that bear on its paths and on the
new objects, never whole tables (issue 9: a cycle costs what the change costs).

``remote_view`` maps an object to a local path by the bases, own uploads, upload paths
and the other objects at its sandbox path (its rules 1-4). ``Scope`` holds exactly enough
of each that every object at the cycle's paths is in ``objects`` and maps where it would
with the whole index:

- *anchors* (``anchored``): for a set of objects, every cached object at their sandbox
  paths, then every base, own upload and upload path naming one of those objects or
  sandbox paths. With these, each object's rule 1-3 lookups give what the whole index
  gives (the others cannot name it).
- *seeds*: the new objects, and the cached objects that could map to a scope path: those
  its bases and own uploads name, those at its bases' and upload paths' sandbox paths, at
  the sandbox path it spells and below it, and every object whose sandbox path is not NFC
  (rule 4 normalizes; the index marks them).

The scope paths are the cycle's paths plus the paths the new objects map to (they join
the scan: ``remote.with_fresh_paths``), so the paths ``remote_view(keep=...)`` keeps are
all scope paths. ``tests/engine/test_scope.py`` checks the narrowed view against the one
built from the whole index.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from containersync.errors import UnsafePath
from containersync.index.scoped import ScopedReads
from containersync.model.entry import BaseEntry, RemoteObject
from containersync.model.paths import local_to_remote
from containersync.plan.remote_view import remote_view


@dataclass(frozen=True)
class Scope:
    """The index rows a targeted cycle plans with (see the module doc)."""

    objects: list[RemoteObject]  # cached ones oldest first (the cache's order), then new
    base: dict[str, BaseEntry]
    own: dict[str, str]
    upload_paths: dict[str, str]
    known: frozenset[str]
    digests: dict[str, str]
    paths: tuple[str, ...] = ()
    #: 0 when the container lists nothing (cached or new), else 1: all the safety rails
    #: ask of a listing's size is whether it is empty, and counting is a scan
    listed: int = 0
    fresh: list[RemoteObject] = field(default_factory=list)

    def serves(self, only: Collection[str], fresh: Sequence[RemoteObject]) -> bool:
        """Whether ``load`` would give this scope again for ``only`` and ``fresh`` on the
        same index (``fresh`` since cached: ``load`` keeps the new objects apart either
        way): the same new objects, and paths that are all among this scope's. So the
        pull check's scope is its pull cycle's, which reads no row of it again."""
        return ([o.file_id for o in fresh] == [o.file_id for o in self.fresh]
                and set(only) <= set(self.paths))


@dataclass(frozen=True)
class Anchors:
    cached: dict[str, RemoteObject]
    base: dict[str, BaseEntry]
    own: dict[str, str]
    upload_paths: dict[str, str]


def anchored(reads: ScopedReads, name: str, objects: Iterable[RemoteObject]) -> Anchors:
    """The cached objects at the sandbox paths of ``objects``, and every base, own upload
    and upload path naming any of them or their sandbox paths."""
    seeds = {o.file_id: o for o in objects}
    cached = reads.cached(name, remote_paths={o.remote_path for o in seeds.values()})
    every = {**cached, **seeds}
    ids, remote_paths = set(every), {o.remote_path for o in every.values()}
    return Anchors(cached, reads.bases_naming(name, ids, remote_paths), reads.own_of(name, ids),
                   reads.upload_paths_of(name, remote_paths))


def kept_paths(reads: ScopedReads, name: str, fresh: Sequence[RemoteObject], *,
               remote_root: str, pull_sources: frozenset[str]) -> list[str]:
    """The local paths new objects map to (each with a safe path, foreign ones too): the
    paths ``remote_view(keep=...)`` keeps for them. A new object's own rule 1-3 lookups are
    all among its anchors, so each maps where the whole index maps it."""
    if not fresh:
        return []
    a = anchored(reads, name, fresh)
    new = {o.file_id for o in fresh}
    listed = [*_oldest_first(o for o in a.cached.values() if o.file_id not in new), *fresh]
    view = remote_view(listed, a.base, remote_root=remote_root, pull_sources=pull_sources,
                       own_ids=a.own, upload_paths=a.upload_paths,
                       keep=lambda o, _path: o.file_id in new)
    return sorted({f.path for f in (*view.files.values(), *view.garbage, *view.foreign)})


def fresh_paths(reads: ScopedReads, name: str, fresh: Sequence[RemoteObject], *,
                remote_root: str, pull_sources: frozenset[str]) -> tuple[list[str], Scope | None]:
    """The paths of new objects that may be pulled or are ours, and of our objects beside
    them (garbage), with the scope they were found in (None: no new objects): the daemon's
    pull check (``daemon.cycles.new_remote_paths``), whose pull cycle plans with that
    scope (``Scope.serves``)."""
    if not fresh:
        return [], None
    scope = load(reads, name, (), fresh, remote_root=remote_root, pull_sources=pull_sources)
    new = {o.file_id for o in fresh}
    view = remote_view(scope.objects, scope.base, remote_root=remote_root,
                       pull_sources=pull_sources, own_ids=scope.own,
                       upload_paths=scope.upload_paths, keep=lambda o, _path: o.file_id in new)
    return sorted(set(view.files) | {f.path for f in view.garbage}), scope


def _oldest_first(objects: Iterable[RemoteObject]) -> list[RemoteObject]:
    """The cache's order (``Index.remote_cache`` reversed)."""
    return sorted(objects, key=lambda o: (o.created_at, o.file_id))


def _spelled(paths: Collection[str], remote_root: str) -> set[str]:
    out = set()
    for p in paths:
        try:
            out.add(local_to_remote(p, remote_root))
        except UnsafePath:
            continue
    return out


def load(reads: ScopedReads, name: str, only: Sequence[str], fresh: Sequence[RemoteObject],
         *, remote_root: str, pull_sources: frozenset[str]) -> Scope:
    """The scope of a targeted cycle for ``only`` with the new objects ``fresh``."""
    new_ids = {o.file_id for o in fresh}
    paths = tuple(dict.fromkeys([*only, *kept_paths(reads, name, fresh,
                                                    remote_root=remote_root,
                                                    pull_sources=pull_sources)]))
    base = reads.bases_at(name, paths)
    own = reads.own_at(name, paths)
    uploads = reads.upload_paths_at(name, paths)
    spelled = _spelled(paths, remote_root)
    seeds = reads.cached(
        name, ids={b.remote_id for b in base.values() if b.remote_id} | set(own),
        remote_paths={b.remote_path for b in base.values() if b.remote_path}
        | set(uploads) | spelled, under=spelled)
    a = anchored(reads, name, [*seeds.values(), *fresh])
    cached = {fid: o for fid, o in {**seeds, **a.cached}.items() if fid not in new_ids}
    objects = [*_oldest_first(cached.values()), *fresh]
    ids = {o.file_id for o in objects} | {b.remote_id for b in base.values() if b.remote_id}
    return Scope(objects=objects, base={**a.base, **base}, own={**a.own, **own},
                 upload_paths={**a.upload_paths, **uploads},
                 known=reads.known_among(name, ids), digests=reads.digests_of(name, ids),
                 paths=paths, listed=int(bool(fresh) or reads.has_cached(name)),
                 fresh=list(fresh))
