"""``api.pool.TransferPool``: the client's threads, shared by every executor and listing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from containersync.api.pool import TransferPool

DEADLINE = 10.0


def _until(cond: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not cond():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_never_more_threads_than_its_maximum_and_all_queued_work_runs() -> None:
    pool = TransferPool(3, idle_s=5)
    release = threading.Event()
    running: list[int] = []
    futures = [pool.submit(lambda i=i: (running.append(i), release.wait(DEADLINE), i)[2])
               for i in range(10)]
    _until(lambda: len(running) == 3, "three tasks running")
    assert pool.threads == 3
    assert not any(f.done() for f in futures)
    release.set()
    assert [f.result(DEADLINE) for f in futures] == list(range(10))
    assert pool.peak == 3
    pool.close()


def test_an_idle_thread_takes_the_next_task_instead_of_a_new_thread() -> None:
    pool = TransferPool(8, idle_s=5)
    for i in range(20):
        assert pool.submit(lambda i=i: i * 2).result(DEADLINE) == i * 2
        _until(lambda: pool.threads == 1, "the thread to be idle again")
    assert pool.peak == 1
    pool.close()


def test_idle_threads_retire_and_come_back_when_work_does() -> None:
    pool = TransferPool(4, idle_s=0.05, name="retiring")
    release = threading.Event()
    futures = [pool.submit(release.wait, DEADLINE) for _ in range(4)]
    _until(lambda: pool.threads == 4, "four threads")
    release.set()
    for f in futures:
        f.result(DEADLINE)
    _until(lambda: pool.threads == 0, "the idle threads to retire")
    assert not [t for t in threading.enumerate() if t.name.startswith("retiring-")]
    assert pool.submit(lambda: "again").result(DEADLINE) == "again"
    pool.close()


def test_a_task_error_reaches_its_future_and_the_thread_goes_on() -> None:
    pool = TransferPool(1, idle_s=5)

    def boom() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        pool.submit(boom).result(DEADLINE)
    assert pool.submit(lambda: 7).result(DEADLINE) == 7
    assert pool.peak == 1
    pool.close()


def test_close_refuses_new_work_but_finishes_what_was_queued() -> None:
    pool = TransferPool(1, idle_s=5)
    release = threading.Event()
    first = pool.submit(release.wait, DEADLINE)
    queued = pool.submit(lambda: "queued")
    pool.close()
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)
    release.set()
    assert first.result(DEADLINE) is True
    assert queued.result(DEADLINE) == "queued"
    _until(lambda: pool.threads == 0, "the threads to leave")


def test_an_idle_thread_keeps_nothing_of_the_task_it_ran() -> None:
    """Once its future is gone, a task's result and arguments are freed although the
    thread that ran it is still alive (idle)."""
    import gc
    import weakref

    class Big:
        pass

    def make(_arg: Big) -> Big:
        return Big()

    pool = TransferPool(1, idle_s=5, name="keeps-nothing")
    arg = Big()
    future = pool.submit(make, arg)
    result = future.result(DEADLINE)
    refs = [weakref.ref(arg), weakref.ref(result)]
    del future, arg, result
    _until(lambda: (gc.collect(), all(r() is None for r in refs))[1], "the task to be freed")
    assert pool.threads == 1
    pool.close()
