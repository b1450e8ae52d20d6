"""`containersync init FOLDER`: write (or extend) a config file that maps FOLDER.

Behaviour:
- The file is ``--config FILE``, else ``$CONTAINERSYNC_CONFIG``, else the XDG default path:
  the same place ``sync`` and ``daemon`` will look.
- No file yet (or ``--force``): write a starter file with ``base_url = "local"`` (the
  embedded backend, no key needed) and one mapping.
- A file exists: append one ``[[mappings]]`` entry, keeping everything the user wrote
  (comments included). ``--base-url`` is refused then, since it would change every mapping.
- FOLDER is created when missing. The mapping name defaults to FOLDER's name, made unique.

Invariants: nothing is written unless the resulting text loads with ``load_config``
(duplicate names, overlapping folders and a folder holding the state dir are refused with
the usual ``ConfigError``); the file is replaced atomically (temp file, fsync, rename).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import tempfile
from pathlib import Path
from typing import Any

from containersync.config import expand_path, find_config_path, load_config, parse_config
from containersync.errors import LocalError, UsageError
from containersync.model.entry import Mode

STARTER_HEADER = """\
# containersync configuration, written by `containersync init`.
# Every key is described in config.example.toml; unknown keys are errors.

[api]
# "local" = the embedded Containers API backend (no key needed). For the real service:
# base_url = "https://api.openai.com/v1" and export the key in $OPENAI_API_KEY.
base_url = {base_url}
api_key_env = "OPENAI_API_KEY"

# [state]
# dir = "~/.local/state/containersync"   # index, trash, embedded backend data
"""

MAPPING_BLOCK = """
[[mappings]]
name = {name}
local = {local}
mode = {mode}                # two-way | push | pull
remote_root = "/mnt/data"
exclude = []                 # gitignore-style patterns, e.g. ["*.log", "data/raw/"]

[mappings.container]
name = {container}
expires_after_minutes = 20
"""


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "init", help="write a starter config that maps FOLDER to a container",
        description="Write a config file mapping FOLDER to a new container, or add FOLDER "
                    "as one more mapping to an existing config file.")
    p.add_argument("folder", metavar="FOLDER", help="the local folder to mirror (created "
                   "if missing)")
    p.add_argument("--config", metavar="FILE", type=Path,
                   help="config file to write (default: $CONTAINERSYNC_CONFIG, else "
                        "~/.config/containersync/config.toml)")
    p.add_argument("--name", help="mapping name (default: the folder's name)")
    p.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.TWO_WAY.value,
                   help="direction of sync (default: two-way)")
    p.add_argument("--base-url", help='API base URL for a new file (default: "local", the '
                   "embedded backend)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing config file instead of adding a mapping to it")
    p.set_defaults(func=run)


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def suggest_name(folder: Path, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", folder.name).strip("-._")[:56] or "folder"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def mapping_block(name: str, folder: Path, mode: str) -> str:
    return MAPPING_BLOCK.format(name=toml_string(name), local=toml_string(str(folder)),
                                mode=toml_string(mode),
                                container=toml_string(f"containersync-{name}"))


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    env = os.environ
    file, _origin = find_config_path(args.config, env)
    file = file.absolute()
    try:
        folder = expand_path(args.folder, env, Path.cwd())
    except ValueError as exc:
        raise UsageError(f"FOLDER {args.folder!r}: {exc}") from None
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder")

    appending = file.exists() and not args.force
    if appending:
        if args.base_url is not None:
            raise UsageError(f"{file} exists: --base-url would change every mapping; edit "
                             "api.base_url there, or pass --force to replace the file")
        existing = load_config(file, env=env).config
        name = args.name or suggest_name(folder, {m.name for m in existing.mappings})
        old = file.read_text(encoding="utf-8")
        text = old + ("" if old.endswith("\n") or not old else "\n")
        text += mapping_block(name, folder, args.mode)
    else:
        name = args.name or suggest_name(folder, set())
        text = STARTER_HEADER.format(base_url=toml_string(args.base_url or "local"))
        text += mapping_block(name, folder, args.mode)

    config = parse_config(text, file=file, env=env)  # refuse to write what would not load
    for target, what in ((folder, "the folder"), (file.parent, "the config file's folder")):
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LocalError(f"cannot create {what} {target}: {exc.strerror or exc} (check "
                             "the path and its permissions)") from None
    try:
        write_atomically(file, text)
    except OSError as exc:
        raise LocalError(f"cannot write {file}: {exc.strerror or exc} (check the path and "
                         "its permissions)") from None

    verb = "added mapping to" if appending else "wrote"
    print(f"{verb} {file}")
    print(f"  mapping {name!r}: {folder} <-> container "
          f"{config.mapping(name).container.create_name(name)!r} ({args.mode})")
    if not config.api.is_local:
        print(f"  set ${config.api.api_key_env} to your API key before syncing")
    print(f"next: containersync sync --config {shlex.quote(str(file))}")
    return 0
