"""The audit's result model (stored as `TargetRecord.audit`) and its four renderings.

`AuditResult` is flat and its keys are stable (documented in docs/audit.md);
other stages read it from dist/manifest.json. `render(report, fmt)` gives the
terminal table, JSON, Markdown (for a CI job summary) or JUnit XML.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Literal
from xml.sax.saxutils import escape, quoteattr

from pydantic import BaseModel

from gobuildx.audit.linkage import Facts

if TYPE_CHECKING:  # rich is imported by the renderings that use it: manifest.py imports this module
    from rich.console import Console
    from rich.table import Table

SCHEMA = "gobuildx.audit/1"
Verdict = Literal["pass", "warn", "fail"]
Level = Literal["fail", "warn", "note"]
Format = Literal["table", "json", "markdown", "junit"]
FORMATS: tuple[str, ...] = ("table", "json", "markdown", "junit")


class Finding(BaseModel):
    """One observation: `fail` breaks the declaration, `warn` deserves a look, `note` is context."""

    level: Level
    code: str          # stable identifier, e.g. "glibc-above-floor", "static-has-interpreter"
    message: str


class AuditResult(BaseModel):
    """The verdict on one target (or one path given on the command line)."""

    id: str                                  # target id, or the path for `audit --path`
    declared: str                            # the declaration checked, e.g. "glibc >= 2.17, cgo on"
    verdict: Verdict
    problems: list[str] = []                 # messages of `fail` findings
    warnings: list[str] = []                 # messages of `warn` findings
    findings: list[Finding] = []             # all of them, with codes and notes
    linkage: str = ""                        # one-line summary: "static", "dynamic glibc >= 2.34", ...
    static: bool | None = None
    interpreter: str | None = None
    needed: list[str] = []                   # DT_NEEDED / imported DLLs / dylibs, union over artifacts
    libc: str | None = None
    highest_glibc: str | None = None
    floor_symbols: list[str] = []            # symbols forcing highest_glibc
    glibc_private: list[str] = []
    cxx: list[str] = []                      # GLIBCXX_/CXXABI_ needs ("libstdc++.so.6: GLIBCXX_3.4.29")
    gcc: list[str] = []                      # GCC_ needs (libgcc_s)
    runs_on: list[str] = []
    cgo: bool | None = None                  # CGO_ENABLED from the Go build info
    go_version: str | None = None
    file: str | None = None                  # `file` line of the first artifact
    artifacts: list[Facts] = []              # full facts per artifact

    @property
    def dynamic_glibc(self) -> bool:
        return any(a.format == "elf" and a.libc == "glibc" and not a.static for a in self.artifacts)


class AuditReport(BaseModel):
    schema_: str = SCHEMA
    verdict: Verdict
    warn_only: bool = False
    results: list[AuditResult]

    def dynamic_glibc(self) -> list[AuditResult]:
        return [r for r in self.results if r.dynamic_glibc or any(a.static_glibc for a in r.artifacts)]

    def to_json(self) -> str:
        data = self.model_dump(mode="json", by_alias=True)
        data = {"schema": data.pop("schema_"), **data}
        data["dynamic_glibc"] = [r.id for r in self.dynamic_glibc()]
        return json.dumps(data, indent=2) + "\n"


def worst(verdicts: list[Verdict]) -> Verdict:
    return "fail" if "fail" in verdicts else "warn" if "warn" in verdicts else "pass"


def glibc_callouts(report: AuditReport) -> list[str]:
    """The lines that go at the top of every rendering: each glibc dependency and its cause."""
    out = []
    for r in report.dynamic_glibc():
        for a in r.artifacts:
            if a.static_glibc:
                nss = " and dlopens libnss_* at run time for user/host lookups" if a.nss else ""
                out.append(f"{r.id}: glibc linked STATICALLY{nss}: not portable across glibc versions")
            elif a.libc == "glibc" and not a.static:
                syms = ", ".join(a.max_glibc_symbols[:8]) or "no versioned symbols"
                more = f" (+{a.max_glibc_symbol_count - 8} more)" if a.max_glibc_symbol_count > 8 else ""
                floor = f"GLIBC_{a.max_glibc}" if a.max_glibc else "glibc (unversioned)"
                out.append(f"{r.id}: dynamic glibc, needs {floor} ({syms}{more}); "
                           f"libs: {', '.join(a.needed)}")
    return out


def render(report: AuditReport, fmt: Format, width: int = 160) -> str:
    if fmt == "json":
        return report.to_json()
    if fmt == "markdown":
        return markdown(report)
    if fmt == "junit":
        return junit(report)
    return table_text(report, width)


# ---------------------------------------------------------------- table
ANY_LINUX = ["scratch", "distroless-static", "alpine", "glibc-2.17", "glibc-2.28", "glibc-2.31", "glibc-2.36"]


def runs_on_text(bases: list[str]) -> str:
    if bases == ANY_LINUX:
        return "any Linux (scratch, alpine, glibc)"
    return ", ".join(bases) or "-"


def table(report: AuditReport) -> Table:
    from rich.table import Table

    t = Table(title=f"linkage audit: {len(report.results)} checked, verdict {report.verdict.upper()}"
                    + (" (warn-only)" if report.warn_only else ""))
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
        con.print("[bold yellow]GLIBC DEPENDENCIES[/] (dynamic glibc: will not run on scratch, distroless/static "
                  "or alpine, and needs a glibc at least this new; static glibc: loads NSS modules at run time):",
                  highlight=False)
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
    lines = [f"## gobuildx linkage audit: {icon[report.verdict]} {report.verdict}"
             + (" (warn-only)" if report.warn_only else ""), ""]
    callouts = glibc_callouts(report)
    if callouts:
        lines += ["> [!WARNING]", "> **glibc dependencies**: these artifacts need a glibc at run time "
                  "(not scratch, distroless/static or alpine), at least as new as shown:", ">"]
        lines += [f"> - `{_md(c)}`" for c in callouts]
        lines.append("")
    lines += ["| target | verdict | linkage | highest GLIBC | runs on | problems |",
              "|---|---|---|---|---|---|"]
    for r in report.results:
        issues = "<br>".join(_md(p) for p in r.problems + r.warnings) or "-"
        lines.append(f"| `{r.id}` | {icon[r.verdict]} {r.verdict} | {_md(r.linkage)} | "
                     f"{r.highest_glibc or '-'} | {_md(', '.join(r.runs_on)) or '-'} | {issues} |")
    failed = [r for r in report.results if r.problems]
    if failed:
        lines += ["", "### Failures", ""]
        for r in failed:
            lines += [f"- **{r.id}** (declared: {_md(r.declared)})"] + [f"  - {_md(p)}" for p in r.problems]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- junit
def junit(report: AuditReport) -> str:
    failures = sum(1 for r in report.results if r.verdict == "fail")
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuites name="gobuildx audit" tests="{len(report.results)}" failures="{failures}">',
           f'  <testsuite name="gobuildx.audit" tests="{len(report.results)}" failures="{failures}" '
           f'errors="0" skipped="0">']
    for r in report.results:
        out.append(f'    <testcase classname="gobuildx.audit" name={quoteattr(r.id)}>')
        if r.verdict == "fail":
            message = r.problems[0] if r.problems else "audit failed"
            out.append(f'      <failure message={quoteattr(message)} type="linkage">'
                       f'{escape(chr(10).join(r.problems))}</failure>')
        details = [f"declared: {r.declared}", f"linkage: {r.linkage}", f"runs on: {', '.join(r.runs_on) or '-'}"]
        details += [f"warning: {w}" for w in r.warnings]
        details += [f"file: {a.file}" for a in r.artifacts if a.file]
        out.append(f"      <system-out>{escape(chr(10).join(details))}</system-out>")
        out.append("    </testcase>")
    out += ["  </testsuite>", "</testsuites>"]
    return "\n".join(out) + "\n"
