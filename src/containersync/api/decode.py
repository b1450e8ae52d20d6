"""A small validating JSON decoder for the wire objects (``api.wire``), standard library only.

A body is parsed with ``json`` (strict UTF-8; a lone surrogate escape, which no UTF-8 text
can hold, is refused) and each object is checked field by field against a tuple of
``(name, check, default)``: a check returns the value or raises ``Bad``; ``REQUIRED``
marks a field without a default; keys no field names are kept as the object's ``extra``.
A failure names where it is (``data.3.created_at``), as the pydantic models this replaced
did, with the same rules: an int field takes a JSON integer, a boolean or an integral
finite float inside 64 bits; a bool field takes true/false, 0/1 or 0.0/1.0; a string field
takes a string only. Unlike those models, a number or boolean sent *as a string* is
refused (no server of the API sends one), and so is a JSON integer outside 64 bits (the
models took it; the index, SQLite, cannot store it: a hostile ``created_at`` of 2**63
crashed every cycle of its mapping with an OverflowError).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

T = TypeVar("T")

#: the ``extra`` of an object that had no unknown keys (shared, read-only)
NO_EXTRA: Mapping[str, Any] = MappingProxyType({})
REQUIRED: Any = object()
#: JSON integers in ``[-INT_LIMIT, INT_LIMIT)`` only: SQLite's INTEGER (the index's)
INT_LIMIT = 2**63
_LIMIT = INT_LIMIT
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")

Check = Callable[[Any], Any]
Field = tuple[str, Check, Any]


class Bad(Exception):
    """A value that does not have the expected shape, and where it is (outermost first)."""

    def __init__(self, msg: str, loc: tuple[int | str, ...] = ()) -> None:
        super().__init__(msg)
        self.msg, self.loc = msg, loc

    def under(self, key: int | str) -> Bad:
        return Bad(self.msg, (key, *self.loc))


def load_json(payload: bytes) -> Any:
    try:
        value = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise Bad("Invalid JSON: not UTF-8") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, too many digits
        raise Bad(f"Invalid JSON: {exc}") from None
    if _SURROGATE.search(payload) is not None and not _encodable(value):
        raise Bad("Invalid JSON: lone surrogate in a string escape")
    return value


def _encodable(value: Any) -> bool:
    """Whether every string in ``value`` is valid Unicode (no lone surrogate)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            stack.extend(item.keys())
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
        elif type(item) is str:
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def object_fields(raw: Any, fields: tuple[Field, ...]) -> list[Any]:
    """The values of ``fields`` in ``raw`` (a JSON object), in order, then its extras."""
    if type(raw) is not dict:
        raise Bad("Input should be an object")
    values: list[Any] = []
    present = 0
    for name, check, default in fields:
        if name in raw:
            present += 1
            try:
                values.append(check(raw[name]))
            except Bad as bad:
                raise bad.under(name) from None
        elif default is REQUIRED:
            raise Bad("Field required", (name,))
        else:
            values.append(default)
    if present == len(raw):
        values.append(NO_EXTRA)
    else:
        known = {f[0] for f in fields}
        values.append({k: v for k, v in raw.items() if k not in known})
    return values


def as_str(value: Any) -> str:
    if type(value) is str:
        return value
    raise Bad("Input should be a valid string")


def as_int(value: Any) -> int:
    kind = type(value)
    if kind is int:
        if not -_LIMIT <= value < _LIMIT:  # what SQLite (the index) can hold
            raise Bad("Input should be a valid integer, exceeded maximum size")
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return int(value)
    if kind is float:
        if not math.isfinite(value):
            raise Bad("Input should be a finite number")
        if not value.is_integer():
            raise Bad("Input should be a valid integer, got a number with a fractional part")
        if not -_LIMIT < value < _LIMIT:
            raise Bad("Input should be a valid integer, exceeded maximum size")
        return int(value)
    raise Bad("Input should be a valid integer")


def as_bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    if type(value) in (int, float) and value in (0, 1):
        return bool(value)
    raise Bad("Input should be a valid boolean")


def as_object(value: Any) -> dict[str, Any]:
    if type(value) is dict:
        return value
    raise Bad("Input should be an object")


def optional(check: Callable[[Any], T]) -> Callable[[Any], T | None]:
    def check_or_none(value: Any) -> T | None:
        return None if value is None else check(value)
    return check_or_none
