"""Look before creating again: find what an ambiguous create or upload left behind.

Creating a container and uploading a file are not idempotent (the API has no idempotency
key), so after a failure that the server may have acted on (a 5xx, a broken connection, a
read timeout once the request was sent) the client never simply repeats the request. It
first looks for the object that attempt may have made, and adopts it if found:

Container (``create_container``)
  Before the first attempt the client records the ids and ``created_at`` of the existing
  containers with the same name. After an ambiguous failure it lists that name again; a
  container whose id was not recorded and whose server ``created_at`` is not older than
  the newest recorded one is the attempt's, and is adopted (the oldest such one, should
  there be several). Only server timestamps are compared, so local clock skew is harmless.

File (``upload_file``)
  The newest ``scan_limit`` objects of the container (newest first) are searched for one
  that (1) is a ``user`` upload, (2) has ``bytes`` equal to the local file's size, (3) sits
  at the requested ``path`` when one was sent, or else ends in ``-<filename>`` or
  ``/<filename>`` (servers that choose the path themselves), (4) was not already handed
  out by this client for that container, and (5) has the sha256 the attempt may have sent
  (checked by downloading it): the one the caller planned to send (``expect_sha256``: the
  file may change between the failed attempt and this look, and the attempt sent what was
  there before) or the local file's content now. Step 5 makes adoption independent of
  clocks: an object with other content is never mistaken for ours, and adopting an object
  with identical content at the same path is harmless.

If nothing is found the request is retried (within the retry budget). The residual risk:
two local files with the same name and identical content, uploaded to a server that
ignores ``path``, can be confused if the client process restarted in between; the engine
avoids it by giving each upload a filename unique to its local path.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping
from itertools import islice
from pathlib import Path

from containersync.api.wire import Container, ContainerFile

CHUNK = 1024 * 1024


def file_sha256(path: Path) -> str:
    """The sha256 of a local file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def find_created_container(candidates: Iterable[Container], name: str,
                           before: Mapping[str, int]) -> Container | None:
    """The container an ambiguous create made, given the same-name ids seen ``before``."""
    floor = max(before.values(), default=None)
    new = [c for c in candidates
           if c.name == name and c.id not in before
           and (floor is None or c.created_at >= floor)]
    if not new:
        return None
    return min(new, key=lambda c: (c.created_at, c.id))


def _path_matches(obj: ContainerFile, filename: str, remote_path: str | None) -> bool:
    if remote_path is not None and obj.path == remote_path:
        return True
    return obj.path.endswith("-" + filename) or obj.path.endswith("/" + filename)


def find_uploaded_file(newest_first: Iterable[ContainerFile], *, size: int, filename: str,
                       remote_path: str | None, sent_sha256: Callable[[], Collection[str]],
                       remote_sha256: Callable[[str], str], known_ids: frozenset[str],
                       scan_limit: int = 200) -> ContainerFile | None:
    """The object an ambiguous upload made, or ``None`` (rules in the module docstring).

    ``sent_sha256``: the digests the failed attempt may have sent (asked once, lazily)."""
    want: Collection[str] | None = None
    for obj in islice(newest_first, scan_limit):
        if (obj.source != "user" or obj.bytes != size or obj.id in known_ids
                or not _path_matches(obj, filename, remote_path)):
            continue
        if want is None:
            want = sent_sha256()
        if remote_sha256(obj.id) in want:
            return obj
    return None


def sent_digests(source: Path, expect_sha256: str | None) -> frozenset[str]:
    """What an upload of ``source`` may have sent: the planned digest and the content now
    (a file gone or unreadable since contributes nothing)."""
    found = {expect_sha256} if expect_sha256 else set()
    with contextlib.suppress(OSError):
        found.add(file_sha256(source))
    return frozenset(found)
