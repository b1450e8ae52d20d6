"""A mapping that has never synced and whose local root is missing or is a file is a
configuration error (exit 78, naming the path): a typo creates no folder and no container.
A mapping that synced before keeps the "local root gone" rail (``test_sync_rails``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from containersync.localapi.embedded import RunningServer
from support.backend import raw
from support.scenario import KEY_ENV, MAPPING, sync, write_config

ENV = {KEY_ENV: "sk-scenario-unused"}


def containers(server: RunningServer) -> list[str]:
    with raw(server) as client:
        response = client.get("/v1/containers", params={"limit": 100})
        response.raise_for_status()
        return [c["id"] for c in response.json()["data"]]


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "typo" / "deeper" / "root"


def _a_file(tmp_path: Path) -> Path:
    (tmp_path / "root.txt").write_text("not a folder")
    return tmp_path / "root.txt"


@pytest.mark.parametrize("make", [_missing, _a_file], ids=["missing", "a-file"])
@pytest.mark.parametrize("flags", [(), ("--dry-run",), ("--force",)],
                         ids=["sync", "dry-run", "force"])
def test_a_never_synced_root_that_is_not_a_folder_is_a_config_error(
        tmp_path: Path, local_server: RunningServer, make: object,
        flags: tuple[str, ...]) -> None:
    root = make(tmp_path)  # type: ignore[operator]
    config = write_config(tmp_path / "c.toml", base_url=local_server.base_url,
                          state=tmp_path / "state", local=root)
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                    if "state" not in p.parts)
    result = sync(config, *flags, env=ENV)
    assert result.code == 78, (result.out, result.err)
    assert result.m["status"] == "config-error"
    assert str(root) in result.err and "containersync init" in result.err
    assert f"mapping {MAPPING!r} has never synced" in result.err  # the name, not a state key
    assert "Traceback" not in result.err
    after = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                   if "state" not in p.parts)
    assert after == before  # no folder tree made
    assert containers(local_server) == []  # and no container
    if make is _a_file:
        assert root.read_text() == "not a folder"


def test_other_mappings_still_sync_and_the_exit_is_78(
        tmp_path: Path, local_server: RunningServer) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (good / "a.txt").write_text("a")
    config = write_config(tmp_path / "c.toml", base_url=local_server.base_url,
                          state=tmp_path / "state", local=tmp_path / "typo")
    config.write_text(config.read_text() + f'\n[[mappings]]\nname = "good"\nlocal = "{good}"\n')
    result = sync(config, env=ENV)
    assert result.code == 78, result.err
    statuses = {m["mapping"]: m["status"] for m in result.json["mappings"]}
    assert statuses == {MAPPING: "config-error", "good": "converged"}
    assert len(containers(local_server)) == 1
    assert not (tmp_path / "typo").exists()


def test_once_the_folder_exists_the_mapping_syncs(
        tmp_path: Path, local_server: RunningServer) -> None:
    root = tmp_path / "root"
    config = write_config(tmp_path / "c.toml", base_url=local_server.base_url,
                          state=tmp_path / "state", local=root)
    assert sync(config, env=ENV).code == 78
    root.mkdir()
    (root / "a.txt").write_text("a")
    result = sync(config, env=ENV)
    assert (result.code, result.m["uploaded"]) == (0, 1), result.err
