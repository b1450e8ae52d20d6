"""The configuration file: find it, parse it (TOML), validate it (pydantic), once, at the edge.

Responsibilities: discovery (``--config``, then ``$CONTAINERSYNC_CONFIG``, then
``$XDG_CONFIG_HOME/containersync/config.toml``), the models, and turning every failure into
one ``ConfigError`` that names the file, the dotted field (``mappings[0].mode``) and a fix.

Invariants:
- Models are frozen and reject unknown keys; enums use stable kebab-case spellings.
- Paths are expanded when loaded: ``~`` and ``$VAR``/``${VAR}`` from the given environment
  (an unset variable is an error); a relative path is taken from the config file's folder.
- No secret is ever stored: the model holds only the *name* of the API key's environment
  variable; ``resolve_api_key`` reads it when needed.
- A loaded config is consistent: mapping names unique, local roots disjoint, and the state
  dir neither inside a local root nor containing one.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, get_args, get_origin

import pathspec
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from containersync.errors import ConfigError
from containersync.model.entry import Mode

ENV_CONFIG = "CONTAINERSYNC_CONFIG"
LOCAL_BASE_URL = "local"
MAPPING_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _env(info: ValidationInfo) -> Mapping[str, str]:
    ctx = info.context or {}
    env = ctx.get("env")
    return env if env is not None else os.environ


def expand_path(raw: str, env: Mapping[str, str], relative_to: Path | None = None) -> Path:
    """Expand ``~`` and ``$VAR`` using ``env``; anchor a relative result at ``relative_to``."""
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in env:
            raise ValueError(f"environment variable ${name} is not set")
        return env[name]

    text = _VAR.sub(substitute, raw)
    if text == "~" or text.startswith("~/"):
        home = env.get("HOME") or str(Path.home())
        text = home + text[1:]
    path = Path(text)
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    return Path(os.path.normpath(path))


def _path_field(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str):
        base = (info.context or {}).get("config_dir")
        return expand_path(value, _env(info), base)
    return value


class ApiConfig(_Model):
    base_url: str = LOCAL_BASE_URL
    api_key_env: str = "OPENAI_API_KEY"
    #: name of a systemd credential (LoadCredential=NAME:...) holding the key; read from
    #: $CREDENTIALS_DIRECTORY/NAME when set, before falling back to ``api_key_env``
    api_key_credential: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    timeout_seconds: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    concurrency: int = Field(default=8, ge=1, le=64)
    #: sent as the OpenAI-Organization / OpenAI-Project headers; unset: $OPENAI_ORG_ID /
    #: $OPENAI_PROJECT_ID (see containersync.endpoint)
    organization: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    project: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9_-]+$")

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if value == LOCAL_BASE_URL:
            return value
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError('must be "local" or an http(s):// URL such as '
                             '"https://api.openai.com/v1"')
        return value.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _api_key_env(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError("must be the name of an environment variable, not the key itself")
        return value

    @property
    def is_local(self) -> bool:
        return self.base_url == LOCAL_BASE_URL


class StateConfig(_Model):
    dir: Path
    trash_retention_days: float = Field(default=30, ge=0)

    @field_validator("dir", mode="before")
    @classmethod
    def _expand(cls, value: Any, info: ValidationInfo) -> Any:
        return _path_field(value, info)

    @property
    def index_file(self) -> Path:
        return self.dir / "index.sqlite3"

    @property
    def trash_dir(self) -> Path:
        return self.dir / "trash"


class DaemonConfig(_Model):
    debounce_ms: int = Field(default=100, ge=0)
    max_wait_ms: int = Field(default=2000, ge=0)
    pull_interval_seconds: float = Field(default=5, gt=0)
    idle_pull_interval_seconds: float = Field(default=60, gt=0)
    full_sync_interval_seconds: float = Field(default=600, gt=0)
    keepalive_idle_limit_seconds: float = Field(default=28800, ge=0)
    keepalive_interval_seconds: float | None = Field(default=None, gt=0)
    poll_fallback: Literal["auto", "always"] = "auto"
    poll_interval_seconds: float = Field(default=2, gt=0)

    @model_validator(mode="after")
    def _ordering(self) -> DaemonConfig:
        if self.max_wait_ms < self.debounce_ms:
            raise ValueError("max_wait_ms must be at least debounce_ms")
        return self

    def keepalive_interval(self, expires_after_minutes: int) -> float:
        """Seconds between keep-alive retrieves: as set, else half the expiry window."""
        if self.keepalive_interval_seconds is not None:
            return self.keepalive_interval_seconds
        return expires_after_minutes * 60 / 2


class NetworkPolicy(_Model):
    type: Literal["disabled", "allowlist"] = "disabled"
    allowed_domains: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _domains(self) -> NetworkPolicy:
        if self.type == "allowlist" and not self.allowed_domains:
            raise ValueError('type "allowlist" needs a non-empty allowed_domains list')
        if self.type == "disabled" and self.allowed_domains:
            raise ValueError('allowed_domains only applies to type "allowlist"')
        return self


class ContainerSpec(_Model):
    """Either a spec to create the container from, or ``id`` of one to adopt."""

    name: str | None = Field(default=None, min_length=1, max_length=256)
    id: str | None = Field(default=None, pattern=r"^cntr_[A-Za-z0-9]+$")
    memory_limit: Literal["512m", "1g", "2g", "4g", "16g", "64g"] | None = None
    expires_after_minutes: int = Field(default=20, ge=1, le=20)
    network_policy: NetworkPolicy | None = None
    file_ids: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _adopt_or_create(self) -> ContainerSpec:
        if self.id is not None:
            extra = sorted({"name", "memory_limit", "network_policy", "file_ids"}
                           & self.model_fields_set)
            if extra:
                raise ValueError(f"an adopted container (id) is never created, so "
                                 f"{', '.join(extra)} cannot apply: remove them or remove id")
        return self

    @property
    def adopted(self) -> bool:
        return self.id is not None

    def create_name(self, mapping: str) -> str:
        return self.name or f"containersync-{mapping}"


class MappingConfig(_Model):
    name: str
    local: Path
    mode: Mode = Mode.TWO_WAY
    remote_root: str = "/mnt/data"
    exclude: tuple[str, ...] = ()
    use_gitignore: bool = False
    pull_sources: tuple[str, ...] = ("assistant",)
    follow_internal_symlinks: bool = False
    max_delete_fraction: float = Field(default=0.5, gt=0, le=1)
    container: ContainerSpec = ContainerSpec()

    @field_validator("local", mode="before")
    @classmethod
    def _expand(cls, value: Any, info: ValidationInfo) -> Any:
        return _path_field(value, info)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not MAPPING_NAME.match(value):
            raise ValueError("must be 1-64 letters, digits, '.', '_' or '-', starting with a "
                             "letter or digit")
        return value

    @field_validator("remote_root")
    @classmethod
    def _remote_root(cls, value: str) -> str:
        if not value.startswith("/") or "\x00" in value:
            raise ValueError('must be an absolute sandbox path such as "/mnt/data"')
        parts = PurePosixPath(value).parts
        if ".." in parts or "." in value.split("/"):
            raise ValueError("must not contain '.' or '..' segments")
        return str(PurePosixPath(value))

    @field_validator("exclude")
    @classmethod
    def _exclude(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                pathspec.GitIgnoreSpec.from_lines([pattern])
            except Exception as exc:
                raise ValueError(f"pattern {pattern!r} is not valid gitignore syntax") from exc
        return value


class Config(_Model):
    api: ApiConfig = ApiConfig()
    state: StateConfig
    daemon: DaemonConfig = DaemonConfig()
    mappings: tuple[MappingConfig, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _default_state_dir(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict):
            state = data.get("state", {})
            if isinstance(state, dict) and "dir" not in state:
                data = {**data, "state": {**state, "dir": default_state_dir(_env(info))}}
        return data

    def mapping(self, name: str) -> MappingConfig:
        for m in self.mappings:
            if m.name == name:
                return m
        raise ConfigError(f"no mapping named {name!r}", field="mappings",
                          fix="use one of: " + (", ".join(m.name for m in self.mappings)
                                                or "(none configured)"))


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and the file it came from."""

    config: Config
    file: Path


def default_state_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local"
                                            / "state")
    return Path(base) / "containersync"


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "containersync" / "config.toml"


def find_config_path(path: Path | None = None,
                     env: Mapping[str, str] | None = None) -> tuple[Path, str]:
    """The config file to use and where that choice came from (for messages)."""
    env = os.environ if env is None else env
    if path is not None:
        return Path(path), "--config"
    if env.get(ENV_CONFIG):
        return expand_path(env[ENV_CONFIG], env), f"${ENV_CONFIG}"
    return default_config_path(env), "the default location"


def load_config(path: Path | None = None, *,
                env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Find, read and validate the configuration; raise ``ConfigError`` on any problem."""
    env = os.environ if env is None else env
    file, origin = find_config_path(path, env)
    try:
        text = file.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no configuration file (looked here because of {origin})",
                          file=str(file), fix="run `containersync init FOLDER` to write one, "
                          "or pass --config FILE") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the configuration: {exc}", file=str(file)) from None
    return LoadedConfig(parse_config(text, file=file, env=env), file)


def parse_config(text: str, *, file: Path, env: Mapping[str, str]) -> Config:
    """Validate TOML ``text`` as if read from ``file``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=str(file),
                          fix="fix the syntax at the position shown") from None
    context = {"env": env, "config_dir": file.parent.absolute()}
    try:
        config = Config.model_validate(raw, context=context)
    except ValidationError as exc:
        raise _translate(exc, str(file)) from None
    _check_consistency(config, str(file))
    return config


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


# -- error translation ----------------------------------------------------------------------

def dotted(loc: tuple[int | str, ...]) -> str:
    """``("mappings", 0, "mode")`` -> ``"mappings[0].mode"``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Config
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _find_model(field.annotation)
    return model


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None:
        for arg in get_args(annotation):
            found = _find_model(arg)
            if found is not None:
                return found
    return None


def _translate(exc: ValidationError, file: str) -> ConfigError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(first["loc"])
    kind, ctx = first["type"], first.get("ctx") or {}
    message, fix = str(first["msg"]), None
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        valid = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        message = "unknown key"
        fix = (f"did you mean {close[0]!r}?" if close else "remove it") + (
            f" valid keys: {', '.join(valid)}" if valid else "")
    elif kind in ("enum", "literal_error"):
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        message = f"{first['input']!r} is not allowed"
        fix = f"use one of: {', '.join(expected)}"
    elif kind == "missing":
        message = "required key is missing"
        fix = f"add {loc[-1]} = ..."
    elif kind == "value_error":
        message = str(ctx.get("error", message))
    else:
        message = f"{message} (got {first['input']!r})" if "input" in first else message
    if len(errors) > 1:
        message += f"; and {len(errors) - 1} more problem(s)"
    return ConfigError(message, file=file, field=dotted(loc) or None, fix=fix)


# -- cross-field checks ---------------------------------------------------------------------

def _inside(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def _check_consistency(config: Config, file: str) -> None:
    state = config.state.dir.resolve()
    seen: dict[str, int] = {}
    roots: list[tuple[int, Path]] = []
    for i, m in enumerate(config.mappings):
        if m.name in seen:
            raise ConfigError(f"mapping name {m.name!r} is already used by "
                              f"mappings[{seen[m.name]}]", file=file, field=f"mappings[{i}].name",
                              fix="give each mapping its own name")
        seen[m.name] = i
        root = m.local.resolve()
        if _inside(state, root) or _inside(root, state):
            raise ConfigError(f"local root {str(m.local)!r} overlaps the state dir "
                              f"{str(config.state.dir)!r}", file=file, field=f"mappings[{i}].local",
                              fix="move state.dir outside every mapped folder")
        for j, other in roots:
            if _inside(root, other) or _inside(other, root):
                raise ConfigError(f"local root {str(m.local)!r} overlaps mappings[{j}].local",
                                  file=file, field=f"mappings[{i}].local",
                                  fix="map folders that do not contain each other")
        roots.append((i, root))
