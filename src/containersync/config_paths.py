"""Where the config file is and how its paths expand (``~``, ``$VAR``): the standard
library only, so a command that reads a cached config (``status_config``) finds the file
without loading pydantic. Pure: reads only the environment mapping it is given (and the
user's home from the password database when ``$HOME`` is unset).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from containersync.errors import ConfigError

ENV_CONFIG = "CONTAINERSYNC_CONFIG"
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand_path(raw: str, env: Mapping[str, str], relative_to: Path | None = None) -> Path:
    """Expand ``~`` and ``$VAR`` using ``env``; anchor a relative result at ``relative_to``."""
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in env:
            raise ValueError(f"environment variable ${name} is not set")
        return env[name]

    text = _VAR.sub(substitute, raw)
    if text == "~" or text.startswith("~/"):
        home = env.get("HOME") or str(Path.home())
        text = home + text[1:]
    path = Path(text)
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    return Path(os.path.normpath(path))


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "containersync" / "config.toml"


def find_config_path(path: Path | None = None,
                     env: Mapping[str, str] | None = None) -> tuple[Path, str]:
    """The config file to use and where that choice came from (for messages)."""
    env = os.environ if env is None else env
    if path is not None:
        return Path(path), "--config"
    if env.get(ENV_CONFIG):
        try:
            return expand_path(env[ENV_CONFIG], env), f"${ENV_CONFIG}"
        except ValueError as exc:
            raise ConfigError(f"${ENV_CONFIG} = {env[ENV_CONFIG]!r}: {exc}",
                              fix=f"set that variable, or fix or unset ${ENV_CONFIG}") from None
    return default_config_path(env), "the default location"
