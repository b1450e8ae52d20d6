"""A key the API refuses ends ``sync`` with 77 (SYNC_SEMANTICS exit codes: retrying will not
help), not 1 ("retry later"), whether it is refused at once or after a first good run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from containersync.localapi.embedded import RunningServer
from support.scenario import KEY_ENV, World, sync

RIGHT = "sk-right-key-for-this-test"


def test_a_refused_key_exits_77_and_names_the_cause(
        local_server_factory: Callable[..., RunningServer], tmp_path: Path) -> None:
    world = World(local_server_factory(api_key=RIGHT), tmp_path, api_key=RIGHT)
    world.write({"a.txt": "a"})
    assert world.sync().code == 0
    for json_out in (True, False):
        bad = sync(world.config, subprocess=True, json_out=json_out,
                   env={KEY_ENV: "sk-wrong-key"})
        assert bad.code == 77, bad.err
        assert "refused the key" in bad.out + bad.err
        if json_out:
            assert bad.json["exit_code"] == 77
            assert bad.json["mappings"][0]["status"] == "refused"
