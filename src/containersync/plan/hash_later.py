"""Which new files may skip the scan's hash: their digest then comes from their upload.

Hashing a large new file and then uploading it reads it twice; the digest is only needed
before the upload when the planner compares it with something. A file may be left
unhashed (``model.entry.UNHASHED``) when all of these hold:

- it is at least ``threshold`` bytes (small files cost nothing to hash first);
- it has no base (the scanner checks: a tracked file is compared with its base);
- no object of the remote view maps to its path (current, ambiguous, tied, seen, foreign
  or garbage): a rival is compared by content (same content: no conflict);
- no base entry has its size: a base path that vanished could be its old name, and a
  rename is recognised by equal digests (the deletion rail does not count renames).

Everything else is hashed first, as before. Pure: a predicate over the view and the base.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from containersync.model.entry import BaseEntry, RemoteView

#: files at least this large are hashed while uploading when nothing needs them sooner
HASH_LATER_BYTES = 8 * 1024 * 1024


def hash_later(view: RemoteView, base: Mapping[str, BaseEntry], *,
               threshold: int = HASH_LATER_BYTES) -> Callable[[str, int], bool]:
    """``defer(rel, size)`` for ``scan``: True when the file's digest can wait."""
    # the view's own maps are asked, not copied into one set: a set of every path with an
    # object (every synced file) was held through the whole scan (issue 9)
    others = {r.path for r in (*view.foreign, *view.garbage)}
    sizes = {b.size for b in base.values() if b.size >= threshold}

    def rival(rel: str) -> bool:
        return (rel in view.files or rel in view.ambiguous or rel in view.tied
                or rel in view.seen or rel in others)

    def defer(rel: str, size: int) -> bool:
        return (size >= threshold and size not in sizes and rel not in base
                and not rival(rel))

    return defer
