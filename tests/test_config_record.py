"""A config read back from the cache (``config_record``) answers every question the engine
asks exactly as the validated config does: fields, types, properties, the fields a file
set, the endpoint, the key and each mapping's identity; and ``sync`` through the cache
fails the same way a full validation does once anything changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess as sp
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from containersync import status_config
from containersync.config import load_config, mapping_identity
from containersync.config_record import Record, from_doc, to_doc
from containersync.endpoint import effective_config, resolve_endpoint

REPO = Path(__file__).resolve().parents[1]

CONFIGS = {
    "minimal": """
        [state]
        dir = "{tmp}/state"
        [[mappings]]
        name = "m"
        local = "{tmp}/tree"
        """,
    "everything": """
        [api]
        base_url = "http://127.0.0.1:9/v1/"
        api_key_env = "MY_KEY"
        timeout_seconds = 12.5
        concurrency = 7
        organization = "org-1"
        [state]
        dir = "state"
        trash_retention_days = 3
        [daemon]
        debounce_ms = 250
        keepalive_budget_hours_per_day = 2
        [[mappings]]
        name = "a"
        local = "~/tree"
        mode = "push"
        exclude = ["*.log", "build/"]
        use_gitignore = true
        max_delete_fraction = 0.25
        [mappings.container]
        name = "box"
        memory_limit = "4g"
        expires_after_minutes = 5
        file_ids = ["file-1"]
        skills = [{{ skill_id = "skill_1", version = "2" }}]
        [mappings.container.network_policy]
        type = "allowlist"
        allowed_domains = ["pypi.org"]
        domain_secrets = [{{ domain = "pypi.org", name = "T", value_env = "T_VALUE" }}]
        [[mappings]]
        name = "b"
        local = "$HOME/other"
        mode = "pull"
        [mappings.container]
        id = "cntr_abc123"
        """,
}


def walk(model: Any, record: Any, where: str = "config") -> None:
    """Every field of ``model`` (recursively) equals the record's, of the same type."""
    fields = getattr(type(model), "model_fields", None)
    if fields is None:
        assert type(record) is type(model), where
        if isinstance(model, tuple):
            for i, (m, r) in enumerate(zip(model, record, strict=True)):
                walk(m, r, f"{where}[{i}]")
        else:
            assert record == model, where
        return
    assert isinstance(record, Record), where
    assert record.model_fields_set == model.model_fields_set, where
    # every property and helper the model has, the record has (the daemon calls some)
    public = {n for n in dir(type(model)) if not n.startswith("_")} - set(dir(BaseModel))
    missing = sorted(n for n in public - set(fields) if not hasattr(type(record), n))
    assert not missing, f"{where}: the record lacks {missing}"
    for name in fields:
        walk(getattr(model, name), getattr(record, name), f"{where}.{name}")


@pytest.mark.parametrize("name", [*CONFIGS, "example"])
def test_a_record_answers_as_the_validated_config(tmp_path: Path, name: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "MY_KEY": "sk-x", "OPENAI_API_KEY": "sk-y"}
    if name == "example":
        text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    else:
        text = CONFIGS[name].format(tmp=tmp_path)
    file = tmp_path / "c.toml"
    file.write_text(text.replace("\n        ", "\n"), encoding="utf-8")
    cfg = load_config(file, env=env).config
    record = from_doc(json.loads(json.dumps(to_doc(cfg))))
    walk(cfg, record)
    assert record.state.index_file == cfg.state.index_file
    assert record.state.trash_dir == cfg.state.trash_dir
    assert record.api.is_local == cfg.api.is_local
    assert record.daemon.keepalive_interval(20) == cfg.daemon.keepalive_interval(20)
    assert resolve_endpoint(record, env) == resolve_endpoint(cfg, env)
    walk(effective_config(cfg, env), effective_config(record, env))
    for m, r in zip(cfg.mappings, record.mappings, strict=True):
        assert mapping_identity(cfg, m) == mapping_identity(record, r)
        assert r.container.adopted == m.container.adopted
        assert r.container.create_name(r.name) == m.container.create_name(m.name)
        assert record.mapping(m.name) == r
        policy = m.container.network_policy
        if policy is not None:
            assert [s.source for s in r.container.network_policy.domain_secrets] == \
                [s.source for s in policy.domain_secrets]
    with pytest.raises(AttributeError):
        record.api = None


RUN = ("import sys, json\n"
       "from containersync.cli import main\n"
       "code = main(sys.argv[1:])\n"
       "print(json.dumps([code, 'pydantic' in sys.modules]), file=sys.stderr)\n")


def sync(config: Path, env: dict[str, str]) -> tuple[int, bool, str]:
    done = sp.run([sys.executable, "-c", RUN, "sync", "--config", str(config), "-q"],
                  capture_output=True, text=True, timeout=120, check=False,
                  env={**os.environ, **env})
    code, pydantic = json.loads(done.stderr.strip().splitlines()[-1])
    return code, pydantic, done.stderr


def test_sync_reads_the_cache_and_any_change_is_validated_in_full(
        tmp_path: Path, local_server: Any) -> None:
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a.txt").write_text("a\n", encoding="utf-8")
    config = tmp_path / "c.toml"
    good = (f'[api]\nbase_url = "{local_server.base_url}"\n[state]\ndir = "{tmp_path}/s"\n'
            f'[[mappings]]\nname = "m"\nlocal = "{tmp_path}/tree"\n')
    config.write_text(good, encoding="utf-8")
    env = {"OPENAI_API_KEY": "sk-test"}
    assert sync(config, env)[:2] == (0, True)  # validated, cached
    assert sync(config, env)[:2] == (0, False)  # the record: no pydantic
    # an invalid edit: the full validation's error, not the stale record
    config.write_text(good.replace('name = "m"', 'name = "m"\nmode = "sideways"'),
                      encoding="utf-8")
    code, pydantic, err = sync(config, env)
    assert (code, pydantic) == (78, True) and "sideways" in err
    # an environment variable the validation read changed: validated again
    config.write_text(good.replace(f'dir = "{tmp_path}/s"', 'dir = "$STATE_HERE"'),
                      encoding="utf-8")
    assert sync(config, {**env, "STATE_HERE": str(tmp_path / "s")})[:2] == (0, True)
    assert sync(config, {**env, "STATE_HERE": str(tmp_path / "s")})[:2] == (0, False)
    assert sync(config, {**env, "STATE_HERE": str(tmp_path / "s2")})[:2] == (0, True)
    assert status_config.FORMAT == 2


@pytest.mark.parametrize("command", ["sync", "status"])
def test_a_fifo_given_as_the_config_is_refused_not_waited_on(tmp_path: Path,
                                                             command: str) -> None:
    """The cache's fingerprint opens the file before any validation: without blocking."""
    os.mkfifo(tmp_path / "c.toml")
    done = sp.run([sys.executable, "-m", "containersync", command, "--config",
                   str(tmp_path / "c.toml")], capture_output=True, text=True, timeout=60,
                  check=False)
    assert done.returncode == 78 and "is not a regular file" in done.stderr


SCHEMA_PROBE = ("import json, sys\n"
                "from pathlib import Path\n"
                "from containersync import status_config\n"
                "cfg = status_config.config_for_file(Path(sys.argv[1]))\n"
                "print(json.dumps([cfg.daemon.debounce_ms,\n"
                "                  getattr(cfg.daemon, 'new_knob', None)]))\n")


def test_a_record_cached_by_another_build_of_the_same_version_is_not_used(
        tmp_path: Path) -> None:
    # the cache was keyed by containersync's version only: a build of the same version
    # whose models changed (a new field, a new default: an install from a commit, an
    # editable checkout) read back the old build's record, missing the field (the engine's
    # AttributeError) or holding the old default
    package = tmp_path / "pkg"
    shutil.copytree(REPO / "src" / "containersync", package / "containersync",
                    ignore=shutil.ignore_patterns("__pycache__"))
    config = tmp_path / "c.toml"
    config.write_text(f'[state]\ndir = "{tmp_path}/s"\n[[mappings]]\nname = "m"\n'
                      f'local = "{tmp_path}/tree"\n', encoding="utf-8")

    def probe() -> list[Any]:
        done = sp.run([sys.executable, "-c", SCHEMA_PROBE, str(config)], capture_output=True,
                      text=True, timeout=120, check=True,
                      env={**os.environ, "PYTHONPATH": str(package)})
        return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    assert probe() == [100, None]  # validated and cached by this build
    models = package / "containersync" / "config.py"
    text = models.read_text(encoding="utf-8")
    old = "    debounce_ms: int = Field(default=100, ge=0, le=int(HOUR * 1000))\n"
    assert old in text
    models.write_text(text.replace(old, old.replace("100", "250") + "    new_knob: int = 7\n"),
                      encoding="utf-8")
    assert probe() == [250, 7]  # the other build validates for itself
    assert probe() == [250, 7]  # and its own record answers the same
