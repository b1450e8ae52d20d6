"""`containersync status` after a plain `sync` (no daemon): what the last cycle saw."""

from __future__ import annotations

import contextlib
import io
import json
import time
from datetime import datetime

from containersync import cli
from support.scenario import World


def status_json(world: World) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["status", "--config", str(world.config), "--json"]) == 0
    return json.loads(out.getvalue())["mappings"][0]


def test_status_shows_the_container_as_the_last_sync_saw_it(world: World) -> None:
    world.write({"a.txt": "a"})
    before = time.time()
    assert world.sync().code == 0
    shown = status_json(world)
    assert shown["daemon"]["running"] is False
    container = shown["container"]
    assert (container["id"], container["status"], container["generation"]) == (
        world.cid, "running", 1)
    # the default window is 20 minutes after the container was last active
    expires = datetime.fromisoformat(container["expires_at"].replace("Z", "+00:00")).timestamp()
    assert before + 19 * 60 <= expires <= time.time() + 20 * 60 + 1
    assert shown["last_push"] is not None and shown["pending_intents"] == 0


def test_last_pull_is_the_last_time_a_change_was_pulled(world: World) -> None:
    """docs/json.md: ``last_pull`` is "the last time a change was pulled"; a sync that only
    pushed (it still listed the container in full) leaves it empty. The daemon's state
    file uses the same definition (``model.kinds.pulled``)."""
    world.write({"a.txt": "a"})
    assert world.sync().code == 0
    shown = status_json(world)
    assert shown["last_push"] is not None and shown["last_pull"] is None
    world.assistant_changes({"b.txt": "from the sandbox"})
    assert world.sync().code == 0
    assert world.local()["b.txt"] == "from the sandbox"
    assert status_json(world)["last_pull"] is not None
