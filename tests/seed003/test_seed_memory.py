"""``memory_limit``: the live API's tiers (1g, 4g, 16g, 64g) and seed 003's (512m, 2g) load from
the config, reach the create body and are echoed by the local backend; anything else is a
config error that names the file, the field and the choices.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from containersync.config import Config, parse_config
from containersync.engine.session import open_session
from containersync.errors import ConfigError
from containersync.localapi.embedded import RunningServer

LIVE = ("1g", "4g", "16g", "64g")
SEED_003 = ("512m", "2g")


def config_for(server: RunningServer, tmp: Path, container: dict[str, Any]) -> Config:
    raw = {"api": {"base_url": server.base_url, "api_key_env": "K"},
           "state": {"dir": str(tmp / "state")},
           "mappings": [{"name": "m", "local": str(tmp / "f"), "container": container}]}
    return Config.model_validate(raw, context={"env": {"K": "sk-x"}, "config_dir": tmp})


@pytest.mark.parametrize("limit", LIVE + SEED_003)
def test_each_memory_limit_reaches_the_backend(local_server: RunningServer, tmp_path: Path,
                                               limit: str) -> None:
    cfg = config_for(local_server, tmp_path, {"name": "box", "memory_limit": limit})
    sess = open_session(cfg, {"K": "sk-x"})
    try:
        ctx = sess.context(cfg.mappings[0], sess.open_index())
        made = sess.client.create_container(ctx.settings.container_spec)
        assert made.memory_limit == limit
        assert sess.client.retrieve_container(made.id).memory_limit == limit
    finally:
        sess.close()


def test_unset_memory_limit_is_left_to_the_server(local_server: RunningServer,
                                                  tmp_path: Path) -> None:
    cfg = config_for(local_server, tmp_path, {"name": "box"})
    sess = open_session(cfg, {"K": "sk-x"})
    try:
        spec = sess.context(cfg.mappings[0], sess.open_index()).settings.container_spec
        assert "memory_limit" not in spec.create_body()
        assert sess.client.create_container(spec).memory_limit == "1g"  # the live default
    finally:
        sess.close()


@pytest.mark.parametrize("bad", ["3g", "1G", "1024m", "", "8g"])
def test_a_bad_memory_limit_names_file_field_and_choices(tmp_path: Path, bad: str) -> None:
    text = textwrap.dedent(f"""
        [state]
        dir = "{tmp_path}/state"
        [[mappings]]
        name = "m"
        local = "{tmp_path}/f"
        [mappings.container]
        memory_limit = "{bad}"
    """)
    with pytest.raises(ConfigError) as info:
        parse_config(text, file=tmp_path / "c.toml", env={"HOME": str(tmp_path)})
    err = info.value
    assert (err.file, err.field) == (str(tmp_path / "c.toml"), "mappings[0].container.memory_limit")
    assert err.fix == "use one of: 512m, 1g, 2g, 4g, 16g, 64g"
