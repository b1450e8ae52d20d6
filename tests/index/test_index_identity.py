"""Rows keyed by identity: a schema-1 row is claimed once, by the first mapping of its name;
an identity already recorded is never taken over."""

from __future__ import annotations

from pathlib import Path

from containersync.index import Index
from containersync.model.entry import BaseEntry

BASE = BaseEntry("a.txt", 3, 7, "ff", "cfile_1", "/mnt/data/a.txt", 5, "user")


def _legacy(index: Index) -> None:
    """A row as schema 1 wrote it: keyed by the config name, no identity."""
    with index.write() as tx:
        tx.ensure_mapping("m")
        tx.attach_container("m", "cntr_1", "containersync-m", adopted=False)
        tx.put_base("m", BASE)
        tx.add_own_upload("m", "cfile_1", "a.txt")
        tx.add_intent("m", "upload", started_at=1.0, path="a.txt")


def test_a_schema_1_row_is_claimed_by_the_first_identity_of_its_name(tmp_path: Path) -> None:
    with Index.open(tmp_path / "index.sqlite3") as index:
        _legacy(index)
        with index.write() as tx:
            created = tx.ensure_mapping("m-aaaa", display_name="m", local_root="/one",
                                        endpoint="local")
        assert not created
        assert index.mapping("m") is None
        state = index.mapping("m-aaaa")
        assert state is not None and state.container_id == "cntr_1"
        assert (state.display_name, state.local_root, state.endpoint) == ("m", "/one", "local")
        assert index.bases("m-aaaa") == {"a.txt": BASE}
        assert index.own_uploads("m-aaaa") == {"cfile_1": "a.txt"}
        assert [i.path for i in index.intents("m-aaaa")] == ["a.txt"]

        with index.write() as tx:  # another folder under the same name: a new mapping
            assert tx.ensure_mapping("m-bbbb", display_name="m", local_root="/two",
                                     endpoint="local")
        other = index.mapping("m-bbbb")
        assert other is not None and other.container_id is None
        assert index.bases("m-bbbb") == {} and index.bases("m-aaaa") == {"a.txt": BASE}
