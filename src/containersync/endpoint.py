"""Which Containers API a run talks to, and with which credentials: resolved as the official
``openai`` SDK resolves them, under the config file's values.

Order, for each value (the first that is set wins):

- base URL: an explicit argument (``--base-url``, ``base_url=``); the config file's
  ``api.base_url``; ``$OPENAI_BASE_URL``; the default. The default is ``"local"`` (the
  embedded backend) for a config file, as it always was, and the live service
  (``https://api.openai.com/v1``, the SDK's default) for the folder-only forms, which have no
  file to say otherwise.
- key: an explicit argument; the systemd credential ``api.api_key_credential``;
  ``$<api.api_key_env>`` (``$OPENAI_API_KEY``). Any URL needs one (a clear ``ConfigError``
  otherwise, before any request): the live service is never called without a key. The
  embedded backend needs none.
- organization and project: the config file's ``api.organization`` / ``api.project``;
  ``$OPENAI_ORG_ID`` / ``$OPENAI_PROJECT_ID``. Sent as the ``OpenAI-Organization`` and
  ``OpenAI-Project`` headers, as the SDK sends them.

No I/O but reading the environment (and the credential file); the key is never stored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from containersync.config_methods import LOCAL_BASE_URL, resolve_api_key
from containersync.errors import ConfigError

if TYPE_CHECKING:
    from containersync.config import Config

LIVE_BASE_URL = "https://api.openai.com/v1"
ENV_BASE_URL = "OPENAI_BASE_URL"
ENV_ORG = "OPENAI_ORG_ID"
ENV_PROJECT = "OPENAI_PROJECT_ID"
_URL = re.compile(r"^https?://[^/\s]+")


@dataclass(frozen=True)
class Endpoint:
    """A resolved endpoint. ``base_url`` is ``"local"`` or an http(s) URL without a trailing
    slash; ``source`` says where it came from (for ``status`` and messages)."""

    base_url: str
    source: str
    api_key: str | None = field(default=None, repr=False)
    organization: str | None = None
    project: str | None = None

    @property
    def is_local(self) -> bool:
        return self.base_url == LOCAL_BASE_URL

    def headers(self) -> dict[str, str]:
        """The extra request headers the SDK would send for this endpoint."""
        out: dict[str, str] = {}
        if self.organization:
            out["OpenAI-Organization"] = self.organization
        if self.project:
            out["OpenAI-Project"] = self.project
        return out


def check_base_url(value: str, *, origin: str) -> str:
    """``value`` as a base URL (``"local"`` or http(s)), or a ``ConfigError`` naming ``origin``."""
    value = value.strip()
    if value == LOCAL_BASE_URL:
        return value
    if not _URL.match(value):
        raise ConfigError(f"{origin} = {value!r} is not a base URL",
                          fix='use "local" or an http(s):// URL such as '
                              '"https://api.openai.com/v1"')
    return value.rstrip("/")


def env_base_url(env: Mapping[str, str]) -> str | None:
    """``$OPENAI_BASE_URL`` checked, or None when unset or empty."""
    raw = env.get(ENV_BASE_URL, "").strip()
    return check_base_url(raw, origin=f"${ENV_BASE_URL}") if raw else None


def base_url_of(config: Config, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The base URL ``config`` means and where it came from; reads no key (for ``status``)."""
    env = os.environ if env is None else env
    if "base_url" in config.api.model_fields_set:
        return config.api.base_url, "config"
    from_env = env_base_url(env)
    if from_env is not None:
        return from_env, f"${ENV_BASE_URL}"
    return config.api.base_url, "default"


def effective_config(config: Config, env: Mapping[str, str] | None = None) -> Config:
    """``config`` with ``api.base_url`` set to the endpoint in effect (``$OPENAI_BASE_URL``
    when the file does not set it), so everything derived from the config (the mapping's
    identity, which names its state) sees the endpoint actually used."""
    base_url, source = base_url_of(config, env)
    if source == "config":
        return config
    return config.model_copy(update={"api": config.api.model_copy(
        update={"base_url": base_url})})


def resolve_endpoint(config: Config, env: Mapping[str, str] | None = None, *,
                     api_key: str | None = None) -> Endpoint:
    """The endpoint ``config`` means, given the environment (see the module docstring).

    ``config.api.base_url`` counts as set when the file (or the caller building the config)
    set it; otherwise ``$OPENAI_BASE_URL`` applies, then the config's default."""
    env = os.environ if env is None else env
    api = config.api
    base_url, source = base_url_of(config, env)
    org = api.organization or env.get(ENV_ORG, "").strip() or None
    project = api.project or env.get(ENV_PROJECT, "").strip() or None
    if base_url == LOCAL_BASE_URL:
        return Endpoint(base_url, source, None, org, project)
    key = (api_key or "").strip() or None
    if key is None:
        effective = config.model_copy(update={"api": api.model_copy(
            update={"base_url": base_url})})
        key = resolve_api_key(effective, env)
    return Endpoint(base_url, source, key, org, project)
