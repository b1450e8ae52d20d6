"""No ``.containersync-tmp-*`` file survives the next run, wherever a download was
interrupted (issue 7.7), and only a run that holds the mapping's lock removes them; a dry
run never does.

A download writes ``.containersync-tmp-<random>`` in the target's folder and renames it
over the target. A kill -9 leaves it behind; the download intent used to be the only thing
pointing the next run at it, one folder per intent. These temporaries stand for downloads
whose intent is gone (an older index, a rebuilt one, a crash before the intent of a later
version of the code was written): the next run must find them by itself.
"""

from __future__ import annotations

from support.scenario import World, counts

TEMPS = [".containersync-tmp-0123456789abcdef", "a/.containersync-tmp-feedfacecafebeef",
         "a/b/.containersync-tmp-00ff00ff00ff00ff", "new/.containersync-tmp-1111222233334444"]


def test_temporaries_anywhere_go_with_the_next_run_never_with_a_dry_run(world: World) -> None:
    world.write({"top.txt": "t", "a/x.txt": "x", "a/b/y.txt": "y"})
    assert world.sync().code == 0
    (world.root / "new").mkdir()
    world.write({t: "half a download" for t in TEMPS})

    dry = world.sync("--dry-run")
    assert dry.code == 0
    assert all((world.root / t).exists() for t in TEMPS)  # a dry run writes nothing

    done = world.sync()
    assert (done.code, done.counts) == (0, counts())
    assert not [t for t in TEMPS if (world.root / t).exists()]
    assert world.local() == {"top.txt": "t", "a/x.txt": "x", "a/b/y.txt": "y"}
    assert world.remote() == world.local()
