"""Configuration: discovery order, the example file, and every class of error a user can make."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from containersync.config import (
    Config,
    load_config,
    resolve_api_key,
)
from containersync.errors import ConfigError
from containersync.model.entry import Mode

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return {"HOME": str(home)}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def minimal(home: Path, extra: str = "") -> str:
    return f"""
        [state]
        dir = "{home}/state"
        [[mappings]]
        name = "analysis"
        local = "{home}/work/analysis"
        {extra}
    """


def error_of(path: Path, env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env)
    return info.value


# -- valid files ----------------------------------------------------------------------------

def test_example_file_loads_and_validates(env: dict[str, str], home: Path) -> None:
    loaded = load_config(REPO / "config.example.toml", env=env)
    cfg = loaded.config
    assert loaded.file == REPO / "config.example.toml"
    assert cfg.api.is_local and resolve_api_key(cfg, env) is None
    assert cfg.state.dir == home / ".local/state/containersync"
    [m] = cfg.mappings
    assert (m.name, m.local, m.mode, m.remote_root) == (
        "analysis", home / "work/analysis", Mode.TWO_WAY, "/mnt/data")
    assert m.exclude == ("*.log",) and m.pull_sources == ("assistant",)
    assert m.container.create_name(m.name) == "analysis-sandbox" and not m.container.adopted
    assert cfg.daemon.keepalive_interval(m.container.expires_after_minutes) == 600


def test_defaults_for_a_minimal_file(tmp_path: Path, env: dict[str, str], home: Path) -> None:
    cfg = load_config(write(tmp_path / "c.toml", minimal(home)), env=env).config
    assert cfg.api.base_url == "local" and cfg.api.concurrency == 32
    assert cfg.state.trash_retention_days == 30
    assert (cfg.daemon.debounce_ms, cfg.daemon.max_wait_ms) == (100, 2000)
    m = cfg.mapping("analysis")
    assert m.mode is Mode.TWO_WAY and m.container.create_name("analysis") == \
        "containersync-analysis"
    assert m.max_delete_fraction == 0.5 and m.use_gitignore is False


def test_default_state_dir_follows_xdg_state_home(tmp_path: Path, home: Path) -> None:
    file = write(tmp_path / "c.toml", f"""
        [[mappings]]
        name = "a"
        local = "{home}/a"
    """)
    cfg = load_config(file, env={"HOME": str(home), "XDG_STATE_HOME": str(tmp_path / "xs")})
    assert cfg.config.state.dir == tmp_path / "xs" / "containersync"


def test_paths_expand_env_vars_tilde_and_relative(tmp_path: Path, home: Path) -> None:
    file = write(tmp_path / "conf" / "c.toml", """
        [state]
        dir = "${DATA}/state"
        [[mappings]]
        name = "a"
        local = "~/a"
        [[mappings]]
        name = "b"
        local = "folders/b"
    """)
    cfg = load_config(file, env={"HOME": str(home), "DATA": str(tmp_path / "data")}).config
    assert cfg.state.dir == tmp_path / "data" / "state"
    assert cfg.mappings[0].local == home / "a"
    assert cfg.mappings[1].local == tmp_path / "conf" / "folders" / "b"


def test_adopted_container_and_allowlist(tmp_path: Path, env: dict[str, str],
                                         home: Path) -> None:
    file = write(tmp_path / "c.toml", minimal(home, """
        [mappings.container]
        id = "cntr_abc123"
        [[mappings]]
        name = "web"
        local = "~/web"
        [mappings.container]
        network_policy = { type = "allowlist", allowed_domains = ["pypi.org"] }
    """))
    cfg = load_config(file, env=env).config
    assert cfg.mappings[0].container.adopted and cfg.mappings[0].container.id == "cntr_abc123"
    policy = cfg.mapping("web").container.network_policy
    assert policy is not None and policy.allowed_domains == ("pypi.org",)


# -- discovery --------------------------------------------------------------------------------

def test_discovery_order(tmp_path: Path, home: Path) -> None:
    explicit = write(tmp_path / "explicit.toml", minimal(home).replace('"analysis"', '"x"'))
    from_env = write(tmp_path / "env.toml", minimal(home).replace('"analysis"', '"e"'))
    xdg = write(tmp_path / "xdg" / "containersync" / "config.toml",
                minimal(home).replace('"analysis"', '"g"'))
    dotconfig = write(home / ".config" / "containersync" / "config.toml",
                      minimal(home).replace('"analysis"', '"h"'))
    env = {"HOME": str(home), "CONTAINERSYNC_CONFIG": str(from_env),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert load_config(explicit, env=env).file == explicit
    assert load_config(None, env=env).file == from_env
    del env["CONTAINERSYNC_CONFIG"]
    assert load_config(None, env=env).config.mappings[0].name == "g"
    del env["XDG_CONFIG_HOME"]
    loaded = load_config(None, env=env)
    assert loaded.file == dotconfig and loaded.config.mappings[0].name == "h"
    assert xdg.exists()


def test_missing_file_says_where_and_what_to_do(tmp_path: Path, home: Path) -> None:
    env = {"HOME": str(home), "CONTAINERSYNC_CONFIG": str(tmp_path / "nope.toml")}
    err = error_of(None, env)  # type: ignore[arg-type]
    assert err.file == str(tmp_path / "nope.toml")
    assert "$CONTAINERSYNC_CONFIG" in str(err) and "containersync init" in str(err)
    err = error_of(tmp_path / "other.toml", env)
    assert err.file == str(tmp_path / "other.toml") and "--config" in str(err)


# -- every error class ------------------------------------------------------------------------

def test_toml_syntax_error_has_line_and_column(tmp_path: Path, env: dict[str, str]) -> None:
    file = write(tmp_path / "c.toml", "[api]\nbase_url = local\n")
    err = error_of(file, env)
    assert err.file == str(file) and err.field is None
    assert "invalid TOML" in str(err) and "line 2" in str(err) and "column" in str(err)


@pytest.mark.parametrize(("extra", "field", "fix"), [
    ("mdoe = 'push'", "mappings[0].mdoe", "did you mean 'mode'?"),
    ("[mappings.container]\nmemory_limt = '1g'", "mappings[0].container.memory_limt",
     "did you mean 'memory_limit'?"),
])
def test_unknown_key_suggests_the_closest(tmp_path: Path, env: dict[str, str], home: Path,
                                          extra: str, field: str, fix: str) -> None:
    file = write(tmp_path / "c.toml", minimal(home) + textwrap.indent(extra, " " * 8) + "\n")
    err = error_of(file, env)
    assert (err.file, err.field) == (str(file), field)
    assert err.fix is not None and err.fix.startswith(fix)
    assert str(err).startswith(f"{file}: {field}: unknown key")


def test_unknown_top_level_table(tmp_path: Path, env: dict[str, str], home: Path) -> None:
    file = write(tmp_path / "c.toml", "[deamon]\ndebounce_ms = 5\n" + minimal(home))
    err = error_of(file, env)
    assert err.field == "deamon" and err.fix is not None and "'daemon'" in err.fix


@pytest.mark.parametrize(("extra", "field", "fix"), [
    ('mode = "twoway"', "mappings[0].mode", "use one of: two-way, push, pull"),
    ('[mappings.container]\nmemory_limit = "3g"', "mappings[0].container.memory_limit",
     "use one of: 512m, 1g, 2g, 4g, 16g, 64g"),
    ('[mappings.container]\nnetwork_policy = { type = "open" }',
     "mappings[0].container.network_policy.type", "use one of: disabled, allowlist"),
])
def test_bad_enum_lists_the_choices(tmp_path: Path, env: dict[str, str], home: Path,
                                    extra: str, field: str, fix: str) -> None:
    file = write(tmp_path / "c.toml", minimal(home) + textwrap.indent(extra, " " * 8) + "\n")
    err = error_of(file, env)
    assert (err.file, err.field, err.fix) == (str(file), field, fix)


@pytest.mark.parametrize(("extra", "field", "text"), [
    ("exclude = '*.log'", "mappings[0].exclude", "must be a valid array"),
    ("exclude = ['*.tmp', '!']", "mappings[0].exclude", "pattern '!' is not valid gitignore"),
    ("use_gitignore = 3", "mappings[0].use_gitignore", "must be true or false"),
    ("[mappings.container]\nexpires_after_minutes = 60",
     "mappings[0].container.expires_after_minutes", "less than or equal to 20"),
    ("remote_root = 'mnt/data'", "mappings[0].remote_root", "absolute sandbox path"),
    ("remote_root = '/mnt/../etc'", "mappings[0].remote_root", "'..'"),
    ("name2 = 1", "mappings[0].name2", "unknown key"),
    ("max_delete_fraction = 0", "mappings[0].max_delete_fraction", "greater than 0"),
    ("[mappings.container]\nid = 'cntr_1'\nmemory_limit = '1g'", "mappings[0].container",
     "memory_limit cannot apply"),
    ("[mappings.container]\nnetwork_policy = { type = 'allowlist' }",
     "mappings[0].container.network_policy", "non-empty allowed_domains"),
])
def test_wrong_types_and_values(tmp_path: Path, env: dict[str, str], home: Path, extra: str,
                                field: str, text: str) -> None:
    file = write(tmp_path / "c.toml", minimal(home) + textwrap.indent(extra, " " * 8) + "\n")
    err = error_of(file, env)
    assert (err.file, err.field) == (str(file), field)
    assert text in str(err)


@pytest.mark.parametrize(("toml", "field", "text"), [
    ("[api]\nbase_url = 'ftp://x'", "api.base_url", 'must be "local" or an http(s)://'),
    ("[api]\napi_key_env = 'sk-abc'", "api.api_key_env", "not the key itself"),
    ("[api]\ntimeout_seconds = 'soon'", "api.timeout_seconds", "got 'soon'"),
    ("[daemon]\ndebounce_ms = 500\nmax_wait_ms = 100", "daemon",
     "max_wait_ms must be at least debounce_ms"),
    ("[daemon]\npoll_fallback = 'sometimes'", "daemon.poll_fallback",
     "use one of: auto, always"),
    ("[[mappings]]\nname = 'bad name'\nlocal = '/x'", "mappings[0].name", "letters, digits"),
    ("[[mappings]]\nname = 'a'", "mappings[0].local", "required key is missing"),
    ("[[mappings]]\nname = 'a'\nlocal = '$NOPE/x'", "mappings[0].local", "$NOPE is not set"),
])
def test_other_sections(tmp_path: Path, env: dict[str, str], home: Path, toml: str,
                        field: str, text: str) -> None:
    file = write(tmp_path / "c.toml", f"[state]\ndir = '{home}/state'\n" + toml + "\n")
    err = error_of(file, env)
    assert (err.file, err.field) == (str(file), field)
    assert text in str(err)


def two_mappings(home: Path, first: str, second: str, name2: str = "b") -> str:
    return f"""
        [state]
        dir = "{home}/state"
        [[mappings]]
        name = "a"
        local = "{first}"
        [[mappings]]
        name = "{name2}"
        local = "{second}"
    """


def test_duplicate_mapping_names(tmp_path: Path, env: dict[str, str], home: Path) -> None:
    file = write(tmp_path / "c.toml", two_mappings(home, f"{home}/x", f"{home}/y", "a"))
    err = error_of(file, env)
    assert (err.file, err.field) == (str(file), "mappings[1].name")
    assert "already used by mappings[0]" in str(err)


@pytest.mark.parametrize(("first", "second"), [
    ("{h}/work", "{h}/work/sub"), ("{h}/work/sub", "{h}/work"), ("{h}/same", "{h}/same/")])
def test_overlapping_local_roots(tmp_path: Path, env: dict[str, str], home: Path,
                                 first: str, second: str) -> None:
    file = write(tmp_path / "c.toml", two_mappings(home, first.format(h=home),
                                                   second.format(h=home)))
    err = error_of(file, env)
    assert (err.file, err.field) == (str(file), "mappings[1].local")
    assert "overlaps mappings[0].local" in str(err)


def test_local_root_containing_the_state_dir(tmp_path: Path, env: dict[str, str],
                                             home: Path) -> None:
    file = write(tmp_path / "c.toml", f"""
        [state]
        dir = "{home}/work/.state"
        [[mappings]]
        name = "a"
        local = "{home}/work"
    """)
    err = error_of(file, env)
    assert (err.file, err.field) == (str(file), "mappings[0].local")
    assert "overlaps the state dir" in str(err) and "move state.dir" in str(err)


# -- the API key --------------------------------------------------------------------------------

def test_api_key_is_read_from_the_named_variable_and_never_shown(
        tmp_path: Path, home: Path) -> None:
    file = write(tmp_path / "c.toml", minimal(home) + """
        [api]
        base_url = "https://api.openai.com/v1/"
        api_key_env = "MY_KEY"
    """)
    env = {"HOME": str(home), "MY_KEY": "sk-secret-123"}
    cfg = load_config(file, env=env).config
    assert cfg.api.base_url == "https://api.openai.com/v1"
    assert resolve_api_key(cfg, env) == "sk-secret-123"
    assert "sk-secret" not in repr(cfg) and "sk-secret" not in str(cfg)
    with pytest.raises(ConfigError) as info:
        resolve_api_key(cfg, {"HOME": str(home)})
    assert info.value.field == "api.api_key_env" and "$MY_KEY is not set" in str(info.value)


def test_config_is_frozen(tmp_path: Path, env: dict[str, str], home: Path) -> None:
    cfg: Config = load_config(write(tmp_path / "c.toml", minimal(home)), env=env).config
    with pytest.raises(ValueError):
        cfg.mappings[0].name = "other"  # type: ignore[misc]
    with pytest.raises(ConfigError, match="no mapping named 'zzz'"):
        cfg.mapping("zzz")


def test_api_key_comes_from_systemd_credential_before_env(tmp_path: Path) -> None:
    """The hardened unit passes the key with LoadCredential=; it wins over the env var."""
    from containersync.config import parse_config, resolve_api_key

    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "openai-api-key").write_text("sk-from-credential\n")
    text = (
        '[api]\nbase_url = "https://api.openai.com/v1"\napi_key_credential = "openai-api-key"\n'
        f'[state]\ndir = "{tmp_path / "state"}"\n'
    )
    cfg = parse_config(text, file=tmp_path / "c.toml", env={})
    env = {"CREDENTIALS_DIRECTORY": str(creds), "OPENAI_API_KEY": "sk-from-env"}
    assert resolve_api_key(cfg, env) == "sk-from-credential"
    # without the credential directory (not under systemd) the env var is used
    assert resolve_api_key(cfg, {"OPENAI_API_KEY": "sk-from-env"}) == "sk-from-env"
