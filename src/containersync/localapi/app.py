"""The local backend's ASGI app: the Containers and Files API under ``/v1``.

Responsible for routing and for turning requests into store calls; the store decides
everything else. ``/v1`` requests pass, in order: the in-flight count, the latency injection, the API key
check (only when a key is configured; admin routes under ``/_local`` never need it), the
fault injection, then the route. Every error leaves as the live API's error envelope.
"""

from __future__ import annotations

import asyncio
import hmac

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from containersync.localapi import admin, validate
from containersync.localapi.errors import ApiError, BadRequest, Unauthorized, missing
from containersync.localapi.faults import FaultMiddleware, FaultRegistry
from containersync.localapi.forms import parse_form
from containersync.localapi.httpio import (
    api_error,
    call,
    download,
    form_file,
    form_text,
    http_error,
    is_multipart,
    json_body,
    ok,
    store_of,
)
from containersync.localapi.store import FILES_MAX_LIMIT, Store


async def create_container(request: Request) -> Response:
    return ok(await call(store_of(request).create_container, await json_body(request)))


async def list_containers(request: Request) -> Response:
    query = validate.list_query(dict(request.query_params), with_name=True)
    return ok(await call(store_of(request).list_containers, query))


async def retrieve_container(request: Request) -> Response:
    cid = request.path_params["cid"]
    return ok(await call(store_of(request).get_container, cid, refresh=True))


async def delete_container(request: Request) -> Response:
    return ok(await call(store_of(request).delete_container, request.path_params["cid"]))


async def create_container_file(request: Request) -> Response:
    store, cid = store_of(request), request.path_params["cid"]
    if not is_multipart(request):
        body = await json_body(request)
        if not isinstance(body, dict) or "file_id" not in body:
            raise missing("file")
        if not isinstance(body["file_id"], str):
            raise BadRequest("'file_id' must be a string.", param="file_id", code="invalid_type")
        return ok(await call(store.copy_file_into_container, cid, body["file_id"]))
    form = await parse_form(request)
    try:
        upload = form_file(form)
        return ok(await call(store.upload_container_file, cid, stream=upload.file,
                             filename=upload.filename, content_type=upload.content_type,
                             path=form_text(form, "path")))
    finally:
        form.close()


async def list_container_files(request: Request) -> Response:
    query = validate.list_query(dict(request.query_params))
    cid = request.path_params["cid"]
    return ok(await call(store_of(request).list_container_files_page, cid, query))


async def retrieve_container_file(request: Request) -> Response:
    p = request.path_params
    return ok(await call(store_of(request).get_container_file, p["cid"], p["fid"]))


async def delete_container_file(request: Request) -> Response:
    p = request.path_params
    await call(store_of(request).delete_container_file, p["cid"], p["fid"])
    return ok({"id": p["fid"], "object": "container.file.deleted", "deleted": True})


async def container_file_content(request: Request) -> Response:
    p = request.path_params
    opened = await call(store_of(request).open_container_file, p["cid"], p["fid"])
    return download(*opened, placeholder=True)


async def create_file(request: Request) -> Response:
    form = await parse_form(request)
    try:
        upload = form_file(form)
        return ok(await call(store_of(request).create_file, stream=upload.file,
                             filename=upload.filename, content_type=upload.content_type,
                             purpose=form_text(form, "purpose")))
    finally:
        form.close()


async def list_files(request: Request) -> Response:
    params = dict(request.query_params)
    query = validate.list_query(params, max_limit=FILES_MAX_LIMIT, default_limit=FILES_MAX_LIMIT)
    return ok(await call(store_of(request).list_files, query, params.get("purpose")))


async def retrieve_file(request: Request) -> Response:
    return ok(await call(store_of(request).get_file, request.path_params["file_id"]))


async def delete_file(request: Request) -> Response:
    return ok(await call(store_of(request).delete_file, request.path_params["file_id"]))


async def file_content(request: Request) -> Response:
    return download(*await call(store_of(request).open_file, request.path_params["file_id"]))


V1_ROUTES = [
    Route("/v1/containers", create_container, methods=["POST"]),
    Route("/v1/containers", list_containers, methods=["GET"]),
    Route("/v1/containers/{cid}", retrieve_container, methods=["GET"]),
    Route("/v1/containers/{cid}", delete_container, methods=["DELETE"]),
    Route("/v1/containers/{cid}/files", create_container_file, methods=["POST"]),
    Route("/v1/containers/{cid}/files", list_container_files, methods=["GET"]),
    Route("/v1/containers/{cid}/files/{fid}", retrieve_container_file, methods=["GET"]),
    Route("/v1/containers/{cid}/files/{fid}", delete_container_file, methods=["DELETE"]),
    Route("/v1/containers/{cid}/files/{fid}/content", container_file_content, methods=["GET"]),
    Route("/v1/files", create_file, methods=["POST"]),
    Route("/v1/files", list_files, methods=["GET"]),
    Route("/v1/files/{file_id}", retrieve_file, methods=["GET"]),
    Route("/v1/files/{file_id}", delete_file, methods=["DELETE"]),
    Route("/v1/files/{file_id}/content", file_content, methods=["GET"]),
]


class InFlight:
    """How many ``/v1`` requests the server is handling now, and the most at once (what a
    client's concurrency looks like from the server: ``GET /_local/inflight``)."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    def reset(self) -> None:
        self.peak = self.now


class GateMiddleware:
    """In-flight counting, latency injection and the API key check for ``/v1`` requests."""

    def __init__(self, app: ASGIApp, *, api_key: str | None, latency_ms: int,
                 inflight: InFlight | None = None) -> None:
        self.app = app
        self.api_key = api_key
        self.latency_s = max(latency_ms, 0) / 1000
        self.inflight = inflight or InFlight()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1"):
            await self.app(scope, receive, send)
            return
        counter = self.inflight  # one event loop: no lock needed
        counter.now += 1
        counter.peak = max(counter.peak, counter.now)
        open_ = [True]

        def finished() -> None:
            if open_[0]:
                open_[0] = False
                counter.now -= 1

        async def counted(message: Message) -> None:
            # a request is in flight until its answer's last byte is handed over: after
            # that the client may send the next one while this coroutine still unwinds
            if message["type"] == "http.response.body" and not message.get("more_body"):
                finished()
            await send(message)

        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            refusal = self._refusal(scope)
            if refusal is not None:
                await JSONResponse(refusal.envelope(), status_code=401)(scope, receive, counted)
                return
            await self.app(scope, receive, counted)
        finally:
            finished()

    def _refusal(self, scope: Scope) -> ApiError | None:
        if self.api_key is None:
            return None
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        if not header:
            return Unauthorized("You didn't provide an API key. You need to provide your API key "
                                "in an Authorization header using Bearer auth.")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), self.api_key):
            return Unauthorized("Incorrect API key provided.", code="invalid_api_key")
        return None


def create_app(store: Store, *, api_key: str | None = None, latency_ms: int = 0) -> Starlette:
    """The ASGI app serving ``store``. The caller owns (and closes) the store."""
    faults = FaultRegistry()
    app = Starlette(
        routes=[*V1_ROUTES, *admin.routes()],
        exception_handlers={ApiError: api_error, HTTPException: http_error},
    )
    app.state.store = store
    app.state.faults = faults
    app.state.inflight = InFlight()
    app.add_middleware(FaultMiddleware, registry=faults)
    app.add_middleware(GateMiddleware, api_key=api_key, latency_ms=latency_ms,
                       inflight=app.state.inflight)
    return app
