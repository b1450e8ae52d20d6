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
- Every value is bounded: numbers finite (no ``inf``/``nan``), every duration at most an
  hour unless its meaning needs longer (``DURATION_LIMITS``), the trash kept at least a day,
  ``exclude`` limited in count and length. Loading is bounded in time and never tracebacks:
  the file is at most ``MAX_CONFIG_BYTES``, nesting at most ``MAX_NESTING`` levels, and every
  local condition (missing, a folder, unreadable, not UTF-8) is one ``ConfigError``.
- Every validation problem is reported at once, in TOML words (table, array, string).
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from containersync.config_base import ENV_NAME, Model, env_of, path_field
from containersync.config_methods import (  # re-exported: pure, shared with config_record
    LOCAL_BASE_URL,
    MAX_PATTERN_CHARS,
    MAX_PATTERNS,
    ApiMethods,
    ConfigMethods,
    DaemonMethods,
    LoadedConfig,
    MappingIdentity,
    StateMethods,
    endpoint_of,
    mapping_identity,
    resolve_api_key,
)
from containersync.config_paths import (
    ENV_CONFIG,
    default_config_path,
    expand_path,
    find_config_path,
)
from containersync.config_spec import (  # re-exported: the models of [mappings.container]
    AUTO_CONTAINER_NAME,
    ContainerSpec,
    DomainSecret,
    NetworkPolicy,
    SkillConfig,
)
from containersync.errors import ConfigError
from containersync.model.entry import Mode
from containersync.skills import check_skill

__all__ = [
    "AUTO_CONTAINER_NAME",
    "ENV_CONFIG",
    "LOCAL_BASE_URL",
    "MAX_PATTERNS",
    "MAX_PATTERN_CHARS",
    "Config",
    "ConfigError",
    "ContainerSpec",
    "DomainSecret",
    "LoadedConfig",
    "MappingConfig",
    "MappingIdentity",
    "NetworkPolicy",
    "SkillConfig",
    "default_config_path",
    "endpoint_of",
    "expand_path",
    "find_config_path",
    "load_config",
    "mapping_identity",
    "parse_config",
    "resolve_api_key",
]

MAPPING_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

#: a config file is a few KiB; this bounds the time to read, parse and validate it
MAX_CONFIG_BYTES = 1024 * 1024
#: tables and arrays nested deeper than this are refused (the schema needs 4)
MAX_NESTING = 16
#: ``exclude``: patterns per mapping, and characters per pattern (no path is longer than
#: 4096 bytes; pathspec's compile time grows fast with a pattern's length)
HOUR = 3600.0
DAY = 86400.0


class ApiConfig(Model, ApiMethods):
    base_url: str = LOCAL_BASE_URL
    api_key_env: str = "OPENAI_API_KEY"
    #: name of a systemd credential (LoadCredential=NAME:...) holding the key; read from
    #: $CREDENTIALS_DIRECTORY/NAME when set, before falling back to ``api_key_env``
    api_key_credential: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    timeout_seconds: float = Field(default=60.0, gt=0, le=HOUR)
    max_retries: int = Field(default=2, ge=0, le=10)
    #: the most transfers in flight at once (the adaptive window's bound, ``api.pacing``)
    concurrency: int = Field(default=32, ge=1, le=64)
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
        if not ENV_NAME.match(value):
            raise ValueError("must be the name of an environment variable, not the key itself")
        return value



class StateConfig(Model, StateMethods):
    dir: Path
    #: the trash is a promise: at least a day, at most ten years
    trash_retention_days: float = Field(default=30, ge=1, le=3650)

    @field_validator("dir", mode="before")
    @classmethod
    def _expand(cls, value: Any, info: ValidationInfo) -> Any:
        return path_field(value, info)



class DaemonConfig(Model, DaemonMethods):
    debounce_ms: int = Field(default=100, ge=0, le=int(HOUR * 1000))
    max_wait_ms: int = Field(default=2000, ge=0, le=int(HOUR * 1000))
    pull_interval_seconds: float = Field(default=5, gt=0, le=HOUR)
    #: the pull interval within a minute of a change on either side
    active_pull_interval_seconds: float = Field(default=1, gt=0, le=HOUR)
    #: the longest the shared budget stretches a pull interval when it cannot pay them all
    pull_backoff_max_seconds: float = Field(default=60, gt=0, le=HOUR)
    #: every mapping's idle requests together (pull checks, full cycles, keep-alives); the
    #: default's pull share (``plan.idle_budget.PULL_SHARE``) pays one active mapping's
    #: pull every ``active_pull_interval_seconds`` (1 s): 90 * 0.75 / 60 = 1.125 a second
    idle_requests_per_minute: float = Field(default=90, gt=0, le=6000)
    idle_pull_interval_seconds: float = Field(default=60, gt=0, le=HOUR)
    #: deletions are seen by full listings: at least once a day
    full_sync_interval_seconds: float = Field(default=600, gt=0, le=DAY)
    #: how long an idle container is kept alive: at most a week
    keepalive_idle_limit_seconds: float = Field(default=28800, ge=0, le=7 * DAY)
    #: a keep-alive must come before the longest expiry window (20 minutes)
    keepalive_interval_seconds: float | None = Field(default=None, gt=0, lt=20 * 60)
    #: keep-alive stops for the day once it kept containers alive this long (0: no budget)
    keepalive_budget_hours_per_day: float = Field(default=0, ge=0, le=24)
    poll_fallback: Literal["auto", "always"] = "auto"
    poll_interval_seconds: float = Field(default=2, gt=0, le=HOUR)

    @model_validator(mode="after")
    def _ordering(self) -> DaemonConfig:
        if self.max_wait_ms < self.debounce_ms:
            raise ValueError("max_wait_ms must be at least debounce_ms")
        return self


class MappingConfig(Model):
    name: str
    local: Path
    mode: Mode = Mode.TWO_WAY
    remote_root: str = "/mnt/data"
    exclude: tuple[str, ...] = ()
    use_gitignore: bool = False
    pull_sources: tuple[str, ...] = ("assistant",)
    max_delete_fraction: float = Field(default=0.5, gt=0, le=1)
    container: ContainerSpec = ContainerSpec()

    @field_validator("local", mode="before")
    @classmethod
    def _expand(cls, value: Any, info: ValidationInfo) -> Any:
        return path_field(value, info)

    @model_validator(mode="before")
    @classmethod
    def _no_link_following(cls, data: Any) -> Any:
        """``follow_internal_symlinks`` was documented but never built; ``false`` (what
        older example configs say) is still accepted, ``true`` is refused."""
        if isinstance(data, dict) and "follow_internal_symlinks" in data:
            if data["follow_internal_symlinks"] is not False:
                raise ValueError(
                    "follow_internal_symlinks is not supported: symbolic links are never "
                    "followed or uploaded; replace the link by the file (or a hard link), "
                    "or remove the key")
            data = {k: v for k, v in data.items() if k != "follow_internal_symlinks"}
        return data

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
        if len(value) > MAX_PATTERNS:
            raise ValueError(f"holds {len(value)} patterns, more than {MAX_PATTERNS}: use "
                             "broader patterns, or a .containersyncignore file")
        for i, pattern in enumerate(value):
            if len(pattern) > MAX_PATTERN_CHARS:
                raise ValueError(f"pattern {i + 1} is {len(pattern)} characters long, more "
                                 f"than {MAX_PATTERN_CHARS}: no path is that long; shorten it")
        if value:
            import pathspec  # the matcher loads only for a mapping that has patterns
        for pattern in value:
            try:
                pathspec.GitIgnoreSpec.from_lines([pattern])
            except Exception as exc:
                raise ValueError(f"pattern {_short(pattern)} is not valid gitignore "
                                 "syntax") from exc
        return value


class Config(Model, ConfigMethods):
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
                data = {**data, "state": {**state, "dir": default_state_dir(env_of(info))}}
        return data



def default_state_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local"
                                            / "state")
    return Path(base) / "containersync"


def load_config(path: Path | None = None, *,
                 env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Find, read and validate the configuration; raise ``ConfigError`` on any problem."""
    env = os.environ if env is None else env
    file, origin = find_config_path(path, env)
    return LoadedConfig(parse_config(read_config_text(file, origin), file=file, env=env), file)


class _NotAFile(Exception):
    """The config path names a FIFO, socket or device."""


def read_config_text(file: Path, origin: str = "--config") -> str:
    """The text of ``file``; every local condition that stops reading is one ``ConfigError``
    naming the file and what to do."""
    name = str(file)
    try:
        # O_NONBLOCK: a FIFO given as the config must not hang the open; fstat refuses it
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                raise IsADirectoryError
            if not stat.S_ISREG(mode):
                raise _NotAFile
            data = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"no configuration file (looked here because of {origin})",
                          file=name, fix="run `containersync init FOLDER` to write one, "
                          "or pass --config FILE") from None
    except IsADirectoryError:
        raise ConfigError("is a folder, not a configuration file", file=name,
                          fix="pass --config with the path of the .toml file") from None
    except _NotAFile:
        raise ConfigError("is not a regular file (a pipe or a device?)", file=name,
                          fix="pass --config with the path of the .toml file") from None
    except PermissionError:
        raise ConfigError("cannot be read: permission denied", file=name,
                          fix="make it readable by this user (chmod u+r)") from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot be read: {reason}", file=name,
                          fix="check the path and the disk it is on") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"is larger than {MAX_CONFIG_BYTES // 1024} KiB, too large for a "
                          "configuration file", file=name,
                          fix="pass --config with the right file, or move long pattern "
                          "lists to .containersyncignore") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"is not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line})",
                          file=name, fix="save it as UTF-8") from None


def parse_config(text: str, *, file: Path, env: Mapping[str, str]) -> Config:
    """Validate TOML ``text`` as if read from ``file``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=str(file),
                          fix="fix the syntax at the position shown") from None
    except RecursionError:
        raise _too_deep(str(file), None) from None
    deep = _too_deep_at(raw)
    if deep is not None:
        raise _too_deep(str(file), deep)
    context = {"env": env, "config_dir": file.parent.absolute()}
    try:
        config = Config.model_validate(raw, context=context)
    except ValidationError as exc:
        raise _translate(exc, str(file)) from None
    _check_consistency(config, str(file))
    return config


def _too_deep(file: str, field: str | None) -> ConfigError:
    return ConfigError(f"arrays or tables are nested more than {MAX_NESTING} levels deep",
                       file=file, field=field, fix="no setting needs more than a few levels; "
                       "remove the extra [ ] or { }")


def _too_deep_at(raw: dict[str, Any]) -> str | None:
    """The dotted key of the first value nested deeper than ``MAX_NESTING``, if any
    (iterative, so no depth can exhaust the stack)."""
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(raw, ())]
    while stack:
        value, loc = stack.pop()
        if len(loc) > MAX_NESTING:
            return dotted(loc)
        if isinstance(value, dict):
            stack.extend((v, (*loc, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*loc, i)) for i, v in enumerate(value))
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


#: pydantic's names for Python types, in the words of TOML
_TOML_WORDS = (("dictionary", "table"), ("tuple", "array"), ("list", "array"),
               ("a valid number", "a number"), ("a valid integer", "an integer"),
               ("a valid boolean", "true or false"), ("a valid string", "a string"),
               ("Input should be", "must be"), ("Value error, ", ""))


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def _one(error: Any) -> tuple[str, str | None]:
    """One pydantic error as (message, fix), in TOML words."""
    loc = tuple(error["loc"])
    kind, ctx = error["type"], error.get("ctx") or {}
    message, fix = str(error["msg"]), None
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        valid = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        message = "unknown key"
        fix = (f"did you mean {close[0]!r}?" if close else "remove it") + (
            f" valid keys: {', '.join(valid)}" if valid else "")
    elif kind in ("enum", "literal_error"):
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        message = f"{_short(error['input'])} is not allowed"
        fix = f"use one of: {', '.join(expected)}"
    elif kind == "missing":
        message = "required key is missing"
        fix = f"add {loc[-1]} = ..."
    elif kind == "value_error":
        message = str(ctx.get("error", message))
    elif kind == "finite_number":
        message = f"must be a finite number (got {_short(error.get('input'))})"
    else:
        for python, toml in _TOML_WORDS:
            message = message.replace(python, toml)
        message = f"{message} (got {_short(error['input'])})" if "input" in error else message
    return message, fix


def _translate(exc: ValidationError, file: str) -> ConfigError:
    """Every problem pydantic found, at once: the first names ``field``; the others follow
    in the message, one per line."""
    errors = exc.errors(include_url=False)
    message, fix = _one(errors[0])
    more = []
    for other in errors[1:]:
        text, other_fix = _one(other)
        where = dotted(tuple(other["loc"])) or "(top level)"
        more.append(f"{where}: {text}" + (f" ({other_fix})" if other_fix else ""))
    return ConfigError(message, file=file, field=dotted(tuple(errors[0]["loc"])) or None,
                       fix=fix, more=tuple(more))


# -- cross-field checks ---------------------------------------------------------------------

def _inside(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def _resolved(path: Path, file: str, field: str) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise ConfigError(f"{str(path)!r} cannot be resolved: {exc}", file=file, field=field,
                          fix="point it at a real folder, not a loop of symbolic links"
                          ) from None


def _check_consistency(config: Config, file: str) -> None:
    state = _resolved(config.state.dir, file, "state.dir")
    seen: dict[str, int] = {}
    roots: list[tuple[int, Path]] = []
    for i, m in enumerate(config.mappings):
        if m.name in seen:
            raise ConfigError(f"mapping name {m.name!r} is already used by "
                              f"mappings[{seen[m.name]}]", file=file, field=f"mappings[{i}].name",
                              fix="give each mapping its own name")
        seen[m.name] = i
        root = _resolved(m.local, file, f"mappings[{i}].local")
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
        for j, skill in enumerate(m.container.skills):
            check_skill(skill, field=f"mappings[{i}].container.skills[{j}]", file=file)
