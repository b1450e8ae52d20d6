"""Request validation for the local backend: pure functions from wire input to clean values.

Responsible for: the container create body (live shape plus seed 003's spellings), list
query parameters, sandbox paths and upload filenames. Nothing here touches disk or time.

Invariants:
- Unknown fields are ignored, never an error (the live service does the same).
- Every rejection is a ``BadRequest`` naming the offending ``param``.
- A path that passes ``sandbox_path`` is absolute, normalised (no ``.``/``..``/empty
  segments), free of control characters and strictly below ``/mnt/data`` or ``/workspace``.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import zipfile
from dataclasses import dataclass, field
from typing import Any

from containersync.localapi.errors import (
    BadRequest,
    above_max,
    below_min,
    invalid_type,
    invalid_value,
    missing,
)

MEMORY_LIMITS = ("512m", "1g", "2g", "4g", "16g", "64g")
DEFAULT_MEMORY_LIMIT = "1g"
DEFAULT_EXPIRY_MINUTES = 20
LIVE_MAX_EXPIRY_MINUTES = 20
SANDBOX_ROOTS = ("/mnt/data", "/workspace")
UPLOAD_ROOT = "/mnt/data"
MAX_PATH_LENGTH = 1024
MAX_SEGMENT_LENGTH = 255
MAX_LIST_LIMIT = 100
DEFAULT_LIST_LIMIT = 20
MAX_SKILL_ID = 64


@dataclass(frozen=True)
class ContainerSpec:
    """A validated create body."""

    name: str
    expires_minutes: int = DEFAULT_EXPIRY_MINUTES
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    network_policy: dict[str, Any] = field(default_factory=lambda: {"type": "disabled"})
    skills: list[dict[str, Any]] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)
    #: kept in the backend's memory only, never written to its data dir nor echoed
    domain_secrets: list[dict[str, str]] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class ListQuery:
    limit: int
    order: str
    after: str | None
    name: str | None = None


def _has_control(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def _int(value: object, param: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_type(param, "an integer", value)
    if isinstance(value, float):
        if not value.is_integer():
            raise invalid_type(param, "an integer", value)
        value = int(value)
    return value


def _str(value: object, param: str, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    if required and not value:
        raise BadRequest(f"Invalid '{param}': empty string.", param=param, code="empty_string")
    return value


def _obj(value: object, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_type(param, "an object", value)
    return value


def _str_list(value: object, param: str) -> list[str]:
    if not isinstance(value, list):
        raise invalid_type(param, "an array", value)
    return [_str(item, f"{param}[{i}]") for i, item in enumerate(value)]


def expiry_minutes(value: object, max_minutes: int) -> int:
    """``expires_after`` -> minutes; accepts ``minutes`` (live) or ``seconds`` (seed 003)."""
    body = _obj(value, "expires_after")
    if "anchor" not in body:
        raise missing("expires_after.anchor")
    if body["anchor"] != "last_active_at":
        raise invalid_value("expires_after.anchor", body["anchor"], ("last_active_at",))
    if "minutes" in body:
        minutes = _int(body["minutes"], "expires_after.minutes")
    elif "seconds" in body:
        seconds = _int(body["seconds"], "expires_after.seconds")
        if seconds < 1:
            raise below_min("expires_after.seconds", 1, seconds)
        minutes = math.ceil(seconds / 60)
    else:
        raise missing("expires_after.minutes")
    if minutes < 1:
        raise below_min("expires_after.minutes", 1, minutes)
    if minutes > max_minutes:
        raise above_max("expires_after.minutes", max_minutes, minutes)
    return minutes


def network_policy(value: object) -> dict[str, Any]:
    """The policy as echoed: ``domain_secrets`` are validated, then dropped (see
    ``domain_secrets`` for the values)."""
    body = _obj(value, "network_policy")
    kind = body.get("type")
    if kind is None:
        raise missing("network_policy.type")
    if kind == "disabled":
        return {"type": "disabled"}
    if kind != "allowlist":
        raise invalid_value("network_policy.type", kind, ("disabled", "allowlist"))
    if "allowed_domains" in body:
        domains = _str_list(body["allowed_domains"], "network_policy.allowed_domains")
    elif "domains" in body:
        domains = _str_list(body["domains"], "network_policy.domains")
    else:
        raise missing("network_policy.allowed_domains")
    domain_secrets(body)
    return {"type": "allowlist", "allowed_domains": domains}


def domain_secrets(policy: dict[str, Any]) -> list[dict[str, str]]:
    """``network_policy.domain_secrets``, validated. A value with control characters (it
    could not go into a header) is refused with the value in the message, as a live
    validation error would quote it: what a client must scrub from anything it shows."""
    secrets = policy.get("domain_secrets", [])
    if not isinstance(secrets, list):
        raise invalid_type("network_policy.domain_secrets", "an array", secrets)
    out = []
    for i, secret in enumerate(secrets):
        param = f"network_policy.domain_secrets[{i}]"
        item = _obj(secret, param)
        for key in ("domain", "name", "value"):
            if key not in item:
                raise missing(f"{param}.{key}")
            _str(item[key], f"{param}.{key}")
        if _has_control(item["value"]):
            raise invalid_value(f"{param}.value", item["value"])
        out.append({k: item[k] for k in ("domain", "name", "value")})
    return out


def _skill(value: object, param: str) -> dict[str, Any]:
    body = _obj(value, param)
    kind = body.get("type", "skill_reference" if "skill_id" in body else None)
    if kind == "skill_reference":
        if "skill_id" not in body:
            raise missing(f"{param}.skill_id")
        skill_id = _str(body["skill_id"], f"{param}.skill_id")
        if len(skill_id) > MAX_SKILL_ID:
            raise BadRequest(f"Invalid '{param}.skill_id': string too long. Expected a string "
                             f"with maximum length {MAX_SKILL_ID}, but got a string with length "
                             f"{len(skill_id)} instead.", param=f"{param}.skill_id",
                             code="string_above_max_length")
        ref: dict[str, Any] = {"type": kind, "skill_id": skill_id}
        if "version" in body:
            ref["version"] = _str(body["version"], f"{param}.version")
        return ref
    if kind != "inline":
        raise invalid_value(f"{param}.type", kind, ("skill_reference", "inline"))
    source = _obj(body.get("source"), f"{param}.source") if "source" in body else None
    if source is None:
        raise missing(f"{param}.source")
    skill: dict[str, Any] = {"type": "inline"}
    for key in ("name", "description"):
        if key in body:
            skill[key] = _str(body[key], f"{param}.{key}")
    if "files" in source:  # seed 003: source.files[{path, content}]
        files = source["files"]
        if not isinstance(files, list) or not files:
            raise invalid_type(f"{param}.source.files", "a non-empty array", files)
        clean = []
        for i, item in enumerate(files):
            entry = _obj(item, f"{param}.source.files[{i}]")
            for key in ("path", "content"):
                if key not in entry:
                    raise missing(f"{param}.source.files[{i}].{key}")
            rel = _str(entry["path"], f"{param}.source.files[{i}].path")
            if rel.startswith("/") or ".." in rel.split("/") or _has_control(rel):
                raise invalid_value(f"{param}.source.files[{i}].path", rel)
            clean.append({"path": rel, "content": _str(entry["content"],
                          f"{param}.source.files[{i}].content", required=False)})
        skill["source"] = {"files": clean}
        return skill
    for key in ("name", "description"):
        if key not in body:
            raise missing(f"{param}.{key}")
    if source.get("type") != "base64":
        raise invalid_value(f"{param}.source.type", source.get("type"), ("base64",))
    for key in ("media_type", "data"):
        if key not in source:
            raise missing(f"{param}.source.{key}")
    media_type = _str(source["media_type"], f"{param}.source.media_type")
    if media_type != "application/zip":
        raise invalid_value(f"{param}.source.media_type", media_type, ("application/zip",))
    data = _str(source["data"], f"{param}.source.data")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_value(f"{param}.source.data", "<not base64>") from None
    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise invalid_value(f"{param}.source.data", "<not a zip archive>")
    skill["source"] = {"type": "base64", "media_type": media_type, "data": data}
    return skill


def container_spec(body: object, *, max_minutes: int) -> ContainerSpec:
    """Validate a create body (a parsed JSON value) into a ``ContainerSpec``."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    if "name" not in body:
        raise missing("name")
    spec: dict[str, Any] = {"name": _str(body["name"], "name", required=False)}
    if "expires_after" in body:
        spec["expires_minutes"] = expiry_minutes(body["expires_after"], max_minutes)
    if "memory_limit" in body:
        if body["memory_limit"] not in MEMORY_LIMITS:
            raise invalid_value("memory_limit", body["memory_limit"], MEMORY_LIMITS)
        spec["memory_limit"] = body["memory_limit"]
    if "network_policy" in body:
        spec["network_policy"] = network_policy(body["network_policy"])
        if spec["network_policy"]["type"] == "allowlist":
            spec["domain_secrets"] = domain_secrets(body["network_policy"])
    if "skills" in body:
        if not isinstance(body["skills"], list):
            raise invalid_type("skills", "an array", body["skills"])
        spec["skills"] = [_skill(s, f"skills[{i}]") for i, s in enumerate(body["skills"])]
    if "file_ids" in body:
        spec["file_ids"] = _str_list(body["file_ids"], "file_ids")
    return ContainerSpec(**spec)


def list_query(params: dict[str, str], *, with_name: bool = False,
               max_limit: int = MAX_LIST_LIMIT, default_limit: int = DEFAULT_LIST_LIMIT) -> ListQuery:
    """Validate ``limit``/``order``/``after`` (and ``name``) query parameters."""
    raw = params.get("limit")
    limit = default_limit
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise invalid_type("limit", "an integer", raw) from None
        if limit < 1:
            raise below_min("limit", 1, limit)
        if limit > max_limit:
            raise above_max("limit", max_limit, limit)
    order = params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid_value("order", order, ("asc", "desc"))
    after = params.get("after") or None
    name = params.get("name") if with_name else None
    return ListQuery(limit=limit, order=order, after=after, name=name)


def sandbox_path(value: object, param: str = "path") -> str:
    """Validate a file path in the sandbox; relative paths resolve under ``/mnt/data``."""
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    if not value:
        raise BadRequest(f"Invalid '{param}': empty path.", param=param, code="invalid_path")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_PATH_LENGTH or _has_control(value):
        raise BadRequest(f"Invalid '{param}': too long or contains control characters.",
                         param=param, code="invalid_path")
    full = value if value.startswith("/") else f"{UPLOAD_ROOT}/{value}"
    if full.endswith("/"):
        raise BadRequest(f"Invalid '{param}': names a directory.", param=param, code="invalid_path")
    segments = [s for s in full.split("/") if s not in ("", ".")]
    if ".." in segments or any(len(s.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_LENGTH
                               for s in segments):
        raise BadRequest(f"Invalid '{param}': '..' segments or over-long names are not allowed.",
                         param=param, code="invalid_path")
    clean = "/" + "/".join(segments)
    if not any(clean.startswith(root + "/") for root in SANDBOX_ROOTS):
        raise BadRequest(f"Invalid '{param}': must be below {' or '.join(SANDBOX_ROOTS)}.",
                         param=param, code="invalid_path")
    return clean


def upload_filename(value: str | None, param: str = "file") -> str:
    """The client's filename for an upload; hostile names are refused, not rewritten."""
    name = value or "upload"
    if ("/" in name or "\\" in name or name in (".", "..") or _has_control(name)
            or len(name.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_LENGTH - 33):
        raise BadRequest(f"Invalid filename {name!r} in '{param}'.", param=param,
                         code="invalid_filename")
    return name
