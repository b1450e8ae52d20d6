"""Filesystem -> snapshot: walk a local root and describe every syncable regular file.

Invariants:
- Symlinks are never followed; each is reported as a ``symlink`` problem (unless ignored).
- Special files (FIFOs, sockets, devices) are skipped silently.
- Our own temporaries (``.containersync-tmp-*`` regular files, what an interrupted
  download leaves) are never described; a walk lists each one it meets in
  ``temporaries`` so the run holding the mapping's lock can remove them.
- Names are NFC; a name that is not valid UTF-8, holds control characters or is too long,
  and names that collide after NFC (or case-insensitively on a case-insensitive
  filesystem) are problems, never crashes.
- A file is hashed only when its size or mtime_ns differ from the base (or, with
  ``defer``, when it has no base and the caller will need its digest before uploading
  it); the digest
  returned always belongs to the size and mtime_ns returned with it (a file that keeps
  changing while hashed becomes a ``changing`` problem).
- Absence means deletion only where ``ScanResult.covers(path)`` is true: paths outside a
  targeted scan's ``scope`` and paths at/below an ``incomplete`` entry (every problem path:
  unreadable folders, unreadable or changing files, bad names, symlinks) are unknown.
"""

from __future__ import annotations

import os
import stat as st_mod
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from containersync.errors import UnsafePath
from containersync.model.entry import UNHASHED, BaseEntry, LocalFile, Problem
from containersync.model.kinds import RootState
from containersync.model.paths import check_component, is_under, nfc_match, normalize_relpath
from containersync.scan.digest import CHUNK, sha256_fd
from containersync.scan.ignore import TEMP_PREFIX, IgnoreRules, Verdict

HASH_ATTEMPTS = 3
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


@dataclass
class ScanResult:
    files: dict[str, LocalFile]
    problems: list[Problem]
    hashed: int
    held_back: list[str]  # paths left out by a secret default; folders end with "/"
    root_state: RootState
    scope: tuple[str, ...] | None = None  # None: the whole tree was scanned
    incomplete: set[str] = field(default_factory=set)  # state unknown at/below these
    #: our temporary files met by the walk (relative paths): leftovers of downloads
    temporaries: list[str] = field(default_factory=list)
    folders: set[str] = field(default_factory=set)  # every real folder seen (ignored too)
    #: the wall clock when the scan began: no stat in ``files`` is older (``trusted``)
    started_ns: int = 0
    #: files the scan opened (to hash them, or to see whether one may wait): 0 means every
    #: file in ``files`` is its base's size, mtime and digest (``engine.quiet``)
    opened: int = 0
    _scope_set: frozenset[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._scope_set = None if self.scope is None else frozenset(self.scope)

    def covers(self, rel: str) -> bool:
        """True if ``rel`` missing from ``files`` means no syncable file is there now
        (it may still be ignored: ask the rules)."""
        if self.root_state != RootState.OK:
            return False
        if self._scope_set is not None and not is_under(rel, self._scope_set):
            return False
        return not is_under(rel, self.incomplete)


def detect_case_insensitive(root: str) -> bool:
    """Best guess whether ``root`` lives on a case-insensitive filesystem."""
    head, name = os.path.split(os.path.abspath(root))
    swapped = name.swapcase()
    if swapped != name:
        try:
            a, b = os.stat(root), os.stat(os.path.join(head, swapped))
        except OSError:
            return False
        return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
    return sys.platform in ("darwin", "win32")


class _Scan:
    def __init__(self, root: str, rules: IgnoreRules, base: Mapping[str, BaseEntry],
                 fold_case: bool, defer: Callable[[str, int], bool] | None = None) -> None:
        self.root = root
        self.defer = defer
        self.rules = rules
        self.base = base
        self.fold_case = fold_case
        self.files: dict[str, LocalFile] = {}
        self.problems: list[Problem] = []
        self.held_back: list[str] = []
        self.incomplete: set[str] = set()
        self.temporaries: list[str] = []
        self.folders: set[str] = set()
        self.hashed = 0
        self.opened = 0
        self.buffer = bytearray(CHUNK)

    def problem(self, rel: str, kind: str, message: str) -> None:
        self.problems.append(Problem(rel, kind, message))
        self.incomplete.add(rel)

    # -- the walk ---------------------------------------------------------------------
    def walk(self, top: str, prefix: str) -> None:
        """Walk the folder ``top`` whose relative path is ``prefix`` ("" or ending in "/")."""
        stack = [(top, prefix)]
        classify, base_get = self.rules.classify, self.base.get
        while stack:
            d_abs, d_rel = stack.pop()
            try:
                with os.scandir(d_abs) as it:
                    entries = list(it)
            except OSError as exc:
                self.problem(d_rel.rstrip("/"), "unreadable", f"cannot list folder: {exc.strerror}")
                continue
            for entry, name, bad in self._names(entries, d_rel):
                rel = d_rel + name
                if entry.is_symlink():
                    if classify(rel, False, ancestors=False) is Verdict.KEEP:
                        self.link(entry.path, rel, bad)
                elif entry.is_dir(follow_symlinks=False):
                    self.folders.add(rel)
                    verdict = classify(rel, True, ancestors=False)
                    if verdict is Verdict.KEEP:
                        if bad:
                            self.problem(rel, "unsafe-name", bad)
                        else:
                            stack.append((entry.path, rel + "/"))
                    elif verdict is Verdict.SECRET:
                        self.held_back.append(rel + "/")
                elif entry.is_file(follow_symlinks=False):
                    if name.startswith(TEMP_PREFIX):
                        self.temporaries.append(rel)
                        continue
                    verdict = classify(rel, False, ancestors=False)
                    if verdict is Verdict.KEEP:
                        if bad:
                            self.problem(rel, "unsafe-name", bad)
                            continue
                        try:
                            s = entry.stat(follow_symlinks=False)
                        except FileNotFoundError:
                            continue  # deleted since listed: absent is the truth
                        b = base_get(rel)
                        if b is not None and b.size == s.st_size and b.mtime_ns == s.st_mtime_ns:
                            # the base's own strings and ints: an unchanged file costs one
                            # small object, not a second copy of its path and digest
                            self.files[b.path] = LocalFile(b.path, b.size, b.mtime_ns, b.sha256)
                        else:
                            self.hash_file(entry.path, rel, nofollow=True)
                    elif verdict is Verdict.SECRET:
                        self.held_back.append(rel)

    def _names(self, entries: list[os.DirEntry[str]], d_rel: str
               ) -> Iterable[tuple[os.DirEntry[str], str, str]]:
        """(entry, NFC name, reason-if-unsafe) for each entry; collisions are problems."""
        out: list[tuple[os.DirEntry[str], str, str]] = []
        changed = False
        for entry in entries:
            raw = entry.name
            try:
                name = check_component(raw)
                bad = ""
            except UnsafePath as exc:
                name = raw.encode("utf-8", "backslashreplace").decode("utf-8")
                bad = exc.reason
            changed = changed or name != raw
            out.append((entry, name, bad))
        if not (changed or self.fold_case):
            return out
        seen: dict[str, int] = {}
        for _, name, _ in out:
            key = name.casefold() if self.fold_case else name
            seen[key] = seen.get(key, 0) + 1
        kept = []
        for entry, name, bad in out:
            key = name.casefold() if self.fold_case else name
            if seen[key] > 1:
                self.problem(d_rel + name, "name-collision",
                             "several names here are the same after Unicode normalisation"
                             + (" or case folding" if self.fold_case else ""))
            else:
                kept.append((entry, name, bad))
        return kept

    # -- single entries ---------------------------------------------------------------
    def link(self, abs_path: str, rel: str, bad: str) -> None:
        if bad:
            self.problem(rel, "unsafe-name", bad)
            return
        self.problem(rel, "symlink", "symbolic links are not followed or uploaded")

    def hash_file(self, abs_path: str, rel: str, *, nofollow: bool) -> None:
        """Hash ``abs_path`` into ``files[rel]`` with the size/mtime the digest belongs to."""
        flags = _OPEN_FLAGS | (os.O_NOFOLLOW if nofollow else 0)
        try:
            fd = os.open(abs_path, flags)
        except FileNotFoundError:
            return  # deleted since listed
        except OSError as exc:
            self.problem(rel, "unreadable", f"cannot read file: {exc.strerror}")
            return
        self.opened += 1
        try:
            first = os.fstat(fd)
            if (self.defer is not None and rel not in self.base
                    and st_mod.S_ISREG(first.st_mode) and self.defer(rel, first.st_size)):
                self.files[rel] = LocalFile(rel, first.st_size, first.st_mtime_ns, UNHASHED)
                return
            for _ in range(HASH_ATTEMPTS):
                before = os.fstat(fd)
                if not st_mod.S_ISREG(before.st_mode):
                    return  # replaced by something that is not a regular file
                os.lseek(fd, 0, os.SEEK_SET)
                digest, count = sha256_fd(fd, buffer=self.buffer)
                after = os.fstat(fd)
                self.hashed += 1
                if (before.st_size == after.st_size == count
                        and before.st_mtime_ns == after.st_mtime_ns):
                    self.files[rel] = LocalFile(rel, count, after.st_mtime_ns, digest)
                    return
            self.problem(rel, "changing", "file kept changing while it was read; will retry")
        except OSError as exc:
            self.problem(rel, "unreadable", f"cannot read file: {exc.strerror}")
        finally:
            os.close(fd)

    def target(self, rel: str) -> None:
        """Rescan one relative path (file or folder, possibly gone) for a targeted scan."""
        parts = rel.split("/")
        cur, cur_rel = self.root, ""
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            found = self._lookup(cur, part)
            if found is None:
                return  # gone: absent
            cur, s = found
            cur_rel = cur_rel + "/" + part if cur_rel else part
            if st_mod.S_ISLNK(s.st_mode):
                if self.rules.classify(cur_rel, not last) is Verdict.KEEP:
                    self.link(cur, cur_rel, "")
                return
            if st_mod.S_ISDIR(s.st_mode):
                self.folders.add(cur_rel)
                verdict = self.rules.classify(cur_rel, True, ancestors=False)
                if verdict is Verdict.SECRET:
                    self.held_back.append(cur_rel + "/")
                if verdict is not Verdict.KEEP:
                    return
                if last:
                    self.walk(cur, cur_rel + "/")
                continue
            if not last or not st_mod.S_ISREG(s.st_mode):
                return  # a file where a folder was expected, or a special file
            verdict = self.rules.classify(cur_rel, False, ancestors=False)
            if verdict is Verdict.SECRET:
                self.held_back.append(cur_rel)
            elif verdict is Verdict.KEEP:
                b = self.base.get(cur_rel)
                if b is not None and b.size == s.st_size and b.mtime_ns == s.st_mtime_ns:
                    self.files[cur_rel] = LocalFile(cur_rel, s.st_size, s.st_mtime_ns, b.sha256)
                else:
                    self.hash_file(cur, cur_rel, nofollow=True)

    @staticmethod
    def _lookup(folder: str, name: str) -> tuple[str, os.stat_result] | None:
        """Find ``name`` (NFC) in ``folder``: directly, else by listing (NFD on disk)."""
        path = os.path.join(folder, name)
        try:
            return path, os.lstat(path)
        except FileNotFoundError:
            pass
        except OSError:
            return None
        try:
            found = nfc_match(os.listdir(folder), name)
            if found is None:
                return None
            path = os.path.join(folder, found)
            return path, os.lstat(path)
        except OSError:
            return None


def _root_state(root: str) -> RootState:
    try:
        s = os.stat(root)
    except FileNotFoundError:
        return RootState.MISSING
    except OSError:
        return RootState.UNREADABLE
    if not st_mod.S_ISDIR(s.st_mode):
        return RootState.NOT_A_DIRECTORY
    try:
        with os.scandir(root):
            pass
    except OSError:
        return RootState.UNREADABLE
    return RootState.OK


def _scope(only: Iterable[str], problems: list[Problem]) -> tuple[str, ...]:
    wanted: set[str] = set()
    for raw in only:
        try:
            wanted.add(normalize_relpath(raw.strip("/")))
        except UnsafePath as exc:
            problems.append(Problem(raw, "unsafe-name", exc.reason))
    return tuple(sorted(p for p in wanted if not is_under(p.rpartition("/")[0], wanted)))


def scan(root: os.PathLike[str] | str, rules: IgnoreRules, base: Mapping[str, BaseEntry], *,
         only: Iterable[str] | None = None, case_insensitive: bool | None = None,
         defer: Callable[[str, int], bool] | None = None) -> ScanResult:
    """Describe the syncable files under ``root``.

    ``defer(rel, size)``: for a file with no base, True leaves it unhashed (``UNHASHED``:
    its digest will come from the read that uploads it); asked before reading it.

    ``only``: rescan just these relative paths (files or folders, possibly deleted); the
    result's ``scope`` lists them and ``covers()`` answers only inside it.
    ``case_insensitive``: ``None`` detects it from the root's own name.
    """
    started_ns = time.time_ns()
    root_s = os.fspath(root)
    state = _root_state(root_s)
    problems: list[Problem] = []
    scope = None if only is None else _scope(only, problems)
    if state != RootState.OK:
        return ScanResult({}, problems, 0, [], state, scope, started_ns=started_ns)
    fold = detect_case_insensitive(root_s) if case_insensitive is None else case_insensitive
    run = _Scan(root_s, rules, base, fold, defer)
    run.problems = problems
    if scope is None:
        run.walk(root_s, "")
    else:
        for rel in scope:
            run.target(rel)
    return ScanResult(run.files, run.problems, run.hashed, run.held_back, RootState.OK, scope,
                      run.incomplete, run.temporaries, run.folders, started_ns, run.opened)
