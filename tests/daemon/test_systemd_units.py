"""The shipped systemd units pass `systemd-analyze verify` and keep their contract.

`verify` refuses a unit whose ExecStart program does not exist, and the units point at the
install locations they document (~/.local/bin, /usr/local/bin). So each unit is copied into
a temp dir with only the program path replaced by this venv's `containersync` script; every
other line is verified as shipped. Warnings (unknown keys, bad values) are printed by
`verify` on stderr with exit code 0, so stderr must not mention the unit either.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS_DIR = Path(__file__).resolve().parents[2] / "systemd"
UNITS = ["containersync.service", "containersync@.service", "containersync-system.service"]
ANALYZE = shutil.which("systemd-analyze")
SCRIPT = Path(sys.executable).parent / "containersync"

pytestmark = pytest.mark.skipif(ANALYZE is None,
                                reason="systemd-analyze is not installed on this machine")


def load(unit: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS_DIR / unit)
    return parser


def with_test_program(unit: str, into: Path) -> Path:
    text = (UNITS_DIR / unit).read_text()
    new, count = re.subn(r"(?m)^ExecStart=\S*/containersync\b", f"ExecStart={SCRIPT}", text)
    assert count == 1, f"{unit}: expected one ExecStart line naming containersync"
    path = into / unit
    path.write_text(new)
    return path


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("scope", ["system", "user"])
def test_unit_verifies(unit: str, scope: str, tmp_path: Path) -> None:
    assert SCRIPT.exists(), f"{SCRIPT} missing: is the package installed in this venv?"
    if scope == "user" and unit == "containersync-system.service":
        pytest.skip("the system unit is not meant for the user manager")
    path = with_test_program(unit, tmp_path)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path), SYSTEMD_LOG_LEVEL="warning")
    args = [str(ANALYZE)] + (["--user"] if scope == "user" else []) + ["verify", str(path)]
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60,
                            cwd=tmp_path, check=False)
    stem = unit.split("@")[0].removesuffix(".service")
    complaints = [line for line in result.stderr.splitlines()
                  if str(tmp_path) in line or stem in line]
    assert result.returncode == 0, result.stderr
    assert complaints == []


@pytest.mark.parametrize("unit", UNITS)
def test_unit_contract(unit: str) -> None:
    service = load(unit)["Service"]
    assert service["Type"] == "notify"
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "78"
    assert service["KillMode"] == "mixed"
    assert service["WatchdogSec"] and service["TimeoutStopSec"]
    assert " daemon" in service["ExecStart"]


def test_template_reads_one_config_per_instance() -> None:
    service = load("containersync@.service")["Service"]
    assert service["ExecStart"].endswith("daemon --config %E/containersync/%i.toml")
    assert "%i" in service["Environment"]  # separate state per instance


def test_system_unit_is_hardened_and_gets_the_key_as_a_credential() -> None:
    service = load("containersync-system.service")["Service"]
    expected = {
        "ProtectSystem": "strict", "NoNewPrivileges": "yes", "PrivateTmp": "yes",
        "ProtectHome": "read-only", "StateDirectory": "containersync",
        "ConfigurationDirectory": "containersync", "User": "containersync",
        "LoadCredential": "openai-api-key:/etc/containersync/openai-api-key",
    }
    assert {k: service.get(k) for k in expected} == expected
    assert service["ReadWritePaths"]
    assert "OPENAI_API_KEY" not in service.get("Environment", "")


def _installed_docs() -> dict[str, Path]:
    """Where ``pip install`` puts each file of ``[tool.setuptools.data-files]`` (relative to
    the prefix) -> the file in the repository."""
    import tomllib

    root = UNITS_DIR.parent
    data = tomllib.loads((root / "pyproject.toml").read_text())
    out: dict[str, Path] = {}
    for target, patterns in data["tool"]["setuptools"]["data-files"].items():
        for pattern in patterns:
            for found in sorted(root.glob(pattern)):
                out[f"{target}/{found.name}"] = found
    return out


@pytest.mark.parametrize("unit", UNITS)
def test_documentation_names_docs_the_package_installs(unit: str) -> None:
    """It named a PyPI page that does not exist; now each URI is a file the install puts
    under the prefix of the unit's ExecStart (~/.local, /usr/local)."""
    text = (UNITS_DIR / unit).read_text()
    uris = [u for line in re.findall(r"(?m)^Documentation=(.*)$", text) for u in line.split()]
    assert uris and "pypi.org" not in text
    exec_start = load(unit)["Service"]["ExecStart"].split()[0]
    prefix = exec_start.removesuffix("/bin/containersync")
    installed = _installed_docs()
    for uri in uris:
        assert uri.startswith(f"file:{prefix}/"), uri
        relative = uri.removeprefix(f"file:{prefix}/")
        assert relative in installed, f"{uri}: not installed by pyproject's data-files"
        assert installed[relative].is_file()
