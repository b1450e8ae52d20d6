"""Ids and wire objects of the local backend: rows in, the live API's JSON shapes out.

Invariants: ids have the live prefixes and lengths (``cntr_`` + 48 hex whose first 8 are the
creation time, ``cfile_`` + 32 hex, ``file-`` + 24 alphanumerics); timestamps on the wire are whole unix seconds; a list
envelope has ``first_id``/``last_id`` null when its page is empty; secrets and skills are
never rendered.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import string
from collections.abc import Sequence
from typing import Any

_ALNUM = string.ascii_letters + string.digits


def new_container_id(created_at: float) -> str:
    """``cntr_`` + 48 hex whose first 8 are ``created_at`` in hex, as in recorded live ids."""
    return f"cntr_{int(created_at) & 0xFFFFFFFF:08x}" + secrets.token_hex(20)


def new_container_file_id() -> str:
    return "cfile_" + secrets.token_hex(16)


def new_file_id() -> str:
    return "file-" + "".join(secrets.choice(_ALNUM) for _ in range(24))


def upload_prefix() -> str:
    """The random part of a server-chosen upload path (32 hex)."""
    return secrets.token_hex(16)


#: container fields a backend may be told to leave out (every one but ``id`` may be missing;
#: objects recorded live in 2025 lack ``memory_limit`` and ``network_policy``)
OMITTABLE = ("object", "name", "created_at", "status", "expires_after", "last_active_at",
             "memory_limit", "network_policy")
RECORDED_2025_OMITS = ("memory_limit", "network_policy")


def container(row: sqlite3.Row, *, omit: tuple[str, ...] = (),
              last_active_at: float | None = None) -> dict[str, Any]:
    """The container object; ``omit`` leaves fields out, ``last_active_at`` overrides the
    stored one (listings show the request time, as recorded live)."""
    body = {
        "id": row["id"],
        "object": "container",
        "name": row["name"],
        "created_at": int(row["created_at"]),
        "status": row["status"],
        "expires_after": {"anchor": "last_active_at", "minutes": row["expires_minutes"]},
        "last_active_at": int(row["last_active_at"] if last_active_at is None
                              else last_active_at),
        "memory_limit": row["memory_limit"],
        "network_policy": json.loads(row["network_policy"]),
    }
    for key in omit:
        body.pop(key, None)
    return body


def container_file(row: sqlite3.Row) -> dict[str, Any]:
    return listed_container_file([row[c] for c in LISTED_FILE_COLUMNS])


#: the columns of ``container_files`` that ``listed_container_file`` takes, in its order
LISTED_FILE_COLUMNS = ("id", "container_id", "created_at", "size", "record_bytes", "path",
                       "source")


def listed_container_file(row: Sequence[Any]) -> dict[str, Any]:
    """A container file from the values of ``LISTED_FILE_COLUMNS``, by position: a listing
    page renders 100 of them, and a row read by column name costs a scan of the names per
    field (the page's rendering took twice as long)."""
    fid, cid, created_at, size, record_bytes, path, source = row
    return {
        "id": fid,
        "object": "container.file",
        "container_id": cid,
        "created_at": int(created_at),
        "bytes": size if record_bytes else None,
        "path": path,
        "source": source,
    }


def file(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": "file",
        "bytes": row["size"],
        "created_at": int(row["created_at"]),
        "expires_at": None,
        "filename": row["filename"],
        "purpose": row["purpose"],
        "status": "processed",
        "status_details": None,
    }


def page(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def deleted(object_id: str, kind: str) -> dict[str, Any]:
    return {"id": object_id, "object": kind, "deleted": True}
