"""Run the local backend inside this process: uvicorn in a daemon thread on loopback.

Used for ``base_url = "local"`` (the sync engine's default backend) and by the tests.

Invariants: the socket is bound before the thread starts (port 0 picks a free port, and
``base_url`` is known at once); ``start_server`` returns only when the server accepts
connections; nothing is printed (uvicorn logs at warning level, no access log);
``stop()`` asks uvicorn to exit, joins the thread and closes the store, and is idempotent.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from containersync.localapi.app import create_app
from containersync.localapi.store import Store

START_TIMEOUT_S = 10.0


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket. ``proto`` is set to TCP explicitly: asyncio enables
    TCP_NODELAY only on sockets that say so, and without it every keep-alive response
    waits ~40 ms for a delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def uvicorn_config(app: Starlette, *, log_level: str = "warning") -> uvicorn.Config:
    """The server's configuration. HTTP is parsed by httptools (llhttp, in C; a dependency)
    where it imports, else by h11 (uvicorn's ``auto``: an environment installed before the
    dependency still serves): with h11, parsing requests and framing answers in Python was
    the largest part of the server's CPU per small upload (``bench/profile_backend_uploads.py``)."""
    return uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off",
                          ws="none", http="auto", timeout_graceful_shutdown=2)


class RunningServer:
    """A started backend; use as a context manager or call ``stop()``."""

    def __init__(self, store: Store, server: uvicorn.Server, sock: socket.socket,
                 thread: threading.Thread) -> None:
        self.store = store
        self._server = server
        self._sock = sock
        self._thread = thread
        host, port = sock.getsockname()[:2]
        self.host, self.port = str(host), int(port)
        self.root_url = f"http://{self.host}:{self.port}"
        self.base_url = f"{self.root_url}/v1"
        self._stopped = False

    def advance_clock(self, seconds: float) -> float:
        return self.store.clock.advance(seconds)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.should_exit = True
        self._thread.join()
        self._sock.close()
        self.store.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_server(data_dir: Path, *, host: str = "127.0.0.1", port: int = 0,
                 api_key: str | None = None, assign_paths: bool = False, latency_ms: int = 0,
                 max_expiry_minutes: int = 20, omit_fields: tuple[str, ...] = ()) -> RunningServer:
    store = Store(data_dir, assign_paths=assign_paths, max_expiry_minutes=max_expiry_minutes,
                  omit_fields=omit_fields)
    try:
        sock = bind_socket(host, port)
    except OSError:
        store.close()
        raise
    server = uvicorn.Server(uvicorn_config(create_app(store, api_key=api_key,
                                                      latency_ms=latency_ms)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"containersync-localapi:{sock.getsockname()[1]}", daemon=True)
    thread.start()
    running = RunningServer(store, server, sock, thread)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            running.stop()
            raise RuntimeError(f"the local backend did not start on {host}:{sock.getsockname()[1]}")
        time.sleep(0.005)
    return running
