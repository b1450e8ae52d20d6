"""Sending one built request: ``httpx.Client.send`` without the layers this client never uses.

``Client.send`` runs every request through an auth flow, a redirect loop, event hooks, a
cookie jar (each answer's ``Set-Cookie`` parsed through ``http.cookiejar`` shims) and a
timing wrapper around the body. A ``ContainersClient``'s httpx client has no auth (the
key is a header), follows no redirect and has no hooks, so each of those layers did
nothing but cost: a quarter of the client's CPU per request (0.27 of 1.07 ms for a 4 KiB
download on the benchmark machine), paid 1,000 times by a pull of 1,000 files and by a
listing of 100,000. ``deliver`` hands the request to the transport ``Client.send`` would
have chosen (the proxy mounted for its URL, or the client's own) and returns the same
answer.

What is different, and why it does not matter here:
- answers' cookies are not kept, so none is sent back: the Containers API sets none it
  needs (curl keeps none either);
- ``response.elapsed`` is not set, nor the ``httpx`` logger's line per request: neither
  is read by containersync.

A client that does use one of those layers (auth, redirects, hooks, a password in the
URL) is sent through ``Client.send`` unchanged, as is one whose httpx has no
``_transport_for_url`` (the only private name used).
"""

from __future__ import annotations

import httpx


def deliver(http: httpx.Client, request: httpx.Request, *, stream: bool) -> httpx.Response:
    pick = getattr(http, "_transport_for_url", None)
    if (pick is None or http.auth is not None or http.follow_redirects
            or any(http.event_hooks.values()) or request.url.userinfo):
        return http.send(request, stream=stream)
    if http.is_closed:
        raise RuntimeError("Cannot send a request, as the client has been closed.")
    try:
        response: httpx.Response = pick(request.url).handle_request(request)
    except httpx.RequestError as exc:
        exc.request = request  # as ``Client.send`` does: errors name what was asked
        raise
    response.request = request
    if not stream:
        try:
            response.read()
        except BaseException:
            response.close()
            raise
    return response
