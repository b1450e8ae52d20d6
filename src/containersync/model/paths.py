"""Relative paths: the one safe, canonical spelling of a synced path, and conflict-copy names.

Pure: no filesystem access. Every path that crosses a boundary (a remote object's path, a
name found by the scanner, a path an action is about to write) goes through
``normalize_relpath`` or ``check_component`` first.

Invariants of a normalized relative path:
- NFC, POSIX ``/`` separators, no leading or trailing ``/``, no empty, ``.`` or ``..`` segment;
- every segment is valid UTF-8 (no lone surrogates), at most 255 bytes UTF-8, and holds no
  control character (Unicode category ``Cc``: C0, DEL, C1 — this includes NUL, tab and
  **newline**) and no backslash;
- the whole path is at most 4096 bytes UTF-8.

Choices (documented in the README):
- Newline and tab are rejected, on both sides: they are control characters, they break
  logs and status lines, and remote paths are written by model code. (rclone's
  ``test_extended_filenames`` only keeps such names by re-encoding ``\\n`` as a glyph; we do
  not translate names.) Spaces, leading/trailing spaces and any printable Unicode are fine.
- Backslash is rejected: it is a separator on Windows and a favourite of escape attempts.
- Conflict copies insert ``.conflict-<UTC YYYYmmdd-HHMMSS>`` before the last extension;
  ``.tar.<x>`` counts as one extension (``a.tar.gz`` -> ``a.conflict-....tar.gz``); a name
  without an extension (including dotfiles such as ``.bashrc``) gets it appended.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Set
from datetime import UTC, datetime

from containersync.errors import UnsafePath

MAX_COMPONENT_BYTES = 255
MAX_PATH_BYTES = 4096

CONFLICT_MARK = ".conflict-"
_STAMP_FORMAT = "%Y%m%d-%H%M%S"
# Any Cc character (C0, DEL, C1), a backslash, or a slash (inside one segment).
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\\/]")
_CONFLICT_RE = re.compile(r"\.conflict-(\d{8}-\d{6})(?:-(\d+))?(?=\.|$)")
_TAR_COMPOUND = re.compile(r"\.tar\.[A-Za-z0-9]{1,8}$")


def check_component(name: str) -> str:
    """Return the NFC form of one path segment, or raise ``UnsafePath`` saying why not."""
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise UnsafePath(name.encode("utf-8", "backslashreplace").decode(),
                             "name is not valid UTF-8") from None
        name = unicodedata.normalize("NFC", name)
    if name in ("", ".", ".."):
        raise UnsafePath(name, "empty, '.' or '..' segment")
    bad = _BAD_CHARS.search(name)
    if bad is not None:
        what = {"\\": "backslash", "/": "slash"}.get(bad.group(),
                                                     f"control character {bad.group()!r}")
        raise UnsafePath(name, f"name contains a {what}")
    if len(name) > MAX_COMPONENT_BYTES // 4 and len(name.encode("utf-8")) > MAX_COMPONENT_BYTES:
        raise UnsafePath(name, f"name is longer than {MAX_COMPONENT_BYTES} bytes")
    return name


def normalize_relpath(p: str) -> str:
    """The canonical relative path for ``p``; raises ``UnsafePath`` for anything unsafe."""
    if not p:
        raise UnsafePath(p, "empty path")
    if p.startswith("/"):
        raise UnsafePath(p, "absolute path")
    try:
        parts = [check_component(part) for part in p.split("/")]
    except UnsafePath as exc:
        raise UnsafePath(p, exc.reason) from None
    out = "/".join(parts)
    if len(out) > MAX_PATH_BYTES // 4 and len(out.encode("utf-8")) > MAX_PATH_BYTES:
        raise UnsafePath(p, f"path is longer than {MAX_PATH_BYTES} bytes")
    return out


def _clean_root(remote_root: str) -> str:
    root = remote_root.rstrip("/")
    if not remote_root.startswith("/"):
        raise UnsafePath(remote_root, "remote root must be absolute")
    return root


def remote_to_local(remote_path: str, remote_root: str) -> str:
    """Map an absolute sandbox path under ``remote_root`` to a normalized relative path.

    Objects outside the root, the root itself, and any path that is not already in the
    canonical form below the root (``..``, ``//``, trailing ``/``, control characters) raise
    ``UnsafePath``: hostile paths are refused, never "fixed".
    """
    root = _clean_root(remote_root)
    prefix = root + "/"
    if not remote_path.startswith(prefix):
        raise UnsafePath(remote_path, f"outside the remote root {remote_root!r}")
    rest = remote_path[len(prefix):]
    if not rest:
        raise UnsafePath(remote_path, "is the remote root itself")
    return normalize_relpath(rest)


def local_to_remote(rel: str, remote_root: str) -> str:
    """The absolute sandbox path for the relative path ``rel``."""
    return _clean_root(remote_root) + "/" + normalize_relpath(rel)


def _split_ext(name: str) -> tuple[str, str]:
    tar = _TAR_COMPOUND.search(name)
    if tar is not None and tar.start() > 0:
        return name[: tar.start()], name[tar.start():]
    dot = name.rfind(".")
    if dot <= 0 or dot == len(name) - 1:
        return name, ""
    return name[:dot], name[dot:]


#: the bytes a conflict mark takes at most: ``.conflict-YYYYmmdd-HHMMSS`` and ``-NNNN``
_MARK_ROOM = len(CONFLICT_MARK) + 15 + 5


def _name_budget(head: str) -> int:
    """The bytes a name may take in folder ``head``: a segment's limit, or less when the
    folder's path leaves less of the whole path's."""
    if not head:
        return MAX_COMPONENT_BYTES
    return min(MAX_COMPONENT_BYTES, MAX_PATH_BYTES - len(head.encode("utf-8")) - 1)


def _copy_split(head: str, name: str) -> tuple[str, str]:
    """The stem and extension a conflict copy's mark goes between: an extension too long
    to leave room for the mark and a stem is no extension (the mark goes at the end)."""
    stem, ext = _split_ext(name)
    if len(ext.encode("utf-8")) + _MARK_ROOM >= _name_budget(head):
        return name, ""
    return stem, ext


def _fit(stem: str, tail: str, budget: int) -> str:
    """Shorten ``stem`` (by whole characters) until ``stem + tail`` fits in ``budget``."""
    room = budget - len(tail.encode("utf-8"))
    encoded = stem.encode("utf-8")
    if len(encoded) > room:
        stem = encoded[: max(room, 1)].decode("utf-8", "ignore")
    return stem + tail


def conflict_copy_name(rel: str, when: datetime, n: int = 0) -> str:
    """``dir/report.csv`` -> ``dir/report.conflict-20261123-101500.csv`` (UTC).

    ``n >= 2`` gives the uniquified form ``report.conflict-20261123-101500-2.csv``; picking
    ``n`` when a copy of that name exists is the caller's job. A stem too long for the
    255-byte limit of a name, or the 4096-byte limit of the path, is shortened so the mark
    always fits; an extension too long to leave room for it is kept in the stem. Raises
    ``UnsafePath`` only when the folder's path leaves no room for any copy's name.
    """
    rel = normalize_relpath(rel)
    if when.tzinfo is None:
        raise ValueError("conflict_copy_name needs an aware datetime")
    head, _, name = rel.rpartition("/")
    stem, ext = _copy_split(head, name)
    mark = CONFLICT_MARK + when.astimezone(UTC).strftime(_STAMP_FORMAT)
    if n >= 2:
        mark += f"-{n}"
    budget = _name_budget(head)
    new = _fit(stem, mark + ext, budget)
    if len(new.encode("utf-8")) > budget:
        raise UnsafePath(rel, "its folder's path leaves no room for a conflict copy's name")
    return f"{head}/{new}" if head else new


def is_conflict_copy(rel: str) -> bool:
    """True if the last segment of ``rel`` carries a conflict-copy marker."""
    name = rel.rpartition("/")[2]
    return CONFLICT_MARK in name and _CONFLICT_RE.search(name) is not None


def conflict_copies_of(rel: str, names: Iterable[str]) -> list[str]:
    """The conflict copies of ``rel`` among ``names`` (relative paths), oldest first.

    For "keep at most 10": everything but the last 10 of the result may go to the trash.
    """
    head, _, name = rel.rpartition("/")
    stem, ext = _copy_split(head, name)
    budget = _name_budget(head)
    found: list[tuple[str, int, str]] = []
    for other in names:
        ohead, _, oname = other.rpartition("/")
        if ohead != head:
            continue
        m = _CONFLICT_RE.search(oname)
        if m is None or oname[m.end():] != ext:
            continue
        ostem = oname[: m.start()]
        shortened = len(oname.encode("utf-8")) > budget - 4
        if ostem != stem and not (shortened and ostem and stem.startswith(ostem)):
            continue
        found.append((m.group(1), int(m.group(2) or 1), other))
    found.sort()
    return [other for _, _, other in found]


def is_under(rel: str, prefixes: Set[str]) -> bool:
    """True if ``rel`` equals one of ``prefixes`` or lies below one. Costs one set lookup
    per path segment, whatever the number of prefixes."""
    if rel in prefixes:
        return True
    cut = rel.rfind("/")
    while cut > 0:
        if rel[:cut] in prefixes:
            return True
        cut = rel.rfind("/", 0, cut)
    return False


def nfc_match(entries: Iterable[str], name: str) -> str | None:
    """The entry of a folder listing that the NFC name ``name`` stands for when it is
    stored in another normal form on disk (some tools write names decomposed)."""
    for entry in entries:
        if entry != name and unicodedata.normalize("NFC", entry) == name:
            return entry
    return None
