"""The manual page is generated from the parser and shipped up to date: every command and
long option is in it, roff accepts it without a warning, and the package installs it."""

from __future__ import annotations

import argparse
import shutil
import subprocess as sp
import tomllib
from pathlib import Path

import pytest

from containersync.cli import build_parser
from containersync.manpage import render

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "man" / "containersync.1"


def _long_options(parser: argparse.ArgumentParser) -> set[str]:
    found = {o for a in parser._actions for o in a.option_strings if o.startswith("--")}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found |= _long_options(child)
    return found


def test_the_shipped_page_is_the_generated_one() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(build_parser()), \
        "man/containersync.1 is stale: run `make man`"


def test_every_command_and_long_option_is_in_the_page() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for option in _long_options(build_parser()):
        assert f"\\fB{option.replace('-', chr(92) + '-')}\\fR" in page, option
    for command in ("init", "sync", "status", "daemon", "serve\\-local", "local exec",
                    "completion"):
        assert f".SS {command}\n" in page, command


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_roff_reads_the_page_without_a_warning() -> None:
    done = sp.run(["groff", "-man", "-ww", "-z", str(PAGE)], capture_output=True, text=True,
                  timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, "")


def test_the_package_installs_the_page_in_man1() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "man/containersync.1" in data["tool"]["setuptools"]["data-files"]["share/man/man1"]
