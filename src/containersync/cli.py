"""The ``containersync`` command line: one argparse parser, one module per subcommand.

Each module in ``containersync.commands`` exposes ``add_parser(subparsers)``, which adds its
subparser and sets ``func`` to a callable ``(args) -> int`` (the exit code). Errors from the
project's tree are turned into messages and exit codes here, in one place.

Only the module of the subcommand being run is imported (``--version`` and a mistyped
command import none): the others get a bare placeholder subparser, and the full set loads
only to print the top-level help. No option may be abbreviated (``allow_abbrev=False``); a
mistyped command or option gets a "did you mean". A closed stdout (``sync --json | head``)
ends the run quietly with 141 (128 + SIGPIPE), as a shell tool killed by SIGPIPE would.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from containersync import __version__
from containersync.display import printable
from containersync.errors import AuthError, ConfigError, ContainerSyncError, Halted, UsageError
from containersync.journal import ERROR, for_stream

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_HALTED = 3
EXIT_REFUSED = 77
EXIT_BROKEN_PIPE = 141
EXIT_CONFIG = 78

#: command name -> module in containersync.commands, in the order the help lists them
COMMANDS = {
    "init": "init",
    "sync": "sync",
    "status": "status",
    "daemon": "daemon",
    "serve-local": "serve_local",
    "local": "local_exec",
    "completion": "completion",
}


class Parser(argparse.ArgumentParser):
    """Every parser of the command line: no abbreviated options, "did you mean" for a
    mistyped one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def unrecognized(self, extra: Sequence[str]) -> NoReturn:
        """Refuse ``extra`` words, suggesting this parser's nearest long option for each."""
        known = [o for a in self._actions for o in a.option_strings if o.startswith("--")]
        words = []
        for word in extra:
            close = difflib.get_close_matches(word.split("=", 1)[0], known, n=1, cutoff=0.6)
            words.append(f"{word} (did you mean {close[0]}?)"
                         if word.startswith("--") and close else word)
        self.error("unrecognized arguments: " + " ".join(words))


def _top(parser: argparse.ArgumentParser) -> Parser:
    assert isinstance(parser, Parser)
    return parser


def _subparser(parser: argparse.ArgumentParser, command: str | None) -> Parser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            found = action.choices[command]
            return found if isinstance(found, Parser) else None
    return None


def _command_in(argv: Sequence[str]) -> str | None:
    """The first word that is not an option: the subcommand asked for, if any."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, just that command's module is imported (``""``: none)."""
    parser = Parser(
        prog="containersync",
        description="Keep local folders mirrored with OpenAI Containers.",
    )
    parser.add_argument("--version", action="version", version=f"containersync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, module_name in COMMANDS.items():
        if only is None or name == only:
            module = importlib.import_module(f"containersync.commands.{module_name}")
            module.add_parser(sub)
        else:
            sub.add_parser(name, add_help=False)
    return parser


def _unknown_command(word: str) -> int:
    close = difflib.get_close_matches(word, list(COMMANDS), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    print(f"containersync: unknown command {word!r}{hint} "
          f"(commands: {', '.join(COMMANDS)})", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(argv)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _main(argv: list[str]) -> int:
    command = _command_in(argv)
    if command is not None and command not in COMMANDS:
        return _unknown_command(command)
    wants_help = command is None and any(a in ("-h", "--help") for a in argv)
    parser = build_parser(command if command is not None else (None if wants_help else ""))
    args, extra = parser.parse_known_args(argv)
    if extra:
        target = _subparser(parser, command)
        (target or _top(parser)).unrecognized(extra)
    func = getattr(args, "func", None)
    if func is None:
        build_parser().print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code = int(func(args))
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at exit
        return code
    except ContainerSyncError as exc:
        prefix, code = _exit_for(exc)
        # escaped line by line: only the lines of a ConfigError are ours to break
        lines = exc.lines if isinstance(exc, ConfigError) else (str(exc),)
        text = "\n  ".join(printable(line) for line in lines)
        from containersync.logs import redact_text  # an error only: no import when all is well

        text = redact_text(text)  # a key or a URL's password the message quotes
        print(for_stream(f"containersync: {prefix}{text}", sys.stderr, ERROR), file=sys.stderr)
        return code
    except KeyboardInterrupt:
        return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout has no descriptor (captured in a test)
        pass


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
