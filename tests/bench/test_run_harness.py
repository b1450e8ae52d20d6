"""bench/run.py end to end on two cheap rows, and the parts of the harness the rows trust:
the request counter of ``serve_counted.py``, direct seeding, and the checks' verdicts.
No timing is asserted: only the report's shape and the counts that do not depend on speed."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from bench_backend import Backend  # noqa: E402
from bench_report import Check, RowResult, summary  # noqa: E402

ROW_KEYS = {"row", "title", "params", "seeded", "containersync", "baselines", "checks",
            "notes", "error", "seconds", "pass"}
CHECK_KEYS = {"what", "value", "unit", "limit", "op", "baseline", "baseline_value", "ratio",
              "compared", "note", "target", "pass"}


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    with Backend(tmp_path / "backend") as served:
        yield served


@pytest.mark.slow
def test_quick_run_writes_one_report_with_every_row_it_ran(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--rows", "listing,startup",
         "--set", "startup_rounds=1", "--set", "listing_files=250",
         "--set", "listing_latency_ms=5", "--out", str(out)],
        capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert [r["row"] for r in report["rows"]] == ["startup", "listing"]  # the harness's order
    assert report["quick"] is True and report["machine"]["cpus"]
    for row in report["rows"]:
        assert set(row) == ROW_KEYS and row["error"] is None and row["checks"]
        for check in row["checks"]:
            assert set(check) == CHECK_KEYS and isinstance(check["pass"], bool)
    startup, listing = report["rows"]
    assert set(startup["containersync"]) == {"version", "status"}
    assert startup["baselines"]["python_c_pass"]["rounds"]
    assert listing["seeded"] == "direct"
    for run in ("cold", "warm"):  # the first sync, then the same sync again
        assert listing["containersync"][run]["exit_code"] == 0
        assert listing["containersync"][run]["downloaded"] == 0
        assert listing["containersync"][run]["uploaded"] == 0
    assert report["summary"]["checks"] == 3 and report["summary"]["rows_failed_to_run"] == 0
    assert "listing" in proc.stderr and "target" in proc.stderr  # the table


def test_counter_counts_v1_requests_only(backend: Backend) -> None:
    before = backend.requests()
    cid = backend.create_container("counted")
    httpx.get(f"{backend.base_url}/containers/{cid}/files").raise_for_status()
    httpx.get(f"{backend.root_url}/_local/clock").raise_for_status()
    assert backend.requests() - before == 2


def test_seeded_files_are_listed_by_the_api_like_uploaded_ones(backend: Backend) -> None:
    cid = backend.create_container("seeded")
    files = [(f"/mnt/data/s/f{i:03d}.txt", b"%d\n" % i) for i in range(150)]
    assert backend.seed_files(cid, files, source="assistant") == 150
    listed, after = [], None
    while True:
        params = {"limit": 100, "order": "asc", **({"after": after} if after else {})}
        page = httpx.get(f"{backend.base_url}/containers/{cid}/files", params=params).json()
        listed += page["data"]
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    assert [f["path"] for f in listed] == [p for p, _ in files]
    assert {f["source"] for f in listed} == {"assistant"} and listed[0]["bytes"] is None
    first = httpx.get(f"{backend.base_url}/containers/{cid}/files/{listed[7]['id']}/content")
    assert first.content == b"7\n"
    assert backend.file_count(cid) == 150


def test_a_check_compares_the_ratio_or_the_value_and_a_missing_figure_is_not_a_verdict() -> None:
    ratio = Check("push", 6.0, "s", 1.2, baseline="httpx", baseline_value=5.0, compared="ratio")
    value = Check("latency", 0.3, "s", 0.25, baseline="1,000 files", baseline_value=0.1)
    missing = Check("no-op", 3.0, "s", 2.0, baseline="rclone", baseline_value=None,
                    compared="ratio")
    assert (ratio.ratio, ratio.passed) == (1.2, True)
    assert (value.ratio, value.passed) == (3.0, False)
    assert missing.passed is None
    row = RowResult("r", "t", checks=[ratio, missing])
    assert row.passed is None
    row.checks.append(value)
    assert row.passed is False
    assert summary([row]) == {"rows": 1, "rows_failed_to_run": 0, "checks": 3, "passed": 1,
                              "failed": 1, "not_measured": 1}


def _baseline(*args: str) -> dict[str, object]:
    proc = subprocess.run([sys.executable, str(BENCH / "baselines.py"), *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found: dict[str, object] = json.loads(proc.stdout)
    return found


def test_the_noop_floor_lists_and_scans_everything_and_sees_a_change_on_either_side(
        backend: Backend, tmp_path: Path) -> None:
    # a floor that skipped work would flatter the language and blame the engine: it must
    # walk every page in its segments and stat every file, and see what changed
    cid = backend.create_container("floor")
    backend.seed_files(cid, [(f"/mnt/data/f{i:04d}.txt", b"x") for i in range(1700)],
                       source="assistant")
    tree = tmp_path / "tree"
    for i in range(30):
        (tree / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{i % 3}" / f"f{i}.txt").write_text(str(i))
    args = ("noop-floor", "--base-url", backend.base_url, "--container", cid,
            "--tree", str(tree), "--state", str(tmp_path / "state.sqlite3"), "--workers", "2")
    first = _baseline(*args)
    assert first["state_written"] is True and first["listed"] == 1700
    again = _baseline(*args)
    assert (again["state_written"], again["listed"], again["files"]) == (False, 1700, 30)
    assert (again["local_changes"], again["remote_changes"]) == (0, 0)
    assert again["pages"] == 20  # four segments from the state's cursors, 425 objects each
    (tree / "d1" / "f1.txt").write_text("longer now")
    (tree / "d2" / "f2.txt").unlink()
    backend.seed_files(cid, [("/mnt/data/new.txt", b"n")], source="assistant")
    changed = _baseline(*args)
    assert (changed["local_changes"], changed["remote_changes"], changed["listed"]) == (2, 1, 1701)


def test_the_httpx_upload_baseline_sends_the_whole_file_and_hashes_what_it_sent(
        backend: Backend, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 << 20) + b"tail")
    cid = backend.create_container("httpx")
    sent = _baseline("upload", "--base-url", backend.base_url, "--container", cid,
                     "--file", str(big))
    assert sent == {"status": 200, "bytes": big.stat().st_size,
                    "sha256": hashlib.sha256(big.read_bytes()).hexdigest(),
                    "work_seconds": sent["work_seconds"]}
    listed = httpx.get(f"{backend.base_url}/containers/{cid}/files").json()["data"]
    content = httpx.get(f"{backend.base_url}/containers/{cid}/files/{listed[0]['id']}/content")
    assert content.content == big.read_bytes()
