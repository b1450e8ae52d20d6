"""What every config model shares: the frozen base model and path expansion (``~``, ``$VAR``).

Kept apart from ``config`` so the container spec models (``config_spec``) can use them
without an import cycle. Pure: reads only the environment mapping it is given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo

from containersync.config_paths import expand_path

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def env_of(info: ValidationInfo) -> Mapping[str, str]:
    ctx = info.context or {}
    env = ctx.get("env")
    return env if env is not None else os.environ


def path_field(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("a path must not contain a NUL character (\\u0000)")
    if isinstance(value, str):
        base = (info.context or {}).get("config_dir")
        return expand_path(value, env_of(info), base)
    return value
