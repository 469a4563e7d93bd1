"""The audit report's four renderings: `render(report, fmt)` gives the terminal table, JSON,
Markdown (for a CI job summary) or JUnit XML.

The result model (`AuditResult`, stored as `TargetRecord.audit`) is in `gobuildx.model.audit`;
its keys are stable (documented in docs/audit.md) and other stages read it from dist/manifest.json.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from gobuildx.model.audit import (
    ANY_LINUX,
    FORMATS,
    SCHEMA,
    AuditReport,
    AuditResult,
    Finding,
    Format,
    Level,
    Verdict,
    glibc_callouts,
    runs_on_text,
    worst,
)
from gobuildx.util import junit as junit_xml

if TYPE_CHECKING:  # rich is imported by the renderings that use it: the audit stage imports this module
    from rich.console import Console
    from rich.table import Table


def render(report: AuditReport, fmt: Format, width: int = 160) -> str:
    if fmt == "json":
        return report.to_json()
    if fmt == "markdown":
        return markdown(report)
    if fmt == "junit":
        return junit(report)
    return table_text(report, width)


# ---------------------------------------------------------------- table
def table(report: AuditReport) -> Table:
    from rich.table import Table

    t = Table(
        title=f"linkage audit: {len(report.results)} checked, verdict {report.verdict.upper()}"
        + (" (warn-only)" if report.warn_only else "")
    )
    for col in ("target", "verdict", "binary", "linkage", "go / cgo", "runs on"):
        t.add_column(col, overflow="fold")
    style = {"pass": "green", "warn": "yellow", "fail": "bold red"}
    for r in report.results:
        first = r.artifacts[0] if r.artifacts else None
        binary = f"{first.format or '?'} {first.machine or ''}".strip() if first else "-"
        go = f"{r.go_version or '-'} / {'on' if r.cgo else 'off' if r.cgo is False else '?'}"
        t.add_row(r.id, f"[{style[r.verdict]}]{r.verdict}[/]", binary, r.linkage, go, runs_on_text(r.runs_on))
    return t


def table_text(report: AuditReport, width: int = 160) -> str:
    from rich.console import Console

    buf = io.StringIO()
    con = Console(file=buf, width=width, no_color=True, force_terminal=False, soft_wrap=False)
    print_table(con, report)
    return buf.getvalue()


def print_table(con: Console, report: AuditReport) -> None:
    callouts = glibc_callouts(report)
    if callouts:
        con.print(
            "[bold yellow]GLIBC DEPENDENCIES[/] (dynamic glibc: will not run on scratch, distroless/static "
            "or alpine, and needs a glibc at least this new; static glibc: loads NSS modules at run time):",
            highlight=False,
        )
        for line in callouts:
            con.print(f"  ! {line}", highlight=False, markup=False)
    con.print(table(report))
    for r in report.results:
        for p in r.problems:
            con.print(f"FAIL {r.id}: {p}", highlight=False, markup=False)
        for w in r.warnings:
            con.print(f"warn {r.id}: {w}", highlight=False, markup=False)


# ---------------------------------------------------------------- markdown
def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def markdown(report: AuditReport) -> str:
    icon = {"pass": "✅", "warn": "⚠️", "fail": "❌"}
    lines = [
        f"## gobuildx linkage audit: {icon[report.verdict]} {report.verdict}"
        + (" (warn-only)" if report.warn_only else ""),
        "",
    ]
    callouts = glibc_callouts(report)
    if callouts:
        lines += [
            "> [!WARNING]",
            "> **glibc dependencies**: these artifacts need a glibc at run time "
            "(not scratch, distroless/static or alpine), at least as new as shown:",
            ">",
        ]
        lines += [f"> - `{_md(c)}`" for c in callouts]
        lines.append("")
    lines += ["| target | verdict | linkage | highest GLIBC | runs on | problems |", "|---|---|---|---|---|---|"]
    for r in report.results:
        issues = "<br>".join(_md(p) for p in r.problems + r.warnings) or "-"
        lines.append(
            f"| `{r.id}` | {icon[r.verdict]} {r.verdict} | {_md(r.linkage)} | "
            f"{r.highest_glibc or '-'} | {_md(', '.join(r.runs_on)) or '-'} | {issues} |"
        )
    failed = [r for r in report.results if r.problems]
    if failed:
        lines += ["", "### Failures", ""]
        for r in failed:
            lines += [f"- **{r.id}** (declared: {_md(r.declared)})"] + [f"  - {_md(p)}" for p in r.problems]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- junit
def junit(report: AuditReport) -> str:
    failures = str(sum(1 for r in report.results if r.verdict == "fail"))
    count = {"tests": str(len(report.results)), "failures": failures}
    cases = []
    for r in report.results:
        failure = None
        if r.verdict == "fail":
            failure = (r.problems[0] if r.problems else "audit failed", "linkage", "\n".join(r.problems))
        details = [f"declared: {r.declared}", f"linkage: {r.linkage}", f"runs on: {', '.join(r.runs_on) or '-'}"]
        details += [f"warning: {w}" for w in r.warnings]
        details += [f"file: {a.file}" for a in r.artifacts if a.file]
        cases.append(
            junit_xml.Case(classname="gobuildx.audit", name=r.id, failure=failure, system_out="\n".join(details))
        )
    suite = junit_xml.Suite(name="gobuildx.audit", cases=cases, attrs={**count, "errors": "0", "skipped": "0"})
    return junit_xml.document("gobuildx audit", [suite], count)


__all__ = [
    "ANY_LINUX",
    "FORMATS",
    "SCHEMA",
    "AuditReport",
    "AuditResult",
    "Finding",
    "Format",
    "Level",
    "Verdict",
    "glibc_callouts",
    "render",
    "runs_on_text",
    "worst",
]
