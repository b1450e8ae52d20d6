"""Open what a run needs from a loaded config: the API client (and the embedded backend when
``base_url = "local"``), the index, the trash, and one ``MappingContext`` per mapping.

The session is the only place that reads the whole config; the cycle receives values.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from containersync.api.client import ContainersClient
from containersync.api.wire import ContainerSpec
from containersync.config_methods import MappingIdentity, mapping_identity
from containersync.endpoint import Endpoint, effective_config, resolve_endpoint
from containersync.engine.context import (
    MappingContext,
    MappingSettings,
    load_rules,
    rule_stamp,
)
from containersync.errors import ConfigError
from containersync.execute.trash import Trash
from containersync.index.health import prepare_dir
from containersync.index.store import Index
from containersync.logs import get_logger
from containersync.secrets import domain_secrets
from containersync.skills import skill_body

if TYPE_CHECKING:  # the embedded backend loads only for base_url = "local" (open_session)
    from containersync.config import Config, MappingConfig  # or their records (config_record)
    from containersync.localapi.embedded import RunningServer

log = get_logger(__name__)


def container_spec_for(m: MappingConfig, *, env: Mapping[str, str], field: str,
                       extras: bool = True) -> ContainerSpec:
    """What the mapping's container is created from. ``extras``: read its inline skill
    folders and domain secrets (``env``) too; a missing one is a ``ConfigError`` naming
    ``field`` (the mapping's key, ``mappings[i]``)."""
    spec = m.container
    where = f"{field}.container"
    policy: dict[str, Any] | None = None
    if spec.network_policy is not None:
        policy = {"type": spec.network_policy.type}
        if spec.network_policy.type == "allowlist":
            policy["allowed_domains"] = list(spec.network_policy.allowed_domains)
    skills = tuple(skill_body(s, field=f"{where}.skills[{i}]")
                   for i, s in enumerate(spec.skills)) if extras else ()
    secrets = domain_secrets(spec.network_policy, env, field=f"{where}.network_policy") \
        if extras else ()
    return ContainerSpec(
        name=spec.create_name(m.name),
        expires_after_minutes=spec.expires_after_minutes,
        memory_limit=spec.memory_limit,
        network_policy=policy,
        file_ids=tuple(spec.file_ids) or None,
        skills=skills or None,
        domain_secrets=secrets,
    )


def settings_for(m: MappingConfig, *, concurrency: int,
                 identity: MappingIdentity | None = None,
                 container_spec: ContainerSpec | None = None) -> MappingSettings:
    spec = m.container
    return MappingSettings(
        name=m.name,
        local_root=Path(m.local),
        mode=m.mode,
        remote_root=m.remote_root,
        exclude=tuple(m.exclude),
        use_gitignore=m.use_gitignore,
        pull_sources=frozenset(m.pull_sources),
        container_spec=container_spec or container_spec_for(m, env=os.environ,
                                                            field="mappings[0]"),
        container_id=spec.id,
        concurrency=concurrency,
        max_delete_fraction=m.max_delete_fraction,
        key=identity.key if identity else "",
        identity_root=identity.local_root if identity else None,
        endpoint=identity.endpoint if identity else None,
    )


def _say_moved_aside(index: Index) -> None:
    if index.moved_aside is not None:
        aside, damage = index.moved_aside
        log.warning("index-damaged", message="the index was damaged; moved it aside and "
                    "rebuilding every mapping from its container", index=str(index.path), moved_to=str(aside),
                    damage=damage)


@dataclass
class Session:
    config: Config
    client: ContainersClient
    backend: RunningServer | None = None
    endpoint: Endpoint | None = None
    #: the environment the session was opened with (domain secrets are read from it)
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    _indexes: list[Index] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        return Path(self.config.state.dir)

    def open_index(self) -> Index:
        """An index connection for the calling thread (connections are per thread)."""
        index = Index.open(Path(self.config.state.index_file))
        self._indexes.append(index)
        _say_moved_aside(index)
        return index

    def identity(self, m: MappingConfig) -> MappingIdentity:
        return mapping_identity(self.config, m)

    def check_index(self) -> None:
        """Open the index once and close it again: an unusable one raises here, in the
        calling thread, and a corrupt one is moved aside (and said) before anyone uses it."""
        index = Index.open(Path(self.config.state.index_file))
        try:
            _say_moved_aside(index)
        finally:
            index.close()

    def context(self, m: MappingConfig, index: Index) -> MappingContext:
        at = next((i for i, c in enumerate(self.config.mappings) if c.name == m.name), 0)

        def build() -> ContainerSpec:
            return container_spec_for(m, env=self.env, field=f"mappings[{at}]")

        spec_error: ConfigError | None = None
        try:
            spec = build()
        except ConfigError as exc:  # a skill folder or secret is missing: cycles refuse
            spec, spec_error = container_spec_for(m, env=self.env, field="", extras=False), exc
        s = settings_for(m, concurrency=self.config.api.concurrency, identity=self.identity(m),
                         container_spec=spec)
        stamp = rule_stamp(s.local_root)
        rules, rules_error = load_rules(s)
        return MappingContext(
            settings=s, client=self.client, index=index,
            trash=Trash(Path(self.config.state.trash_dir), self.config.state.trash_retention_days),
            rules=rules, rules_error=rules_error, spec_error=spec_error, build_spec=build,
            rules_stamp=stamp,
        )

    def close(self) -> None:
        for index in self._indexes:
            with contextlib.suppress(Exception):
                index.close()
        self._indexes.clear()
        self.client.close()
        if self.backend is not None:
            self.backend.stop()
            self.backend = None


def open_session(config: Config, env: Mapping[str, str] | None = None, *,
                 api_key: str | None = None) -> Session:
    """Connect to the API the config and environment mean (``containersync.endpoint``);
    ``"local"`` starts the embedded backend with its data under the state dir (no key, no
    network). A URL without a key is a ``ConfigError`` before any request."""
    env = os.environ if env is None else env
    endpoint = resolve_endpoint(config, env, api_key=api_key)
    config = effective_config(config, env)  # the identity binds state to this endpoint
    api = config.api
    prepare_dir(Path(config.state.dir))  # 0700, or one clear line when it cannot be
    backend = None
    if endpoint.is_local:
        # here, not at the top: uvicorn, starlette and the app cost every sync against a
        # URL ~0.2 s of start-up
        from containersync.localapi.embedded import start_server

        backend = start_server(Path(config.state.dir) / "localapi")
        base_url, key = backend.base_url, None
    else:
        base_url, key = endpoint.base_url, endpoint.api_key
    client = ContainersClient.connect(
        base_url, key, timeout=api.timeout_seconds, max_connections=api.concurrency,
        max_retries=api.max_retries, extra_headers=endpoint.headers(),
    )
    return Session(config=config, client=client, backend=backend, endpoint=endpoint, env=env)


@contextlib.contextmanager
def session(config: Config, env: Mapping[str, str] | None = None, *,
            api_key: str | None = None) -> Iterator[Session]:
    s = open_session(config, env, api_key=api_key)
    try:
        yield s
    finally:
        s.close()
