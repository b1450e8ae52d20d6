"""Several connections on one index: threads and a separate process, one writer at a time."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from containersync.index import Index
from containersync.model.entry import BaseEntry

A = "analysis"

# A second process that takes the write lock, reports it, and commits when told to.
HOLDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from containersync.index import Index
    from containersync.model.entry import BaseEntry
    with Index.open(Path(sys.argv[1])) as idx:
        with idx.write() as tx:
            tx.ensure_mapping("analysis")
            tx.put_base("analysis", BaseEntry("from-child.txt", 1, 1, "cc"))
            print("holding", flush=True)
            sys.stdin.readline()
        print("committed", flush=True)
""")


def _base(path: str) -> BaseEntry:
    return BaseEntry(path, 1, 1, "aa")


def test_an_index_refuses_use_from_another_thread(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with Index.open(tmp_path / "i.db") as idx:
        def use() -> None:
            try:
                idx.bases(A)
            except BaseException as exc:
                errors.append(exc)
        t = threading.Thread(target=use)
        t.start()
        t.join()
    assert len(errors) == 1 and isinstance(errors[0], sqlite3.ProgrammingError)


def test_reader_thread_sees_committed_state_while_writer_thread_holds_the_lock(
        tmp_path: Path) -> None:
    path = tmp_path / "i.db"
    with Index.open(path) as idx, idx.write() as tx:
        tx.ensure_mapping(A)
        tx.put_base(A, _base("old.txt"))
    in_tx, may_commit = threading.Event(), threading.Event()

    def writer() -> None:
        with Index.open(path) as own, own.write() as wtx:
            wtx.put_base(A, _base("new.txt"))
            in_tx.set()
            assert may_commit.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    assert in_tx.wait(10)
    with Index.open(path) as reader:
        assert set(reader.bases(A)) == {"old.txt"}  # WAL: not blocked, not dirty
        may_commit.set()
        t.join(10)
        assert set(reader.bases(A)) == {"old.txt", "new.txt"}


def test_process_holding_the_write_lock_blocks_then_admits_another_writer(
        tmp_path: Path) -> None:
    path = tmp_path / "i.db"
    Index.open(path).close()  # migrate first so the child only writes data
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "holding"
        with Index.open(path, busy_timeout_ms=100) as impatient:
            assert impatient.bases(A) == {}  # reads go on beside the other writer
            with pytest.raises(sqlite3.OperationalError, match="locked"), impatient.write():
                pass
        seen: list[set[str]] = []
        started = threading.Event()

        def patient_writer() -> None:
            with Index.open(path, busy_timeout_ms=20_000) as idx:
                started.set()
                with idx.write() as tx:
                    seen.append(set(idx.bases(A)))
                    tx.put_base(A, _base("from-parent.txt"))

        t = threading.Thread(target=patient_writer)
        t.start()
        assert started.wait(10)
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "committed"
        t.join(20)
        assert not t.is_alive()
        assert seen == [{"from-child.txt"}]  # it waited for the child's commit
        with Index.open(path) as idx:
            assert set(idx.bases(A)) == {"from-child.txt", "from-parent.txt"}
    finally:
        child.kill()
        child.wait(10)
        if child.stdout:
            child.stdout.close()
        if child.stdin:
            child.stdin.close()


def test_killed_writer_process_leaves_no_partial_transaction(tmp_path: Path) -> None:
    path = tmp_path / "i.db"
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline().strip() == "holding"
    child.kill()  # SIGKILL inside the transaction
    child.wait(10)
    child.stdout.close()
    child.stdin.close()
    with Index.open(path, busy_timeout_ms=2000) as idx:
        assert idx.mapping(A) is None
        with idx.write() as tx:
            tx.ensure_mapping(A)
        assert idx.mapping(A) is not None


def _many_writers_at_once(path: Path, threads: int, writes: int, busy_timeout_ms: int
                          ) -> list[BaseException]:
    """``threads`` threads of one process open a fresh index at once (creating and
    migrating it) and each writes ``writes`` transactions, as a daemon's mappings do."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def mapping(i: int) -> None:
        try:
            start.wait(30)
            with Index.open(path, busy_timeout_ms=busy_timeout_ms) as idx:
                name = f"m{i:03d}"
                with idx.write() as tx:
                    tx.ensure_mapping(name)
                for n in range(writes):
                    with idx.write() as tx:
                        intent = tx.add_intent(name, "upload", started_at=0.0, path=f"{n}.txt")
                    with idx.write() as tx:
                        tx.put_base(name, _base(f"{n}.txt"))
                        tx.clear_intent(intent)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=mapping, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(120)
    assert not any(t.is_alive() for t in workers)
    return errors


def test_many_threads_creating_and_writing_one_fresh_index_never_see_it_locked(
        tmp_path: Path) -> None:
    # SQLite's busy handler is not a queue: with 50 writers polling it, one can wait past
    # any busy timeout (the daemon with 200 mappings met "database is locked" after 10 s in
    # _attach). Writers of one process queue on the index's in-process lock instead; the
    # short timeout here only makes the old failure quick to show.
    path = tmp_path / "index.sqlite3"
    errors = _many_writers_at_once(path, threads=50, writes=10, busy_timeout_ms=50)
    assert errors == []
    with Index.open(path) as idx:
        assert len(idx.mapping_names()) == 50
        assert all(len(idx.bases(f"m{i:03d}")) == 10 for i in range(50))
        assert all(idx.intents(f"m{i:03d}") == [] for i in range(50))


# Another process opening the index and closing it again: the last connection of a process
# checkpoints and deletes the WAL when no other process holds the database file's shared lock.
VISITOR = textwrap.dedent("""
    import sys
    from pathlib import Path
    from containersync.index import Index
    with Index.open(Path(sys.argv[1])) as idx:
        print(len(idx.bases("analysis")), flush=True)
""")


def _visit(path: Path) -> int:
    out = subprocess.run([sys.executable, "-c", VISITOR, str(path)], capture_output=True,
                         text=True, timeout=60, check=True)
    return int(out.stdout)


def test_opening_a_second_connection_keeps_the_first_ones_lock_so_no_commit_is_lost(
        tmp_path: Path) -> None:
    """Opening an index must not drop the locks this process's other connections hold:
    closing any descriptor of a file drops every POSIX lock of the process on it, and
    another process (``status``) could then delete the WAL the first connection still
    appends to; its later commits were lost (seen in a daemon whose runner threads each
    open a connection)."""
    path = tmp_path / "i.db"
    first = Index.open(path)
    try:
        with first.write() as tx:
            tx.ensure_mapping(A)
            tx.put_base(A, _base("before.txt"))
        Index.open(path).close()  # a second connection of this process, opened and closed
        assert _visit(path) == 1
        with first.write() as tx:
            tx.put_base(A, _base("after.txt"))
        assert _visit(path) == 2
    finally:
        first.close()
    assert _visit(path) == 2
