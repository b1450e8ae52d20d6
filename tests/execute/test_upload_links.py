"""An upload never sends what a symbolic link points to, whenever the link appears.

The scanner never describes a link, and the executor checks the file just before an
upload; but the upload then opened the file by its path, following links: a file (or a
folder above it) replaced by a link between that check and the open sent the link's
target to the sandbox: a file outside the root, a secret (SYNC_SEMANTICS.md "Paths": links
are not followed and not uploaded). Tools do replace files and folders by links (a
checkout, ``stow``, a build tree), so the moment is not only an attacker's.

Real executor, real local backend over HTTP, real files. ``tests.support.interleave`` puts
the swap before the k-th audited operation of the transfer threads, for every k while the
upload runs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from containersync.api.pacing import Pacer
from containersync.model.plan import Upload
from support.executing import Collect, Sandbox, executor, stat_local
from support.interleave import Interleave

SECRET = b"aws_secret_access_key = not-for-any-sandbox\n"
PUBLIC = b"notes the user meant to send\n"[: len(SECRET)].ljust(len(SECRET), b".")
MOMENTS = 80


def _outside(tmp: Path, rel: str) -> Path:
    """A folder outside the root holding ``rel`` as a secret of the same size and mtime."""
    folder = tmp / "outside"
    target = folder / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(SECRET)
    os.utime(target, ns=(10**18, 10**18))
    return folder


def _sent_secret(box: Sandbox) -> bool:
    secret = hashlib.sha256(SECRET).hexdigest()
    return any(box.client.file_sha256(box.cid, f.id) == secret
               for f in box.client.list_files(box.cid))


def _every_moment(box: Sandbox, tmp: Path, rel_of: Callable[[int], str],
                  swap: Callable[[str], Callable[[], bool]]) -> int:
    root = box.root
    for k in range(1, MOMENTS):
        rel = rel_of(k)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(PUBLIC)
        os.utime(root / rel, ns=(10**18, 10**18))
        local = stat_local(root, rel)
        run = executor(box, tmp, pacer=Pacer(2, start=2))
        interleave = Interleave()
        interleave.arm(k, swap(rel), threads="transfer")
        collect = Collect()
        try:
            run.run([Upload(rel, local)], step=collect)
        finally:
            interleave.disarm()
        assert not _sent_secret(box), (
            f"a link made before audited operation {k} of the upload was followed: "
            f"{[(o.kind, o.problem) for o in collect.outcomes]}")
        if not interleave.fired:
            return k
    raise AssertionError(f"the upload still ran after {MOMENTS} operations")


def test_a_file_replaced_by_a_link_while_it_is_uploaded_is_never_followed(
        box: Sandbox, tmp_path: Path) -> None:
    root = box.root
    outside = _outside(tmp_path, "secret.txt")

    def swap(rel: str) -> Callable[[], bool]:
        def act() -> bool:
            (root / rel).unlink()
            (root / rel).symlink_to(outside / "secret.txt")
            return True
        return act

    assert _every_moment(box, tmp_path, lambda k: f"f{k}.txt", swap) > 2


def test_a_folder_replaced_by_a_link_while_a_file_in_it_is_uploaded_is_never_followed(
        box: Sandbox, tmp_path: Path) -> None:
    root = box.root

    def swap(rel: str) -> Callable[[], bool]:
        folder = rel.split("/")[0]
        outside = _outside(tmp_path / folder, rel.split("/", 1)[1])

        def act() -> bool:
            (root / folder).rename(tmp_path / f"{folder}-moved")
            (root / folder).symlink_to(outside, target_is_directory=True)
            return True
        return act

    assert _every_moment(box, tmp_path, lambda k: f"d{k}/f.txt", swap) > 2
