"""``network_policy.domain_secrets``: values from an environment variable (``value_env``) or a
systemd credential (``value_credential``), sent in the create request to the real local
backend, and nowhere else: not in the log, ``status --json``, ``sync --json``, errors, the
index or any other file of the state dir.
"""

from __future__ import annotations

import contextlib
import io
import json
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from containersync import cli
from containersync.config import Config, parse_config
from containersync.engine.cycle import CycleOptions
from containersync.engine.runner import sync_mapping
from containersync.engine.session import open_session
from containersync.errors import ConfigError
from containersync.localapi.embedded import RunningServer
from containersync.localapi.validate import ListQuery
from support.daemon_harness import DaemonRun
from support.scenario import KEY_ENV, World, sync

SECRET = "ds-7f3a9c1e-top-secret-value"
DOMAIN = "api.example.com"


def config_text(server: RunningServer, tmp: Path, secret: str) -> str:
    return textwrap.dedent(f"""
        [api]
        base_url = "{server.base_url}"
        api_key_env = "K"
        [state]
        dir = "{tmp}/state"
        [[mappings]]
        name = "m"
        local = "{tmp}/f"
        [mappings.container]
        name = "box"
        [mappings.container.network_policy]
        type = "allowlist"
        allowed_domains = ["{DOMAIN}"]
        [[mappings.container.network_policy.domain_secrets]]
        domain = "{DOMAIN}"
        name = "API_TOKEN"
    """) + secret.replace(", ", "\n") + "\n"


def load(tmp: Path, text: str) -> Config:
    return parse_config(text, file=tmp / "c.toml", env={"HOME": str(tmp)})


def create(server: RunningServer, cfg: Config, env: dict[str, str]) -> str:
    sess = open_session(cfg, {"K": "sk-x", **env})
    try:
        ctx = sess.context(cfg.mappings[0], sess.open_index())
        assert SECRET not in repr(ctx.settings)  # a repr in a log would not carry it
        made = sess.client.create_container(ctx.settings.container_spec)
        assert SECRET not in repr(made) + json.dumps(made._asdict(), default=dict)
        again = sess.client.retrieve_container(made.id)
        assert SECRET not in json.dumps(again._asdict(), default=dict)
        return made.id
    finally:
        sess.close()


def test_a_value_from_the_environment_reaches_the_backend(local_server: RunningServer,
                                                         tmp_path: Path) -> None:
    cfg = load(tmp_path, config_text(local_server, tmp_path, 'value_env = "DS_TOKEN"'))
    cid = create(local_server, cfg, {"DS_TOKEN": SECRET})
    assert local_server.store.container_domain_secrets(cid) == [
        {"domain": DOMAIN, "name": "API_TOKEN", "value": SECRET}]


def test_a_value_from_a_systemd_credential_reaches_the_backend(local_server: RunningServer,
                                                              tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "api-token").write_text(SECRET + "\n")
    cfg = load(tmp_path, config_text(local_server, tmp_path, 'value_credential = "api-token"'))
    cid = create(local_server, cfg, {"CREDENTIALS_DIRECTORY": str(creds)})
    assert local_server.store.container_domain_secrets(cid)[0]["value"] == SECRET


FIELD = "mappings[0].container.network_policy.domain_secrets[0]"


@pytest.mark.parametrize(("secret", "env", "field", "text"), [
    ('value_env = "DS_TOKEN"', {}, "value_env", "$DS_TOKEN is not set"),
    ('value_env = "DS_TOKEN"', {"DS_TOKEN": "  "}, "value_env", "$DS_TOKEN is not set"),
    ('value_credential = "t"', {}, "value_credential", "needs $CREDENTIALS_DIRECTORY"),
    ('value_credential = "t"', {"CREDENTIALS_DIRECTORY": "/nonexistent-creds"},
     "value_credential", "cannot be read"),
])
def test_a_missing_value_is_a_config_error_naming_the_field(
        local_server: RunningServer, tmp_path: Path, secret: str, env: dict[str, str],
        field: str, text: str) -> None:
    cfg = load(tmp_path, config_text(local_server, tmp_path, secret))
    sess = open_session(cfg, {"K": "sk-x", **env})
    try:
        ctx = sess.context(cfg.mappings[0], sess.open_index())
        with pytest.raises(ConfigError) as info:
            ctx.ensure_spec()
        assert ctx.spec_error is info.value and not ctx.settings.container_spec.domain_secrets
    finally:
        sess.close()
    assert info.value.field == f"{FIELD}.{field}" and text in str(info.value)
    assert info.value.fix


@pytest.mark.parametrize(("secret", "text"), [
    (f'value = "{SECRET}"', "never written in the config"),
    (f'value_env = "{SECRET}"', "NAME of an environment variable"),
    (f'value_credential = "{SECRET}/x"', "name of a systemd credential"),
    ('value_env = "A", value_credential = "b"', "exactly one of"),
    ("", "exactly one of"),
])
def test_a_malformed_secret_is_refused_without_echoing_it(local_server: RunningServer,
                                                          tmp_path: Path, secret: str,
                                                          text: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, config_text(local_server, tmp_path, secret))
    assert text in str(info.value) and SECRET not in str(info.value)


def test_a_secret_for_a_domain_not_allowed_is_a_config_error(local_server: RunningServer,
                                                            tmp_path: Path) -> None:
    text = config_text(local_server, tmp_path, 'value_env = "X"').replace(
        f'domain = "{DOMAIN}"', 'domain = "other.example"')
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    assert "not in allowed_domains" in str(info.value)


# -- nowhere but the create request ------------------------------------------------------

def _status_json(config: Path) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli.main(["status", "--config", str(config), "--json"])
    return out.getvalue()


def _state_files(state: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in state.rglob("*") if p.is_file()}


def _container(env: str = "DS_TOKEN") -> dict[str, Any]:
    return {"name": "box", "network_policy": {
        "type": "allowlist", "allowed_domains": [DOMAIN],
        "domain_secrets": [{"domain": DOMAIN, "name": "API_TOKEN", "value_env": env}]}}


def test_the_secret_is_in_no_output_log_or_file(local_server: RunningServer, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(local_server, tmp_path / "w")
    world.configure(container=_container())
    world.write({"a.txt": "a"})
    done = sync(world.config, subprocess=True, env={KEY_ENV: "sk-x", "DS_TOKEN": SECRET})
    assert done.code == 0, done.err
    cid = world.cid
    assert local_server.store.container_domain_secrets(cid)[0]["value"] == SECRET

    monkeypatch.setenv("DS_TOKEN", SECRET)
    monkeypatch.setenv(KEY_ENV, "sk-x")
    (tmp_path / "d").mkdir()
    run = DaemonRun(tmp_path / "d", local_server)
    run.config.write_text(world.config.read_text().replace(str(world.state), str(run.state))
                          .replace(str(world.root), str(run.local)))
    run.start()
    try:
        run.wait_ready()
        shown = [_status_json(world.config), _status_json(run.config)]
    finally:
        assert run.stop() == 0
    for where, text in {"sync stdout": done.out, "sync stderr": done.err,
                        "status --json": "".join(shown), "daemon log": run.log()}.items():
        assert SECRET not in text, where
    files = {**_state_files(world.state), **_state_files(run.state)}
    assert str(world.index_file) in files and run.log().strip()  # nothing vacuous
    for path, data in files.items():
        assert SECRET.encode() not in data, path


def test_an_error_quoting_the_secret_is_scrubbed(local_server: RunningServer,
                                                 tmp_path: Path) -> None:
    spaced = SECRET + "\tx"  # the backend refuses it and quotes it, as live would
    world = World(local_server, tmp_path / "w")
    world.configure(container=_container())
    world.write({"a.txt": "a"})
    done = sync(world.config, subprocess=True, env={KEY_ENV: "sk-x", "DS_TOKEN": spaced})
    assert done.code != 0
    assert "[redacted]" in done.out + done.err and SECRET not in done.out + done.err
    assert SECRET not in _status_json(world.config)
    for path, data in _state_files(world.state).items():
        assert SECRET.encode() not in data, path


def test_sync_without_the_secret_creates_nothing_and_says_which_field(
        local_server: RunningServer, tmp_path: Path) -> None:
    world = World(local_server, tmp_path / "w")
    world.configure(container=_container("DS_UNSET"))
    world.write({"a.txt": "a"})
    done = sync(world.config, env={KEY_ENV: "sk-x"})
    assert done.code != 0 and done.m["status"] == "config-error"
    assert f"{FIELD}.value_env" in done.m["reason"] and "$DS_UNSET is not set" in done.m["reason"]
    assert local_server.store.list_containers(ListQuery(100, "asc", None))["data"] == []


def test_the_daemon_halts_the_mapping_without_the_secret(local_server: RunningServer,
                                                         tmp_path: Path) -> None:
    """A config error in every mapping at start-up: the daemon says which field and exits
    78 (EX_CONFIG), as for any config error; it never reports a crash."""
    world = World(local_server, tmp_path / "w")
    world.configure(container=_container("DS_UNSET"))
    (tmp_path / "d").mkdir()
    run = DaemonRun(tmp_path / "d", local_server)
    run.config.write_text(world.config.read_text().replace(str(world.state), str(run.state))
                          .replace(str(world.root), str(run.local))
                          .replace(KEY_ENV, "CONTAINERSYNC_TEST_KEY"))
    run.start()
    assert run.proc is not None
    try:
        code = run.proc.wait(timeout=60)
    finally:
        run.kill()
    log = run.log()
    assert code == 78 and f"{FIELD}.value_env" in log and "$DS_UNSET is not set" in log
    assert "mapping-crashed" not in log and "mapping loop crashed" not in log
    assert "Traceback" not in log
    assert local_server.store.list_containers(ListQuery(100, "asc", None))["data"] == []


def test_a_rotated_credential_goes_into_the_next_container_made(local_server: RunningServer,
                                                                tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "api-token").write_text(SECRET)
    (tmp_path / "f").mkdir()
    cfg = load(tmp_path, config_text(local_server, tmp_path, 'value_credential = "api-token"'))
    sess = open_session(cfg, {"K": "sk-x", "CREDENTIALS_DIRECTORY": str(creds)})
    try:
        ctx = sess.context(cfg.mappings[0], sess.open_index())
        first = sync_mapping(ctx, CycleOptions(), now=lambda: datetime.now(UTC)).container_id
        (creds / "api-token").write_text(SECRET + "-rotated")
        local_server.advance_clock(21 * 60)
        second = sync_mapping(ctx, CycleOptions(), now=lambda: datetime.now(UTC)).container_id
    finally:
        sess.close()
    assert first and second and first != second
    values = [local_server.store.container_domain_secrets(c)[0]["value"] for c in (first, second)]
    assert values == [SECRET, SECRET + "-rotated"]
