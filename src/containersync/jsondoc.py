"""The JSON documents the command line prints (``--json``), with a versioned schema.

Every document is an object whose first key is ``"schema"``: ``containersync.<kind>/<N>``
(``containersync.sync/1``, ``containersync.status/1``; the daemon's JSON log lines carry
``containersync.log/1``). ``N`` changes only when a field is removed or changes meaning;
new fields may appear within a version. ``docs/json.md`` describes every field (a test
parses it and checks every key the commands print against it).

Every time is ISO 8601 in UTC with a ``Z`` and whole seconds (``2026-12-01T11:30:00Z``),
made here by ``iso``; durations are numbers of seconds in fields named ``seconds`` or
``*_s``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

VERSIONS = {"sync": 1, "status": 1, "log": 1}


def schema(kind: str) -> str:
    """The ``schema`` value of a document of ``kind`` (one of ``VERSIONS``)."""
    return f"containersync.{kind}/{VERSIONS[kind]}"


def iso(ts: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC (``2026-12-01T11:30:00Z``); ``None`` stays ``None``."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def document(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` as a document of ``kind``: ``schema`` first, then the body's fields."""
    if "schema" in body:
        raise ValueError("a document's body may not set its own schema")
    return {"schema": schema(kind), **body}


def dump(kind: str, body: Mapping[str, Any], stream: TextIO) -> None:
    """Write ``document(kind, body)`` to ``stream``, indented, with a final newline."""
    json.dump(document(kind, body), stream, indent=2)
    stream.write("\n")
