"""``api.transport``: every sending thread has a connection pool of its own.

Against the real local backend over loopback HTTP: which connection carried a response
is read from the response itself (its stream's local address), so "one kept-alive
connection per thread, none shared" is checked on real sockets.
"""

from __future__ import annotations

import gc
import http.client
import http.server
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from containersync.api import ContainersClient, ContainerSpec
from containersync.api.transport import PerThreadTransport, http_transport

THREADS, REQUESTS = 4, 5


def _port(response: httpx.Response) -> int:
    return int(response.extensions["network_stream"].get_extra_info("client_addr")[1])


def test_each_thread_keeps_one_connection_of_its_own_and_ended_threads_pools_close(
        local_server: object) -> None:
    transport = PerThreadTransport(http_transport(httpx.create_ssl_context()))
    ports: dict[int, set[int]] = {}
    started = threading.Barrier(THREADS, timeout=30)
    with httpx.Client(base_url=local_server.base_url + "/",  # type: ignore[attr-defined]
                      transport=transport) as http:

        def sender(n: int) -> None:
            seen = ports.setdefault(n, set())
            for i in range(REQUESTS):
                response = http.get("containers")
                assert response.status_code == 200
                seen.add(_port(response))
                if i == 0:
                    started.wait()  # every thread holds its pool at once

        threads = [threading.Thread(target=sender, args=(n,)) for n in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(len(p) == 1 for p in ports.values()), ports  # one kept-alive connection
        assert len(set().union(*ports.values())) == THREADS  # none shared between threads
        assert transport.pools == THREADS  # their threads ended; nothing reaped them yet
        http.get("containers")  # a new thread's pool closes the ended threads' pools
        assert transport.pools == 1
    assert transport.pools == 0  # the client's close closed the last one
    with pytest.raises(RuntimeError):
        transport.handle_request(httpx.Request("GET", local_server.base_url))  # type: ignore[attr-defined]


class _Forwarder(http.server.BaseHTTPRequestHandler):
    """A plain HTTP forward proxy: records each request line it is sent (a proxied request
    names the whole URL) and passes it on to the server that URL names."""

    seen: list[str]

    def _forward(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            upstream.request(self.command, url.path + (f"?{url.query}" if url.query else ""),
                             body or None, {k: v for k, v in self.headers.items()
                                            if k.lower() not in _HOP})
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in _HOP | {"content-length", "transfer-encoding"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _forward

    def log_message(self, *args: object) -> None:
        pass


_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization"}


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_Forwarder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_requests_go_through_the_proxy_the_environment_names(
        local_server: object, proxy: tuple[str, list[str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a network that reaches the API only through a proxy ($HTTPS_PROXY / $HTTP_PROXY /
    # $ALL_PROXY) worked with httpx's own pool; a client-wide transport made httpx drop
    # the environment's proxies, so every request went direct (and failed there)
    url, seen = proxy
    _no_proxy_settings(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", url)
    base = local_server.base_url  # type: ignore[attr-defined]
    with ContainersClient.connect(base, None) as api:
        made = api.create_container(ContainerSpec(name="via-proxy"))
        assert [c.id for c in api.list_containers()] == [made.id]
        # a transfer thread sends through the proxy too (its pool is its own)
        done = threading.Thread(target=lambda: list(api.list_files(made.id)))
        done.start()
        done.join()
    assert any(line.startswith(f"POST {base}/containers") for line in seen), seen
    assert any(line.startswith(f"GET {base}/containers/{made.id}/files") for line in seen), seen
    assert all(line.split(" ")[1].startswith(base) for line in seen), seen


def test_no_proxy_still_sends_direct(local_server: object, proxy: tuple[str, list[str]],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    url, seen = proxy
    _no_proxy_settings(monkeypatch)
    monkeypatch.setenv("ALL_PROXY", url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with ContainersClient.connect(local_server.base_url, None) as api:  # type: ignore[attr-defined]
        assert list(api.list_containers()) == []
    assert seen == []


def _close_during_request(base: str, k: int) -> bool:
    """One request whose ``k``-th audited operation runs ``close`` first; whether it ran."""
    from support.interleave import Interleave

    made: list[httpx.HTTPTransport] = []

    def make() -> httpx.BaseTransport:
        made.append(httpx.HTTPTransport(limits=httpx.Limits(max_connections=2,
                                                            max_keepalive_connections=1)))
        return made[-1]

    transport = PerThreadTransport(make)
    http = httpx.Client(base_url=base, transport=transport)
    http.get("containers")  # this thread's pool
    made[0]._pool.close()  # so the request under test opens its connection
    gate = Interleave()
    gate.arm(k, lambda: (transport.close(), True)[1])
    try:
        http.get("containers")
    except (RuntimeError, httpx.TransportError):
        pass  # the request lost the race: it may fail, but clearly
    finally:
        gate.disarm()
    http.close()  # closes the transport (again): what the race left open stays open
    assert all(not t._pool.connections for t in made), (k, made[0]._pool.connections)
    gc.collect()  # a socket only the race held: its ResourceWarning fails the test here
    return gate.fired


def test_a_request_racing_close_leaves_no_connection_open(local_server: object) -> None:
    """``close`` on one thread (the daemon shutting down) while another thread is between
    taking its pool and sending: the request may fail or succeed, but no connection may be
    left open (httpcore's pool opens a new connection for a request sent after its
    ``close``, and drops one being set up without closing it). ``close`` is run just
    before each audited operation of the request in turn (``support.interleave``)."""
    base = local_server.base_url + "/"  # type: ignore[attr-defined]
    k = 1
    while _close_during_request(base, k):
        k += 1
    assert k > 2  # the window was entered at several moments
