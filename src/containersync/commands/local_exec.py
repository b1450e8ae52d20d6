"""`containersync local ...`: verbs that act on the local backend; today only ``exec``.

``containersync local exec CONTAINER_ID [--base-url URL | --data-dir DIR] [--api-key KEY]
[--record-bytes] -- CMD ARGS...`` runs CMD "inside" a local container (see
``containersync.localapi.exec_run``): its files in a private tree, mounted at ``/mnt/data``
and ``/workspace`` where the platform allows, its memory limit and network policy applied,
and what CMD changed written back as ``source: "assistant"`` files.

Exit status: the command's own (128+N when killed by signal N); 1 when the container is
expired or unknown (nothing runs), or when the command succeeded but its results could not
all be recorded; 2 for a bad command line. Our messages go to stderr, prefixed
``containersync local exec:``; the command's stdout/stderr pass through untouched.

Default data dir (no ``--base-url``): ``$CONTAINERSYNC_LOCALAPI_DIR`` if set, else
``$XDG_STATE_HOME/containersync/localapi`` (``~/.local/state/containersync/localapi``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from containersync import errors
from containersync.errors import UsageError

if TYPE_CHECKING:  # the transports import httpx and the store: only load them to run
    from containersync.localapi.sandbox import SandboxFiles

PREFIX = "containersync local exec:"


def default_data_dir() -> Path:
    explicit = os.environ.get("CONTAINERSYNC_LOCALAPI_DIR")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "containersync" / "localapi"


def add_parser(sub: Any) -> None:
    local: argparse.ArgumentParser = sub.add_parser(
        "local", help="act on the local Containers API backend (exec)",
        description="Commands that act on the local backend's containers.")
    verbs = local.add_subparsers(dest="local_command", metavar="VERB")
    local.set_defaults(func=lambda args: _missing_verb(local))
    p: argparse.ArgumentParser = verbs.add_parser(
        "exec", help="run a command inside a local container's files",
        usage="containersync local exec CONTAINER_ID [options] -- CMD ARGS...",
        description="Run CMD with the container's files at /mnt/data (cwd) and /workspace, "
                    "its memory limit and network policy, and record what CMD changed as "
                    "files the assistant wrote.")
    _add_exec_options(p)
    # argparse (3.11) cannot mix a positional, options after it and a command after "--",
    # so everything from CONTAINER_ID on is taken raw and parsed again by ``_split``.
    p.add_argument("rest", nargs=argparse.REMAINDER, metavar="CONTAINER_ID [options] -- CMD",
                   help="the container, then the command after --")
    p.set_defaults(func=run)


def _add_exec_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", help="a served backend, e.g. http://127.0.0.1:8700/v1 "
                   "(default: open the data dir directly)")
    p.add_argument("--api-key", default=None, help="bearer key for --base-url, if it needs one")
    p.add_argument("--data-dir", type=Path, default=None,
                   help=f"backend data dir when no --base-url (default {default_data_dir()})")
    p.add_argument("--record-bytes", action="store_true",
                   help="report the size of written files (default: bytes null, like live)")
    p.add_argument("-v", "--verbose", action="store_true", help="summarise what was recorded")


def _split(args: argparse.Namespace) -> list[str]:
    """Fill ``args.container_id`` and the options given after it; return the command."""
    rest = list(args.rest)
    if "--" in rest:
        cut = rest.index("--")
        head, command = rest[:cut], rest[cut + 1:]
    else:
        head, command = rest[:1], rest[1:]
    inner = argparse.ArgumentParser(prog="containersync local exec", add_help=False)
    _add_exec_options(inner)
    inner.add_argument("container_id", metavar="CONTAINER_ID")
    known, extra = inner.parse_known_args(head)
    if extra:
        raise UsageError(f"local exec: unexpected arguments before '--': {' '.join(extra)}")
    for key, value in vars(known).items():
        if key == "container_id" or value not in (None, False):
            setattr(args, key, value)
    return command


def _missing_verb(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def note(text: str) -> None:
    from containersync.display import printable

    print(f"{PREFIX} {printable(text)}", file=sys.stderr, flush=True)


def open_files(args: argparse.Namespace) -> SandboxFiles:
    from containersync.localapi.sandbox import HttpSandboxFiles, StoreSandboxFiles

    if args.base_url:
        if args.data_dir is not None:
            raise UsageError("local exec: give --base-url or --data-dir, not both")
        return HttpSandboxFiles(args.base_url, args.container_id, api_key=args.api_key)
    data_dir: Path = args.data_dir or default_data_dir()
    if not (data_dir / "state.sqlite3").exists():
        raise UsageError(f"local exec: no local backend data in {data_dir} "
                         "(pass --data-dir or --base-url)")
    return StoreSandboxFiles(data_dir, args.container_id)


def run(args: argparse.Namespace) -> int:
    from containersync.localapi.exec_run import run_in_container

    if not args.rest:
        raise UsageError("local exec: no container id given (use: local exec ID -- CMD ARGS)")
    command = _split(args)
    if not command:
        raise UsageError("local exec: no command given (use: local exec ID -- CMD ARGS)")
    files = open_files(args)
    summary = note if args.verbose else None
    try:
        return run_in_container(files, command, record_bytes=args.record_bytes, note=note,
                                summary=summary)
    except errors.ContainerGone as exc:
        note(f"{exc}; nothing was run")
        return 1
    except errors.RemoteError as exc:
        note(f"the backend failed: {exc}")
        return 1
    finally:
        files.close()
