"""Admin routes under ``/_local`` (outside ``/v1``, never behind the API key).

- ``GET /_local/clock`` -> ``{"now"}``; ``POST /_local/clock/advance`` ``{"seconds"}`` -> ``{"now"}``
  (the offset is persisted in the data dir, so every process sharing it sees the move);
- ``POST /_local/faults`` (see ``faults.py``), ``DELETE /_local/faults`` clears them;
- ``GET /_local/inflight`` -> ``{"now", "peak"}``: ``/v1`` requests being handled and the
  most at once since start or the last ``DELETE /_local/inflight`` (which resets the peak);
- ``POST /_local/containers/auto``: a container the Responses API made on its own (named
  ``auto``), as live listings show them;
- ``POST /_local/containers/{cid}/files``: multipart ``file`` plus form fields ``path``
  (required, absolute sandbox path), ``source`` (default ``assistant``) and ``record_bytes``
  (``true``/``false``, default ``false``: the object then reports ``bytes: null``). This is
  how code "running in the container" (``containersync local exec``) writes files.
"""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from containersync.localapi.errors import BadRequest, invalid_type, invalid_value, missing
from containersync.localapi.faults import FaultRegistry, describe, parse_fault
from containersync.localapi.forms import parse_form
from containersync.localapi.httpio import (
    call,
    form_file,
    form_text,
    json_body,
    ok,
    store_of,
)


def _faults(request: Request) -> FaultRegistry:
    registry: FaultRegistry = request.app.state.faults
    return registry


async def clock_now(request: Request) -> Response:
    return ok({"now": store_of(request).clock.now()})


async def clock_advance(request: Request) -> Response:
    body = await json_body(request)
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if seconds is None:
        raise missing("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise invalid_type("seconds", "a number", seconds)
    if not math.isfinite(seconds) or seconds < 0:
        raise invalid_value("seconds", seconds)
    return ok({"now": await call(store_of(request).clock.advance, float(seconds))})


async def add_fault(request: Request) -> Response:
    fault = parse_fault(await json_body(request))
    _faults(request).add(fault)
    return ok(describe(fault))


async def clear_faults(request: Request) -> Response:
    _faults(request).clear()
    return ok({"cleared": True})


async def inflight(request: Request) -> Response:
    counter = request.app.state.inflight
    return ok({"now": counter.now, "peak": counter.peak})


async def reset_inflight(request: Request) -> Response:
    counter = request.app.state.inflight
    counter.reset()
    return ok({"now": counter.now, "peak": counter.peak})


async def add_assistant_file(request: Request) -> Response:
    form = await parse_form(request)
    try:
        upload = form_file(form)
        path = form_text(form, "path")
        if path is None:
            raise missing("path")
        if not path.startswith("/"):
            raise BadRequest("'path' must be absolute.", param="path", code="invalid_path")
        flag = (form_text(form, "record_bytes") or "false").lower()
        if flag not in ("true", "false"):
            raise invalid_value("record_bytes", flag, ("true", "false"))
        return ok(await call(store_of(request).add_container_file_stream,
                             request.path_params["cid"], path=path, stream=upload.file,
                             source=form_text(form, "source") or "assistant",
                             record_bytes=flag == "true"))
    finally:
        form.close()


async def add_auto_container(request: Request) -> Response:
    return ok(await call(store_of(request).create_auto_container))


def routes() -> list[Route]:
    return [
        Route("/_local/containers/auto", add_auto_container, methods=["POST"]),
        Route("/_local/clock", clock_now, methods=["GET"]),
        Route("/_local/clock/advance", clock_advance, methods=["POST"]),
        Route("/_local/faults", add_fault, methods=["POST"]),
        Route("/_local/faults", clear_faults, methods=["DELETE"]),
        Route("/_local/inflight", inflight, methods=["GET"]),
        Route("/_local/inflight", reset_inflight, methods=["DELETE"]),
        Route("/_local/containers/{cid}/files", add_assistant_file, methods=["POST"]),
    ]
