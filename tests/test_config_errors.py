"""Bad configuration files, through the CLI: every local condition and every out-of-bounds
value is one clear message naming the file (and the key), exit 78, never a traceback; and
every problem of a file is reported at once."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from containersync.cli import EXIT_CONFIG, main
from containersync.config import parse_config
from containersync.errors import ConfigError

MAX_PATTERN_CHARS, MAX_PATTERNS = 4096, 1000  # config.MAX_PATTERN_CHARS, MAX_PATTERNS


def sync_errors(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["sync", "--config", str(config)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err


def state_line(tmp_path: Path) -> str:
    return f'[state]\ndir = "{tmp_path / "state"}"\n'


def mapping(tmp_path: Path, extra: str = "") -> str:
    (tmp_path / "root").mkdir(exist_ok=True)
    return f'[[mappings]]\nname = "m"\nlocal = "{tmp_path / "root"}"\n{extra}\n'


# -- the file itself ------------------------------------------------------------------------

def _deep(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text("x = " + "[" * 3000 + "]" * 3000 + "\n")
    return path


def _deep_within_stack(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(state_line(tmp_path) + mapping(tmp_path, "exclude = " + "[" * 100
                                                   + "]" * 100))
    return path


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "c.toml").mkdir()
    return tmp_path / "c.toml"


def _not_utf8(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_bytes(state_line(tmp_path).encode() + b'[api]\nbase_url = "caf\xe9"\n')
    return path


def _unreadable(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(state_line(tmp_path))
    path.chmod(0)
    return path


def _huge(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(state_line(tmp_path) + mapping(tmp_path, f'exclude = ["{"a" * 5_000_000}"]'))
    return path


def _fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "c.toml")
    return tmp_path / "c.toml"


def _below_a_file(tmp_path: Path) -> Path:
    (tmp_path / "file").write_text("x")
    return tmp_path / "file" / "c.toml"


def _nul_in_a_path(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(state_line(tmp_path) + '[[mappings]]\nname = "m"\nlocal = "/a\\u0000b"\n')
    return path


def _symlink_loop(tmp_path: Path) -> Path:
    os.symlink(tmp_path / "loop-b", tmp_path / "loop-a")
    os.symlink(tmp_path / "loop-a", tmp_path / "loop-b")
    path = tmp_path / "c.toml"
    path.write_text(state_line(tmp_path) + f'[[mappings]]\nname = "m"\n'
                    f'local = "{tmp_path}/loop-a/x"\n')
    return path


@pytest.mark.parametrize(("make", "text"), [
    (_fifo, "is not a regular file"),
    (_below_a_file, "cannot be read: Not a directory"),
    (_nul_in_a_path, "mappings[0].local: a path must not contain a NUL"),
    (_symlink_loop, "mappings[0].local: "),
    (_deep, "nested more than 16 levels deep"),
    (_deep_within_stack, "mappings[0].exclude"),
    (_folder, "is a folder, not a configuration file"),
    (_not_utf8, "is not valid UTF-8 (byte 0xe9 on line 4) (save it as UTF-8)"),
    (_unreadable, "permission denied (make it readable"),
    (_huge, "larger than 1024 KiB"),
], ids=["fifo", "below-a-file", "nul", "symlink-loop", "deep-arrays", "deep-in-a-setting", "a-folder", "not-utf8", "unreadable", "5MB"])
def test_a_bad_file_is_one_line_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         make: Callable[[Path], Path], text: str) -> None:
    if make is _unreadable and os.geteuid() == 0:
        pytest.skip("root reads any file")
    config = make(tmp_path)
    code, err = sync_errors(config, capsys)
    assert code == EXIT_CONFIG
    assert err.startswith(f"containersync: configuration error: {config}: ")
    assert text in err and err.count("\n") == 1


# -- values out of bounds -------------------------------------------------------------------

@pytest.mark.parametrize(("toml", "field", "text"), [
    ("[api]\ntimeout_seconds = inf", "api.timeout_seconds", "must be a finite number"),
    ("[api]\ntimeout_seconds = nan", "api.timeout_seconds", "must be a finite number"),
    ("[api]\ntimeout_seconds = 1e308", "api.timeout_seconds", "less than or equal to 3600"),
    ("[api]\ntimeout_seconds = 3601", "api.timeout_seconds", "less than or equal to 3600"),
    ("[state]\ntrash_retention_days = 0", "state.trash_retention_days",
     "greater than or equal to 1"),
    ("[state]\ntrash_retention_days = 0.5", "state.trash_retention_days",
     "greater than or equal to 1"),
    ("[state]\ntrash_retention_days = inf", "state.trash_retention_days", "finite"),
    ("[daemon]\ndebounce_ms = 100000000000", "daemon.debounce_ms", "less than or equal to"),
    ("[daemon]\nmax_wait_ms = 100000000000", "daemon.max_wait_ms", "less than or equal to"),
    ("[daemon]\npull_interval_seconds = inf", "daemon.pull_interval_seconds", "finite"),
    ("[daemon]\nidle_pull_interval_seconds = 1e308", "daemon.idle_pull_interval_seconds",
     "less than or equal to 3600"),
    ("[daemon]\nfull_sync_interval_seconds = 1e9", "daemon.full_sync_interval_seconds",
     "less than or equal to 86400"),
    ("[daemon]\nkeepalive_idle_limit_seconds = inf", "daemon.keepalive_idle_limit_seconds",
     "finite"),
    ("[daemon]\nkeepalive_interval_seconds = 1200", "daemon.keepalive_interval_seconds",
     "less than 1200"),
    ("[daemon]\npoll_interval_seconds = 1e308", "daemon.poll_interval_seconds",
     "less than or equal to 3600"),
    ("[[mappings]]\nname = 'm'\nlocal = '/x'\nmax_delete_fraction = nan",
     "mappings[0].max_delete_fraction", "finite"),
    ("[[mappings]]\nname = 'm'\nlocal = '/x'\nexclude = ['" + "a" * (MAX_PATTERN_CHARS + 1)
     + "']", "mappings[0].exclude", f"more than {MAX_PATTERN_CHARS}: no path is that long"),
    ("[[mappings]]\nname = 'm'\nlocal = '/x'\nexclude = ["
     + ", ".join(f"'p{i}'" for i in range(MAX_PATTERNS + 1)) + "]",
     "mappings[0].exclude", f"more than {MAX_PATTERNS}: use broader patterns"),
    ("[[mappings]]\nname = 'm'\nlocal = '/x'\nexclude = 7", "mappings[0].exclude",
     "must be a valid array"),
])
def test_a_value_out_of_bounds_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          toml: str, field: str, text: str) -> None:
    config = tmp_path / "c.toml"
    section = toml.split("\n", 1)[0]
    if section == "[state]":
        config.write_text(state_line(tmp_path) + toml.split("\n", 1)[1] + "\n")
    else:
        config.write_text(state_line(tmp_path) + toml + "\n")
    code, err = sync_errors(config, capsys)
    assert code == EXIT_CONFIG
    assert err.startswith(f"containersync: configuration error: {config}: {field}: ")
    assert text in err and err.count("\n") == 1


def test_every_problem_is_reported_at_once(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text(state_line(tmp_path) + "trash_retention_days = 0\n[api]\n"
                      "timeout_seconds = inf\nconcurrency = 'many'\n"
                      "[daemon]\ndebounce_ms = -1\n")
    code, err = sync_errors(config, capsys)
    assert code == EXIT_CONFIG
    lines = err.splitlines()
    assert lines[0].startswith(f"containersync: configuration error: {config}: ")
    for field in ("api.timeout_seconds", "api.concurrency", "state.trash_retention_days",
                  "daemon.debounce_ms"):
        assert sum(field in line for line in lines) == 1, err
    assert lines[-1] == "  (4 problems in all)"
    assert "must be an integer" in err  # TOML words, not Python's


def test_a_long_bad_value_is_shortened_in_the_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text(state_line(tmp_path) + f"[api]\ntimeout_seconds = '{'x' * 100_000}'\n")
    code, err = sync_errors(config, capsys)
    assert code == EXIT_CONFIG and len(err) < 400 and "(100002 characters)" in err


def test_an_unset_variable_in_the_config_env_var(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAINERSYNC_CONFIG", "$CONTAINERSYNC_TEST_UNSET/c.toml")
    monkeypatch.delenv("CONTAINERSYNC_TEST_UNSET", raising=False)
    code = main(["sync"])
    err = capsys.readouterr().err
    assert code == EXIT_CONFIG and "Traceback" not in err and err.count("\n") == 1
    assert "$CONTAINERSYNC_TEST_UNSET is not set" in err and "$CONTAINERSYNC_CONFIG" in err


DURATIONS = {  # every duration setting: (table, key, largest allowed value)
    ("api", "timeout_seconds"): 3600, ("daemon", "pull_interval_seconds"): 3600,
    ("daemon", "idle_pull_interval_seconds"): 3600, ("daemon", "poll_interval_seconds"): 3600,
    ("daemon", "pull_backoff_max_seconds"): 3600, ("daemon", "active_pull_interval_seconds"): 3600,
    ("daemon", "full_sync_interval_seconds"): 86400,
    ("daemon", "keepalive_idle_limit_seconds"): 7 * 86400,
    ("daemon", "keepalive_interval_seconds"): 1200, ("daemon", "debounce_ms"): 3_600_000,
    ("daemon", "max_wait_ms"): 3_600_000, ("state", "trash_retention_days"): 3650,
}


def test_every_duration_setting_is_bounded() -> None:
    """A test walks the models: a duration added later without a bound fails here."""
    from containersync.config import ApiConfig, DaemonConfig, StateConfig

    tables = {"api": ApiConfig, "daemon": DaemonConfig, "state": StateConfig}
    found = {(t, k) for t, model in tables.items() for k in model.model_fields
             if k.endswith(("_seconds", "_ms", "_days"))}
    assert found == set(DURATIONS)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(DURATIONS)),
       st.one_of(st.floats(), st.integers(-10**20, 10**20)))
def test_a_duration_loads_finite_and_bounded_or_is_a_config_error(
        setting: tuple[str, str], value: float) -> None:
    table, key = setting
    text = f'[state]\ndir = "/tmp/cs-state"\n[{table}]\n{key} = {value!r}\n'
    if table == "state":
        text = f'[state]\ndir = "/tmp/cs-state"\n{key} = {value!r}\n'
    try:
        config = parse_config(text, file=Path("c.toml"), env={"HOME": "/tmp"})
    except ConfigError as exc:
        assert exc.field is not None and (exc.field.endswith(key) or exc.field == table)
        return
    loaded = getattr(getattr(config, table), key)
    assert math.isfinite(loaded) and 0 <= loaded <= DURATIONS[setting]


def test_a_password_in_the_endpoint_is_masked_in_the_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The missing-key error quotes the endpoint; a proxy password in it stays off stderr."""
    monkeypatch.delenv("CS_NO_SUCH_KEY", raising=False)
    config = tmp_path / "c.toml"
    config.write_text('[api]\nbase_url = "https://alice:hunter2-pw@proxy.example/v1"\n'
                      'api_key_env = "CS_NO_SUCH_KEY"\n' + state_line(tmp_path) + mapping(tmp_path))
    code, err = sync_errors(config, capsys)
    assert code == EXIT_CONFIG and "$CS_NO_SUCH_KEY is not set" in err
    assert "hunter2-pw" not in err and "alice:[redacted]@proxy.example" in err
