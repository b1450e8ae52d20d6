"""The local backend exactly as ``containersync serve-local`` builds it, plus a request counter.

The harness needs to know how many ``/v1`` requests a client made (idle requests per minute,
requests of a listing), and the backend has no such counter. This serves the same app from
the same parts (``Store``, ``create_app``, ``bind_socket``, ``uvicorn_config``) with one
outer ASGI layer that counts ``/v1`` requests and answers ``GET /_bench/requests`` with
``{"requests": N}``. Prints the same ``listening on <base url>`` line on stderr.

    python bench/serve_counted.py --data-dir DIR [--latency-ms N] [--port 0]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

import uvicorn

from containersync.localapi.app import create_app
from containersync.localapi.embedded import bind_socket, uvicorn_config
from containersync.localapi.store import Store

COUNTER_PATH = "/_bench/requests"


class CountRequests:
    """Counts ``/v1`` requests before they reach the app (latency and faults are inside)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if scope["path"] == COUNTER_PATH:
                body = json.dumps({"requests": self.count}).encode()
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
            if scope["path"].startswith("/v1"):
                self.count += 1
        await self.app(scope, receive, send)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    sock = bind_socket("127.0.0.1", args.port)
    store = Store(args.data_dir)
    try:
        app = CountRequests(create_app(store, latency_ms=args.latency_ms))
        host, port = sock.getsockname()[:2]
        print(f"serve_counted: listening on http://{host}:{port}/v1 (latency {args.latency_ms} ms)",
              file=sys.stderr, flush=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: None)  # uvicorn installs its own while it runs
        uvicorn.Server(uvicorn_config(app)).run(sockets=[sock])  # type: ignore[arg-type]
    finally:
        sock.close()
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
