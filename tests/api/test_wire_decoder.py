"""The hand-written wire decoder (``api.decode``) against the pydantic models it replaced
(kept only in the tests, as ``support/wire_pydantic_reference.py``), on random JSON.

- whatever the new decoder accepts, the old models accepted, with the same values
  (extras included);
- whatever the old models rejected, the new decoder rejects;
- the differences allowed: a number or boolean sent as a string (``"5"``, ``"yes"``),
  which the old models coerced, is refused; so is a JSON integer outside 64 bits, which
  the old models took and the index (SQLite) cannot store.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from containersync.api import wire
from containersync.errors import Rejected
from support import wire_pydantic_reference as old

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                    st.sampled_from(["5", " 7 ", "1_000", "2.0", "yes", "false", "0", "t"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8)

FIELDS = {
    "ExpiresAfter": {"anchor": st.one_of(st.none(), st.text(max_size=5)),
                     "minutes": st.integers(-5, 10**6)},
    "Container": {"id": st.one_of(st.just("cntr_" + "0" * 7 + "a" + "b" * 40),
                                  st.text(max_size=6)),
                  "name": st.text(max_size=5), "created_at": st.integers(0, 2**40),
                  "status": st.text(max_size=5), "object": st.just("container"),
                  "last_active_at": st.one_of(st.none(), st.integers()),
                  "memory_limit": st.one_of(st.none(), st.text(max_size=3)),
                  "network_policy": st.one_of(st.none(), st.dictionaries(st.text(max_size=3),
                                                                         values, max_size=2))},
    "ContainerFile": {"id": st.text(max_size=6), "container_id": st.text(max_size=6),
                      "created_at": st.integers(0, 2**40), "path": st.text(max_size=6),
                      "source": st.sampled_from(["user", "assistant"]),
                      "bytes": st.one_of(st.none(), st.integers(0, 2**40)),
                      "object": st.just("container.file")},
    "FileObject": {"id": st.text(max_size=6), "created_at": st.integers(0, 2**40),
                   "filename": st.text(max_size=6),
                   "bytes": st.one_of(st.none(), st.integers(0, 2**40)),
                   "purpose": st.one_of(st.none(), st.text(max_size=4)),
                   "object": st.just("file")},
    "Deleted": {"id": st.text(max_size=6), "deleted": st.booleans(),
                "object": st.one_of(st.none(), st.text(max_size=4))},
}


@st.composite
def body(draw: Any, kind: str, depth: int = 0) -> dict[str, Any]:
    """An object of ``kind``: each field well-formed, absent or any JSON, plus extras."""
    out: dict[str, Any] = {}
    for name, good in FIELDS[kind].items():
        choice = draw(st.sampled_from(["good", "good", "good", "absent", "any"]))
        if kind == "Container" and name == "expires_after":
            continue
        if choice == "good":
            out[name] = draw(good)
        elif choice == "any":
            out[name] = draw(values)
    if kind == "Container" and depth == 0:
        pick = draw(st.sampled_from(["none", "absent", "good", "any"]))
        if pick == "good":
            out["expires_after"] = draw(body("ExpiresAfter", depth + 1))
        elif pick != "absent":
            out["expires_after"] = None if pick == "none" else draw(values)
    out.update(draw(st.dictionaries(st.text(max_size=4), values, max_size=2)))
    return out


@st.composite
def page(draw: Any, item: str) -> Any:
    out: dict[str, Any] = {}
    if draw(st.integers(0, 5)):  # mostly present
        out["data"] = draw(st.one_of(st.lists(body(item), max_size=3), values))
    for name, good in (("has_more", st.booleans()), ("first_id", st.none()),
                       ("last_id", st.text(max_size=3))):
        choice = draw(st.sampled_from(["good", "absent", "any"]))
        if choice == "good":
            out[name] = draw(good)
        elif choice == "any":
            out[name] = draw(values)
    return out


def canon(obj: Any) -> Any:
    """A decoded object as plain JSON-like data: fields and extras in one dict."""
    if hasattr(obj, "_asdict"):
        out = {k: canon(v) for k, v in obj._asdict().items() if k != "extra"}
        out.update(obj.extra)
        return out
    if isinstance(obj, list):
        return [canon(v) for v in obj]
    return obj


def old_result(model: Any, payload: bytes) -> Any:
    try:
        return True, old.parse(model, payload, what="t").model_dump()
    except Rejected:
        return False, None


def new_result(decoder: Any, payload: bytes) -> tuple[bool, Any, str]:
    try:
        return True, canon(wire.parse(decoder, payload, what="t")), ""
    except Rejected as exc:
        return False, None, str(exc)


def at(raw: Any, where: str) -> Any:
    for key in where.split("."):
        raw = raw[int(key)] if isinstance(raw, list) else raw[key]
    return raw


def agree(old_model: Any, decoder: Any, raw: Any) -> None:
    payload = json.dumps(raw).encode()
    old_ok, old_value = old_result(old_model, payload)
    new_ok, new_value, why = new_result(decoder, payload)
    if new_ok:
        assert old_ok and new_value == old_value
    elif old_ok:  # the allowed differences: a number or boolean sent as a string, or an
        where, msg = why.rsplit("(", 1)[1].rstrip(")").split(": ", 1)  # int beyond 64 bits
        value = at(raw, where)
        if msg == "Input should be a valid integer, exceeded maximum size":
            assert type(value) is int and not -(2**63) <= value < 2**63
        else:
            assert msg in ("Input should be a valid integer", "Input should be a valid boolean")
            assert isinstance(value, str)


PAIRS = [(old.Container, wire.Container, "Container"),
         (old.ContainerFile, wire.ContainerFile, "ContainerFile"),
         (old.FileObject, wire.FileObject, "FileObject"),
         (old.Deleted, wire.Deleted, "Deleted"),
         (old.ExpiresAfter, wire.ExpiresAfter, "ExpiresAfter")]


@pytest.mark.parametrize(("old_model", "decoder", "kind"), PAIRS, ids=[p[2] for p in PAIRS])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_objects_decode_as_the_pydantic_models_did(old_model: Any, decoder: Any, kind: str,
                                                   data: Any) -> None:
    agree(old_model, decoder, data.draw(st.one_of(body(kind), values)))


@pytest.mark.parametrize("item", ["ContainerFile", "Container"])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_pages_decode_as_the_pydantic_models_did(item: str, data: Any) -> None:
    agree(old.Page[getattr(old, item)], wire.PageOf(getattr(wire, item)),
          data.draw(page(item)))


@settings(max_examples=300, deadline=None)
@given(payload=st.one_of(st.binary(max_size=30), st.text(max_size=30).map(str.encode)))
def test_bytes_that_are_no_json_object_are_rejected_alike(payload: bytes) -> None:
    assert old_result(old.Deleted, payload)[0] == new_result(wire.Deleted, payload)[0]


@pytest.mark.parametrize("payload", [
    b'{"id": "a", "x": "\\udc00"}',  # a lone surrogate: no UTF-8 text holds it
    b'\xef\xbb\xbf{"id": "a"}', b'{"id": "a"} x', b'', b'\xff', b'{"id": "a", "created_at": 1e400}',
    b'{"id": "a", "x": [' + b"[" * 5000 + b"]" * 5000 + b"]}",  # deeper than the parser goes
    b'{"id": "a", "x": 1' + b"0" * 5000 + b"}",  # more digits than Python parses
])
def test_hostile_bodies_are_rejected_not_raised(payload: bytes) -> None:
    with pytest.raises(Rejected, match="unexpected body"):
        wire.parse(wire.Container, payload, what="t")


@pytest.mark.parametrize("field", ["created_at", "bytes"])
@pytest.mark.parametrize("value", [2**63, 2**64, -(2**63) - 1])
@pytest.mark.parametrize("extra", [{}, {"unknown": 1}])  # the listing's fast path, and not
def test_an_integer_the_index_cannot_store_is_refused(field: str, value: int,
                                                       extra: dict[str, int]) -> None:
    raw = {"id": "cfile_1", "container_id": "c", "created_at": 1, "path": "/mnt/data/x",
           "source": "assistant", "bytes": 1, **extra, field: value}
    with pytest.raises(Rejected, match=f"data.0.{field}: .*exceeded maximum size"):
        wire.parse(wire.PageOf(wire.ContainerFile), json.dumps({"data": [raw]}).encode(),
                   what="t")
    for fits in (2**63 - 1, -(2**63)):
        page = wire.parse(wire.PageOf(wire.ContainerFile),
                          json.dumps({"data": [{**raw, field: fits}]}).encode(), what="t")
        assert getattr(page.data[0], field) == fits
