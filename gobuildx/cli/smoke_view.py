"""Terminal output of the smoke stage: a line per verdict as it lands, then a table."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from gobuildx.smoke.runners.base import Availability, SmokeRecord, SmokeResult

STYLE = {"passed": "green", "failed": "bold red", "skipped": "yellow"}


def line(target: str, r: SmokeResult) -> str:
    return f"  {r.status.upper():8} {target}  {r.runner}  {r.duration_s:.1f}s  {r.reason}"


def reporter(console: Console):  # type: ignore[no-untyped-def]
    def report(target: str, result: SmokeResult) -> None:
        console.print(line(target, result), markup=False, highlight=False)

    return report


DEFAULT_CHECK_NOTE = (
    "smoke: no [smoke] table, so the default check ran: each binary with no arguments, stdin closed, "
    "exit code 0 expected (an interactive program or a daemon fails it; `gobuildx init` proposes "
    "a check such as --version, see docs/smoke.md)"
)


def summary(console: Console, records: dict[str, SmokeRecord], junit: str) -> None:
    table = Table(title=f"smoke summary (JUnit: {junit})")
    for col in ("target", "verdict", "runner", "time", "reason"):
        table.add_column(col)
    for tid, rec in sorted(records.items(), key=lambda kv: (kv[1].status != "failed", kv[0])):
        for r in rec.results:
            table.add_row(tid, Text(r.status, style=STYLE[r.status]), r.runner, f"{r.duration_s:.1f}s", Text(r.reason))
    console.print(table)
    notes = sorted({n for rec in records.values() for r in rec.results for n in r.notes if "shim" in n})
    for note in notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    for tid, rec in sorted(records.items()):
        for r in rec.results:
            if r.status == "failed":
                console.print(f"\n[bold red]{tid} failed under {r.runner}[/]: {escape(r.reason)}", highlight=False)
                if r.command:
                    console.print("$ " + " ".join(r.command), markup=False, highlight=False)
                if r.output:
                    console.print(r.output, highlight=False, markup=False)


def counts(records: dict[str, SmokeRecord]) -> str:
    by = {s: sum(1 for r in records.values() if r.status == s) for s in ("passed", "failed", "skipped")}
    return f"{by['passed']} passed, {by['failed']} failed, {by['skipped']} skipped"


def runner_lines(avail: Sequence[Availability]) -> list[str]:
    out = []
    for a in avail:
        if a.available:
            out.append(f"  {a.runner:10} ok       {a.version or '?'}  ({a.detail})")
        else:
            out.append(f"  {a.runner:10} MISSING  {a.detail}; install: {a.install}")
    return out
