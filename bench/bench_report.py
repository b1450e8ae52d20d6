"""The harness's report: checks against issue 9's targets, the JSON document and the table.

A check compares either a figure (``value``) or the ratio of a figure to a baseline measured
in the same run (``ratio`` = value / baseline) with a limit. ``pass`` is ``None`` when the
figure could not be measured (a tool not installed, a row that failed).
"""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass, field
from typing import Any

OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq}


@dataclass
class Check:
    what: str
    value: float | None
    unit: str
    limit: float
    op: str = "<="
    baseline: str | None = None  # what the value is compared with, when it is a ratio
    baseline_value: float | None = None
    ratio: float | None = None
    compared: str = "value"  # "value" or "ratio"
    note: str | None = None
    passed: bool | None = None

    def __post_init__(self) -> None:
        if self.baseline is not None and self.value is not None and self.baseline_value:
            self.ratio = round(self.value / self.baseline_value, 3)
        subject = self.ratio if self.compared == "ratio" else self.value
        self.passed = None if subject is None else bool(OPS[self.op](subject, self.limit))

    def target_text(self) -> str:
        unit = "x" if self.compared == "ratio" else f" {self.unit}"
        return f"{self.op} {self.limit:g}{unit}"


@dataclass
class RowResult:
    row: str
    title: str
    params: dict[str, Any] = field(default_factory=dict)
    seeded: str = "api"
    containersync: dict[str, Any] = field(default_factory=dict)
    baselines: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool | None:
        """False if any check failed; None if nothing or not everything was measured."""
        verdicts = [c.passed for c in self.checks]
        if False in verdicts:
            return False
        if self.error is not None or not verdicts or None in verdicts:
            return None
        return True

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = [{**asdict(c), "target": c.target_text(), "pass": c.passed}
                          for c in self.checks]
        for check in data["checks"]:
            del check["passed"]
        data["pass"] = self.passed
        return data


def summary(rows: list[RowResult]) -> dict[str, int]:
    checks = [c for r in rows for c in r.checks]
    return {"rows": len(rows), "rows_failed_to_run": sum(r.error is not None for r in rows),
            "checks": len(checks), "passed": sum(c.passed is True for c in checks),
            "failed": sum(c.passed is False for c in checks),
            "not_measured": sum(c.passed is None for c in checks)}


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    text = f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:.0f}"
    return f"{text} {unit}".strip()


def table(rows: list[RowResult]) -> str:
    """The human table: one line per check, then each row's notes and errors."""
    head = ("row", "check", "containersync", "baseline", "ratio", "target", "pass")
    lines = [head]
    for row in rows:
        for c in row.checks:
            base = "-" if c.baseline is None else f"{_num(c.baseline_value, c.unit)} ({c.baseline})"
            verdict = {True: "PASS", False: "FAIL", None: "n/a"}[c.passed]
            lines.append((row.row, c.what, _num(c.value, c.unit), base,
                          "-" if c.ratio is None else f"{c.ratio:.2f}", c.target_text(), verdict))
        if row.error is not None:
            lines.append((row.row, "ERROR", row.error[:60], "", "", "", "n/a"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
           for line in lines]
    for row in rows:
        out += [f"  [{row.row}] {note}" for note in row.notes]
    return "\n".join(out) + "\n"
