"""The local backend follows the recorded live traffic (API_NOTES), and our client and the sync
work with all of it: listings that show the request time as ``last_active_at`` (expired
containers too) without moving expiry; the placeholder ``Content-Disposition``; ids whose
first 8 hex are the creation time; objects without ``memory_limit``/``network_policy`` (or
without anything but ``id``); containers named ``auto`` that the Responses API made.
"""

from __future__ import annotations

import contextlib
import io
import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from containersync import cli
from containersync.api import ContainersClient, ContainerSpec
from containersync.api.wire import Container, parse
from containersync.config import parse_config
from containersync.errors import ConfigError
from containersync.localapi.embedded import RunningServer
from containersync.localapi.wire import OMITTABLE, RECORDED_2025_OMITS
from support.scenario import World

Factory = Callable[..., RunningServer]


def client(server: RunningServer) -> ContainersClient:
    return ContainersClient.connect(server.base_url, None, max_retries=0)


def _now(server: RunningServer) -> int:
    return int(httpx.get(server.root_url + "/_local/clock", timeout=10).json()["now"])


def test_a_listing_shows_the_request_time_but_never_extends_expiry(
        local_server: RunningServer) -> None:
    with client(local_server) as api:
        made = api.create_container(ContainerSpec(name="box"))
        local_server.advance_clock(15 * 60)
        before = _now(local_server)
        listed = next(api.list_containers(name="box"))
        assert before <= (listed.last_active_at or 0) <= _now(local_server)
        assert listed.status == "running" and made.last_active_at is not None
        assert listed.last_active_at - made.last_active_at >= 15 * 60
        local_server.advance_clock(6 * 60)  # 21 minutes without activity, listings aside
        before = _now(local_server)
        listed = next(api.list_containers(name="box"))
        assert listed.status == "expired"
        assert before <= (listed.last_active_at or 0) <= _now(local_server)
        assert api.retrieve_container(made.id).status == "expired"


def test_container_ids_start_with_the_creation_time(local_server: RunningServer) -> None:
    with client(local_server) as api:
        made = [api.create_container(ContainerSpec(name="box"))]
        local_server.advance_clock(4000)
        made += [api.create_container(ContainerSpec(name="box")) for _ in range(2)]
        for c in made:
            assert len(c.id) == 5 + 48 and int(c.id[5:13], 16) == c.created_at
        assert made[1].id != made[2].id  # same second, still distinct
        paged = [c.id for c in api.list_containers(order="asc", page_size=1)]
        assert paged[0] == made[0].id and sorted(paged) == sorted(c.id for c in made)


def test_a_container_object_needs_only_its_id() -> None:
    cid = "cntr_65f1a2b3" + "0" * 40
    box = parse(Container, json.dumps({"id": cid}).encode(), what="t")
    assert (box.name, box.status, box.created_at) == ("", "", 0x65F1A2B3)
    assert box.memory_limit is None and box.network_policy is None
    odd = parse(Container, b'{"id": "cntr_xyz"}', what="t")
    assert odd.created_at == 0


@pytest.mark.parametrize("omit", [RECORDED_2025_OMITS, tuple(f for f in OMITTABLE)],
                         ids=["recorded-2025", "only-ids"])
def test_sync_works_with_objects_missing_fields(local_server_factory: Factory, tmp_path: Path,
                                                omit: tuple[str, ...]) -> None:
    server = local_server_factory(omit_fields=omit)
    world = World(server, tmp_path)
    world.configure(container={"name": "box", "memory_limit": "4g"})
    world.write({"a.txt": "a", "d/b.txt": "b"})
    first = world.sync()
    assert first.code == 0, first.err
    cid = world.cid
    with client(server) as api:
        shown = api.retrieve_container(cid)
        assert all(getattr(shown, f, None) in (None, "", 0) for f in ("memory_limit",
                                                                      "network_policy"))
    world.assistant_changes({"out.csv": "x,y\n"})
    second = world.sync()
    assert second.code == 0 and world.local()["out.csv"] == "x,y\n"
    assert world.cid == cid  # the same container, though the objects say little
    server.advance_clock(21 * 60)  # it expires; only the file routes can tell now
    world.write({"a.txt": "a2"})
    third = world.sync()
    assert third.code == 0, third.err
    assert world.cid != cid and world.remote() == world.local()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["status", "--config", str(world.config), "--json"]) == 0
    shown = json.loads(out.getvalue())["mappings"][0]
    assert shown["container"]["id"] == world.cid


def test_downloads_are_named_from_the_listing_not_the_header(world: World) -> None:
    world.write({"seed.txt": "s"})
    assert world.sync().code == 0
    world.assistant_changes({"report.csv": "1,2\n", "notes.md": "# n\n"})
    assert world.sync().code == 0
    objects = [o for o in world.objects() if o["path"].endswith("report.csv")]
    response = httpx.get(f"{world.server.base_url}/containers/{world.cid}/files/"
                         f"{objects[0]['id']}/content", timeout=10)
    assert response.headers["content-disposition"].startswith('attachment; filename="file.txt"')
    assert world.local() == {"seed.txt": "s", "report.csv": "1,2\n", "notes.md": "# n\n"}


def _remove_index(world: World) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{world.index_file}{suffix}").unlink(missing_ok=True)


def test_auto_containers_in_listings_are_never_taken_for_ours(world: World) -> None:
    world.configure(container={"name": "box"})
    world.write({"a.txt": "a"})
    assert world.sync().code == 0
    ours = world.cid
    for _ in range(2):  # the Responses API makes its own, newer ones
        world.server.advance_clock(1)
        httpx.post(world.server.root_url + "/_local/containers/auto", timeout=10
                   ).raise_for_status()
    with client(world.server) as api:
        assert [c.name for c in api.list_containers()][:2] == ["auto", "auto"]
    _remove_index(world)
    world.write({"b.txt": "b"})
    assert world.sync().code == 0
    assert world.cid == ours and world.remote() == world.local()


def test_an_expired_container_listed_as_just_active_is_not_adopted(world: World) -> None:
    world.configure(container={"name": "box"})
    world.write({"a.txt": "a"})
    assert world.sync().code == 0
    old = world.cid
    world.server.advance_clock(21 * 60)
    _remove_index(world)  # the next run looks the container up by name, in a listing
    done = world.sync()
    assert done.code == 0, done.err
    assert world.cid != old and world.remote() == {"a.txt": "a"}


def test_a_container_named_auto_is_a_config_error(tmp_path: Path) -> None:
    text = textwrap.dedent(f"""
        [state]
        dir = "{tmp_path}/state"
        [[mappings]]
        name = "m"
        local = "{tmp_path}/f"
        [mappings.container]
        name = "auto"
    """)
    with pytest.raises(ConfigError) as info:
        parse_config(text, file=tmp_path / "c.toml", env={"HOME": str(tmp_path)})
    assert info.value.field == "mappings[0].container.name" and "Responses API" in str(info.value)
