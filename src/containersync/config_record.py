"""A validated ``Config`` as plain JSON data, and read back without pydantic (``Record``).

``sync`` and ``status`` read the config through the cache of ``status_config``: after a
full validation the config is stored with ``to_doc``; while nothing it was validated from
changed, ``from_doc`` rebuilds it as ``Record`` objects: the same attribute names and
values, the same properties and helpers (``config_methods``, shared with the models), the
two pydantic methods the engine uses (``model_fields_set``, ``model_copy``), and nothing
else: a record is never validated again and cannot be changed.

The document keeps types JSON lacks: ``{"$model": name, "set": [...], "fields": {...}}``,
``{"$path": str}``, ``{"$mode": value}``, ``{"$tuple": [...]}``, ``{"$dict": {...}}``. A
document this module cannot read raises ``ValueError`` (the cache then validates instead).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import Any

from containersync import config_methods as methods
from containersync.model.entry import Mode

#: the models a config holds, by class name, and what each computes (``config_methods``)
_METHODS: dict[str, type] = {
    "Config": methods.ConfigMethods, "ApiConfig": methods.ApiMethods,
    "StateConfig": methods.StateMethods, "DaemonConfig": methods.DaemonMethods, "MappingConfig": object,
    "ContainerSpec": methods.ContainerSpecMethods, "NetworkPolicy": object,
    "DomainSecret": methods.DomainSecretMethods, "SkillConfig": methods.SkillMethods,
}


class Record:
    """One model's validated values; read-only."""

    __slots__ = ("_fields", "_set")
    _model = ""

    def __init__(self, fields: dict[str, Any], fields_set: Iterable[str]) -> None:
        object.__setattr__(self, "_fields", fields)
        object.__setattr__(self, "_set", frozenset(fields_set))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(f"{self._model} has no field {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self._model} is read-only")

    @property
    def model_fields_set(self) -> frozenset[str]:
        return self._set  # type: ignore[no-any-return]

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Record:
        update = update or {}
        return type(self)({**self._fields, **update}, self._set | update.keys())

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Record) and other._model == self._model
                and other._fields == self._fields)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{self._model}Record({', '.join(f'{k}={v!r}' for k, v in self._fields.items())})"


_CLASSES: dict[str, type[Record]] = {
    name: type(f"{name}Record", (Record, mixin) if mixin is not object else (Record,),
               {"__slots__": (), "_model": name})
    for name, mixin in _METHODS.items()}


def to_doc(value: Any) -> Any:
    """``value`` (a validated model and what it holds) as JSON data."""
    fields = getattr(type(value), "model_fields", None)
    if fields is not None:
        name = type(value).__name__
        if name not in _CLASSES:
            raise ValueError(f"no record for {name}")
        return {"$model": name, "set": sorted(value.model_fields_set),
                "fields": {k: to_doc(getattr(value, k)) for k in fields}}
    if isinstance(value, Mode):
        return {"$mode": value.value}
    if isinstance(value, PurePath):
        return {"$path": str(value)}
    if isinstance(value, tuple):
        return {"$tuple": [to_doc(v) for v in value]}
    if isinstance(value, list):
        return [to_doc(v) for v in value]
    if isinstance(value, dict):
        return {"$dict": {str(k): to_doc(v) for k, v in value.items()}}
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise ValueError(f"cannot keep a {type(value).__name__} in a config record")


def from_doc(doc: Any) -> Any:
    """What ``to_doc`` wrote, with models as ``Record`` objects."""
    if isinstance(doc, list):
        return [from_doc(v) for v in doc]
    if not isinstance(doc, dict):
        return doc
    if "$model" in doc:
        cls = _CLASSES[doc["$model"]]
        return cls({k: from_doc(v) for k, v in doc["fields"].items()}, doc["set"])
    if "$mode" in doc:
        return Mode(doc["$mode"])
    if "$path" in doc:
        return Path(doc["$path"])
    if "$tuple" in doc:
        return tuple(from_doc(v) for v in doc["$tuple"])
    if "$dict" in doc:
        return {k: from_doc(v) for k, v in doc["$dict"].items()}
    raise ValueError("not a config record")
