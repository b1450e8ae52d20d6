"""Fault injection for client retry tests: make the next N matching ``/v1`` requests fail.

A ``Fault`` matches on method (or any) and a regex searched in the path. ``when="before"``
answers the error without touching the store; ``when="after"`` lets the request run to the
end (its effects are real), throws its answer away and sends the error instead: the
ambiguous failure a client meets when a connection drops after the server acted;
``when="pass"`` lets the request through untouched (for the two options below).
Options: ``drop: true`` closes the connection mid-answer (headers sent, body cut short)
instead of sending an error, so the client sees a broken response (or, while it is still
sending a body, a reset connection), not a status;
``delay_ms`` waits before the request is handled (a slow answer); ``write {path,
content}`` adds an assistant file at ``path`` in the request's container just before the
request runs (code in the sandbox writing between a client's plan and its upload);
``omit: N`` (with ``when="pass"``) leaves the first N objects out of a list answer, its
``has_more`` untouched (a server that drops part of a page: a listing that comes back
short).

Invariants: faults live in memory of the serving process only; each match consumes one
use, and an exhausted fault is removed; the first registered matching fault wins.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from containersync.localapi.errors import BadRequest, invalid_type, invalid_value


@dataclass
class Fault:
    method: str | None
    path_regex: re.Pattern[str]
    status: int
    times: int
    when: str = "before"
    retry_after_ms: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    delay_ms: int = 0
    write: dict[str, str] | None = None
    omit: int = 0

    def response_headers(self) -> list[tuple[bytes, bytes]]:
        headers = {"content-type": "application/json"}
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = str(self.retry_after_ms)
            headers["retry-after"] = str(math.ceil(self.retry_after_ms / 1000))
        headers.update({k.lower(): v for k, v in self.headers.items()})
        return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    def body(self) -> bytes:
        kind = "server_error" if self.status >= 500 else "invalid_request_error"
        return json.dumps({"error": {"message": f"Injected fault ({self.status}).",
                                     "type": kind, "param": None, "code": "injected_fault"}}).encode()


def parse_fault(body: object) -> Fault:
    if not isinstance(body, dict):
        raise invalid_type("body", "an object", body)
    method = body.get("method")
    if method is not None and not isinstance(method, str):
        raise invalid_type("method", "a string", method)
    try:
        regex = re.compile(str(body.get("path_regex", ".*")))
    except re.error:
        raise invalid_value("path_regex", body.get("path_regex")) from None
    status, times = body.get("status", 503), body.get("times", 1)
    if not isinstance(status, int) or not 400 <= status <= 599:
        raise invalid_value("status", status)
    if not isinstance(times, int) or times < 1:
        raise invalid_value("times", times)
    when = body.get("when", "before")
    if when not in ("before", "after", "pass"):
        raise invalid_value("when", when, ("before", "after", "pass"))
    retry_after_ms = body.get("retry_after_ms")
    if retry_after_ms is not None and (not isinstance(retry_after_ms, int) or retry_after_ms < 0):
        raise invalid_value("retry_after_ms", retry_after_ms)
    headers = body.get("headers") or {}
    if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise BadRequest("'headers' must map strings to strings.", param="headers")
    delay_ms = body.get("delay_ms", 0)
    if isinstance(delay_ms, bool) or not isinstance(delay_ms, int) or not 0 <= delay_ms <= 60_000:
        raise invalid_value("delay_ms", delay_ms)
    drop = body.get("drop", False)
    if not isinstance(drop, bool):
        raise invalid_type("drop", "a boolean", drop)
    write = body.get("write")
    if write is not None and not (isinstance(write, dict) and set(write) == {"path", "content"}
                                  and all(isinstance(v, str) for v in write.values())):
        raise BadRequest("'write' must be {\"path\": str, \"content\": str}.", param="write")
    omit = body.get("omit", 0)
    if isinstance(omit, bool) or not isinstance(omit, int) or omit < 0:
        raise invalid_value("omit", omit)
    return Fault(method.upper() if method else None, regex, status, times, when,
                 retry_after_ms, headers, drop, delay_ms, write, omit)


class FaultRegistry:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching this request, with one use consumed."""
        with self._lock:
            for fault in self._faults:
                if (fault.method in (None, method)) and fault.path_regex.search(path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None


_CONTAINER = re.compile(r"^/v1/containers/([^/]+)")


async def send_fault(fault: Fault, send: Send) -> None:
    if fault.drop:
        # a promised body that never comes: the server (uvicorn) closes the connection
        # when the app returns with the response incomplete, and logs one line saying so
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"4096")]})
        return
    await send({"type": "http.response.start", "status": fault.status,
                "headers": fault.response_headers()})
    await send({"type": "http.response.body", "body": fault.body()})


async def _side_write(fault: Fault, scope: Scope) -> None:
    found = _CONTAINER.match(scope["path"])
    if fault.write is None or found is None:
        return
    store = scope["app"].state.store
    await run_in_threadpool(store.add_container_file_stream, found.group(1),
                            path=fault.write["path"], stream=io.BytesIO(
                                fault.write["content"].encode()),
                            source="assistant", record_bytes=True)


async def _short_list(app: ASGIApp, omit: int, scope: Scope, receive: Receive,
                      send: Send) -> None:
    """The app's answer with the first ``omit`` objects of its ``data`` left out (a
    non-list answer is sent as it is)."""
    start: Message = {}
    body = bytearray()

    async def keep(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(scope, receive, keep)
    out = bytes(body)
    try:
        answer = json.loads(out)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("data"), list):
        answer["data"] = answer["data"][omit:]
        ids = [o.get("id") for o in answer["data"] if isinstance(o, dict)]
        answer["first_id"], answer["last_id"] = (ids[0], ids[-1]) if ids else (None, None)
        out = json.dumps(answer).encode()
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    await send({**start, "headers": [*headers, (b"content-length", str(len(out)).encode())]})
    await send({"type": "http.response.body", "body": out})


class FaultMiddleware:
    """Applies registered faults to HTTP requests whose path starts with ``/v1``."""

    def __init__(self, app: ASGIApp, registry: FaultRegistry) -> None:
        self.app = app
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1"):
            await self.app(scope, receive, send)
            return
        fault = self.registry.take(scope["method"], scope["path"])
        if fault is not None:
            if fault.delay_ms:
                await asyncio.sleep(fault.delay_ms / 1000)
            await _side_write(fault, scope)
        if fault is not None and fault.when == "pass" and fault.omit:
            await _short_list(self.app, fault.omit, scope, receive, send)
        elif fault is None or fault.when == "pass":
            await self.app(scope, receive, send)
        elif fault.when == "before":
            await send_fault(fault, send)
        else:
            async def swallow(message: Message) -> None:
                return None
            await self.app(scope, receive, swallow)
            await send_fault(fault, send)


def describe(fault: Fault) -> dict[str, Any]:
    return {"method": fault.method, "path_regex": fault.path_regex.pattern,
            "status": fault.status, "times": fault.times, "when": fault.when,
            "drop": fault.drop, "delay_ms": fault.delay_ms, "write": fault.write,
            "omit": fault.omit}
