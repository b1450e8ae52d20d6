"""``network_policy.domain_secrets`` values, read from where the config says they are.

A value comes from an environment variable (``value_env``) or a systemd credential
(``value_credential``: the file ``$CREDENTIALS_DIRECTORY/<name>``, as ``LoadCredential=``
provides it). It is read once, when a session builds a mapping's settings, and lives only
in a ``Secret`` in the container spec until the create body is sent.

Invariants: no message names a value, only where it was looked for; values are never
stored (the index holds no container spec) nor logged (the spec's repr leaves them out).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from containersync.api.wire import DomainSecretValue, Secret
from containersync.errors import ConfigError

if TYPE_CHECKING:
    from containersync.config_spec import DomainSecret, NetworkPolicy

#: a secret is a token or a password: a credential file larger than this is the wrong file
MAX_SECRET_BYTES = 64 * 1024


def _from_credential(name: str, env: Mapping[str, str], field: str) -> str:
    folder = env.get("CREDENTIALS_DIRECTORY")
    if not folder:
        raise ConfigError(f"value_credential {name!r} needs $CREDENTIALS_DIRECTORY, which is "
                          "not set (systemd sets it for a unit with LoadCredential=)",
                          field=f"{field}.value_credential",
                          fix=f"add LoadCredential={name}:/path/to/file to the unit, or use "
                          "value_env outside systemd")
    path = Path(folder) / name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"credential {name!r} cannot be read from $CREDENTIALS_DIRECTORY: "
                          f"{exc.strerror or 'error'}", field=f"{field}.value_credential",
                          fix=f"check LoadCredential={name}:... in the unit") from None
    if len(data) > MAX_SECRET_BYTES:
        raise ConfigError(f"credential {name!r} is larger than {MAX_SECRET_BYTES // 1024} KiB",
                          field=f"{field}.value_credential", fix="point it at the secret's file")
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigError(f"credential {name!r} is not UTF-8 text",
                          field=f"{field}.value_credential",
                          fix="store the secret as text") from None


def read_secret(secret: DomainSecret, env: Mapping[str, str], *, field: str) -> Secret:
    """The value of one domain secret; an unset or empty source is a ``ConfigError``."""
    if secret.value_env is not None:
        value = env.get(secret.value_env, "").strip()
        if not value:
            raise ConfigError(f"${secret.value_env} is not set (or empty), and the domain "
                              f"secret {secret.name!r} for {secret.domain} reads it",
                              field=f"{field}.value_env",
                              fix=f"export {secret.value_env}=... before starting containersync")
    else:
        assert secret.value_credential is not None
        value = _from_credential(secret.value_credential, env, field)
        if not value:
            raise ConfigError(f"credential {secret.value_credential!r} is empty",
                              field=f"{field}.value_credential", fix="write the secret into it")
    return Secret(value)


def domain_secrets(policy: NetworkPolicy | None, env: Mapping[str, str], *,
                   field: str) -> tuple[DomainSecretValue, ...]:
    """Every domain secret of ``policy`` with its value read (``field``: the policy's key)."""
    if policy is None:
        return ()
    return tuple(
        DomainSecretValue(domain=s.domain, name=s.name,
                          value=read_secret(s, env, field=f"{field}.domain_secrets[{i}]"))
        for i, s in enumerate(policy.domain_secrets))
