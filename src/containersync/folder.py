"""A one-mapping ``Config`` built from a folder and a few options, with no config file: the
folder-only CLI (``containersync sync FOLDER``) and the Python API share it.

- The mapping's name is the folder's name made safe, plus a short digest of the resolved
  folder, the endpoint and the container option: two folders called ``data`` (or one folder
  synced to two endpoints or containers) never share index rows or a lock.
- ``container`` is a ``cntr_...`` id (adopted, never recreated) or a container name (the
  container of that name is found again after a lost index); by default
  ``containersync-<mapping name>``, unique per folder, endpoint and container option.
- The endpoint follows ``containersync.endpoint``; with no file, the default is the live
  service, as in the ``openai`` SDK (so a key is needed unless ``base_url="local"``).
- The folder is never created: a missing folder is the engine's to judge (the
  missing-local-root rail halts a mapping that synced before: an unmounted disk must not
  look like an emptied folder). It must not contain the state dir or lie inside it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from containersync.config import Config, _check_consistency, _translate, default_state_dir
from containersync.endpoint import LIVE_BASE_URL, check_base_url, env_base_url
from containersync.errors import UsageError
from containersync.model.entry import Mode

CONTAINER_ID = re.compile(r"^cntr_[A-Za-z0-9]+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def mapping_name(root: Path, endpoint: str, container: str | None) -> str:
    """A stable, valid mapping name for ``root`` synced to ``container`` at ``endpoint``."""
    slug = _UNSAFE.sub("-", root.name).lstrip("._-")[:40].rstrip("._-") or "folder"
    digest = hashlib.sha256(f"{root}\0{endpoint}\0{container or ''}".encode()).hexdigest()
    return f"{slug}-{digest[:10]}"


def folder_config(folder: str | os.PathLike[str], *, container: str | None = None,
                  mode: str | Mode = Mode.TWO_WAY, base_url: str | None = None,
                  state_dir: str | os.PathLike[str] | None = None,
                  env: Mapping[str, str] | None = None) -> Config:
    """The ``Config`` of one mapping for ``folder`` (see the module docstring)."""
    env = os.environ if env is None else env
    try:
        mode = Mode(mode)
    except ValueError:
        raise UsageError(f"mode {mode!r} is not one of: "
                         f"{', '.join(m.value for m in Mode)}") from None
    if container is not None and not container.strip():
        raise UsageError("container must be a name or a cntr_ id, not empty")
    root = Path(folder).expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} is not a folder")
    root = root.resolve()
    api: dict[str, Any] = {}
    if base_url is not None:
        api["base_url"] = check_base_url(base_url, origin="base_url")
    elif env_base_url(env) is None:
        api["base_url"] = LIVE_BASE_URL  # the SDK's default; $OPENAI_BASE_URL otherwise
    endpoint = api.get("base_url") or env_base_url(env) or LIVE_BASE_URL
    name = mapping_name(root, endpoint, container)
    spec: dict[str, Any] = {}
    if container is not None and CONTAINER_ID.match(container):
        spec["id"] = container
    else:
        # unique per folder: a lost index finds its container again by name, so two
        # folders called "data" must not share one
        spec["name"] = container or f"containersync-{name}"
    raw = {
        "api": api,
        # Path objects, not strings: a config file's "$VAR" expansion must not apply to a
        # folder whose name holds a "$"
        "state": {"dir": Path(state_dir).expanduser().absolute() if state_dir
                  else default_state_dir(env)},
        "mappings": [{"name": name, "local": root, "mode": mode.value, "container": spec}],
    }
    try:
        config = Config.model_validate(raw, context={"env": env})
    except ValidationError as exc:
        raise _translate(exc, str(root)) from None
    _check_consistency(config, str(root))
    return config
