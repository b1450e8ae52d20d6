"""``status`` reads a cached view of the validated config (``status_config``) and then
starts without pydantic (issue 9: start-up <= 0.15 s), but never shows what the config
file, the environment or the folders no longer say: any change is validated again."""

from __future__ import annotations

import ast
import json
import os
import subprocess as sp
import sys
from pathlib import Path

import pytest

from containersync import status_config
from support.scenario import write_config

SHOW = ("import sys, contextlib, io\n"
        "from containersync.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    code = main(sys.argv[1:])\n"
        "print(repr(out.getvalue()), code, 'pydantic' in sys.modules)\n")


def status(config: Path, *args: str, env: dict[str, str] | None = None
           ) -> tuple[str, int, bool]:
    """(stdout, exit code, whether pydantic was imported) of ``status`` in a fresh
    interpreter."""
    done = sp.run([sys.executable, "-c", SHOW, "status", "--config", str(config), *args],
                  capture_output=True, text=True, timeout=60, check=False,
                  env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr
    text, code, pydantic = done.stdout.rsplit(" ", 2)
    return ast.literal_eval(text), int(code), pydantic.strip() == "True"


def _config(tmp_path: Path, **mapping: object) -> Path:
    (tmp_path / "tree").mkdir(exist_ok=True)
    return write_config(tmp_path / "c.toml", base_url="http://127.0.0.1:9/v1",
                        state=tmp_path / "state", local=tmp_path / "tree", **mapping)


@pytest.mark.parametrize("fmt", [(), ("--json",)])
def test_a_warm_status_imports_no_pydantic_and_prints_what_validation_prints(
        tmp_path: Path, fmt: tuple[str, ...]) -> None:
    config = _config(tmp_path)
    validated, code, pydantic = status(config, *fmt)
    assert pydantic and code == 0  # the first run validates (and fills the cache)
    cached, code, pydantic = status(config, *fmt)
    assert not pydantic and code == 0
    assert cached == validated
    if fmt:
        assert json.loads(cached)["mappings"][0]["mapping"] == "m"


def test_an_edited_config_is_validated_again_even_with_the_same_size_and_mtime(
        tmp_path: Path) -> None:
    config = _config(tmp_path)
    status(config)
    st = config.stat()
    text = config.read_text()
    config.write_text(text.replace('name = "m"', 'name = "n"'))  # same size
    os.utime(config, ns=(st.st_atime_ns, st.st_mtime_ns))
    out, _code, pydantic = status(config)
    assert pydantic and out.startswith("n  ")
    config.write_text(text + "mode = \"no-such-mode\"\n")  # invalid: refused as ever
    done = sp.run([sys.executable, "-m", "containersync", "status", "--config", str(config)],
                  capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "mode" in done.stderr


def test_a_changed_environment_is_validated_again(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config = tmp_path / "c.toml"
    config.write_text('[state]\ndir = "$STATE_PARENT/state"\n[[mappings]]\nname = "m"\n'
                      'local = "$TREE"\n')
    env = {"STATE_PARENT": str(tmp_path), "TREE": str(tmp_path / "a"),
           "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    first, _code, _p = status(config, env=env)
    again, _code, pydantic = status(config, env=env)
    assert again == first and not pydantic and str(tmp_path / "a") in first
    moved, _code, pydantic = status(config, env={**env, "TREE": str(tmp_path / "b")})
    assert pydantic and str(tmp_path / "b") in moved
    other, _code, pydantic = status(config, env={**env, "TREE": str(tmp_path / "b"),
                                                 "OPENAI_BASE_URL": "http://127.0.0.2:9/v1"})
    assert pydantic and "127.0.0.2" in other


def test_a_corrupt_cache_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    config = _config(tmp_path)
    validated, _code, _p = status(config)
    cache = status_config.cache_file(config, os.environ)
    for garbage in ("{not json", "[]", '{"fingerprint": 1}', ""):
        cache.write_text(garbage)
        out, _code, pydantic = status(config)
        assert out == validated and pydantic
    assert status(config) == (validated, 0, False)  # rewritten by the last validation


def test_a_moved_symlink_under_a_folder_is_validated_again(tmp_path: Path) -> None:
    """The mapping's state key (its index row) is of the folder's resolved path."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "tree").symlink_to(tmp_path / "one")
    config = _config(tmp_path)
    status(config)
    assert status_config.load(config, os.environ) is not None
    (tmp_path / "tree").unlink()
    (tmp_path / "tree").symlink_to(tmp_path / "two")
    assert status_config.load(config, os.environ) is None


def test_a_config_with_an_inline_skill_is_never_cached(tmp_path: Path) -> None:
    """Validating it reads the skill's folder, which the cache does not watch."""
    skill = tmp_path / "skill"
    skill.mkdir()
    (skill / "SKILL.md").write_text("---\nname: skill\ndescription: d\n---\n")
    config = _config(tmp_path)
    config.write_text(config.read_text() + f'[[mappings.container.skills]]\npath = "{skill}"\n')
    status(config)
    _out, _code, pydantic = status(config)
    assert pydantic and not status_config.cache_file(config, os.environ).exists()


def test_no_value_of_the_environment_reaches_the_cache(tmp_path: Path) -> None:
    """The cache remembers what the validation read of the environment by digest only. A
    config naming its API key's and a domain secret's variables, with both set (and with
    a folder given by a variable): none of those values is on disk after two runs. (Today's
    validation reads neither secret; this holds the cache to it should that change.)"""
    (tmp_path / "tree").mkdir()
    config = tmp_path / "c.toml"
    config.write_text(f"""
[api]
base_url = "http://127.0.0.1:9/v1"
api_key_env = "MY_KEY"
[state]
dir = "{tmp_path}/state"
[[mappings]]
name = "m"
local = "$TREE_DIR"
[mappings.container.network_policy]
type = "allowlist"
allowed_domains = ["api.example.com"]
[[mappings.container.network_policy.domain_secrets]]
domain = "api.example.com"
name = "API_TOKEN"
value_env = "DS_TOKEN"
""")
    secrets = {"MY_KEY": "sk-cache-test-9f8e7d6c5b4a", "DS_TOKEN": "hunter2-cache-token"}
    env = {**secrets, "TREE_DIR": str(tmp_path / "tree"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    first, _code, _p = status(config, env=env)
    again, _code, pydantic = status(config, env=env)
    assert again == first and not pydantic
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for value in secrets.values():
            assert value.encode() not in data, (path, value)
        # the folder's variable is remembered, by digest (its value is in the view anyway)
        assert '"TREE_DIR": "' in data.decode()


def test_a_password_in_the_endpoints_url_reaches_neither_the_cache_nor_the_screen(
        tmp_path: Path) -> None:
    """``$OPENAI_BASE_URL`` (or ``api.base_url``) may carry a proxy's credentials
    (``https://user:password@gateway/v1``). ``status`` shows the endpoint, and its cache
    stored the view: the password was written to ``~/.cache`` and printed. Both now say
    which user, never the password."""
    (tmp_path / "tree").mkdir()
    config = tmp_path / "c.toml"
    config.write_text(f'[state]\ndir = "{tmp_path}/state"\n'
                      f'[[mappings]]\nname = "m"\nlocal = "{tmp_path}/tree"\n')
    secret = "s3cr3t-proxy-password"
    env = {"OPENAI_BASE_URL": f"https://alice:{secret}@proxy.example/v1",
           "OPENAI_API_KEY": "sk-status-test-0a1b2c3d", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for run in range(2):  # validated, then from the cache
        shown, code, pydantic = status(config, "--json", env=env)
        assert code == 0 and pydantic == (run == 0)
        assert secret not in shown
        endpoint = json.loads(shown)["mappings"][0]["endpoint"]
        assert endpoint["base_url"].startswith("https://alice:") and "proxy.example" in shown
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_a_cache_file_someone_else_could_write_is_not_trusted(tmp_path: Path) -> None:
    """``sync`` and ``status`` take the config from the cache; a cache another user could
    have written (not ours, writable by others, or a link) must be validated again, or a
    shared ``$XDG_CACHE_HOME`` would let them choose what a sync sends."""
    config = _config(tmp_path)
    validated, _code, _p = status(config)
    cache = status_config.cache_file(config, os.environ)
    good = cache.read_bytes()
    assert status(config) == (validated, 0, False)  # the cache is used as it was written

    cache.chmod(0o666)
    assert status(config) == (validated, 0, True)  # writable by others: validated again
    assert cache.stat().st_mode & 0o077 == 0 and status(config)[2] is False  # rewritten 0600

    elsewhere = tmp_path / "planted.json"
    elsewhere.write_bytes(good)
    elsewhere.chmod(0o600)
    cache.unlink()
    cache.symlink_to(elsewhere)
    assert status(config) == (validated, 0, True)  # a link at the cache's name: not read

    if os.geteuid() == 0:  # only root can give a file to another user
        cache.unlink()
        cache.write_bytes(good)
        cache.chmod(0o600)
        os.chown(cache, 65534, 65534)
        assert status(config) == (validated, 0, True)


def test_a_temp_file_a_killed_status_left_is_swept_when_the_cache_is_written_again(
        tmp_path: Path) -> None:
    """``status`` writes its cache through a temp file; one killed before the rename left
    it behind. The next write sweeps it, and nothing else in the cache folder."""
    config = _config(tmp_path)
    folder = status_config.cache_file(config, os.environ).parent
    folder.mkdir(parents=True)
    hour_ago = os.path.getmtime(tmp_path) - 3600

    def made(name: str, age: float) -> Path:
        path = folder / name
        path.write_text("{")
        os.utime(path, (age, age))
        return path

    left = made(".status-config-k3x_9qzb", hour_ago)
    kept = [made(".status-config-a1b2c3d4", os.path.getmtime(tmp_path) + 3600),  # in progress
            made("status-config-of-a-user.json", hour_ago),
            made(".status-config-notes.txt", hour_ago)]
    _out, code, pydantic = status(config)
    assert code == 0 and pydantic  # validated, and the cache written
    assert not left.exists()
    assert all(p.exists() for p in kept)
    assert status_config.cache_file(config, os.environ).exists()
