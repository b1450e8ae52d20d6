"""The one place where HTTP answers and httpx exceptions become ``containersync.errors``.

``translate`` is called once a failure is final (retries exhausted or not retryable).
Mapping:
- 401, 403                                   -> AuthError
- 404 "Container is expired."                -> ContainerExpired
- 404 "Container with id '...' not found."   -> ContainerNotFound
- any other 404 on a file route              -> RemoteFileGone
- 429                                        -> RateLimited (``retry_after`` from headers)
- 408, 409, 5xx, timeouts, network errors    -> TransientError (``retry_after`` if given)
- any other 4xx (and an unexplained 404)     -> Rejected, with ``param``/``code`` from the
                                                error envelope
- any other httpx error (bad URL, protocol)  -> Rejected

A 404 that does not name the container is never read as "the container is gone": a wrong
base URL must not make the daemon start a new generation.

Invariant: no secret passed in ``redact`` (the API key) appears in a message; the server
might echo a key back, so messages are scrubbed here, once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx

from containersync.api.retry import Failure, server_wait_hint
from containersync.errors import (
    AuthError,
    ContainerExpired,
    ContainerNotFound,
    RateLimited,
    Rejected,
    RemoteError,
    RemoteFileGone,
    TransientError,
)

_EXPIRED = re.compile(r"container is expired", re.IGNORECASE)
_NOT_FOUND = re.compile(r"container with id .* not found", re.IGNORECASE)


def envelope(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of an error body, or ``{}`` when the body has none."""
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return dict(error) if isinstance(error, dict) else {}


def _spellings(secret: str) -> set[str]:
    """The ways a server may quote ``secret`` back: as sent, escaped as in Python's repr or
    in JSON (a tab becomes ``\\t``), or percent-encoded."""
    return {s for s in (secret, repr(secret)[1:-1], json.dumps(secret)[1:-1],
                        json.dumps(secret, ensure_ascii=False)[1:-1], quote(secret, safe=""))
            if s}


def _scrub(text: str, redact: Iterable[str]) -> str:
    for secret in redact:
        for spelling in sorted(_spellings(secret), key=len, reverse=True) if secret else ():
            text = text.replace(spelling, "[redacted]")
    return text


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def translate(failure: Failure, *, file_route: bool = False,
              container_id: str | None = None, redact: Iterable[str] = ()) -> RemoteError:
    """Name a final failure: an error ``httpx.Response`` or an ``httpx.HTTPError``."""
    secrets = tuple(redact)
    if not isinstance(failure, httpx.Response):
        return _translate_exception(failure, secrets)
    status = failure.status_code
    err = envelope(failure)
    server_message = _str_or_none(err.get("message")) or failure.reason_phrase or "error"
    code = _str_or_none(err.get("code"))
    param = _str_or_none(err.get("param"))
    request = failure.request
    text = _scrub(f"{request.method} {request.url.path}: HTTP {status}: {server_message}",
                  secrets)
    retry_after = server_wait_hint(failure.headers)

    if status in (401, 403):
        return AuthError(text, status=status, code=code)
    if status == 404:
        if _EXPIRED.search(server_message):
            return ContainerExpired(text, container_id=container_id)
        if _NOT_FOUND.search(server_message):
            return ContainerNotFound(text, container_id=container_id)
        if file_route:
            return RemoteFileGone(text, status=status, code=code)
    if status == 429:
        return RateLimited(text, retry_after=retry_after, status=status, code=code)
    if status in (408, 409) or status >= 500:
        return TransientError(text, retry_after=retry_after, status=status, code=code)
    return Rejected(text, status=status, code=code, param=param)


def _translate_exception(exc: httpx.HTTPError, secrets: tuple[str, ...]) -> RemoteError:
    try:
        where = f"{exc.request.method} {exc.request.url.path}: "
    except RuntimeError:  # an httpx error raised before a request existed
        where = ""
    kind = type(exc).__name__
    text = _scrub(f"{where}{kind}: {exc}" if str(exc) else f"{where}{kind}", secrets)
    if isinstance(exc, httpx.TimeoutException | httpx.NetworkError
                  | httpx.RemoteProtocolError):
        return TransientError(text)
    return Rejected(text)
