"""Two folders under one mapping name share a container (issue 7.8: a new identity merges
with what the container holds). A file both hold with the same content is recorded by the
second as in sync with the first's upload (the rebuild adopts it as its own). Neither
folder may then lose that file because the *other* folder edited it: that would delete on
the strength of another folder's state."""

from __future__ import annotations

import pytest
from test_sync_identity import FIRST, _second, _sync

from support.backend import clear_faults, inject_fault
from support.scenario import World


@pytest.mark.xfail(strict=True, reason=(
    "the rebuild adopts another folder's upload of the same content as its own, so its "
    "edit deletes that object, and the first folder takes the deletion for the sandbox's "
    "and trashes its copy (the new upload is someone else's: never pulled)"))
def test_an_edit_in_one_folder_does_not_trash_the_file_in_the_other(world: World) -> None:
    world.write(FIRST)
    assert world.sync().code == 0
    theirs = {"x.txt": "second project x", "a.txt": FIRST["a.txt"]}
    cfg, root = _second(world, theirs)
    assert _sync(cfg).code == 0  # records a.txt against the first folder's object
    assert world.sync().code == 0
    # the second folder edits a.txt; its upload lands, the delete of the object it replaced
    # (the first folder's) fails for now
    (root / "a.txt").write_text("second project a, edited")
    inject_fault(world.server, method="DELETE", path_regex=r"/files/", status=503, times=50,
                 retry_after_ms=0)
    _sync(cfg)
    assert world.sync().code == 0  # the first folder sees the new upload (someone else's)
    clear_faults(world.server)
    assert _sync(cfg).code == 0  # the old object is deleted now, as the second's garbage
    world.sync()
    assert world.local().get("a.txt") == FIRST["a.txt"], \
        "the first folder lost a.txt because the second folder edited its own copy"
