"""What the config models compute from their fields (properties and helpers, the API
key, a mapping's identity), without pydantic: the validated models (``config``, ``config_spec``) and their cached records
(``config_record``) share these, so both answer alike.

Each class reads only the fields its model declares; none holds state.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from containersync.errors import ConfigError

if TYPE_CHECKING:
    from containersync.config import ApiConfig, Config, MappingConfig

LOCAL_BASE_URL = "local"
#: ``exclude``: patterns per mapping, and characters per pattern (no path is longer than
#: 4096 bytes; pathspec's compile time grows fast with a pattern's length)
MAX_PATTERNS = 1000
MAX_PATTERN_CHARS = 4096


class ApiMethods:
    if TYPE_CHECKING:  # the model's fields (no annotation at run time: pydantic reads them)
        base_url: Any

    @property
    def is_local(self) -> bool:
        return bool(self.base_url == LOCAL_BASE_URL)


class DaemonMethods:
    if TYPE_CHECKING:  # the model's fields (no annotation at run time: pydantic reads them)
        keepalive_interval_seconds: Any

    def keepalive_interval(self, expires_after_minutes: int) -> float:
        """Seconds between keep-alive retrieves: as set, else half the expiry window."""
        if self.keepalive_interval_seconds is not None:
            return float(self.keepalive_interval_seconds)
        return expires_after_minutes * 60 / 2


class StateMethods:
    if TYPE_CHECKING:  # the model's fields (no annotation at run time: pydantic reads them)
        dir: Any

    @property
    def index_file(self) -> Path:
        return Path(self.dir) / "index.sqlite3"

    @property
    def trash_dir(self) -> Path:
        return Path(self.dir) / "trash"


class DomainSecretMethods:
    if TYPE_CHECKING:  # the model's fields (no annotation at run time: pydantic reads them)
        value_env: Any
        value_credential: Any

    @property
    def source(self) -> str:
        """Where the value comes from, for messages: never the value."""
        if self.value_env is not None:
            return f"${self.value_env}"
        return f"$CREDENTIALS_DIRECTORY/{self.value_credential}"


class SkillMethods:
    if TYPE_CHECKING:  # the model's fields (no annotation at run time: pydantic reads them)
        name: Any
        path: Any

    @property
    def inline_name(self) -> str:
        assert self.path is not None
        return str(self.name or self.path.name)


class ContainerSpecMethods:
    if TYPE_CHECKING:  # the model's fields (no annotation at run time: pydantic reads them)
        id: Any
        name: Any

    @property
    def adopted(self) -> bool:
        return self.id is not None

    def create_name(self, mapping: str) -> str:
        return str(self.name or f"containersync-{mapping}")


class ConfigMethods:
    if TYPE_CHECKING:  # the model's fields (no annotation at run time: pydantic reads them)
        mappings: Any

    def mapping(self, name: str) -> MappingConfig:
        for m in self.mappings:
            if m.name == name:
                return m  # type: ignore[no-any-return]
        raise ConfigError(f"no mapping named {name!r}", field="mappings",
                          fix="use one of: " + (", ".join(m.name for m in self.mappings)
                                                or "(none configured)"))


# -- the API key --------------------------------------------------------------------------

def resolve_api_key(config: Config, env: Mapping[str, str] | None = None) -> str | None:
    """The API key for ``config.api``: ``None`` for the local backend, else from the env."""
    env = os.environ if env is None else env
    if config.api.is_local:
        return None
    key = _credential(config.api.api_key_credential, env)
    if key:
        return key
    key = env.get(config.api.api_key_env, "").strip()
    if not key:
        raise ConfigError(f"${config.api.api_key_env} is not set, and {config.api.base_url} "
                          "needs an API key", field="api.api_key_env",
                          fix=f"export {config.api.api_key_env}=..., or set api.base_url = "
                          '"local" to use the embedded backend')
    return key


def _credential(name: str | None, env: Mapping[str, str]) -> str | None:
    """The key systemd passed with LoadCredential=, if configured and present."""
    folder = env.get("CREDENTIALS_DIRECTORY")
    if not name or not folder:
        return None
    try:
        return (Path(folder) / name).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


# -- a mapping's identity ------------------------------------------------------------------

@dataclass(frozen=True)
class MappingIdentity:
    """What a mapping's state belongs to: its resolved local root, its API endpoint and its
    container. ``key`` names the state (index row, lock file); ``display_name`` is the
    config's handle for it. Two configs sharing a state dir and a mapping name but not a
    folder, an endpoint or a container are two mappings and never act on each other."""

    key: str
    display_name: str
    local_root: str
    endpoint: str
    container: str


def endpoint_of(api: ApiConfig) -> str:
    """The API endpoint as identity: ``local`` (the embedded backend lives in the state dir,
    so it is its own endpoint per state dir), else the base URL with scheme and host in
    lower case and no trailing slash."""
    if api.is_local:
        return LOCAL_BASE_URL
    scheme, _, rest = api.base_url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}".rstrip("/")


def mapping_identity(config: Config, m: MappingConfig) -> MappingIdentity:
    """The one place a mapping's state key is derived: ``<name>-<12 hex>`` of a hash over
    the identity, stable across runs and safe as a file name."""
    root = str(Path(os.path.abspath(m.local)).resolve())
    endpoint = endpoint_of(config.api)
    container = f"id:{m.container.id}" if m.container.id else \
        f"name:{m.container.create_name(m.name)}"
    digest = hashlib.sha256("\0".join((root, endpoint, container)).encode("utf-8"))
    return MappingIdentity(key=f"{m.name}-{digest.hexdigest()[:12]}", display_name=m.name,
                           local_root=root, endpoint=endpoint, container=container)


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config (or its cached record) and the file it came from."""

    config: Config
    file: Path
