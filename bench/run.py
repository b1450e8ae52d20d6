"""The benchmark harness of issue 9: every row of its target table, with the baselines
measured in the same run, against served local backends (``serve_counted.py``, the app of
``containersync serve-local`` plus a request counter) in subprocesses.

    .venv/bin/python bench/run.py [--quick] [--rows a,b] [--set key=value] [--out FILE]

Writes one JSON report (``--out FILE``, rewritten after every row so a stopped run keeps
what it measured; else stdout at the end) and a table on stderr. ``--quick`` runs small
sizes (a smoke run of a few minutes); ``--set changes=50`` overrides one parameter (see
``bench_fixtures.FULL``). Rows run in the order below whatever order ``--rows`` names.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import containersync
import rows_daemon
import rows_transfer
import rows_tree
from bench_fixtures import FULL, QUICK, Ctx
from bench_measure import loadavg
from bench_report import RowResult, summary, table

ROWS: dict[str, tuple[str, Callable[[Ctx, RowResult], None]]] = {
    "startup": ("start-up of --version and status", rows_tree.row_startup),
    "noop_sync": ("no-op sync of a large tree", rows_tree.row_noop),
    "daemon_latency": ("daemon one-change latency by tree size", rows_daemon.row_latency),
    "daemon_memory": ("daemon memory at the largest size", rows_daemon.row_memory),
    "daemon_idle_cpu": ("daemon idle CPU at the largest size", rows_daemon.row_idle_cpu),
    "listing": ("full listing of a large container at a live link's latency",
                rows_tree.row_listing),
    "push": ("initial push of small files at 50 ms and 0 ms", rows_transfer.row_push),
    "pull": ("assistant files pulled by the daemon", rows_transfer.row_pull),
    "upload": ("one large upload", rows_transfer.row_upload),
    "many_mappings": ("one daemon with many mappings", rows_daemon.row_many_mappings),
}


SYNCED_TREE_ROWS = {"noop_sync", "daemon_latency", "daemon_memory", "daemon_idle_cpu"}


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=10)
    except OSError:
        return None
    return out.stdout.strip() or None


def _params(args: argparse.Namespace) -> dict[str, Any]:
    params = dict(QUICK if args.quick else FULL)
    for item in args.set:
        key, _, raw = item.partition("=")
        if key not in params:
            raise SystemExit(f"--set: unknown parameter {key!r} (known: {', '.join(params)})")
        params[key] = json.loads(raw)
    return params


def _write(report: dict[str, Any], out: Path | None) -> None:
    if out is None:
        return
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, out)


def _compile_bytecode() -> str:
    """Compile containersync's modules ahead, as ``pip install`` does for an installed package.

    From a source checkout, Python writes the bytecode on first import, unless the environment
    sets PYTHONDONTWRITEBYTECODE (this project's CI machines do): then every timed run compiled
    all of our modules again, about 0.2 s that no installed copy pays.
    """
    package = Path(containersync.__file__).parent
    ok = compileall.compile_dir(str(package), quiet=1, force=False)
    how = "compiled ahead" if ok else "compiled ahead, with errors"
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        how += " (PYTHONDONTWRITEBYTECODE is set here)"
    return how


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--rows", help=f"comma-separated subset of: {', '.join(ROWS)}")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON")
    parser.add_argument("--out", type=Path, help="write the JSON report here (else stdout)")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="make the run's scratch folder here (default: the system temp dir)")
    parser.add_argument("--keep", action="store_true", help="leave the scratch folder in place")
    parser.add_argument("--stop-at", metavar="HH:MM",
                        help="UTC time after which no further row starts (they are reported "
                             "as not run)")
    args = parser.parse_args(argv)
    wanted = list(ROWS) if not args.rows else args.rows.split(",")
    unknown = [name for name in wanted if name not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; known: {', '.join(ROWS)}")
    selected = [name for name in ROWS if name in wanted]
    params = _params(args)
    bytecode = _compile_bytecode()
    report: dict[str, Any] = {
        "harness": "bench/run.py", "format": 1, "quick": args.quick, "params": params,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "loadavg_start": loadavg(),
                    "python": platform.python_version(), "platform": platform.platform(),
                    "bytecode": bytecode},
        "containersync": {"version": containersync.__version__, "commit": _git_commit()},
        "rows": [],
    }
    results: list[RowResult] = []
    scratch = Path(tempfile.mkdtemp(prefix="containersync-bench-", dir=args.work_dir))
    ctx = Ctx(scratch, args.quick, params)
    try:
        for i, name in enumerate(selected):
            row = RowResult(name, ROWS[name][0])
            started = time.perf_counter()
            if args.stop_at and time.strftime("%H:%M", time.gmtime()) >= args.stop_at:
                row.error = f"not run: past --stop-at {args.stop_at} UTC"
            else:
                ctx.log(name, "start")
                try:
                    ROWS[name][1](ctx, row)
                except KeyboardInterrupt:
                    row.error = "interrupted"
                    results.append(row)
                    raise
                except (Exception, SystemExit) as exc:  # run_sync exits when no JSON
                    row.error = f"{type(exc).__name__}: {exc}"
                    traceback.print_exc(file=sys.stderr)
            if not SYNCED_TREE_ROWS & set(selected[i + 1:]):
                ctx.close()  # the large synced trees' backends are no longer needed
            row.seconds = round(time.perf_counter() - started, 1)
            ctx.log(name, f"done in {row.seconds} s, pass={row.passed}")
            results.append(row)
            report["rows"] = [r.to_json() for r in results]
            report["summary"] = summary(results)
            _write(report, args.out)
    finally:
        ctx.close()
        report["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        report["machine"]["loadavg_end"] = loadavg()
        report["summary"] = summary(results)
        _write(report, args.out)
        if args.out is None:
            json.dump(report, sys.stdout, indent=2)
            sys.stdout.write("\n")
            sys.stdout.flush()
        sys.stderr.write("\n" + table(results))
        if not args.keep:  # after the report: removing 100,000s of files can take minutes
            subprocess.run(["rm", "-rf", "--", str(scratch)], check=False)
    return 0 if all(r.error is None for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
