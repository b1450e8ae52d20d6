"""``[mappings.container]``: the spec a mapping's container is created from (seed 003 in full).

Models only: reading a skill folder and a secret happen at the edge (``containersync.skills``,
``containersync.secrets``), when a session is opened.

Invariants:
- No secret value is ever in a model: a domain secret names where its value comes from
  (``value_env``, ``value_credential``); a literal ``value`` is refused, and no message
  here echoes a value the user wrote for a secret.
- A skill is either a reference (``skill_id``, optional ``version``) or a local folder
  (``path``) sent inline; never both.
- An adopted container (``id``) is never created, so nothing that only applies at creation
  may be set with it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from containersync.config_base import ENV_NAME, Model, path_field
from containersync.config_methods import ContainerSpecMethods, DomainSecretMethods, SkillMethods

#: the name the Responses API gives containers it creates on its own; a mapping that used it
#: would take those for its own
AUTO_CONTAINER_NAME = "auto"
_CREDENTIAL = re.compile(r"^[A-Za-z0-9_.-]+$")
_CREATE_ONLY = ("name", "memory_limit", "network_policy", "file_ids", "skills")


class DomainSecret(Model, DomainSecretMethods):
    """One ``network_policy.domain_secrets`` entry; its value is read when a session opens."""

    domain: str = Field(min_length=1, max_length=253)
    name: str = Field(min_length=1, max_length=256)
    value_env: str | None = None
    value_credential: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_literal_value(cls, data: Any) -> Any:
        if isinstance(data, dict) and "value" in data:
            raise ValueError("a secret's value is never written in the config: set value_env "
                             "(an environment variable's name) or value_credential (a systemd "
                             "credential's name) instead, and remove value")
        return data

    @field_validator("value_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not ENV_NAME.match(value):
            raise ValueError("value_env must be the NAME of an environment variable (letters, "
                             "digits, '_'), not the secret itself")
        return value

    @field_validator("value_credential")
    @classmethod
    def _credential_name(cls, value: str | None) -> str | None:
        if value is not None and not _CREDENTIAL.match(value):
            raise ValueError("value_credential must be the name of a systemd credential "
                             "(letters, digits, '.', '_', '-'), as in LoadCredential=NAME:...")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> DomainSecret:
        if (self.value_env is None) == (self.value_credential is None):
            raise ValueError("set exactly one of value_env or value_credential")
        return self



class NetworkPolicy(Model):
    type: Literal["disabled", "allowlist"] = "disabled"
    allowed_domains: tuple[str, ...] = ()
    domain_secrets: tuple[DomainSecret, ...] = ()

    @model_validator(mode="after")
    def _domains(self) -> NetworkPolicy:
        if self.type == "allowlist" and not self.allowed_domains:
            raise ValueError('type "allowlist" needs a non-empty allowed_domains list')
        if self.type == "disabled" and (self.allowed_domains or self.domain_secrets):
            raise ValueError('allowed_domains and domain_secrets only apply to type "allowlist"')
        for secret in self.domain_secrets:
            if secret.domain not in self.allowed_domains:
                raise ValueError(f"domain_secrets names {secret.domain!r}, which is not in "
                                 "allowed_domains: add it there, or fix the domain")
        return self


class SkillConfig(Model, SkillMethods):
    """A skill to install: ``skill_id`` (+ ``version``) of an uploaded one, or ``path`` of a
    local folder zipped and sent inline (``name`` defaults to the folder's name)."""

    skill_id: str | None = Field(default=None, min_length=1, max_length=64)
    version: str | None = Field(default=None, min_length=1, max_length=64)
    path: Path | None = None
    name: str | None = Field(default=None, min_length=1, max_length=64,
                             pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str | None = Field(default=None, min_length=1, max_length=1024)

    @field_validator("path", mode="before")
    @classmethod
    def _expand(cls, value: Any, info: ValidationInfo) -> Any:
        return path_field(value, info)

    @model_validator(mode="after")
    def _reference_or_inline(self) -> SkillConfig:
        if (self.skill_id is None) == (self.path is None):
            raise ValueError("a skill is either skill_id = \"skill_...\" (an uploaded skill) "
                             "or path = \"folder\" (a local folder sent inline): set one")
        if self.skill_id is not None:
            extra = sorted({"name", "description"} & self.model_fields_set)
            if extra:
                raise ValueError(f"{', '.join(extra)} only apply to an inline skill (path)")
        else:
            if self.version is not None:
                raise ValueError("version only applies to a skill_id reference")
            if self.description is None:
                raise ValueError("an inline skill (path) needs a description = \"...\" "
                                 "saying when to use it")
        return self



class ContainerSpec(Model, ContainerSpecMethods):
    """Either a spec to create the container from, or ``id`` of one to adopt."""

    name: str | None = Field(default=None, min_length=1, max_length=256)
    id: str | None = Field(default=None, pattern=r"^cntr_[A-Za-z0-9]+$")
    memory_limit: Literal["512m", "1g", "2g", "4g", "16g", "64g"] | None = None
    expires_after_minutes: int = Field(default=20, ge=1, le=20)
    network_policy: NetworkPolicy | None = None
    file_ids: tuple[str, ...] = ()
    skills: tuple[SkillConfig, ...] = ()

    @field_validator("name")
    @classmethod
    def _not_auto(cls, value: str | None) -> str | None:
        if value is not None and value.lower() == AUTO_CONTAINER_NAME:
            raise ValueError('"auto" is the name the Responses API gives the containers it '
                             "creates itself; choose another name")
        return value

    @model_validator(mode="after")
    def _adopt_or_create(self) -> ContainerSpec:
        if self.id is not None:
            extra = sorted(set(_CREATE_ONLY) & self.model_fields_set)
            if extra:
                raise ValueError(f"an adopted container (id) is never created, so "
                                 f"{', '.join(extra)} cannot apply: remove them or remove id")
        names = [s.inline_name for s in self.skills if s.path is not None]
        doubles = sorted({n for n in names if names.count(n) > 1})
        if doubles:
            raise ValueError(f"two inline skills are named {doubles[0]!r}: give one a name")
        return self

