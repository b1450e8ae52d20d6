"""Wire objects: the JSON the Containers API sends and the bodies this client sends it.

Responsible for turning response bodies into typed objects and a ``ContainerSpec`` into a
create body. Invariants:
- Parsing is tolerant of the live service's quirks: ``bytes`` may be null (files the
  assistant wrote), ``first_id``/``last_id`` are null on an empty page, ``status`` is a free
  string (the seeds and the live service disagree on its values), and unknown fields are
  kept (``extra``) so nothing the server adds is silently dropped.
- A create body never carries null: fields the spec leaves unset are omitted.
- A body that does not have the expected shape raises ``Rejected`` (a ``RemoteError``),
  naming the first field that is wrong (``data.3.created_at: ...``).

The decoder is hand-written (``api.decode``), not pydantic: building pydantic models
cost every ``sync`` ~0.1 s of start-up. It accepts what the pydantic models it replaced
accepted, with one deliberate difference: a number or boolean sent as a string (``"5"``,
``"yes"``) is refused (``tests/api/test_wire_decoder.py`` holds the old models as the
reference and checks both on random JSON).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from containersync.api.decode import (
    INT_LIMIT,
    NO_EXTRA,
    REQUIRED,
    Bad,
    Field,
    as_bool,
    as_int,
    as_object,
    as_str,
    load_json,
    object_fields,
    optional,
)
from containersync.errors import Rejected

T = TypeVar("T", covariant=True)

_new = tuple.__new__
#: a container id whose first 8 hex are its creation time (recorded live ids)
_TIMED_ID = re.compile(r"^cntr_([0-9a-f]{8})[0-9a-f]{40}$")


class Identified(Protocol):
    """A wire object with an ``id``: what a cursor list pages over."""

    @property
    def id(self) -> str: ...


class Decoder(Protocol[T]):
    def decode(self, raw: Any, /) -> T: ...


class ExpiresAfter(NamedTuple):
    minutes: int
    anchor: str | None = None
    extra: Mapping[str, Any] = NO_EXTRA

    @classmethod
    def decode(cls, raw: Any) -> ExpiresAfter:
        return cls._make(object_fields(raw, _EXPIRES))


_EXPIRES: tuple[Field, ...] = (("minutes", as_int, REQUIRED),
                               ("anchor", optional(as_str), None))


class Container(NamedTuple):
    """Every field but ``id`` may be missing live: ``name`` and ``status`` then read as
    ``""`` (never matches a wanted name, never ``running``), ``created_at`` as the time in
    the id's first 8 hex when it has that shape (recorded live ids do), else 0."""

    id: str
    name: str = ""
    created_at: int = 0
    status: str = ""
    object: str = "container"
    expires_after: ExpiresAfter | None = None
    last_active_at: int | None = None
    memory_limit: str | None = None
    network_policy: dict[str, Any] | None = None
    extra: Mapping[str, Any] = NO_EXTRA

    @classmethod
    def decode(cls, raw: Any) -> Container:
        if type(raw) is dict and raw.get("created_at") is None:
            match = _TIMED_ID.match(str(raw.get("id", "")))
            if match:
                raw = {**raw, "created_at": int(match.group(1), 16)}
        return cls._make(object_fields(raw, _CONTAINER))


_CONTAINER: tuple[Field, ...] = (
    ("id", as_str, REQUIRED), ("name", as_str, ""), ("created_at", as_int, 0),
    ("status", as_str, ""), ("object", as_str, "container"),
    ("expires_after", optional(ExpiresAfter.decode), None),
    ("last_active_at", optional(as_int), None), ("memory_limit", optional(as_str), None),
    ("network_policy", optional(as_object), None))


class ContainerFile(NamedTuple):
    id: str
    container_id: str
    created_at: int
    path: str
    source: str
    bytes: int | None = None
    object: str = "container.file"
    extra: Mapping[str, Any] = NO_EXTRA

    @classmethod
    def decode(cls, raw: Any) -> ContainerFile:
        # the shape every listing page holds 100 of, checked inline (~4x faster than the
        # general path, which decides anything else: the same values either way)
        if type(raw) is dict:
            get = raw.get
            fid, cid, created, path = get("id"), get("container_id"), get("created_at"), \
                get("path")
            source, size, kind = get("source"), get("bytes"), get("object", "container.file")
            if (type(fid) is str and type(cid) is str and type(created) is int
                    and -INT_LIMIT <= created < INT_LIMIT
                    and type(path) is str and type(source) is str and type(kind) is str
                    and (size is None or (type(size) is int and -INT_LIMIT <= size < INT_LIMIT))
                    and len(raw) == 5 + ("bytes" in raw) + ("object" in raw)):
                return _new(cls, (fid, cid, created, path, source, size, kind, NO_EXTRA))
        return cls._make(object_fields(raw, _FILE))


_FILE: tuple[Field, ...] = (
    ("id", as_str, REQUIRED), ("container_id", as_str, REQUIRED),
    ("created_at", as_int, REQUIRED), ("path", as_str, REQUIRED),
    ("source", as_str, REQUIRED), ("bytes", optional(as_int), None),
    ("object", as_str, "container.file"))


class FileObject(NamedTuple):
    """An object of the Files API (``file-...``), the kind ``copy_file`` copies in."""

    id: str
    created_at: int
    filename: str
    bytes: int | None = None
    purpose: str | None = None
    object: str = "file"
    extra: Mapping[str, Any] = NO_EXTRA

    @classmethod
    def decode(cls, raw: Any) -> FileObject:
        return cls._make(object_fields(raw, _FILE_OBJECT))


_FILE_OBJECT: tuple[Field, ...] = (
    ("id", as_str, REQUIRED), ("created_at", as_int, REQUIRED),
    ("filename", as_str, REQUIRED), ("bytes", optional(as_int), None),
    ("purpose", optional(as_str), None), ("object", as_str, "file"))


class Deleted(NamedTuple):
    id: str
    deleted: bool = True
    object: str | None = None
    extra: Mapping[str, Any] = NO_EXTRA

    @classmethod
    def decode(cls, raw: Any) -> Deleted:
        return cls._make(object_fields(raw, _DELETED))


_DELETED: tuple[Field, ...] = (("id", as_str, REQUIRED), ("deleted", as_bool, True),
                               ("object", optional(as_str), None))

ItemT = TypeVar("ItemT")


class Page(NamedTuple, Generic[ItemT]):
    """One page of a cursor list. ``first_id``/``last_id`` are null on an empty page."""

    data: list[ItemT]
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None
    object: str = "list"
    extra: Mapping[str, Any] = NO_EXTRA


class PageOf(Generic[ItemT]):
    """The decoder of a page of ``item`` (``PageOf(ContainerFile)``)."""

    def __init__(self, item: Decoder[ItemT]) -> None:
        def items(raw: Any) -> list[ItemT]:
            if type(raw) is not list:
                raise Bad("Input should be a valid array")
            decode, out = item.decode, []
            for i, one in enumerate(raw):
                try:
                    out.append(decode(one))
                except Bad as bad:
                    raise bad.under(i) from None
            return out

        self._fields: tuple[Field, ...] = (
            ("data", items, REQUIRED), ("has_more", as_bool, False),
            ("first_id", optional(as_str), None), ("last_id", optional(as_str), None),
            ("object", as_str, "list"))

    def decode(self, raw: Any) -> Page[ItemT]:
        return Page._make(object_fields(raw, self._fields))


class Secret:
    """A secret value: shown as ``**********`` in any repr, str or log until
    ``get_secret_value`` reads it (to build the body)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class DomainSecretValue:
    """One ``network_policy.domain_secrets`` entry with its value read."""

    domain: str
    name: str
    value: Secret


@dataclass(frozen=True)
class ContainerSpec:
    """What a new container should look like; ``None`` means "let the server decide".
    ``skills`` (inline ones carry whole zips) and the secrets are left out of its repr."""

    name: str
    expires_after_minutes: int | None = None
    memory_limit: str | None = None
    network_policy: dict[str, Any] | None = None
    file_ids: tuple[str, ...] | None = None
    skills: tuple[dict[str, Any], ...] | None = field(default=None, repr=False)
    domain_secrets: tuple[DomainSecretValue, ...] = field(default=(), repr=False)

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


def parse(model: Decoder[T], payload: bytes, *, what: str) -> T:
    """Decode a JSON body as ``model`` (``Container``, ``PageOf(ContainerFile)``...); a
    malformed body becomes ``Rejected`` naming the first field that is wrong."""
    try:
        return model.decode(load_json(payload))
    except Bad as bad:
        where = ".".join(str(p) for p in bad.loc) or "body"
        raise Rejected(f"{what}: the server answered with an unexpected body "
                       f"({where}: {bad.msg})") from None
