"""The daemon's incremental listing reads newest first and stops at the first object an
earlier listing returned. An upload of ours must not count as listed: the assistant may
write a file after our listing and before our upload lands, and a listing that stopped at
our upload would never show it (until the next full listing, which then took it for a
change made after everything since: the soak's seed 9 rolled a file back that way).

The assistant's write between our plan and our upload is made by the cycle's ``on_plan``
hook, so it lands exactly in that window; the backend's clock is moved a second so our
upload is stamped strictly later, as it would be on a slow link.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from test_sync_knowledge import stamp

from containersync.config import parse_config
from containersync.daemon.cycles import new_remote_paths
from containersync.engine.context import MappingContext
from containersync.engine.cycle import CycleOptions, run_cycle
from containersync.engine.session import open_session
from containersync.model.plan import Plan
from support.backend import add_assistant_file
from support.scenario import KEY_ENV, World


@contextmanager
def mapping(world: World) -> Iterator[MappingContext]:
    cfg = parse_config(world.config.read_text(), file=world.config, env={})
    session = open_session(cfg, env={KEY_ENV: "sk-scenario-unused"})
    try:
        yield session.context(cfg.mappings[0], session.open_index())
    finally:
        session.close()


def test_a_write_landing_before_our_upload_is_found_by_the_next_pull_check(
        world: World) -> None:
    world.write({"q.txt": "v1"})
    assert world.sync().code == 0
    world.write({"q.txt": "mine, edited"})

    def assistant_writes(_plan: Plan) -> None:
        add_assistant_file(world.server, world.cid, world.sandbox_path("made.txt"),
                           b"by the sandbox")
        world.server.advance_clock(1)  # our upload lands strictly later

    with mapping(world) as ctx:
        now = lambda: datetime.now(UTC)  # noqa: E731
        report = run_cycle(ctx, CycleOptions(only=["q.txt"], listing="incremental",
                                             on_plan=assistant_writes), now=now)
        assert report.counts.get("uploaded") == 1
        found = new_remote_paths(ctx)  # what the daemon asks every few seconds
        assert found is not None and "made.txt" in found[0], found
        run_cycle(ctx, CycleOptions(only=found[0], listing="incremental"), now=now)
    assert world.local()["made.txt"] == "by the sandbox"
    assert world.local()["q.txt"] == "mine, edited"


def test_our_upload_that_a_listing_does_not_show_is_not_taken_for_deleted(world: World) -> None:
    """The live service orders same-second objects its own way: our upload may sort below
    an object a listing already returned, so the next incremental listing stops before it.
    A targeted cycle must still see the upload (cached as not listed), not take the file
    for deleted in the sandbox and move the user's file to the trash. The backend is made
    to report our upload a second earlier than the assistant's file (``stamp``)."""
    world.write({"p.txt": "v1"})
    assert world.sync().code == 0
    now = lambda: datetime.now(UTC)  # noqa: E731
    with mapping(world) as ctx:
        made = add_assistant_file(world.server, world.cid, world.sandbox_path("x.txt"), b"x")
        run_cycle(ctx, CycleOptions(only=["x.txt"], listing="incremental"), now=now)
        world.write({"p.txt": "v2, mine"})
        up = run_cycle(ctx, CycleOptions(only=["p.txt"], listing="incremental"), now=now)
        assert up.counts.get("uploaded") == 1
        ours = next(o for o in world.objects() if o["source"] == "user"
                    and o["path"].endswith("p.txt"))
        stamp(world.server, ours["id"], made["created_at"] - 1)
        os.utime(world.root / "p.txt")  # the user saves it again, unchanged
        again = run_cycle(ctx, CycleOptions(only=["p.txt"], listing="incremental"), now=now)
        assert again.counts.get("deleted_local", 0) == 0, again.to_dict()
    assert world.local()["p.txt"] == "v2, mine"
    assert world.remote()["p.txt"] == "v2, mine"


def test_a_pull_check_reads_past_our_uploads_once(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Our uploads are cached unlisted as they land, so the next pull check reads past
    them (to what the sandbox wrote just before they landed, above). Once a check has
    listed down through them to a listed object, it saw every object between: the next
    check reads only what is newer. Before, an idle daemon's every check (each 5 s) read
    all of its recent uploads again until the next full listing, ten minutes later: the
    idle CPU grew with how much had been uploaded."""
    world.write({f"d/f{i:03d}.txt": f"file {i}" for i in range(150)})
    assert world.sync().code == 0
    with mapping(world) as ctx:
        read: list[str] = []
        list_files = ctx.client.list_files

        def counted(*args: Any, **kwargs: Any) -> Iterator[Any]:  # an instrument: calls through
            for f in list_files(*args, **kwargs):
                read.append(f.id)
                yield f

        monkeypatch.setattr(ctx.client, "list_files", counted)
        first = new_remote_paths(ctx)
        assert first is not None and first.news == 0
        assert len(read) >= 150  # our uploads, walked past once
        read.clear()
        again = new_remote_paths(ctx)
        assert again is not None and again.news == 0
        assert len(read) == 1, f"the second check read {len(read)} objects"  # the newest
        add_assistant_file(world.server, world.cid, world.sandbox_path("made.txt"), b"new")
        read.clear()
        found = new_remote_paths(ctx)
        assert found is not None and found.paths == ["made.txt"] and found.news == 1
        assert len(read) <= 3  # the new one, then a run of two down to the newest known
