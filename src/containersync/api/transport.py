"""One connection pool per thread, behind the one ``httpx.Client`` a ``ContainersClient``
holds.

httpcore's pool is one lock around every request and every response's close, and each
of them walks every connection of the pool (an idle one is polled to see whether the
server closed it). With the transfer window at 32, the 32 transfer threads of a pull of
many small files took turns at that lock for each request and each close: a quarter of
the daemon's CPU while it pulled 1,000 files of 4 KiB. Here each thread sends through a
pool of its own, of one kept-alive connection (two at most, should a thread send while a
response of its own is still open), so no request waits for another thread's.

Invariants:
- a thread's requests all go through its own pool (``pools`` counts them);
- the pool of a thread that ended is closed when the next thread opens one, and every
  pool is closed by ``close``; a request after ``close`` raises ``RuntimeError``, and one
  that raced it (its pool taken before, sent after) leaves no connection open;
- the threads that send are bounded elsewhere (the client's ``TransferPool`` and its
  callers), so connections are at most two per sending thread (per proxy, if several);
- the environment's proxies (``$HTTPS_PROXY``, ``$HTTP_PROXY``, ``$ALL_PROXY``, and
  ``$NO_PROXY``) are used exactly as httpx's own pool used them (``proxy_mounts``):
  ``httpx.Client`` ignores them once it is given a transport.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator

import httpx

#: connections of one thread's pool, and how many it keeps alive
PER_THREAD = httpx.Limits(max_connections=2, max_keepalive_connections=1)


def http_transport(context: ssl.SSLContext, proxy: str | None = None
                   ) -> Callable[[], httpx.BaseTransport]:
    """Pools as ``httpx.Client`` would make them, sharing one TLS context (building one
    reads the CA bundle: tens of milliseconds per thread otherwise); through ``proxy``
    when given."""
    return lambda: httpx.HTTPTransport(verify=context, limits=PER_THREAD, proxy=proxy)


def proxy_mounts(context: ssl.SSLContext) -> dict[str, httpx.BaseTransport | None]:
    """The ``mounts`` of an ``httpx.Client`` that sends through the environment's proxies
    as ``httpx.Client(trust_env=True)`` does without a transport: each proxy through pools
    per thread of its own; a ``$NO_PROXY`` host maps to None (the client's transport)."""
    from httpx._utils import get_environment_proxies  # httpx's own reading of them

    return {pattern: None if url is None else PerThreadTransport(http_transport(context, url))
            for pattern, url in get_environment_proxies().items()}


class _ThenClose(httpx.SyncByteStream):
    """The body of a response sent through a pool that ``close`` had already closed: once
    it is closed, so are its connection (which that pool may no longer list: httpcore's
    ``close`` drops a connection still being set up, and it stays open) and the pool."""

    def __init__(self, response: httpx.Response, pool: httpx.BaseTransport) -> None:
        stream = response.stream
        assert isinstance(stream, httpx.SyncByteStream)
        self._stream, self._pool = stream, pool
        self._network = response.extensions.get("network_stream")

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            if self._network is not None:
                self._network.close()
            self._pool.close()


class PerThreadTransport(httpx.BaseTransport):
    def __init__(self, make: Callable[[], httpx.BaseTransport]) -> None:
        self._make = make
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: dict[threading.Thread, httpx.BaseTransport] = {}
        self._closed = False

    @property
    def pools(self) -> int:
        """Pools open now: one per thread that sent, until the next new pool after its
        thread ended (or ``close``)."""
        with self._lock:
            return len(self._open)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        mine = self._own()
        try:
            response = mine.handle_request(request)
        except BaseException:
            if self._closed:
                mine.close()
            raise
        if not self._closed:
            return response
        # RACE: ``close`` ran between taking this thread's pool and sending, and the pool
        # (httpcore keeps no closed flag) opened a connection that nobody would close.
        # Closed once the response is: a close after this check closes the connection in
        # use itself (the response then fails to read), so none is left open either way
        return httpx.Response(response.status_code, headers=response.headers,
                              stream=_ThenClose(response, mine),
                              extensions=response.extensions)

    def _own(self) -> httpx.BaseTransport:
        mine: httpx.BaseTransport | None = getattr(self._local, "transport", None)
        if mine is not None and not self._closed:
            return mine
        with self._lock:
            if self._closed:
                raise RuntimeError("the client's connections are closed")
            ended = [t for t in self._open if not t.is_alive()]
            gone = [self._open.pop(t) for t in ended]
            mine = self._open[threading.current_thread()] = self._make()
        self._local.transport = mine
        for transport in gone:
            transport.close()  # its thread ended: nothing of it is in use
        return mine

    def close(self) -> None:
        with self._lock:
            self._closed = True
            transports, self._open = list(self._open.values()), {}
        for transport in transports:
            transport.close()
