"""What every config model shares: the frozen base model and path expansion (``~``, ``$VAR``).

Kept apart from ``config`` so the container spec models (``config_spec``) can use them
without an import cycle. Pure: reads only the environment mapping it is given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def env_of(info: ValidationInfo) -> Mapping[str, str]:
    ctx = info.context or {}
    env = ctx.get("env")
    return env if env is not None else os.environ


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


def path_field(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("a path must not contain a NUL character (\\u0000)")
    if isinstance(value, str):
        base = (info.context or {}).get("config_dir")
        return expand_path(value, env_of(info), base)
    return value
