"""The usage examples of both seed documents, translated to the Python SDK, run as written.

Seed 000's examples ask for 60 and 120 minute expiry: they run against a server started
with ``max_expiry_minutes=1440``, and the default (live-like) server must refuse them with
400 ``integer_above_max_value``. Seed 003's examples name files that exist in the author's
account (``file_abc123``): the test uploads real files first and uses their ids; its
``responses.create`` step is outside the Containers API and is left out.
"""

from __future__ import annotations

import openai
import pytest

from support.backend import sdk


def seed_000_containers_example(client: openai.OpenAI) -> list[str]:
    lines = []
    container = client.containers.create(
        name="python-executor", expires_after={"anchor": "last_active_at", "minutes": 60})
    lines.append(f"Container created: {container.id}")
    retrieved = client.containers.retrieve(container.id)
    lines.append(f"Container status: {retrieved.status}")
    lines.extend(f"{c.id}: {c.name} ({c.status})" for c in client.containers.list(order="desc"))
    client.containers.delete(container.id)
    lines.append("Container deleted")
    return lines


def seed_000_files_example(client: openai.OpenAI, data_csv: bytes, script_py: bytes) -> None:
    container = client.containers.create(name="data-processor")
    container_file = client.containers.files.create(container.id, file=("data.csv", data_csv))
    assert container_file.path.endswith("-data.csv") and container_file.bytes == len(data_csv)
    existing = client.files.create(file=("script.py", script_py), purpose="assistants")
    client.containers.files.create(container.id, file_id=existing.id)
    listed = [(f.path, f.bytes, f.source) for f in client.containers.files.list(container.id)]
    assert sorted(b for _, b, _ in listed) == sorted([len(data_csv), len(script_py)])
    info = client.containers.files.retrieve(container_file.id, container_id=container.id)
    assert info.created_at > 0
    text = client.containers.files.content.retrieve(container_file.id, container_id=container.id)
    assert text.read() == data_csv
    client.containers.files.delete(container_file.id, container_id=container.id)


def seed_000_workflow(client: openai.OpenAI) -> list[dict[str, str]]:
    container = client.containers.create(
        name="data-analysis-env", expires_after={"anchor": "last_active_at", "minutes": 120})
    client.containers.files.create(container.id, file=("data.csv", b"x,y\n", "text/csv"))
    client.containers.files.create(container.id, file=("process.py", b"pass", "text/x-python"))
    assert len(list(client.containers.files.list(container.id))) == 2
    results = []
    for file in client.containers.files.list(container.id):
        if file.path.startswith("output_"):
            content = client.containers.files.content.retrieve(file.id, container_id=container.id)
            results.append({"path": file.path, "content": content.text})
    client.containers.delete(container.id)
    return results


def test_seed_000_examples_run_with_a_raised_expiry_cap(local_server_factory):
    server = local_server_factory(max_expiry_minutes=1440)
    with sdk(server) as client:
        lines = seed_000_containers_example(client)
        assert lines[1] == "Container status: running" and lines[-1] == "Container deleted"
        seed_000_files_example(client, b"a,b\n1,2\n", b"print('hello')\n")
        assert seed_000_workflow(client) == []  # no code ran, so no output_ files


def test_seed_000_expiry_is_refused_by_the_default_server(local_server):
    with sdk(local_server) as client:
        for minutes in (60, 120):
            with pytest.raises(openai.BadRequestError) as err:
                client.containers.create(
                    name="x", expires_after={"anchor": "last_active_at", "minutes": minutes})
            assert (err.value.code, err.value.param) == (
                "integer_above_max_value", "expires_after.minutes")


def test_seed_003_examples(local_server_factory):
    server = local_server_factory(max_expiry_minutes=1440)
    with sdk(server) as client:
        data = client.files.create(file=("data.json", b"{}"), purpose="assistants")
        container = client.containers.create(
            name="data-processing", memory_limit="2g", file_ids=[data.id],
            extra_body={"network_policy": {"type": "allowlist", "domains": ["api.example.com"]}})
        assert container.id.startswith("cntr_")
        retrieved = client.containers.retrieve(container.id)
        assert (retrieved.name, retrieved.status) == ("data-processing", "running")
        names = [f"{c.name}: {c.status}" for c in client.containers.list(limit=20, order="desc")]
        assert names == ["data-processing: running"]
        script = client.containers.files.create(container.id, file=("script.py", b"print(1)"),
                                                extra_body={"path": "/workspace/script.py"})
        assert script.path == "/workspace/script.py"
        sizes = {f.path: f.bytes for f in client.containers.files.list(container.id)}
        assert sizes["/workspace/script.py"] == 8 and len(sizes) == 2
        content = client.containers.files.content.retrieve(script.id, container_id=container.id)
        assert content.read() == b"print(1)"
        client.containers.files.delete(script.id, container_id=container.id)
        isolated = client.containers.create(name="isolated", network_policy={"type": "disabled"})
        skilled = client.containers.create(name="with-skills", extra_body={"skills": [
            {"skill_id": "skill_abc123"},
            {"type": "inline", "source": {"files": [
                {"path": "helper.py", "content": "def process(data): return data.upper()"}]}}]})
        try:
            client.containers.create(name="test", extra_body={"memory_limit": "2g"})
        except openai.BadRequestError as exc:  # the seed's error-handling example
            pytest.fail(f"Invalid request: {exc.message}")
        for made in (container, isolated, skilled):
            client.containers.delete(made.id)
