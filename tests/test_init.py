"""`containersync init`: the file it writes loads, appends keep the user's text, refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from containersync.cli import EXIT_CONFIG, EXIT_USAGE, main
from containersync.config import load_config, resolve_api_key
from containersync.model.entry import Mode


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake home with XDG paths inside it (the real environment, pointed elsewhere)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.delenv("CONTAINERSYNC_CONFIG", raising=False)
    monkeypatch.chdir(home)
    return home


def test_init_writes_a_loadable_starter_at_the_xdg_path(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "work/analysis"]) == 0
    file = home / ".config" / "containersync" / "config.toml"
    out = capsys.readouterr().out
    assert f"wrote {file}" in out
    assert f"next: containersync sync --config {file}" in out
    assert (home / "work" / "analysis").is_dir()
    loaded = load_config(None, env=dict(os.environ))
    assert loaded.file == file
    [m] = loaded.config.mappings
    assert (m.name, m.local, m.mode) == ("analysis", home / "work" / "analysis", Mode.TWO_WAY)
    assert m.container.create_name(m.name) == "containersync-analysis"
    assert loaded.config.api.is_local and resolve_api_key(loaded.config, {}) is None


def test_init_appends_a_mapping_and_keeps_the_users_text(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = home / "cs.toml"
    assert main(["init", "a/data", "--config", str(file), "--mode", "push"]) == 0
    file.write_text(file.read_text() + "# my own note\n")
    assert main(["init", "b/data", "--config", str(file), "--mode", "pull"]) == 0
    assert "added mapping to" in capsys.readouterr().out
    text = file.read_text()
    assert "# my own note" in text
    cfg = load_config(file, env=dict(os.environ)).config
    assert [(m.name, m.mode) for m in cfg.mappings] == [("data", Mode.PUSH),
                                                         ("data-2", Mode.PULL)]
    assert cfg.mappings[1].local == home / "b" / "data"


def test_init_refuses_a_mapping_that_would_not_load(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = home / "cs.toml"
    assert main(["init", "proj", "--config", str(file), "--name", "p"]) == 0
    before = file.read_text()
    assert main(["init", "proj/sub", "--config", str(file)]) == EXIT_CONFIG
    assert "mappings[1].local" in capsys.readouterr().err
    assert main(["init", "other", "--config", str(file), "--name", "p"]) == EXIT_CONFIG
    assert "mappings[1].name" in capsys.readouterr().err
    assert main(["init", ".", "--config", str(file), "--force"]) == EXIT_CONFIG
    assert "overlaps the state dir" in capsys.readouterr().err
    assert file.read_text() == before
    assert not (home / "other").exists()


def test_init_base_url_and_force(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = home / "cs.toml"
    assert main(["init", "x", "--config", str(file),
                 "--base-url", "https://api.openai.com/v1"]) == 0
    assert "set $OPENAI_API_KEY" in capsys.readouterr().out
    cfg = load_config(file, env=dict(os.environ)).config
    assert cfg.api.base_url == "https://api.openai.com/v1"
    assert main(["init", "y", "--config", str(file), "--base-url", "local"]) == EXIT_USAGE
    assert "--force" in capsys.readouterr().err
    assert main(["init", "y", "--config", str(file), "--force"]) == 0
    cfg = load_config(file, env=dict(os.environ)).config
    assert cfg.api.is_local and [m.name for m in cfg.mappings] == ["y"]


def test_init_refuses_a_file_as_folder(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "f.txt").write_text("x")
    assert main(["init", "f.txt", "--config", str(home / "cs.toml")]) == EXIT_USAGE
    assert "not a folder" in capsys.readouterr().err
    assert not (home / "cs.toml").exists()


def test_init_through_the_installed_entry_point(home: Path, tmp_path: Path) -> None:
    file = tmp_path / "cfg" / "config.toml"
    env = {**os.environ, "CONTAINERSYNC_CONFIG": str(file)}
    done = subprocess.run([sys.executable, "-m", "containersync", "init", "my folder!"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert f"next: containersync sync --config {file}" in done.stdout
    cfg = load_config(None, env=env).config
    assert [m.name for m in cfg.mappings] == ["my-folder"]
    assert cfg.mappings[0].local == home / "my folder!"


@pytest.mark.parametrize(("folder", "code", "text"), [
    ("$CONTAINERSYNC_TEST_UNSET/data", EXIT_USAGE, "$CONTAINERSYNC_TEST_UNSET is not set"),
    ("a-file/data", 1, "cannot create the folder"),
], ids=["unset-variable", "below-a-file"])
def test_init_refuses_a_folder_it_cannot_make_in_one_line(
        home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        folder: str, code: int, text: str) -> None:
    monkeypatch.delenv("CONTAINERSYNC_TEST_UNSET", raising=False)
    (home / "a-file").write_text("x")
    assert main(["init", folder, "--config", str(home / "c.toml")]) == code
    err = capsys.readouterr().err
    assert text in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (home / "c.toml").exists()
