"""The fault options the soak and the model-based test need: drops, slow answers, and an
assistant write landing just before a request runs. All over real HTTP to a served backend."""

from __future__ import annotations

import time

import httpx
import pytest

from containersync.localapi.embedded import RunningServer
from support.backend import inject_fault, raw
from support.scenario import create_container, remote_objects

#: a cut answer: the body never comes, or (the request body still in flight) a reset
BROKEN = (httpx.RemoteProtocolError, httpx.NetworkError)


def test_a_drop_cuts_the_answer_and_after_means_the_server_acted(
        local_server: RunningServer) -> None:
    cid = create_container(local_server, "drops")
    inject_fault(local_server, method="POST", path_regex="/files$", drop=True, when="after")
    with raw(local_server) as client, pytest.raises(BROKEN):
        client.post(f"/v1/containers/{cid}/files", files={"file": ("a.txt", b"landed")},
                    data={"path": "/mnt/data/a.txt"})
    assert [o["path"] for o in remote_objects(local_server, cid)] == ["/mnt/data/a.txt"]

    inject_fault(local_server, method="POST", path_regex="/files$", drop=True)
    with raw(local_server) as client, pytest.raises(BROKEN):
        client.post(f"/v1/containers/{cid}/files", files={"file": ("b.txt", b"never")})
    assert len(remote_objects(local_server, cid)) == 1


def test_a_write_lands_just_before_the_request_it_rides_on(local_server: RunningServer) -> None:
    cid = create_container(local_server, "race")
    inject_fault(local_server, method="POST", path_regex="/files$", when="pass",
                 write={"path": "/mnt/data/a.txt", "content": "assistant"})
    with raw(local_server) as client:
        ours = client.post(f"/v1/containers/{cid}/files",
                           files={"file": ("a.txt", b"ours")}, data={"path": "/mnt/data/a.txt"})
        ours.raise_for_status()
    objects = remote_objects(local_server, cid)
    assert [(o["source"], o["path"]) for o in objects] == [
        ("assistant", "/mnt/data/a.txt"), ("user", "/mnt/data/a.txt")]
    assert objects[1]["id"] == ours.json()["id"]


def test_a_slow_answer_is_delayed_then_served(local_server: RunningServer) -> None:
    inject_fault(local_server, method="GET", path_regex="^/v1/containers$", when="pass",
                 delay_ms=200)
    with raw(local_server) as client:
        started = time.monotonic()
        assert client.get("/v1/containers").status_code == 200
        slow = time.monotonic() - started
        assert client.get("/v1/containers").status_code == 200  # used up: served at once
    assert slow >= 0.2


@pytest.mark.parametrize("bad", [{"delay_ms": -1}, {"delay_ms": True}, {"drop": "yes"},
                                 {"write": {"path": "/mnt/data/x"}}, {"when": "later"}])
def test_bad_fault_options_are_refused(local_server: RunningServer, bad: dict[str, object]
                                       ) -> None:
    with raw(local_server, api_key=None) as client:
        assert client.post("/_local/faults", json=bad).status_code == 400
