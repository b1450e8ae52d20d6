"""The manual page ``containersync(1)``, generated from the command line's parser.

``render(parser)`` walks the argparse parser (every command, nested ones such as
``local exec`` too, each option with its help) and writes roff; the sections the parser
does not know (exit status, environment, files) are written here. ``man/containersync.1``
in the repository is this output (a test keeps it so; ``make man`` rewrites it), and the
package installs it as ``<prefix>/share/man/man1/containersync.1``.

    python -m containersync.manpage > man/containersync.1
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from containersync import __version__

EXIT_STATUS = [
    ("0", "success: every mapping converged (a dry run: nothing is wrong, whatever it "
          "would change)"),
    ("1", "some paths had problems, or a mapping could not run; retrying later may help"),
    ("2", "usage error"),
    ("3", "halted by a safety rail (too many deletions, an emptied side); nothing was "
          "deleted"),
    ("77", "the API refused the key; retrying will not help"),
    ("78", "invalid configuration"),
    ("141", "stdout was closed early (a pipe to head)"),
]
ENVIRONMENT = [
    ("OPENAI_API_KEY", "the API key, unless the config names another variable or a "
                       "systemd credential"),
    ("OPENAI_BASE_URL", "the API endpoint, under the config file's api.base_url"),
    ("OPENAI_ORG_ID, OPENAI_PROJECT_ID", "sent as OpenAI-Organization and OpenAI-Project"),
    ("CONTAINERSYNC_CONFIG", "the config file (default: "
                             "$XDG_CONFIG_HOME/containersync/config.toml)"),
    ("XDG_STATE_HOME", "the state dir's parent (index, locks, trash; default ~/.local/state)"),
    ("NO_COLOR", "any value: never colour"),
    ("FORCE_COLOR", "colour even when the output is not a terminal"),
    ("JOURNAL_STREAM", "set by systemd: when it names stderr, the daemon logs with syslog "
                       "priority prefixes"),
    ("NOTIFY_SOCKET", "set by systemd: the daemon reports READY, WATCHDOG and STATUS"),
]
SEE_ALSO = ("The documentation installed with the package, under "
            "share/doc/containersync/ of its prefix: README.md, docs/cli.md, docs/syncing.md, "
            "docs/json.md, docs/logging.md, docs/python-api.md.")


def roff(text: str) -> str:
    """``text`` safe in roff: backslashes and hyphens escaped, no line starts a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line
                     for line in text.split("\n"))


def _commands(parser: argparse.ArgumentParser,
              prefix: str) -> Iterator[tuple[str, argparse.ArgumentParser, str]]:
    """(full name, parser, help) of every command below ``parser``, depth first."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help or "" for a in action._choices_actions}
        for name, child in action.choices.items():
            full = f"{prefix} {name}"
            yield full, child, helps.get(name, "")
            yield from _commands(child, full)


def _usage(parser: argparse.ArgumentParser) -> str:
    """The usage line on one line, whatever the terminal's width (the page is the same
    wherever it is generated)."""
    fmt = argparse.HelpFormatter(parser.prog, width=1_000_000)
    fmt.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups, "")
    return " ".join(fmt.format_help().split())


def _options(parser: argparse.ArgumentParser, *, with_help: bool = False) -> list[str]:
    out: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        if isinstance(action, argparse._HelpAction) and not with_help:
            continue
        if action.help == argparse.SUPPRESS:
            continue
        if action.option_strings:
            value = "" if action.nargs == 0 else f" {action.metavar or action.dest.upper()}"
            if action.choices and action.nargs != 0 and not action.metavar:
                value = " {" + ",".join(str(c) for c in action.choices) + "}"
            names = ", ".join(f"\\fB{roff(o)}\\fR" for o in action.option_strings)
            out += [".TP", f"{names}{roff(value)}"]
        else:
            out += [".TP", f"\\fI{roff(str(action.metavar or action.dest))}\\fR"]
        out.append(roff(action.help or ""))
    return out


def render(parser: argparse.ArgumentParser) -> str:
    prog = parser.prog
    lines = [
        f'.TH {prog.upper()} 1 "" "{prog} {__version__}" "User Commands"', ".ad l",
        ".SH NAME", f"{prog} \\- {roff(parser.description or '')}",
        ".SH SYNOPSIS", f"\\fB{prog}\\fR [\\fB\\-\\-version\\fR] \\fICOMMAND\\fR [\\fIoptions\\fR]",
        ".SH DESCRIPTION",
        roff("Each command's options are below; long options are never abbreviated. "
             "`--json` prints a document with a versioned schema (docs/json.md)."),
        ".SH OPTIONS",
        *_options(parser, with_help=True),
        ".PP", roff("Every command also takes -h, --help."),
        ".SH COMMANDS",
    ]
    for full, child, summary in _commands(parser, prog):
        lines += [f".SS {roff(full.removeprefix(prog + ' '))}", roff(summary) + ".",
                  ".PP", f"\\fB{roff(_usage(child))}\\fR"]
        if child.description:
            lines += [".PP", roff(child.description)]
        lines += _options(child)
    for title, rows in (("EXIT STATUS", EXIT_STATUS), ("ENVIRONMENT", ENVIRONMENT)):
        lines.append(f".SH {title}")
        for name, text in rows:
            lines += [".TP", f"\\fB{roff(name)}\\fR", roff(text)]
    lines += [".SH SEE ALSO", roff(SEE_ALSO)]
    # a default under this machine's home (local exec's data dir) is shown as ~
    return "\n".join(lines).replace(str(Path.home()) + "/", "~/") + "\n"


def main() -> None:
    from containersync.cli import build_parser

    sys.stdout.write(render(build_parser()))


if __name__ == "__main__":
    main()
