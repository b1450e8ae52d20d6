"""A mapping's identity key: derived once, stable, and different whenever the folder, the
endpoint or the container differs (the name alone is only a handle)."""

from __future__ import annotations

from pathlib import Path

from containersync.config import Config, mapping_identity, parse_config


def _config(tmp: Path, *, local: str = "work", base_url: str = "local",
            container: str = "") -> Config:
    text = (f'[api]\nbase_url = "{base_url}"\n[state]\ndir = "{tmp}/state"\n'
            f'[[mappings]]\nname = "docs"\nlocal = "{tmp}/{local}"\n{container}\n')
    return parse_config(text, file=tmp / "c.toml", env={})


def _key(cfg: Config) -> str:
    return mapping_identity(cfg, cfg.mappings[0]).key


def test_the_key_is_stable_and_names_the_mapping(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    ident = mapping_identity(cfg, cfg.mappings[0])
    assert ident.key == _key(_config(tmp_path)) and ident.key.startswith("docs-")
    assert ident.display_name == "docs" and ident.endpoint == "local"
    assert ident.local_root == str((tmp_path / "work").resolve())
    assert ident.container == "name:containersync-docs"


def test_folder_endpoint_and_container_each_change_the_key(tmp_path: Path) -> None:
    keys = {
        _key(_config(tmp_path)),
        _key(_config(tmp_path, local="elsewhere")),
        _key(_config(tmp_path, base_url="https://api.openai.com/v1")),
        _key(_config(tmp_path, base_url="https://eu.api.openai.com/v1")),
        _key(_config(tmp_path, container='[mappings.container]\nname = "other"')),
        _key(_config(tmp_path, container='[mappings.container]\nid = "cntr_abc"')),
    }
    assert len(keys) == 6


def test_spellings_of_one_endpoint_or_folder_are_one_identity(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "work")
    assert _key(_config(tmp_path, local="link")) == _key(_config(tmp_path, local="work"))
    assert _key(_config(tmp_path, base_url="https://API.openai.com/v1/")) == \
        _key(_config(tmp_path, base_url="https://api.openai.com/v1"))
