"""`containersync serve-local`: serve the local Containers API backend until stopped.

Serves ``/v1`` (and the ``/_local`` admin routes) on ``--host``/``--port`` from the state in
``--data-dir``; SIGINT/SIGTERM stop it cleanly with exit code 0 (uvicorn's own handlers).
``--port 0`` picks a free port; the address actually bound is printed on stderr.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

import uvicorn

from containersync.errors import UsageError
from containersync.localapi.app import create_app
from containersync.localapi.embedded import bind_socket, uvicorn_config
from containersync.localapi.store import Store
from containersync.localapi.wire import OMITTABLE

MAX_EXPIRY_CAP_MINUTES = 24 * 60
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve-local", help="serve the local Containers API backend (for tests and offline use)",
        description="Serve a local Containers API (and a minimal Files API) under /v1.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8700, help="port to bind, 0 = any free (default 8700)")
    p.add_argument("--data-dir", type=Path, required=True,
                   help="directory holding the backend's state (created if missing)")
    p.add_argument("--api-key", default=None,
                   help="require 'Authorization: Bearer KEY' on /v1 (default: accept any key)")
    p.add_argument("--assign-paths", action="store_true",
                   help="ignore the upload 'path' field and choose /mnt/data/<hex>-<name> like live")
    p.add_argument("--latency-ms", type=int, default=0, help="sleep this long per /v1 request")
    p.add_argument("--max-expiry-minutes", type=int, default=20,
                   help="cap for expires_after.minutes (live: 20; up to 1440)")
    p.add_argument("--omit-container-field", action="append", default=[], metavar="FIELD",
                   choices=OMITTABLE,
                   help="leave FIELD out of every container object, as live objects may "
                        "(repeatable; recorded 2025 objects lack memory_limit and "
                        "network_policy)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.max_expiry_minutes <= MAX_EXPIRY_CAP_MINUTES:
        raise UsageError(f"--max-expiry-minutes must be between 1 and {MAX_EXPIRY_CAP_MINUTES}")
    if args.latency_ms < 0:
        raise UsageError("--latency-ms must be >= 0")
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    store = Store(args.data_dir, assign_paths=args.assign_paths,
                  max_expiry_minutes=args.max_expiry_minutes,
                  omit_fields=tuple(args.omit_container_field))
    try:
        app = create_app(store, api_key=args.api_key, latency_ms=args.latency_ms)
        host, port = sock.getsockname()[:2]
        print(f"containersync serve-local: listening on http://{host}:{port}/v1 "
              f"(data dir {args.data_dir})", file=sys.stderr, flush=True)
        # uvicorn handles SIGINT/SIGTERM while it runs, then re-raises the signal it caught
        # against the handlers it found; make those no-ops so a requested stop exits 0.
        previous = {sig: signal.signal(sig, _stop_requested) for sig in STOP_SIGNALS}
        try:
            uvicorn.Server(uvicorn_config(app)).run(sockets=[sock])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        sock.close()
        store.close()
    return 0


def _stop_requested(signum: int, frame: object) -> None:
    """The server has already shut down when this runs; nothing is left to do."""
