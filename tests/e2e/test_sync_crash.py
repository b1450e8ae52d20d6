"""Crash safety of ``containersync sync`` while it pushes: SIGKILL during the initial
container creation and after uploads landed but before they were recorded, then run again.

See ``support.crash_harness`` for how the kill point is placed and what "converged" checks.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from containersync.plan.hash_later import HASH_LATER_BYTES
from support.crash_harness import (
    KillPoint,
    Rig,
    assert_converged,
    containers_named,
    pushed_tree,
    write_tree,
)

pytestmark = pytest.mark.slow


def test_kill_after_container_created_before_recorded(
        rig_factory: Callable[..., Rig], assign_paths: bool) -> None:
    rig = rig_factory(assign_paths=assign_paths)
    files = pushed_tree(60)
    write_tree(rig.root, files)
    rig.sync_killed_at(KillPoint(rig.server, "create_container", 1))
    assert len(containers_named(rig)) == 1  # made, never recorded
    assert_converged(rig, files, honoured=not assign_paths)


def test_kill_before_container_create_lands(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory()
    files = pushed_tree(20)
    write_tree(rig.root, files)
    rig.sync_killed_at(KillPoint(rig.server, "create_container", 1, after=False))
    assert containers_named(rig) == []
    assert_converged(rig, files, honoured=True)


@pytest.mark.parametrize("nth", [1, 100])
def test_kill_after_uploads_landed_before_recorded(
        rig_factory: Callable[..., Rig], assign_paths: bool, nth: int) -> None:
    rig = rig_factory(assign_paths=assign_paths)
    files = pushed_tree(200)
    write_tree(rig.root, files)
    rig.sync_killed_at(KillPoint(rig.server, "upload_container_file", nth))
    with rig.index() as index:
        assert index.intents(rig.key), "the kill left no upload to settle"
    assert_converged(rig, files, honoured=not assign_paths)


def test_two_kills_in_a_row_then_converges(rig_factory: Callable[..., Rig],
                                           assign_paths: bool) -> None:
    rig = rig_factory(assign_paths=assign_paths)
    files = pushed_tree(120)
    write_tree(rig.root, files)
    rig.sync_killed_at(KillPoint(rig.server, "upload_container_file", 40))
    # the second run is killed while it settles or uploads what is left
    rig.sync_killed_at(KillPoint(rig.server, "upload_container_file", 30))
    assert_converged(rig, files, honoured=not assign_paths)


def test_kill_after_a_large_unhashed_upload_landed_before_recorded(
        rig_factory: Callable[..., Rig], assign_paths: bool) -> None:
    """A large new file is hashed by its upload (its intent has no digest): settling
    hashes the local file to prove the orphan ours, adopts it, and uploads nothing twice."""
    rig = rig_factory(assign_paths=assign_paths)
    files = {"big.bin": os.urandom(HASH_LATER_BYTES + 1), "small.txt": b"small\n"}
    write_tree(rig.root, files)
    rig.sync_killed_at(KillPoint(rig.server, "upload_container_file", 1,
                                 match=lambda *a, **k: k.get("filename") == "big.bin"))
    with rig.index() as index:
        [intent] = [i for i in index.intents(rig.key) if i.path == "big.bin"]
        assert not intent.sha256  # the digest was to come from the upload
    assert_converged(rig, files, honoured=not assign_paths)
