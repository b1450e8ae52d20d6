"""Schema versions: a fresh or empty file, a hand-written version 1 file, failed steps."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from containersync.errors import ConfigError, LocalError
from containersync.index import Index
from containersync.index.migrate import Step, shipped_steps, split_statements
from containersync.model.entry import BaseEntry

LATEST = len(shipped_steps())
V2 = Step(LATEST + 1, """
-- the version after the shipped ones (test only): a note per base and a new table
ALTER TABLE bases ADD COLUMN note TEXT;
CREATE TABLE notes (mapping TEXT NOT NULL, body TEXT NOT NULL) STRICT;
""")


def _write_v1_by_hand(path: Path) -> None:
    """A version 1 file as an older containersync left it, with one base recorded."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(shipped_steps()[0].sql)
    conn.execute("INSERT INTO mappings (name, generation, container_id) VALUES"
                 " ('analysis', 1, 'cntr_1')")
    conn.execute("INSERT INTO bases (mapping, path, size, mtime_ns, sha256) VALUES"
                 " ('analysis', 'a.txt', 3, 7, 'ff')")
    conn.execute("PRAGMA user_version = 1")
    conn.close()


def _columns(path: Path, table: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    finally:
        conn.close()


def test_shipped_steps_start_at_one_and_are_contiguous() -> None:
    steps = shipped_steps()
    assert [s.version for s in steps] == list(range(1, len(steps) + 1))


def test_empty_existing_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    path.write_bytes(b"")
    with Index.open(path) as idx:
        assert idx.schema_version == len(shipped_steps())
        assert idx.mapping_names() == []


def test_version_1_file_migrates_to_version_2_keeping_data(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    _write_v1_by_hand(path)
    with Index.open(path, steps=[*shipped_steps(), V2]) as idx:
        assert idx.schema_version == V2.version
        assert idx.bases("analysis") == {"a.txt": BaseEntry("a.txt", 3, 7, "ff")}
        state = idx.mapping("analysis")
        assert state is not None and state.container_id == "cntr_1"
    assert "note" in _columns(path, "bases")
    assert _columns(path, "notes") == ["mapping", "body"]
    with Index.open(path, steps=[*shipped_steps(), V2]) as idx:  # idempotent
        assert idx.schema_version == V2.version


def test_failed_step_leaves_previous_version_untouched(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    _write_v1_by_hand(path)
    broken = Step(LATEST + 1,
                  "CREATE TABLE half (x INTEGER); INSERT INTO no_such_table VALUES (1);")
    with pytest.raises(LocalError, match="no_such_table"):
        Index.open(path, steps=[*shipped_steps(), broken])
    with Index.open(path) as idx:
        assert idx.schema_version == LATEST
        assert set(idx.bases("analysis")) == {"a.txt"}
    assert _columns(path, "half") == []


def test_file_from_a_newer_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(ConfigError) as info:
        Index.open(path)
    assert info.value.file == str(path)
    assert "newer containersync (schema 99" in str(info.value)


def test_split_statements_keeps_triggers_whole() -> None:
    script = """
    CREATE TABLE t (x INTEGER);  -- one
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = 1; DELETE FROM t; END;
    -- a trailing comment
    """
    statements = split_statements(script)
    assert len(statements) == 2
    assert "CREATE TRIGGER" in statements[1] and statements[1].endswith("END;")
    conn = sqlite3.connect(":memory:")
    for statement in statements:
        conn.execute(statement)
    conn.execute("INSERT INTO t VALUES (5)")
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0  # the trigger ran
    conn.close()


def test_objects_a_schema_1_index_had_listed_start_as_known(tmp_path: Path) -> None:
    """Schema 1 called an object seen when the cached listing had it; after the upgrade it
    must not look new (an older object beside ours would become a false conflict)."""
    path = tmp_path / "index.sqlite3"
    Index.open(path, steps=shipped_steps()[:1]).close()
    with sqlite3.connect(path) as conn:  # rows as schema 1 wrote them
        conn.execute("INSERT INTO mappings (name) VALUES ('m')")
        conn.execute("INSERT INTO remote_cache (mapping, file_id, remote_path, created_at,"
                     " source, bytes) VALUES ('m', 'cfile_a', '/mnt/data/a', 1, 'assistant',"
                     " NULL)")
    conn.close()
    with Index.open(path) as idx:
        assert idx.known_objects("m") == {"cfile_a": ""}
        assert idx.upload_paths("m") == {}
