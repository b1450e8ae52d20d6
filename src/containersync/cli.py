"""The ``containersync`` command line: one argparse parser, one module per subcommand.

Each module in ``containersync.commands`` exposes ``add_parser(subparsers)``, which adds its
subparser and sets ``func`` to a callable ``(args) -> int`` (the exit code). Errors from the
project's tree are turned into messages and exit codes here, in one place.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from containersync import __version__
from containersync.display import printable
from containersync.errors import AuthError, ConfigError, ContainerSyncError, Halted, UsageError

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_HALTED = 3
EXIT_REFUSED = 77
EXIT_CONFIG = 78

COMMAND_MODULES = (
    "init",
    "sync",
    "status",
    "daemon",
    "serve_local",
    "local_exec",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="containersync",
        description="Keep local folders mirrored with OpenAI Containers.",
    )
    parser.add_argument("--version", action="version", version=f"containersync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"containersync.commands.{name}")
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(func(args))
    except ContainerSyncError as exc:
        prefix, code = _exit_for(exc)
        print(f"containersync: {prefix}{printable(str(exc))}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        return 130


def _exit_for(exc: ContainerSyncError) -> tuple[str, int]:
    """The message prefix and exit code for an error that reached the command line."""
    if isinstance(exc, ConfigError):
        return "configuration error: ", EXIT_CONFIG
    if isinstance(exc, UsageError):
        return "", EXIT_USAGE
    if isinstance(exc, Halted):
        return "", EXIT_HALTED
    if isinstance(exc, AuthError):
        return "the API refused the key: ", EXIT_REFUSED
    return "", EXIT_PROBLEMS
