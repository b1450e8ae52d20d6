"""The pydantic wire models containersync used before ``api.decode`` (kept verbatim as the
reference ``tests/api/test_wire_decoder.py`` checks the new decoder against).

Wire models: the JSON the Containers API sends and the bodies this client sends it.

Responsible for turning response bodies into typed objects and a ``ContainerSpec`` into a
create body. Invariants:
- Parsing is tolerant of the live service's quirks: ``bytes`` may be null (files the
  assistant wrote), ``first_id``/``last_id`` are null on an empty page, ``status`` is a free
  string (the seeds and the live service disagree on its values), and unknown fields are
  kept (``extra="allow"``) so nothing the server adds is silently dropped.
- A create body never carries null: fields the spec leaves unset are omitted.
- A body that does not have the expected shape raises ``Rejected`` (a ``RemoteError``);
  pydantic's own exceptions never leave this module.
"""

from __future__ import annotations

import re
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from containersync.errors import Rejected

#: a container id whose first 8 hex are its creation time (recorded live ids)
_TIMED_ID = re.compile(r"^cntr_([0-9a-f]{8})[0-9a-f]{40}$")


class WireModel(BaseModel):
    """Base of every response model: keeps unknown fields, ignores nothing."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Identified(WireModel):
    """A wire object with an ``id``: what a cursor list pages over."""

    id: str


class ExpiresAfter(WireModel):
    anchor: str | None = None
    minutes: int


class Container(Identified):
    """Every field but ``id`` may be missing live: ``name`` and ``status`` then read as
    ``""`` (never matches a wanted name, never ``running``), ``created_at`` as the time in
    the id's first 8 hex when it has that shape (recorded live ids do), else 0."""

    name: str = ""
    created_at: int = 0
    status: str = ""
    object: str = "container"
    expires_after: ExpiresAfter | None = None
    last_active_at: int | None = None
    memory_limit: str | None = None
    network_policy: dict[str, Any] | None = None


    @model_validator(mode="before")
    @classmethod
    def _created_from_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("created_at") is None:
            match = _TIMED_ID.match(str(data.get("id", "")))
            if match:
                data = {**data, "created_at": int(match.group(1), 16)}
        return data


class ContainerFile(Identified):
    container_id: str
    created_at: int
    path: str
    source: str
    bytes: int | None = None
    object: str = "container.file"


class FileObject(Identified):
    """An object of the Files API (``file-...``), the kind ``copy_file`` copies in."""

    created_at: int
    filename: str
    bytes: int | None = None
    purpose: str | None = None
    object: str = "file"


class Deleted(WireModel):
    id: str
    deleted: bool = True
    object: str | None = None


ItemT = TypeVar("ItemT", bound=Identified)


class Page(WireModel, Generic[ItemT]):
    """One page of a cursor list. ``first_id``/``last_id`` are null on an empty page."""

    data: list[ItemT]
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None
    object: str = "list"


class DomainSecretValue(BaseModel):
    """One ``network_policy.domain_secrets`` entry with its value read: the value is a
    ``SecretStr`` (shown as ``**********`` in any repr or log) until the body is built."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: str
    name: str
    value: SecretStr


class ContainerSpec(BaseModel):
    """What a new container should look like; ``None`` means "let the server decide".
    ``skills`` (inline ones carry whole zips) and the secrets are left out of its repr."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    expires_after_minutes: int | None = None
    memory_limit: str | None = None
    network_policy: dict[str, Any] | None = None
    file_ids: tuple[str, ...] | None = None
    skills: tuple[dict[str, Any], ...] | None = Field(default=None, repr=False)
    domain_secrets: tuple[DomainSecretValue, ...] = Field(default=(), repr=False)

    def secret_values(self) -> tuple[str, ...]:
        """The secret values this spec sends, for redaction from any message."""
        return tuple(s.value.get_secret_value() for s in self.domain_secrets)

    def create_body(self) -> dict[str, Any]:
        """The JSON body of ``POST /containers``; unset fields are left out, never null."""
        body: dict[str, Any] = {"name": self.name}
        if self.expires_after_minutes is not None:
            body["expires_after"] = {"anchor": "last_active_at",
                                     "minutes": self.expires_after_minutes}
        if self.memory_limit is not None:
            body["memory_limit"] = self.memory_limit
        if self.network_policy is not None:
            body["network_policy"] = dict(self.network_policy)
            if self.domain_secrets:
                body["network_policy"]["domain_secrets"] = [
                    {"domain": s.domain, "name": s.name, "value": s.value.get_secret_value()}
                    for s in self.domain_secrets]
        if self.file_ids is not None:
            body["file_ids"] = list(self.file_ids)
        if self.skills is not None:
            body["skills"] = [dict(s) for s in self.skills]
        return body


ModelT = TypeVar("ModelT", bound=BaseModel)


def parse(model: type[ModelT], payload: bytes, *, what: str) -> ModelT:
    """Validate a JSON body as ``model``; a malformed body becomes ``Rejected``."""
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        problems = exc.errors()
        where, msg = "body", "invalid"
        if problems:
            where = ".".join(str(p) for p in problems[0]["loc"]) or where
            msg = problems[0]["msg"]
        raise Rejected(f"{what}: the server answered with an unexpected body ({where}: {msg})",
                       ) from None
