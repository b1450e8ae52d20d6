"""`containersync daemon`: keep every mapping in sync until stopped (see daemon/service.py).

Exit codes: 0 after a clean drain (SIGTERM/SIGINT), 1 when the drain ran out of time,
78 for an invalid configuration (cli.py maps ConfigError), 128+N on a second signal N.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from containersync.daemon.service import run_daemon
from containersync.logs import configure_logging


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "daemon", help="keep every mapping in sync until stopped",
        description="Watch every mapped folder, push changes a moment after they happen, pull "
                    "what the assistant writes, keep the containers alive while you work. "
                    "SIGTERM/SIGINT drain and exit; SIGHUP reloads the configuration.",
    )
    p.add_argument("--config", type=Path, help="config file (default: $CONTAINERSYNC_CONFIG, "
                   "else $XDG_CONFIG_HOME/containersync/config.toml)")
    p.add_argument("--log-level", default="info",
                   choices=["debug", "info", "warning", "error"], help="default: info")
    p.add_argument("--log-format", choices=["auto", "console", "json"], default="auto",
                   help="console on a terminal, JSON lines otherwise (auto)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    json = {"auto": None, "console": False, "json": True}[args.log_format]
    configure_logging(json=json, level=args.log_level)
    return run_daemon(args.config)
