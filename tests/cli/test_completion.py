"""`containersync completion SHELL`: a completion script made from the parser, that a real
bash loads and answers with (the commands, this version's long options, folders)."""

from __future__ import annotations

import subprocess as sp
import sys
from pathlib import Path

import pytest

BASH = "/usr/bin/bash"


def _script(shell: str) -> str:
    done = sp.run([sys.executable, "-m", "containersync", "completion", shell],
                  capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _complete(script: Path, *words: str, cwd: Path | None = None) -> list[str]:
    """What bash offers for the last of ``words`` (COMP_WORDS as bash would set them)."""
    quoted = " ".join(f"'{w}'" for w in ("containersync", *words))
    program = (f"source {script}; COMP_WORDS=({quoted}); COMP_CWORD={len(words)}; "
               "_shtab_containersync; printf '%s\\n' \"${COMPREPLY[@]}\"")
    done = sp.run([BASH, "--norc", "-c", program], capture_output=True, text=True,
                  timeout=60, check=False, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("completion") / "containersync.bash"
    path.write_text(_script("bash"))
    return path


def test_bash_completes_commands_and_long_options(bash_script: Path) -> None:
    assert _complete(bash_script, "sy") == ["sync"]
    assert _complete(bash_script, "sync", "--dr") == ["--dry-run"]
    assert _complete(bash_script, "sync", "--q") == ["--quiet"]
    assert "completion" in _complete(bash_script, "")
    assert set(_complete(bash_script, "daemon", "--log-f")) == {"--log-format"}


def test_bash_completes_a_folder_argument_with_folders(bash_script: Path,
                                                       tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "probably.txt").write_text("a file")
    offered = _complete(bash_script, "sync", "pro", cwd=tmp_path)
    assert offered == ["project/"] or offered == ["project"]


def test_zsh_and_tcsh_scripts_are_generated() -> None:
    assert _script("zsh").startswith("#compdef containersync")
    assert "complete containersync" in _script("tcsh")


def test_an_unknown_shell_is_a_usage_error() -> None:
    done = sp.run([sys.executable, "-m", "containersync", "completion", "fish"],
                  capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "invalid choice" in done.stderr
