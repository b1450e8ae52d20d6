"""A targeted cycle (the daemon's, for a few dirty paths) that finds the container expired
re-seeds the whole tree into the new container, not just the paths it was asked about."""

from __future__ import annotations

from datetime import UTC, datetime

from containersync.engine.context import MappingContext
from containersync.engine.cycle import CycleOptions, run_cycle
from containersync.localapi.embedded import RunningServer


def now() -> datetime:
    return datetime.now(UTC)


def test_targeted_cycle_on_an_expired_container_reseeds_everything(
        ctx: MappingContext, local_server: RunningServer) -> None:
    root = ctx.settings.local_root
    for name in ("a.txt", "b.txt", "sub/c.txt"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    first = run_cycle(ctx, CycleOptions(), now=now)
    assert first.counts == {"uploaded": 3} and first.generation == 1

    local_server.advance_clock(21 * 60)  # past the default 20-minute window
    (root / "a.txt").write_text("edited")
    again = run_cycle(ctx, CycleOptions(only=["a.txt"], listing="incremental"), now=now)

    assert (again.generation, again.new_generation) == (2, True)
    assert again.counts == {"uploaded": 3}
    listed = sorted(f["path"] for f in local_server.store.list_container_files(
        again.container_id))
    assert listed == ["/mnt/data/a.txt", "/mnt/data/b.txt", "/mnt/data/sub/c.txt"]
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == ["a.txt", "b.txt", "c.txt"]


def test_targeted_cycle_counts_deletions_against_the_whole_tree(
        ctx: MappingContext, local_server: RunningServer) -> None:
    """Two files deleted among ten, seen by a cycle for just those two paths, are two of
    ten tracked files (not two of two): no safety halt."""
    root = ctx.settings.local_root
    for i in range(10):
        (root / f"f{i}.txt").write_text(str(i))
    assert run_cycle(ctx, CycleOptions(), now=now).counts == {"uploaded": 10}
    (root / "f1.txt").unlink()
    (root / "f2.txt").unlink()
    report = run_cycle(ctx, CycleOptions(only=["f1.txt", "f2.txt"], listing="incremental"),
                       now=now)
    assert report.counts == {"deleted_remote": 2}
    assert len(local_server.store.list_container_files(report.container_id)) == 8
