"""A change whose transfer failed is retried by the daemon soon, not at the next full cycle.

A targeted cycle takes its dirty paths out of the queue when it starts. A path whose upload,
download or delete then failed for a passing reason (a 503, a timeout, a busy disk) must go
back in the queue with a backoff: nothing else would bring it back before the periodic full
reconcile, which is set to an hour here so that it cannot be what rescues the change.

The failures are real ones from the local backend (``/_local/faults``): each answers 503 for
as many attempts as the client makes in one cycle (``max_retries = 1``: two attempts).
"""

from __future__ import annotations

from pathlib import Path

from containersync.localapi.embedded import RunningServer
from support.backend import add_assistant_file, inject_fault
from support.daemon_harness import DaemonRun, wait_for

HOUR = {"full_sync_interval_seconds": 3600}


def _started(tmp_path: Path, server: RunningServer, runs: list[DaemonRun]) -> DaemonRun:
    run = DaemonRun(tmp_path, server, daemon=HOUR)
    (run.local / "seed.txt").write_text("seed")
    runs.append(run.start())
    run.wait_remote(lambda r: "seed.txt" in r, "the first sync")
    return run


def test_an_upload_that_failed_is_retried_without_a_new_event(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = _started(tmp_path, local_server, runs)
    inject_fault(local_server, method="POST", path_regex=r"/files$", status=503, times=2)
    (run.local / "edit.txt").write_text("written once, never touched again")
    wait_for(lambda: "upload-failed" in run.log(), "the upload to fail")
    run.wait_remote(lambda r: r.get("edit.txt") == b"written once, never touched again",
                    "the failed upload retried")
    wait_for(lambda: run.status()["pending_intents"] == 0, "no intent left open")
    assert run.stop() == 0


def test_a_download_that_failed_is_retried_without_a_new_remote_object(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = _started(tmp_path, local_server, runs)
    inject_fault(local_server, method="GET", path_regex=r"/content$", status=503, times=2)
    add_assistant_file(local_server, run.container_id(), "/mnt/data/made.txt", b"by the sandbox")
    wait_for(lambda: "download-failed" in run.log(), "the download to fail")
    wait_for(lambda: (run.local / "made.txt").exists(), "the failed download retried")
    assert (run.local / "made.txt").read_bytes() == b"by the sandbox"
    assert run.stop() == 0


def test_a_remote_delete_that_failed_is_retried(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = _started(tmp_path, local_server, runs)
    (run.local / "doomed.txt").write_text("delete me")
    run.wait_remote(lambda r: "doomed.txt" in r, "doomed.txt uploaded")
    wait_for(lambda: run.status()["pending_intents"] == 0, "the upload settled")
    inject_fault(local_server, method="DELETE", path_regex=r"/files/", status=503, times=2)
    (run.local / "doomed.txt").unlink()
    wait_for(lambda: "remote-delete-failed" in run.log(), "the delete to fail")
    run.wait_remote(lambda r: "doomed.txt" not in r, "the failed delete retried")
    assert (run.local / "seed.txt").exists()
    assert run.stop() == 0
