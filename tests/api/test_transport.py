"""``api.transport``: every sending thread has a connection pool of its own.

Against the real local backend over loopback HTTP: which connection carried a response
is read from the response itself (its stream's local address), so "one kept-alive
connection per thread, none shared" is checked on real sockets.
"""

from __future__ import annotations

import threading

import httpx
import pytest

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
