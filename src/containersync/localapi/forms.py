"""Streaming multipart/form-data parsing that owns every temp file it opens.

Starlette's parser drops a file part whose closing boundary never arrives without closing
its temp file; this parser (on python-multipart's low-level ``MultipartParser``) keeps a
list of every spooled file, refuses a body that ends before its final boundary, and
closes everything on any failure. File parts spool to disk past ``SPOOL_BYTES``; text
fields are capped at ``MAX_FIELD_BYTES`` and the form at ``MAX_PARTS`` parts.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from typing import IO, Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from containersync.localapi.errors import BadRequest

SPOOL_BYTES = 1 << 20
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 32


@dataclass
class FilePart:
    filename: str
    content_type: str | None
    file: IO[bytes]


@dataclass
class Form:
    files: dict[str, FilePart] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    opened: list[IO[bytes]] = field(default_factory=list)

    def close(self) -> None:
        for handle in self.opened:
            handle.close()


def _bad(reason: str) -> BadRequest:
    return BadRequest(f"Could not parse the multipart body: {reason}.", code="invalid_body")


class _Builder:
    """Receives the parser's callbacks and builds a ``Form``."""

    def __init__(self, form: Form) -> None:
        self.form = form
        self.headers: dict[bytes, bytes] = {}
        self.header_field = b""
        self.header_value = b""
        self.name: str | None = None
        self.file: IO[bytes] | None = None
        self.text: bytearray | None = None
        self.parts = 0
        self.open_part = False
        self.ended = False

    def callbacks(self) -> Any:
        return {"on_part_begin": self.part_begin, "on_part_data": self.part_data,
                "on_part_end": self.part_end, "on_header_field": self.header_field_data,
                "on_header_value": self.header_value_data, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished, "on_end": self.end}

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise _bad("too many parts")
        self.headers, self.file, self.text, self.open_part = {}, None, None, True

    def header_field_data(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def header_value_data(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field = self.header_value = b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition"))
        if b"name" not in options:
            raise _bad("a part has no name")
        self.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            handle = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
            self.form.opened.append(handle)
            self.file = handle
            ctype = self.headers.get(b"content-type")
            self.form.files[self.name] = FilePart(
                options[b"filename"].decode("utf-8", "replace"),
                ctype.decode("latin-1") if ctype else None, handle)
        else:
            self.text = bytearray()

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.text is not None:
            if len(self.text) + end - start > MAX_FIELD_BYTES:
                raise _bad(f"field '{self.name}' is too large")
            self.text += data[start:end]
        elif self.file is not None:
            self.file.write(data[start:end])

    def part_end(self) -> None:
        if self.text is not None and self.name is not None:
            self.form.fields[self.name] = self.text.decode("utf-8", "replace")
        elif self.file is not None:
            self.file.seek(0)
        self.open_part = False

    def end(self) -> None:
        self.ended = True


async def parse_form(request: Request) -> Form:
    """The request's multipart form; the caller must ``close()`` it. Bad bodies -> 400."""
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data":
        raise BadRequest("Expected a multipart/form-data body.", code="invalid_body")
    boundary = params.get(b"boundary")
    if not boundary:
        raise _bad("no boundary")
    form = Form()
    builder = _Builder(form)
    parser = MultipartParser(boundary, builder.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        if builder.open_part or not builder.ended:
            raise _bad("the body ended before the final boundary")
    except ClientDisconnect:
        form.close()
        raise _bad("the client went away") from None
    except BadRequest:
        form.close()
        raise
    except Exception as exc:  # python-multipart's parse errors
        form.close()
        raise _bad(str(exc) or type(exc).__name__) from None
    return form
