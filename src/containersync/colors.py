"""Whether to colour output on a stream: the ``NO_COLOR`` and ``FORCE_COLOR`` conventions.

- ``NO_COLOR`` set to anything non-empty: never colour (https://no-color.org); it wins.
- ``FORCE_COLOR`` set to anything but empty, ``0`` or ``false``: colour even when the
  stream is not a terminal (a CI log, ``less -R``).
- otherwise: colour only when the stream is a terminal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

_OFF = ("", "0", "false", "no")


def use_color(stream: Any, env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    if env.get("NO_COLOR", ""):
        return False
    if env.get("FORCE_COLOR", "").strip().lower() not in _OFF:
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
