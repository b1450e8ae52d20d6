"""bench/run.py end to end on two cheap rows, and the parts of the harness the rows trust:
the request counter of ``serve_counted.py``, direct seeding, and the checks' verdicts.
No timing is asserted: only the report's shape and the counts that do not depend on speed."""

from __future__ import annotations

import json
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
