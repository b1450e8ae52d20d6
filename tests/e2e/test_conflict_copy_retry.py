"""A conflict copy that cannot be saved yet is tried again alone: the local version it
stands beside was uploaded once, and is never uploaded again for it.

A conflict uploads the local version and saves the assistant's beside it as a copy
(SYNC_SEMANTICS.md "Conflict"). When the copy fails (its folder cannot be written, or its
download fails), the assistant's object stays undecided so that the next run saves it.
That run used to take the path for a conflict again and upload the unchanged local file
once more, every run until the copy could be saved: a whole upload per sync and one more
object left in the container each time.

Real CLI, real local backend over HTTP, real files. The folder is made unwritable for real
(``chattr +i`` as root, whom permission bits do not stop; else ``chmod``); the failed
download is the backend's fault injection.
"""

from __future__ import annotations

import os
import subprocess as sp
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.backend import add_assistant_file, clear_faults, inject_fault
from support.scenario import World

LOCAL, THEIRS = "the user's edit\n", "the assistant's rewrite, longer\n"


@contextmanager
def _unwritable(folder: Path) -> Iterator[None]:
    if os.geteuid() == 0:
        sp.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            sp.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def _conflict(world: World, *, later: bool = True) -> str:
    """Both sides changed ``a/report.csv``; the listing gives the assistant's size, so
    telling the versions apart reads neither (the only download is the copy's). ``later``:
    the sync comes a moment (a second or more) after the assistant's write. Returns the
    id of the assistant's object."""
    world.write({"a/report.csv": "v1\n"})
    assert world.sync().code == 0
    world.age()
    world.write({"a/report.csv": LOCAL})
    theirs = add_assistant_file(world.server, world.cid, world.sandbox_path("a/report.csv"),
                                THEIRS.encode(), record_bytes=True)
    if later:
        world.server.advance_clock(2)
    return str(theirs["id"])


def _while_the_copy_fails(world: World, *, uploads_again: int = 0) -> None:
    """Runs while the copy cannot be saved, a moment apart: the first uploads the local
    version; the others upload nothing and leave nothing more (but ``uploads_again``), and
    each says what is wrong."""
    first = world.sync()
    assert first.m["bytes_up"] == len(LOCAL)
    assert [p["path"] for p in first.m["problems"]] == ["a/report.csv"]
    objects, again = len(world.objects()), 0
    for _ in range(3):
        world.server.advance_clock(2)
        run = world.sync()
        assert run.code == first.code != 0
        assert [p["path"] for p in run.m["problems"]] == ["a/report.csv"]
        again += run.m["uploaded"]
        assert again <= uploads_again, run.m
        assert len(world.objects()) == objects + again
    assert run.m["uploaded"] == 0
    assert world.remote() == {"a/report.csv": LOCAL}


def _once_it_can_be_saved(world: World) -> None:
    done = world.sync()
    assert done.code == 0 and done.m["problems"] == [], done.m
    assert done.m["uploaded"] == 0 and done.m["conflicts"] == 1
    copies = {k: v for k, v in world.local().items() if k != "a/report.csv"}
    assert list(copies.values()) == [THEIRS]
    assert world.local()["a/report.csv"] == LOCAL
    assert world.remote() == {"a/report.csv": LOCAL}
    assert world.sync().counts == {"uploaded": 0, "downloaded": 0, "deleted_remote": 0,
                                   "deleted_local": 0, "conflicts": 0}


def test_a_conflict_copy_in_an_unwritable_folder_is_retried_without_uploading_again(
        world: World) -> None:
    _conflict(world)
    with _unwritable(world.root / "a"):
        _while_the_copy_fails(world)
    _once_it_can_be_saved(world)


def test_a_conflict_copy_whose_download_fails_is_retried_without_uploading_again(
        world: World) -> None:
    theirs = _conflict(world)
    inject_fault(world.server, method="GET", path_regex=f"/files/{theirs}/content",
                 status=500, times=1000)
    try:
        _while_the_copy_fails(world)
    finally:
        clear_faults(world.server)
    _once_it_can_be_saved(world)


def test_a_conflict_in_the_second_of_the_assistants_write_uploads_again_once_at_most(
        world: World) -> None:
    """Our upload stamped in the second of the assistant's write cannot be ordered after
    it (``plan.remote_view``: ambiguous), so the next run uploads the local version once
    more to be the later write; from then on the copy is tried alone."""
    _conflict(world, later=False)
    with _unwritable(world.root / "a"):
        _while_the_copy_fails(world, uploads_again=1)
    _once_it_can_be_saved(world)


def test_a_file_deleted_while_its_conflict_copy_is_owed_loses_neither_version(
        world: World) -> None:
    """The user deletes the file while the assistant's side of its conflict could not be
    saved yet. Deleting our upload takes the assistant's object, now stamped before it,
    with it (the sandbox would show it again), so that waits for its copy: until the copy
    is saved nothing remote is deleted, and then the assistant's version is in the folder
    and the user's deletion holds on both sides."""
    theirs = _conflict(world)
    inject_fault(world.server, method="GET", path_regex=f"/files/{theirs}/content",
                 status=500, times=1000)
    try:
        assert world.sync().m["bytes_up"] == len(LOCAL)
        (world.root / "a/report.csv").unlink()
        world.server.advance_clock(2)
        run = world.sync()
        assert [p["path"] for p in run.m["problems"]] == ["a/report.csv"]
        assert theirs in {o["id"] for o in world.objects()}
        assert world.remote() == {"a/report.csv": LOCAL}
    finally:
        clear_faults(world.server)
    world.server.advance_clock(2)
    done = world.sync()
    assert done.code == 0 and done.m["problems"] == [], done.m
    assert list(world.local().values()) == [THEIRS]
    assert "a/report.csv" not in world.local()
    assert world.remote() == {}
    assert world.sync().counts == {"uploaded": 0, "downloaded": 0, "deleted_remote": 0,
                                   "deleted_local": 0, "conflicts": 0}
