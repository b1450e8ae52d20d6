"""``follow_internal_symlinks`` was documented but never reached the scanner (issue 8.10).
Following links would need every local read and write (upload re-check, downloads over a
link, the trash) to treat a followed link as its target; it is removed instead: ``false``
(what older example configs say) is still accepted, ``true`` is refused with exit 78, and
a link is never uploaded."""

from __future__ import annotations

import os

from support.scenario import World


def test_following_links_is_refused_and_a_link_is_never_uploaded(world: World) -> None:
    world.configure(follow_internal_symlinks=True)
    refused = world.sync(subprocess=True, json_out=False)
    assert refused.code == 78
    assert "follow_internal_symlinks is not supported" in refused.err
    assert not world.index_file.exists()

    world.configure(follow_internal_symlinks=False)
    world.write({"real.txt": "the target"})
    os.symlink("real.txt", world.root / "link.txt")
    result = world.sync()
    assert result.code == 0
    assert world.remote() == {"real.txt": "the target"}
    assert [p["path"] for p in result.m["problems"]] == ["link.txt"]
