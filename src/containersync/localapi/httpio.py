"""HTTP plumbing shared by the ``/v1`` and admin routes: body parsing, errors, downloads.

Invariants: a malformed JSON body, a broken or truncated multipart body (see ``forms.py``)
and a wrong content type all become a 400 envelope (never a 500); store calls run in the threadpool so
the event loop keeps serving; download handles are closed when the response ends.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import IO, Any, TypeVar
from urllib.parse import quote

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from containersync.localapi.errors import ApiError, BadRequest, missing
from containersync.localapi.forms import FilePart, Form
from containersync.localapi.store import Store

T = TypeVar("T")
CHUNK = 256 * 1024


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def call(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking store call off the event loop."""
    return await run_in_threadpool(func, *args, **kwargs)


def ok(payload: dict[str, Any]) -> JSONResponse:
    return JSONResponse(payload)


async def json_body(request: Request) -> Any:
    try:
        raw = await request.body()
    except ClientDisconnect:
        raise BadRequest("The request body was cut short.", code="invalid_body") from None
    try:
        return json.loads(raw) if raw else {}
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("We could not parse the JSON body of your request. (HINT: This likely "
                         "means you aren't using your HTTP library correctly.)",
                         code="invalid_json") from None


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


def form_file(form: Form, name: str = "file") -> FilePart:
    part = form.files.get(name)
    if part is None:
        if name in form.fields:
            raise BadRequest(f"'{name}' must be a file part (with a filename).", param=name,
                             code="invalid_type")
        raise missing(name)
    return part


def form_text(form: Form, name: str) -> str | None:
    if name in form.files:
        raise BadRequest(f"'{name}' must be a text field.", param=name, code="invalid_type")
    return form.fields.get(name)


#: the plain ``filename`` of recorded live downloads: a placeholder, whatever the file is
PLACEHOLDER_FILENAME = "file.txt"


def content_disposition(filename: str, *, placeholder: bool = False) -> str:
    """``placeholder``: the recorded live shape of container file downloads, a placeholder
    ``filename`` and the sandbox file's base name (``<hex>-<name>`` for an upload) in
    ``filename*``. A client must name local files from the listing, never from this."""
    if placeholder:
        return (f'attachment; filename="{PLACEHOLDER_FILENAME}"; '
                f"filename*=UTF-8''{quote(filename, safe='')}")
    plain = "".join(ch for ch in filename if 32 <= ord(ch) < 127 and ch not in '"\\') or "download"
    value = f'attachment; filename="{plain}"'
    if plain != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


class _FileResponse(StreamingResponse):
    """Streams an open blob and closes it however the response ends, including when the
    client disconnects before the body starts (the body generator then never runs)."""

    def __init__(self, handle: IO[bytes], **kwargs: Any) -> None:
        self._handle = handle

        def chunks() -> Iterator[bytes]:
            while block := handle.read(CHUNK):
                yield block

        super().__init__(iterate_in_threadpool(chunks()), **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._handle.close()


def download(handle: IO[bytes], content_type: str, filename: str, *,
             placeholder: bool = False) -> Response:
    size = os.fstat(handle.fileno()).st_size
    return _FileResponse(handle, media_type=content_type, headers={
        "content-length": str(size), "content-disposition": content_disposition(
            filename, placeholder=placeholder)})


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.envelope(), status_code=exc.status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
    message = ("Invalid URL (" + request.method + " " + request.url.path + ")"
               if exc.status_code in (404, 405) else str(exc.detail))
    return JSONResponse({"error": {"message": message, "type": kind, "param": None,
                                   "code": None}}, status_code=exc.status_code)
