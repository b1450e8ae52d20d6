"""`containersync daemon`: keep every mapping in sync until stopped (see daemon/service.py).

``containersync daemon FOLDER [--container NAME|ID] [--mode M]`` keeps one folder in sync
with no config file (as ``sync FOLDER``).

Exit codes: 0 after a clean drain (SIGTERM/SIGINT), 1 when the drain ran out of time,
78 for an invalid configuration (cli.py maps ConfigError), 128+N on a second signal N.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from containersync.commands.sync import add_folder_options


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "daemon", help="keep every mapping in sync until stopped",
        description="Watch every mapped folder, push changes a moment after they happen, pull "
                    "what the assistant writes, keep the containers alive while you work. "
                    "SIGTERM/SIGINT drain and exit; SIGHUP reloads the configuration.",
    )
    p.add_argument("folder", nargs="?", metavar="FOLDER",
                   help="keep this folder in sync, with no config file")
    p.add_argument("--config", type=Path, help="config file (default: $CONTAINERSYNC_CONFIG, "
                   "else $XDG_CONFIG_HOME/containersync/config.toml)")
    add_folder_options(p)
    p.add_argument("--log-level", default="info",
                   choices=["debug", "info", "warning", "error"], help="default: info")
    p.add_argument("--log-format", choices=["auto", "journal", "console", "json"],
                   default="auto",
                   help="auto: journal lines (<N> priority prefixes) under journald, console "
                        "on a terminal, JSON lines otherwise (docs/logging.md)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # the daemon, the engine and the backend load only when it runs (`--help` stays fast)
    from containersync.commands.sync import config_for
    from containersync.config_methods import LoadedConfig
    from containersync.daemon.service import run_daemon
    from containersync.logs import configure_logging

    json = {"auto": None, "journal": None, "console": False, "json": True}[args.log_format]
    configure_logging(json=json, level=args.log_level,
                      journal=True if args.log_format == "journal" else None)
    if args.folder is None:
        config_for(args)  # refuses folder-only options without FOLDER
        return run_daemon(args.config)

    def load() -> LoadedConfig:
        cfg = config_for(args)
        return LoadedConfig(cfg, Path(cfg.mappings[0].local))

    return run_daemon(None, load=load)
