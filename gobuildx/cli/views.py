"""What the terminal shows while the pipeline runs: the one implementation of pipeline's views.

Every line a stage prints is here (or in console.py and smoke_view.py, which draw the
tables and the live progress); the stages and the pipeline only return records.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from gobuildx.errors import SmokeFailed
from gobuildx.project.context import ProjectContext
from gobuildx.project.matrix import Target
from gobuildx.util.imports import preload

if TYPE_CHECKING:
    from rich.console import Console

    from gobuildx.build.stage import Reporter as BuildReporter
    from gobuildx.image.stage import Result as ImageResult
    from gobuildx.model.audit import AuditReport
    from gobuildx.model.manifest import TargetRecord
    from gobuildx.model.release import ReleaseManifest
    from gobuildx.package.stage import Result as PackageResult
    from gobuildx.pipeline import CheckReport
    from gobuildx.smoke.stage import Outcome, RunnerChoice
    from gobuildx.smoke.stage import Reporter as SmokeReporter


class TerminalView:
    """pipeline.ReleaseView (and so every narrower view) on stdout/stderr."""

    def __init__(self, audit_format: str = "table", audit_output: str | None = None) -> None:
        self.audit_format = audit_format
        self.audit_output = audit_output
        self._console: Console | None = None
        self._default_smoke = False  # no [smoke] table anywhere: the summary says what ran

    @property
    def console(self) -> Console:
        if self._console is None:
            from gobuildx.cli import console as ui

            self._console = ui.make_console()
        return self._console

    # ---------------------------------------------------------------- build
    def shard(self, label: str, selected: Sequence[Target]) -> None:
        print(f"gobuildx: shard {label}: {' '.join(t.id for t in selected) or '(no targets)'}")

    def prebuilt(self, count: int, source: str) -> None:
        print(f"gobuildx: {count} targets prebuilt (merged from {source}); not compiling (`--force` builds here)")

    def starting(self, ctx: ProjectContext, plans: int) -> None:
        from gobuildx.cli import console as ui

        line = f"gobuildx: {plans} targets with {ctx.go.version} ({ctx.go.go}, from {ctx.go.source})"
        if ui.interactive():
            self.console.print(line, highlight=False)
        else:
            print(line)  # no rich before the first compile (it is loaded meanwhile: progress)

    def progress(self, total: int) -> AbstractContextManager[BuildReporter]:
        from gobuildx.cli import console as ui

        if ui.interactive():
            return ui.build_progress(self.console, total)  # type: ignore[return-value]
        # The summary's table after the last compile: rich imported while go builds.
        preload(["rich.console", "rich.table"])
        return ui.plain_progress()  # type: ignore[return-value]

    def built(self, ctx: ProjectContext, records: Sequence[TargetRecord]) -> None:
        from gobuildx.cli import console as ui
        from gobuildx.report import stage as report_page

        ui.summary(self.console, records, str(ctx.dist))
        self.console.print(f"report: {report_page.path_in(ctx.dist)}", highlight=False)

    # ---------------------------------------------------------------- audit
    def audit_skipped(self, ids: Sequence[str]) -> None:
        # on stderr: stdout may be a JSON/Markdown/JUnit report
        print(f"audit: skipped {len(ids)} targets not built (or failed): {', '.join(ids)}", file=sys.stderr)

    def audit_report(self, report: AuditReport) -> None:
        """Print the report (the table when writing another format to --output) and write --output."""
        from gobuildx.audit import render
        from gobuildx.audit.stage import check_format
        from gobuildx.util.files import write_atomic

        fmt, output = self.audit_format, self.audit_output
        check_format(fmt)
        if output:
            write_atomic(Path(output), render.render(report, fmt).encode())  # type: ignore[arg-type]
        if output or fmt == "table":
            render.print_table(self.console, report)
            if output:
                self.console.print(f"audit report ({fmt}): {output}", highlight=False)
        else:
            sys.stdout.write(render.render(report, fmt))  # type: ignore[arg-type]

    # ---------------------------------------------------------------- image
    def images(self, result: ImageResult) -> None:
        for tid, rec in result.records.items():
            extra = f" +{len(rec.libraries)} libs from sysroot" if rec.libraries else ""
            print(f"  {tid:26} {rec.platform:14} {rec.digest}  {rec.size / 1e6:.1f} MB{extra}")
        idx = result.index
        print(f"index {idx.digest} ({len(idx.platforms)} platforms, built with {idx.builder})")
        for ref in idx.tags:
            print(f"  {'pushed' if idx.pushed else 'not pushed (use --push)'}: {ref}")
        if idx.oci_layout:
            print(f"  OCI layout: {idx.oci_layout}")
        if idx.signed:
            print(f"  signed (cosign key): the index and {len(idx.platforms)} platform manifests")
        count = len(idx.referrers) + sum(len(r.referrers) for r in result.records.values())
        if count:
            how = "referrers API" if idx.referrers_api else "fallback tags sha256-<digest> (no referrers API)"
            print(f"  referrers: {count} (signature bundles, SBOMs, attestations), via {how}")

    # ---------------------------------------------------------------- package
    def packaged(self, result: PackageResult) -> None:
        for tid, rec in sorted(result.records.items()):
            for p in rec.written:
                deps = ", ".join(p.libc_depends) or "no libc dependency"
                print(f"  {tid:26} {p.format:9} {p.arch:9} {p.name}  ({deps})")
            for skip in rec.skipped:
                print(f"  {tid:26} {skip.format:9} not packaged: {skip.reason}")
        print(f"{result.count} packages in dist/packages/")

    # ---------------------------------------------------------------- smoke
    def smoke_starting(self, ctx: ProjectContext, selected: Sequence[Target]) -> None:
        cfg = ctx.loaded.config
        self._default_smoke = "smoke" not in cfg.model_fields_set and not any(o.smoke for o in cfg.override)
        self.console.print(
            f"gobuildx: smoke {len(selected)} targets on {ctx.go.hostos}/{ctx.go.hostarch}", highlight=False
        )

    def smoke_reporter(self) -> SmokeReporter:
        from gobuildx.cli import smoke_view

        return smoke_view.reporter(self.console)  # type: ignore[no-any-return]

    def smoked(self, outcome: Outcome) -> None:
        from gobuildx.cli import smoke_view

        smoke_view.summary(self.console, outcome.records, str(outcome.junit))
        self.console.print(f"smoke: {smoke_view.counts(outcome.records)}", highlight=False)
        if self._default_smoke:
            self.console.print(smoke_view.DEFAULT_CHECK_NOTE, highlight=False, markup=False)

    def smoke_recorded(self, failure: SmokeFailed) -> None:
        print(f"gobuildx: {failure}\n(recorded; release decides)")


def print_release(rm: ReleaseManifest, folder: Path, version_source: str) -> None:
    from gobuildx.release import stage as release_stage

    for t in rm.targets:
        print(
            f"  {t.id:26} {t.archive.name}  audit {t.audit}, smoke {t.smoke}"
            + (f", image {t.image}" if t.image else "")
            + ("" if t.reproduced is None else ", reproduced" if t.reproduced else ", NOT reproduced")
            + (f", packages {' '.join(p.format for p in t.packages)}" if t.packages else "")
        )
    for o in rm.omitted:
        print(f"  {o.id:26} OMITTED ({o.reason})")
    if rm.rebuild is not None:
        same = sum(b.identical for b in rm.rebuild.binaries)
        print(
            f"rebuild: {same} of {len(rm.rebuild.binaries)} binaries identical when built again from "
            f"{rm.rebuild.commit[:12]} in a fresh clone (recorded in manifest.json and the provenance)"
        )
    for note in release_stage.not_run_notes(rm):
        print(note)
    for warning in release_stage.version_warnings(rm, version_source):
        print(warning, file=sys.stderr)
    print(
        f"release: {folder} ({len(rm.targets)} targets; check with `sha256sum -c SHA256SUMS` "
        f"or `gobuildx verify {folder}`)"
    )


def check_json(report: CheckReport) -> dict[str, object]:
    """`gobuildx check --format json`: each problem split into file, key path and message, so
    an editor can place it; every target with its C toolchain and smoke runner."""
    toolchains = dict(report.toolchains)
    runners = {r.target: r for r in report.runners}
    return {
        "config": str(report.config),
        "ok": report.ok,
        "problems": [split_problem(p, report.config) for p in report.problems],
        "targets": [
            {
                "id": tid,
                "toolchain": toolchains.get(tid),
                "runner": runners[tid].runner if tid in runners else None,
                "runner_available": runners[tid].available if tid in runners else None,
                "runner_detail": runners[tid].detail if tid in runners else None,
            }
            for tid in report.targets
        ],
    }


_KEY = re.compile(r"^[A-Za-z_][\w.\[\]-]*$")


def split_problem(text: str, config: Path) -> dict[str, str | None]:
    """'FILE: KEY: message' as its parts (file and key are None for a problem that has none)."""
    file, rest = None, text
    for prefix in (f"{config}: ", f"{config.name}: "):
        if text.startswith(prefix):
            file, rest = str(config), text[len(prefix) :]
            break
    key, sep, message = rest.partition(": ")
    if sep and _KEY.match(key):
        return {"file": file, "key": key, "message": message, "text": text}
    return {"file": file, "key": None, "message": rest, "text": text}


def print_check(report: CheckReport) -> None:
    toolchains = dict(report.toolchains)
    runners = {r.target: r for r in report.runners}
    print(f"{report.config}: OK, {len(report.targets)} targets")
    for tid in report.targets:
        print(f"  {tid:28} C: {toolchains.get(tid, '-'):30} {_smoke_line(runners.get(tid))}")


def _smoke_line(r: RunnerChoice | None) -> str:
    if r is None:
        return "smoke: -"
    if r.runner == "config":
        return f"smoke: skipped ({r.detail})"
    if r.runner == "none":
        return f"smoke: none, {r.detail}"
    return f"smoke: {r.runner}" + ("" if r.available else f", unavailable: {r.detail}")
