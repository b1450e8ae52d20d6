"""The endpoint and key are resolved as the ``openai`` SDK resolves them, under the config
file's values: ``$OPENAI_BASE_URL``, ``$OPENAI_API_KEY``, ``$OPENAI_ORG_ID`` and
``$OPENAI_PROJECT_ID`` (the last two as the ``OpenAI-Organization``/``OpenAI-Project``
headers)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from containersync.config import parse_config
from containersync.endpoint import LIVE_BASE_URL, resolve_endpoint
from containersync.engine.session import session
from containersync.errors import ConfigError
from containersync.localapi.embedded import RunningServer
from support.backend import TEST_KEY
from support.scenario import sync, write


def _config(tmp_path: Path, api: str = "") -> Any:
    text = f"[api]\n{api}\n[state]\ndir = {json.dumps(str(tmp_path / 'state'))}\n"
    return parse_config(text, file=tmp_path / "c.toml", env={})


def test_order_argument_config_env_default(tmp_path: Path) -> None:
    env = {"OPENAI_BASE_URL": "http://env.test/v1/", "OPENAI_API_KEY": "sk-env"}
    plain = resolve_endpoint(_config(tmp_path), env)
    assert (plain.base_url, plain.source, plain.api_key) == ("http://env.test/v1",
                                                             "$OPENAI_BASE_URL", "sk-env")
    pinned = resolve_endpoint(_config(tmp_path, 'base_url = "local"'), env)
    assert pinned.is_local and pinned.source == "config" and pinned.api_key is None
    assert resolve_endpoint(_config(tmp_path), {}).is_local  # a config file's default
    explicit = resolve_endpoint(_config(tmp_path, f'base_url = "{LIVE_BASE_URL}"'), env,
                                api_key="sk-arg")
    assert (explicit.base_url, explicit.api_key) == (LIVE_BASE_URL, "sk-arg")


def test_a_url_without_a_key_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"OPENAI_API_KEY is not set"):
        resolve_endpoint(_config(tmp_path), {"OPENAI_BASE_URL": LIVE_BASE_URL})
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        resolve_endpoint(_config(tmp_path), {"OPENAI_BASE_URL": "api.openai.com"})


def test_org_and_project_from_env_under_the_config(tmp_path: Path) -> None:
    env = {"OPENAI_ORG_ID": "org-env", "OPENAI_PROJECT_ID": "proj_env"}
    assert resolve_endpoint(_config(tmp_path), env).headers() == {
        "OpenAI-Organization": "org-env", "OpenAI-Project": "proj_env"}
    pinned = resolve_endpoint(_config(tmp_path, 'organization = "org-file"'), env)
    assert pinned.headers()["OpenAI-Organization"] == "org-file"


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append({k.lower(): v for k, v in self.headers.items()})
        body = json.dumps({"object": "list", "data": [], "has_more": False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_requests_carry_the_key_org_and_project_headers(tmp_path: Path,
                                                        recorder: str) -> None:
    env = {"OPENAI_BASE_URL": recorder, "OPENAI_API_KEY": "sk-recorded",
           "OPENAI_ORG_ID": "org-abc", "OPENAI_PROJECT_ID": "proj_xyz"}
    with session(_config(tmp_path), env) as sess:
        list(sess.client.list_containers())
    [headers] = _Recorder.seen
    assert headers["authorization"] == "Bearer sk-recorded"
    assert headers["openai-organization"] == "org-abc"
    assert headers["openai-project"] == "proj_xyz"


def test_sync_with_a_config_file_follows_openai_base_url(
        local_server: RunningServer, tmp_path: Path) -> None:
    """Today's bug: a config without base_url ignored $OPENAI_BASE_URL and synced into the
    embedded backend instead."""
    root = tmp_path / "local"
    write(root, {"a.txt": "a"})
    config = tmp_path / "c.toml"
    config.write_text(f"[state]\ndir = {json.dumps(str(tmp_path / 'state'))}\n"
                      f"[[mappings]]\nname = \"m\"\nlocal = {json.dumps(str(root))}\n")
    result = sync(config, env={"OPENAI_BASE_URL": local_server.base_url,
                               "OPENAI_API_KEY": TEST_KEY})
    assert result.code == 0, result.err
    cid = result.m["container_id"]
    assert local_server.store.get_container(cid)["id"] == cid
    assert not (tmp_path / "state" / "localapi").exists()


def test_state_is_bound_to_the_endpoint_openai_base_url_names(
        local_server_factory: Any, tmp_path: Path) -> None:
    """The mapping's identity (its state key) uses the endpoint in effect: a config without
    base_url synced under two values of $OPENAI_BASE_URL is two mappings, and going back to
    the first finds its container with nothing to do."""
    first, second = local_server_factory(), local_server_factory()
    root = tmp_path / "local"
    write(root, {"a.txt": "a"})
    config = tmp_path / "c.toml"
    config.write_text(f"[state]\ndir = {json.dumps(str(tmp_path / 'state'))}\n"
                      f"[[mappings]]\nname = \"m\"\nlocal = {json.dumps(str(root))}\n")

    def run(server: RunningServer) -> Any:
        result = sync(config, env={"OPENAI_BASE_URL": server.base_url,
                                   "OPENAI_API_KEY": TEST_KEY})
        assert result.code == 0, result.err
        return result

    on_first = run(first)
    on_second = run(second)
    assert on_second.counts["uploaded"] == 1 and on_second.m["generation"] == 1
    back = run(first)
    assert back.m["container_id"] == on_first.m["container_id"]
    assert back.m["generation"] == 1 and back.counts["uploaded"] == 0
