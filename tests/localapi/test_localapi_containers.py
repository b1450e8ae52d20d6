"""Containers calls through the official SDK over real HTTP: create, retrieve, list, delete.

Covers the create body's live and seed-003 spellings, validation errors with their
param/code, the name filter, cursor pagination in both orders, and the API key check.
"""

from __future__ import annotations

import base64
import io
import zipfile

import openai
import pytest

from support.backend import raw, sdk


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("SKILL.md", "---\nname: n\ndescription: d\n---\n")
    return out.getvalue()


ZIP = _zip()


def test_create_retrieve_list_delete(local_server):
    with sdk(local_server) as client:
        made = client.containers.create(name="alpha")
        assert made.id.startswith("cntr_") and len(made.id) == 5 + 48
        assert made.object == "container" and made.status == "running"
        assert made.expires_after.minutes == 20 and made.expires_after.anchor == "last_active_at"
        assert made.memory_limit == "1g" and made.network_policy.type == "disabled"
        assert client.containers.retrieve(made.id).name == "alpha"
        assert [c.id for c in client.containers.list()] == [made.id]
        gone = client.containers.delete(made.id)
        assert gone is None  # the SDK returns nothing; the raw body is checked below
        with pytest.raises(openai.NotFoundError) as err:
            client.containers.retrieve(made.id)
        assert err.value.body["message"] == f"Container with id '{made.id}' not found."


def test_delete_body_is_live_shaped(local_server):
    with sdk(local_server) as client, raw(local_server) as http:
        cid = client.containers.create(name="x").id
        assert http.delete(f"/v1/containers/{cid}").json() == {
            "id": cid, "object": "container.deleted", "deleted": True}


def test_create_accepts_every_documented_option_and_hides_secrets(local_server):
    with sdk(local_server) as client, raw(local_server) as http:
        made = client.containers.create(
            name="full", memory_limit="4g",
            expires_after={"anchor": "last_active_at", "minutes": 5},
            network_policy={"type": "allowlist", "allowed_domains": ["pypi.org"],
                            "domain_secrets": [{"domain": "pypi.org", "name": "T", "value": "s3"}]},
            skills=[{"type": "skill_reference", "skill_id": "skill_1", "version": "2"},
                    {"type": "inline", "name": "n", "description": "d",
                     "source": {"type": "base64", "media_type": "application/zip",
                                "data": base64.b64encode(ZIP).decode()}}])
        assert made.memory_limit == "4g" and made.expires_after.minutes == 5
        body = http.get(f"/v1/containers/{made.id}").json()
        assert body["network_policy"] == {"type": "allowlist", "allowed_domains": ["pypi.org"]}
        assert "skills" not in body and "s3" not in str(body)


def test_create_accepts_seed_003_spellings(local_server):
    with raw(local_server) as http:
        body = http.post("/v1/containers", json={
            "name": "seed", "memory_limit": "512m",
            "network_policy": {"type": "allowlist", "domains": ["api.example.com"]},
            "expires_after": {"anchor": "last_active_at", "seconds": 61},
            "skills": [{"skill_id": "skill_abc123"},
                       {"type": "inline", "source": {"files": [
                           {"path": "helper.py", "content": "def f(): pass"}]}}],
            "unknown_field": {"ignored": True}}).json()
        assert body["memory_limit"] == "512m"
        assert body["expires_after"]["minutes"] == 2  # 61 s rounds up to whole minutes
        assert body["network_policy"]["allowed_domains"] == ["api.example.com"]


@pytest.mark.parametrize(("body", "param", "code"), [
    ({}, "name", "missing_required_parameter"),
    ({"name": 3}, "name", "invalid_type"),
    ({"name": "x", "memory_limit": "3g"}, "memory_limit", "invalid_value"),
    ({"name": "x", "expires_after": {"minutes": 5}}, "expires_after.anchor",
     "missing_required_parameter"),
    ({"name": "x", "expires_after": {"anchor": "last_active_at"}}, "expires_after.minutes",
     "missing_required_parameter"),
    ({"name": "x", "expires_after": {"anchor": "last_active_at", "minutes": 21}},
     "expires_after.minutes", "integer_above_max_value"),
    ({"name": "x", "expires_after": {"anchor": "last_active_at", "minutes": 0}},
     "expires_after.minutes", "integer_below_min_value"),
    ({"name": "x", "network_policy": {"type": "open"}}, "network_policy.type", "invalid_value"),
    ({"name": "x", "network_policy": {"type": "allowlist"}}, "network_policy.allowed_domains",
     "missing_required_parameter"),
    ({"name": "x", "skills": [{"type": "inline", "name": "n", "description": "d",
                               "source": {"type": "base64", "media_type": "application/zip",
                                          "data": "@@"}}]},
     "skills[0].source.data", "invalid_value"),
    ({"name": "x", "skills": [{"type": "inline", "name": "n", "description": "d",
                               "source": {"type": "base64", "media_type": "application/zip",
                                          "data": base64.b64encode(b"PK not a zip").decode()}}]},
     "skills[0].source.data", "invalid_value"),
    ({"name": "x", "skills": [{"type": "inline", "name": "n", "description": "d",
                               "source": {"type": "base64", "media_type": "text/plain",
                                          "data": base64.b64encode(ZIP).decode()}}]},
     "skills[0].source.media_type", "invalid_value"),
    ({"name": "x", "skills": [{"type": "skill_reference", "skill_id": "s" * 65}]},
     "skills[0].skill_id", "string_above_max_length"),
    ({"name": "x", "skills": [{"type": "skill_reference", "skill_id": "s", "version": 2}]},
     "skills[0].version", "invalid_type"),
    ({"name": "x", "skills": [{"type": "weird"}]}, "skills[0].type", "invalid_value"),
    ({"name": "x", "file_ids": "file-1"}, "file_ids", "invalid_type"),
])
def test_create_rejects_bad_bodies_with_param_and_code(local_server, body, param, code):
    with sdk(local_server) as client:
        with pytest.raises(openai.BadRequestError) as err:
            client.containers.create(**body) if "name" in body else client.post(
                "/containers", body=body, cast_to=object)
        assert (err.value.param, err.value.code, err.value.type) == (
            param, code, "invalid_request_error")
        assert list(client.containers.list()) == []  # nothing half-made


def test_list_orders_pages_and_filters_by_name(local_server):
    with sdk(local_server) as client:
        ids = [client.containers.create(name="even" if i % 2 == 0 else "odd").id
               for i in range(7)]
        assert [c.id for c in client.containers.list(order="asc", limit=2)] == ids
        assert [c.id for c in client.containers.list(limit=3)] == ids[::-1]  # default desc
        first = client.containers.list(order="asc", limit=3)
        assert first.has_more and first.last_id == ids[2]
        second = client.containers.list(order="asc", limit=3, after=ids[2])
        assert [c.id for c in second.data] == ids[3:6]
        assert [c.id for c in client.containers.list(order="desc", after=ids[3])] == ids[2::-1]
        evens = client.containers.list(extra_query={"name": "even"}, order="asc")
        assert [c.id for c in evens] == ids[::2]
        empty = client.containers.list(after=ids[0])
        assert empty.data == [] and not empty.has_more
        assert (empty.first_id, empty.last_id) == (None, None)


@pytest.mark.parametrize(("query", "code"), [
    ({"limit": 0}, "integer_below_min_value"), ({"limit": 101}, "integer_above_max_value"),
    ({"limit": 10**12}, "integer_above_max_value"), ({"limit": "many"}, "invalid_type"),
    ({"order": "sideways"}, "invalid_value"), ({"after": "cntr_unknown"}, "invalid_cursor"),
])
def test_list_rejects_bad_query(local_server, query, code):
    with sdk(local_server) as client:
        with pytest.raises(openai.BadRequestError) as err:
            client.containers.list(extra_query=query)
        assert err.value.code == code


def test_api_key_is_enforced_when_configured(local_server_factory):
    server = local_server_factory(api_key="sk-right")
    with sdk(server, api_key="sk-wrong") as client:
        with pytest.raises(openai.AuthenticationError) as err:
            client.containers.list()
        assert err.value.code == "invalid_api_key"
    with raw(server, api_key=None) as http:
        response = http.get("/v1/containers")
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "invalid_request_error"
        assert http.get("/_local/clock").status_code == 200  # admin routes need no key
    with sdk(server, api_key="sk-right") as client:
        assert client.containers.create(name="ok").name == "ok"


def test_any_key_or_none_is_accepted_without_configured_key(local_server):
    with raw(local_server, api_key=None) as http:
        assert http.get("/v1/containers").status_code == 200
    with sdk(local_server, api_key="anything") as client:
        assert list(client.containers.list()) == []
