"""Render one or more harness reports (``run.py --out`` files) as one Markdown table.

    .venv/bin/python bench/report_md.py bench/out/report.json [more.json ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    text = f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:.0f}"
    return f"{text} {unit}".strip()


def markdown(reports: list[dict[str, Any]]) -> str:
    lines = ["| row | check | containersync | baseline (same run) | ratio | target | pass |",
             "|---|---|---|---|---|---|---|"]
    for report in reports:
        for row in report["rows"]:
            if row["error"] is not None:
                lines.append(f"| `{row['row']}` | not measured: {row['error'][:80]} | | | | | n/a |")
            for c in row["checks"]:
                base = "–" if c["baseline"] is None else (
                    f"{_num(c['baseline_value'], c['unit'])} ({c['baseline']})")
                ratio = "–" if c["ratio"] is None else f"{c['ratio']:.2f}"
                verdict = {True: "PASS", False: "**FAIL**", None: "n/a"}[c["pass"]]
                lines.append(f"| `{row['row']}` | {c['what']} | {_num(c['value'], c['unit'])} "
                             f"| {base} | {ratio} | {c['target']} | {verdict} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown([json.loads(Path(p).read_text()) for p in sys.argv[1:]]))
