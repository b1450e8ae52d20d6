"""What ``status`` needs of the config, and a cache of it that loads without pydantic.

``status`` reads a handful of values (the state dir, the endpoint, each mapping's name,
folder, mode, state key and memory tier, the keep-alive budget). Validating the config
costs about as much as everything else ``status`` does (importing pydantic alone is
~0.1 s), so after a full validation ``status`` stores those values (``StatusConfig``) in
``$XDG_CACHE_HOME/containersync/`` and reads them back with the standard library.

Correctness first: a cached view is used only when everything the validation read is the
same, else ``status`` validates again (and refreshes the cache):

- the config file: its absolute path, size, mtime and sha256 of its bytes;
- containersync's version, this module's ``FORMAT`` and the identity of the installed
  code of the config's modules (``_schema``: another build of the same version may
  define other fields or defaults);
- every environment variable the validation (and the endpoint choice) looked up, with its
  value or its absence (``RecordingEnv``): ``$HOME``, ``$XDG_STATE_HOME``, a ``$VAR`` in a
  path, ``$OPENAI_BASE_URL``...; a value is kept as its digest, so no secret of the
  environment (the API key, a domain secret) is ever written to the cache;
- what the state dir and each mapping's folder resolve to (a moved symlink changes the
  mapping's state key and the overlap checks).

The view is what ``status`` shows: the endpoint's URL without a password in it
(``shown_url``), so neither the cache nor the screen ever holds one.

A config with inline skills (``skills = [{path = ...}]``) is never cached: validating it
reads the skill folder. A cache file that cannot be read or parsed is ignored. A temp file
that a ``status`` killed before its rename left is swept at the next write (``stale_temps``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from containersync import __version__

if TYPE_CHECKING:
    from containersync.config import Config

FORMAT = 2  # 2: the document also holds the whole config (``config_record``)


# NamedTuples, not dataclasses: importing dataclasses is ~10% of the start-up budget
class StatusMapping(NamedTuple):
    name: str
    local: str
    mode: str
    adopted: bool
    key: str  # the mapping's state key (``config.mapping_identity``)
    memory_limit: str | None


class StatusConfig(NamedTuple):
    state_dir: str
    index_file: str
    base_url: str
    base_url_source: str
    keepalive_budget_s: float | None
    mappings: tuple[StatusMapping, ...]


class RecordingEnv(Mapping[str, str]):
    """``env``, remembering every name looked up (None: it was not set)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.read: dict[str, str | None] = {}

    def __getitem__(self, name: str) -> str:
        value = self._env.get(name)
        self.read[name] = value
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[str]:
        self.read.update(self._env)  # whoever walks it may depend on any of it
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)


def of(cfg: Config, env: Mapping[str, str]) -> StatusConfig:
    """The view of a validated ``cfg``."""
    from containersync.config_methods import mapping_identity
    from containersync.daemon.keepalive_budget import budget_seconds
    from containersync.endpoint import base_url_of, effective_config

    base_url, source = base_url_of(cfg, env)
    effective = effective_config(cfg, env)
    return StatusConfig(
        state_dir=str(cfg.state.dir), index_file=str(cfg.state.index_file),
        base_url=shown_url(base_url), base_url_source=source,
        keepalive_budget_s=budget_seconds(cfg.daemon),
        mappings=tuple(StatusMapping(
            name=m.name, local=str(m.local), mode=str(m.mode.value),
            adopted=m.container.adopted, key=mapping_identity(effective, m).key,
            memory_limit=m.container.memory_limit) for m in cfg.mappings))


def shown_url(url: str) -> str:
    """``url`` as ``status`` shows and caches it: a password in it (a proxy's
    ``https://user:password@host/``) is masked, never printed or written to the cache."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:[redacted]@{host}"))
    except ValueError:
        return url if "@" not in url else "[a URL that cannot be shown]"


def cacheable(cfg: Config) -> bool:
    return not any(s.path is not None for m in cfg.mappings for s in m.container.skills)


def cache_file(config_file: Path, env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    name = hashlib.sha256(os.path.abspath(config_file).encode()).hexdigest()[:16]
    return Path(base) / "containersync" / f"status-config-{name}.json"


#: no config file is larger (``config.MAX_CONFIG_BYTES``); validation refuses a larger one
_MAX_BYTES = 1024 * 1024
#: a cache document holds a config and its view: a few times the config's size at most
_MAX_CACHE_BYTES = 16 * _MAX_BYTES
#: the cache's temp files; one older than a minute is no write in progress
_TEMP_PREFIX, _TEMP_STALE_S = ".status-config-", 60.0


def _fingerprint(config_file: Path) -> dict[str, Any]:
    """What identifies the bytes of ``config_file``; ``OSError`` for anything but a regular
    file of at most ``_MAX_BYTES`` (opened without blocking: a FIFO must not hang the
    command; the validation then says what is wrong with it)."""
    fd = os.open(config_file, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_BYTES:
            raise OSError(f"{config_file} is not a configuration file")
        data = f.read(_MAX_BYTES + 1)
    return {"file": os.path.abspath(config_file), "size": st.st_size,
            "mtime_ns": st.st_mtime_ns, "sha256": hashlib.sha256(data).hexdigest(),
            "version": __version__, "format": FORMAT, "schema": _schema()}


#: the modules whose code decides what a validated config holds (fields, defaults, paths)
_SCHEMA_MODULES = ("config.py", "config_base.py", "config_spec.py", "config_paths.py",
                   "config_methods.py", "config_record.py", "status_config.py")
_schema_digest: list[str] = []


def _schema() -> str:
    """What identifies the code of ``_SCHEMA_MODULES`` as installed (each file's inode,
    size and mtime: a reinstall, a checkout or an edit changes them; a stat costs a
    fraction of reading them): a build of the same version whose models differ (an
    install from a commit, an editable checkout) validates for itself instead of reading
    another build's record (a field missing, an old default)."""
    if not _schema_digest:
        here, parts = Path(__file__).parent, []
        for name in _SCHEMA_MODULES:
            try:
                st = os.stat(here / name)
                parts.append(f"{name}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
            except OSError:
                parts.append(f"{name}:-")  # no source (bytecode only)
        _schema_digest.append(hashlib.sha256("\0".join(parts).encode()).hexdigest())
    return _schema_digest[0]


def _digest(value: str | None) -> str | None:
    """How the cache remembers an environment variable: by a digest of its value, never
    the value (a walk of the environment reads the API key and domain secrets too)."""
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


def _resolved(view: StatusConfig) -> dict[str, str]:
    paths = [view.state_dir, *(m.local for m in view.mappings)]
    return {p: os.path.realpath(p) for p in paths}


def _view_of(raw: dict[str, Any]) -> StatusConfig:
    return StatusConfig(**{**raw, "mappings": tuple(StatusMapping(**m)
                                                     for m in raw["mappings"])})


def _read_own(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file of ours that nobody else can write;
    else ``PermissionError``. The cache decides what ``sync`` does, so one that another
    user could have written or linked (a shared ``$XDG_CACHE_HOME``) is not read."""
    flags = (os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(os.open(path, flags), "rb") as f:
        st = os.fstat(f.fileno())
        if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid()
                or st.st_mode & 0o022 or st.st_size > _MAX_CACHE_BYTES):
            raise PermissionError(f"{path}: not a private file of this user")
        return f.read()


def _load_doc(config_file: Path, env: Mapping[str, str]) -> tuple[dict[str, Any],
                                                                     StatusConfig] | None:
    """The cache document of ``config_file`` and its view, or None when any input changed
    (or no cache)."""
    try:
        doc = json.loads(_read_own(cache_file(config_file, env)))
        if doc["fingerprint"] != _fingerprint(config_file):
            return None
        if any(_digest(env.get(name)) != value for name, value in doc["env"].items()):
            return None
        view = _view_of(doc["view"])
        if _resolved(view) != doc["resolved"]:
            return None
        return doc, view
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # missing, unreadable or corrupt: validate instead


def load(config_file: Path, env: Mapping[str, str]) -> StatusConfig | None:
    """The cached view of ``config_file``, or None when any input changed (or no cache)."""
    found = _load_doc(config_file, env)
    return None if found is None else found[1]


def load_config_record(config_file: Path, env: Mapping[str, str]) -> Config | None:
    """The cached config of ``config_file`` (``config_record.Record`` objects, no pydantic),
    or None when any input changed (or no cache)."""
    from containersync.config_record import from_doc

    found = _load_doc(config_file, env)
    if found is None:
        return None
    try:
        record: Config = from_doc(found[0]["config"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return record


def save(config_file: Path, before: dict[str, Any], view: StatusConfig,
         env_read: Mapping[str, str | None], env: Mapping[str, str],
         config: dict[str, Any] | None = None) -> None:
    """Store ``view``, validated from ``config_file`` as ``before`` fingerprinted it (taken
    before validating). Best effort: a cache that cannot be written is no error."""
    with contextlib.suppress(OSError, ValueError):
        # RACE: the file may change while it is validated; a fingerprint that differs
        # after the validation from before it stores nothing, and a change after this
        # check shows in the next run's fingerprint: the cache never pairs a view with
        # bytes it was not validated from
        if _fingerprint(config_file) != before:
            return
        target = cache_file(config_file, env)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        doc = {"fingerprint": before, "resolved": _resolved(view),
               "env": {name: _digest(value) for name, value in env_read.items()},
               "view": {**view._asdict(), "mappings": [m._asdict() for m in view.mappings]},
               "config": config}
        import tempfile

        from containersync import stale_temps

        # a status killed before its rename left its temp file here
        stale_temps.sweep(target.parent, _TEMP_PREFIX, older_than=_TEMP_STALE_S,
                          now=time.time())
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=_TEMP_PREFIX)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(doc, out)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def for_file(path: Path | None, env: Mapping[str, str] | None = None) -> StatusConfig:
    """The view of the config file ``path`` names (``config.find_config_path``): cached
    when nothing it depends on changed, else validated in full (``ConfigError`` as
    ``load_config`` raises it) and cached."""
    from containersync.config_paths import find_config_path

    env = os.environ if env is None else env
    file, _origin = find_config_path(path, env)
    cached = load(file, env)
    if cached is not None:
        return cached
    return _validate(path, file, env)[1]


def config_for_file(path: Path | None, env: Mapping[str, str] | None = None) -> Config:
    """The config ``path`` names, as ``load_config(path).config`` validates it: the cached
    record while nothing it depends on changed (pydantic is then not imported), else
    validated in full (every ``ConfigError`` comes from there) and cached."""
    from containersync.config_paths import find_config_path

    env = os.environ if env is None else env
    file, _origin = find_config_path(path, env)
    cached = load_config_record(file, env)
    if cached is not None:
        return cached
    return _validate(path, file, env)[0]


def _validate(path: Path | None, file: Path, env: Mapping[str, str]
              ) -> tuple[Config, StatusConfig]:
    from containersync.config import load_config
    from containersync.config_record import to_doc

    try:
        before = _fingerprint(file)
    except OSError:
        before = None  # load_config says what is wrong with the file
    recording = RecordingEnv(env)
    loaded = load_config(path, env=recording)
    view = of(loaded.config, recording)
    if before is not None and cacheable(loaded.config):
        try:
            doc: dict[str, Any] | None = to_doc(loaded.config)
        except ValueError:
            doc = None  # a value no record keeps: status still gets its view
        save(file, before, view, recording.read, env, doc)
    return loaded.config, view
