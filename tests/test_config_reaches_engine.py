"""Every configuration field reaches the engine (issue 8.10): a setting that is validated and
documented but changes nothing is a broken promise (``follow_internal_symlinks`` was one).

The test walks the pydantic models for every leaf field, and for each one changes that field
alone in a base config and compares what the engine receives: the session's API client in
use (calls to a real local backend over HTTP: its URL, key, timeout and retries show in the
outcomes), the state dir, each mapping's ``MappingSettings`` and trash, the daemon's
schedule, and the values the daemon's loop takes from ``DaemonConfig`` (through the same
functions the loop calls). A field with no probe, a probe for a field that is gone, or a
change that leaves the view equal fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel

from containersync.config import Config
from containersync.daemon.idle_work import budget_for, tick_seconds
from containersync.daemon.keepalive_budget import budget_seconds
from containersync.daemon.schedule import intervals
from containersync.daemon.worker import coalescer_for, is_idle, watch_options
from containersync.engine.session import open_session
from containersync.errors import AuthError, ContainerSyncError
from containersync.localapi.embedded import RunningServer, start_server
from support.backend import clear_faults, inject_fault

RIGHT, WRONG = "sk-fields-right-key", "sk-fields-wrong-key"
LATENCY_MS = 40


@dataclass
class World:
    a: RunningServer
    b: RunningServer
    tmp: Path
    env: dict[str, str]
    base_view: dict[str, Any] | None = None

    def server_for(self, url: str) -> RunningServer:
        return self.a if url == self.a.base_url else self.b


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("fields")
    creds = tmp / "credentials"
    creds.mkdir()
    (creds / "cred").write_text(WRONG)
    (creds / "token").write_text("from-a-credential")
    for skill in ("skill", "other-skill"):
        (tmp / skill).mkdir()
        (tmp / skill / "SKILL.md").write_text(f"---\nname: {skill}\n---\n")
    a = start_server(tmp / "a", api_key=RIGHT, latency_ms=LATENCY_MS)
    b = start_server(tmp / "b", api_key=RIGHT, latency_ms=LATENCY_MS)
    try:
        yield World(a, b, tmp, {"KEY_RIGHT": RIGHT, "KEY_WRONG": WRONG, "TOKEN_A": "token-a",
                                "TOKEN_B": "token-b",
                                "CREDENTIALS_DIRECTORY": str(creds), "HOME": str(tmp)})
    finally:
        a.stop()
        b.stop()


def base_raw(w: World) -> dict[str, Any]:
    return {
        "api": {"base_url": w.a.base_url, "api_key_env": "KEY_RIGHT", "timeout_seconds": 5,
                "max_retries": 0, "concurrency": 4},
        "state": {"dir": str(w.tmp / "state"), "trash_retention_days": 30},
        "daemon": {},
        "mappings": [{
            "name": "m", "local": str(w.tmp / "folder"),
            "container": {"name": "box", "memory_limit": "1g", "expires_after_minutes": 20,
                          "file_ids": ["file_1"],
                          "network_policy": {"type": "allowlist",
                                             "allowed_domains": ["example.com"],
                                             "domain_secrets": [{"domain": "example.com",
                                                                 "name": "T",
                                                                 "value_env": "TOKEN_A"}]},
                          "skills": [{"skill_id": "skill_1", "version": "1"},
                                     {"path": str(w.tmp / "skill"), "description": "d"}]},
        }],
    }


def _set(*path: str | int, value: Any) -> Callable[[dict[str, Any], World], None]:
    def change(raw: dict[str, Any], _w: World) -> None:
        node: Any = raw
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return change


def _both(*changes: Callable[[dict[str, Any], World], None]
          ) -> Callable[[dict[str, Any], World], None]:
    def change(raw: dict[str, Any], w: World) -> None:
        for one in changes:
            one(raw, w)
    return change


def _adopt(raw: dict[str, Any], _w: World) -> None:
    raw["mappings"][0]["container"] = {"id": "cntr_adopted0123"}


def _other_server(raw: dict[str, Any], w: World) -> None:
    raw["api"]["base_url"] = w.b.base_url


M, C = ("mappings", 0), ("mappings", 0, "container")
CHANGES: dict[str, Callable[[dict[str, Any], World], None]] = {
    "api.base_url": _other_server,
    "api.api_key_env": _set("api", "api_key_env", value="KEY_WRONG"),
    "api.api_key_credential": _set("api", "api_key_credential", value="cred"),
    "api.timeout_seconds": _set("api", "timeout_seconds", value=LATENCY_MS / 1000 / 4),
    "api.max_retries": _set("api", "max_retries", value=1),
    "api.concurrency": _set("api", "concurrency", value=2),
    "api.organization": _set("api", "organization", value="org-fields"),
    "api.project": _set("api", "project", value="proj-fields"),
    "state.dir": lambda raw, w: _set("state", "dir", value=str(w.tmp / "state2"))(raw, w),
    "state.trash_retention_days": _set("state", "trash_retention_days", value=7),
    "daemon.debounce_ms": _set("daemon", "debounce_ms", value=300),
    "daemon.max_wait_ms": _set("daemon", "max_wait_ms", value=5000),
    "daemon.pull_interval_seconds": _set("daemon", "pull_interval_seconds", value=9),
    "daemon.idle_pull_interval_seconds": _set("daemon", "idle_pull_interval_seconds", value=20),
    "daemon.pull_backoff_max_seconds": _set("daemon", "pull_backoff_max_seconds", value=40),
    "daemon.active_pull_interval_seconds": _set("daemon", "active_pull_interval_seconds",
                                                value=3),
    "daemon.idle_requests_per_minute": _set("daemon", "idle_requests_per_minute", value=30),
    "daemon.full_sync_interval_seconds": _set("daemon", "full_sync_interval_seconds", value=900),
    "daemon.keepalive_idle_limit_seconds": _set("daemon", "keepalive_idle_limit_seconds",
                                                value=50),
    "daemon.keepalive_interval_seconds": _set("daemon", "keepalive_interval_seconds", value=30),
    "daemon.keepalive_budget_hours_per_day": _set("daemon", "keepalive_budget_hours_per_day",
                                                  value=2),
    "daemon.poll_fallback": _set("daemon", "poll_fallback", value="always"),
    "daemon.poll_interval_seconds": _set("daemon", "poll_interval_seconds", value=7),
    "mappings.name": _set(*M, "name", value="other"),
    "mappings.local": lambda raw, w: _set(*M, "local", value=str(w.tmp / "elsewhere"))(raw, w),
    "mappings.mode": _set(*M, "mode", value="push"),
    "mappings.remote_root": _set(*M, "remote_root", value="/mnt/data/sub"),
    "mappings.exclude": _set(*M, "exclude", value=["*.log"]),
    "mappings.use_gitignore": _set(*M, "use_gitignore", value=True),
    "mappings.pull_sources": _set(*M, "pull_sources", value=["assistant", "user"]),
    "mappings.max_delete_fraction": _set(*M, "max_delete_fraction", value=0.25),
    "mappings.container.name": _set(*C, "name", value="another-box"),
    "mappings.container.id": _adopt,
    "mappings.container.memory_limit": _set(*C, "memory_limit", value="4g"),
    "mappings.container.expires_after_minutes": _set(*C, "expires_after_minutes", value=5),
    "mappings.container.file_ids": _set(*C, "file_ids", value=["file_2"]),
    "mappings.container.network_policy.type": _set(*C, "network_policy",
                                                   value={"type": "disabled"}),
    "mappings.container.network_policy.allowed_domains": _set(
        *C, "network_policy", "allowed_domains", value=["example.com", "example.org"]),
    "mappings.container.network_policy.domain_secrets.domain": _both(
        _set(*C, "network_policy", "allowed_domains", value=["example.com", "example.org"]),
        _set(*C, "network_policy", "domain_secrets", 0, "domain", value="example.org")),
    "mappings.container.network_policy.domain_secrets.name": _set(
        *C, "network_policy", "domain_secrets", 0, "name", value="U"),
    "mappings.container.network_policy.domain_secrets.value_env": _set(
        *C, "network_policy", "domain_secrets", 0, "value_env", value="TOKEN_B"),
    "mappings.container.network_policy.domain_secrets.value_credential": _set(
        *C, "network_policy", "domain_secrets", 0,
        value={"domain": "example.com", "name": "T", "value_credential": "token"}),
    "mappings.container.skills.skill_id": _set(*C, "skills", 0, "skill_id", value="skill_2"),
    "mappings.container.skills.version": _set(*C, "skills", 0, "version", value="2"),
    "mappings.container.skills.path": lambda raw, w: _set(
        *C, "skills", 1, "path", value=str(w.tmp / "other-skill"))(raw, w),
    "mappings.container.skills.name": _set(*C, "skills", 1, "name", value="renamed"),
    "mappings.container.skills.description": _set(*C, "skills", 1, "description", value="e"),
}


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models(arg)] \
        if get_origin(annotation) is not None else []


def leaf_fields(model: type[BaseModel] = Config, prefix: str = "") -> list[str]:
    out: list[str] = []
    for name, info in model.model_fields.items():
        inner = _models(info.annotation)
        if inner:
            out += [f for m in inner for f in leaf_fields(m, f"{prefix}{name}.")]
        else:
            out.append(prefix + name)
    return out


def _outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except AuthError:
        return "refused"
    except ContainerSyncError as exc:
        return type(exc).__name__
    return "ok"


def engine_view(cfg: Config, w: World) -> dict[str, Any]:
    """What the engine receives from ``cfg``, as comparable values."""
    sess = open_session(cfg, w.env)
    try:
        index = sess.open_index()
        contexts = [sess.context(m, index) for m in cfg.mappings]
        calls = [_outcome(lambda: next(sess.client.list_containers(), None))]
        inject_fault(w.server_for(cfg.api.base_url), status=503, times=1)
        calls.append(_outcome(lambda: next(sess.client.list_containers(), None)))
        d = cfg.daemon
        coalescer = coalescer_for(d)
        return {
            "client": repr(sess.client), "window": sess.client.pacer.maximum, "calls": calls, "state_dir": sess.state_dir,
            # the headers every request carries (OpenAI-Organization, OpenAI-Project)
            "headers": sorted((k, v) for k, v in sess.client._http.headers.items()
                              if k.lower().startswith("openai-")),
            "settings": [c.settings for c in contexts],
            "trash": [(c.trash.dir, c.trash.retention) for c in contexts],
            "schedule": [intervals(d, m) for m in cfg.mappings],
            "idle_budget": (lambda b: (b.bucket.per_minute, b.bucket.burst, b.base_s,
                                       b.cap_s, b.full_s, b.active_s, b.idle_s,
                                       b.idle_after_s))(budget_for(d)),
            "tick": tick_seconds(d),
            "loop": (coalescer.quiet, coalescer.max_wait, watch_options(d),
                     [is_idle(d, s) for s in (100, 30_000)],
                     budget_seconds(d)),
        }
    finally:
        sess.close()
        for srv in (w.a, w.b):
            clear_faults(srv)


def validated(raw: dict[str, Any], w: World) -> Config:
    return Config.model_validate(raw, context={"env": w.env, "config_dir": w.tmp})


def test_every_config_field_has_a_probe() -> None:
    assert sorted(leaf_fields()) == sorted(CHANGES)


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_changing_the_field_changes_what_the_engine_receives(world: World, field: str) -> None:
    base = validated(base_raw(world), world)
    raw = base_raw(world)
    CHANGES[field](raw, world)
    changed = validated(raw, world)
    assert changed != base, f"the probe for {field} did not change the config"
    if world.base_view is None:
        world.base_view = engine_view(base, world)
    before, after = world.base_view, engine_view(changed, world)
    assert before != after, f"{field} changes nothing the engine receives"
