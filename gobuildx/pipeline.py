"""The pipeline: which stage runs after which, and the gates between them.

Plain functions over one opened project (`ProjectContext`): a Python caller runs a whole
`release` with them, without invoke and without a terminal. What a person sees is the
caller's: every function takes a view (the `*View` protocols below; `gobuildx.cli.views`
is the terminal's) and never prints. Stages hand each other typed records in memory;
`dist/manifest.json` stays the contract between processes and CI runners.

    build    compile (or take merged prebuilt artifacts), then audit unless told not to
    audit    read every artifact, record verdicts; a failed verdict fails the build
    image    after build: one image per Linux target, one index
    package  after build and audit: deb, rpm, apk, archlinux packages of the Linux targets (nfpm)
    smoke    after build (no audit): run every artifact where it would run
    release  build (no audit), audit (warn only), image and package when configured, smoke
             (a failure is recorded, not fatal; it installs the packages), with --rebuild a
             fresh build from the commit compared (recorded before signing), then the release
             folder, which refuses what failed
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from gobuildx.errors import (
    AuditFailed,
    BuildFailed,
    GobuildxError,
    ImageFailed,
    NotBuilt,
    PackageFailed,
    ReleaseRefused,
    SmokeFailed,
    VerifyFailed,
    WriteFailed,
)
from gobuildx.project.context import ProjectContext
from gobuildx.project.matrix import Target
from gobuildx.util.files import describe
from gobuildx.util.imports import preload

# Stage modules (pydantic models, the Docker SDK, jinja...) are imported inside the function
# that runs them: `gobuildx build` should not pay for the image or release stage.
if TYPE_CHECKING:
    from gobuildx.build import stage as build_stage
    from gobuildx.image import stage as image_stage
    from gobuildx.model.audit import AuditReport
    from gobuildx.model.manifest import Manifest, TargetRecord
    from gobuildx.model.release import Rebuild, ReleaseManifest
    from gobuildx.package import stage as package_stage
    from gobuildx.release import rebuild as release_rebuild
    from gobuildx.sign import stage as sign_stage
    from gobuildx.smoke import stage as smoke_stage
    from gobuildx.smoke.probe import Tried


@dataclass(frozen=True)
class Selection:
    """What a command works on: `--matrix`, `--target` globs and `--jobs`, shared by its stages."""

    matrix: str = "all"
    targets: tuple[str, ...] = ()
    jobs: int = 0

    def of(self, ctx: ProjectContext) -> list[Target]:
        return ctx.select(self.matrix, list(self.targets))


class AuditView(Protocol):
    def audit_skipped(self, ids: Sequence[str]) -> None: ...
    def audit_report(self, report: AuditReport) -> None: ...


class BuildView(AuditView, Protocol):
    def shard(self, label: str, selected: Sequence[Target]) -> None: ...
    def prebuilt(self, count: int, source: str) -> None: ...
    def starting(self, ctx: ProjectContext, plans: int) -> None: ...
    def progress(self, total: int) -> AbstractContextManager[build_stage.Reporter]: ...
    def built(self, ctx: ProjectContext, records: Sequence[TargetRecord]) -> None: ...


class ImageView(Protocol):
    def images(self, result: image_stage.Result) -> None: ...


class PackageView(Protocol):
    def packaged(self, result: package_stage.Result) -> None: ...


class SmokeView(Protocol):
    def smoke_starting(self, ctx: ProjectContext, selected: Sequence[Target]) -> None: ...
    def smoke_reporter(self) -> smoke_stage.Reporter: ...
    def smoked(self, outcome: smoke_stage.Outcome) -> None: ...
    def smoke_recorded(self, failure: SmokeFailed) -> None: ...


class ReleaseView(BuildView, ImageView, PackageView, SmokeView, Protocol):
    """Everything a release shows: the views of the stages it runs."""


@dataclass(frozen=True)
class Built:
    """What a build made, and what the next identical command needs to answer from stat calls."""

    records: list[TargetRecord]
    audited: bool
    inputs: build_stage.Inputs | None = None  # None: nothing was compiled (merged prebuilt artifacts)
    walk_started_ns: int = 0


def build(
    ctx: ProjectContext,
    sel: Selection,
    view: BuildView,
    *,
    force: bool = False,
    shard: str | None = None,
    audit: bool = True,
) -> Built:
    """Compile every selected target (or take the merged prebuilt ones), then audit them.

    Raises BuildFailed when a target failed (after auditing the others), AuditFailed when
    an artifact breaks its declaration."""
    from gobuildx.build import stage as build_stage
    from gobuildx.project import shard as shard_stage
    from gobuildx.release import merge as merge_stage
    from gobuildx.report import stage as report_page

    selected = sel.of(ctx)
    if shard:
        part = shard_stage.parse(shard)
        selected = shard_stage.select(part, selected)
        view.shard(part.label, selected)
    merged = None if force else merge_stage.prebuilt(ctx.dist, [t.id for t in selected])
    if merged is not None:
        view.prebuilt(len(merged), merge_stage.describe(ctx.dist))
        if audit and merged:
            _enforce(run_audit(ctx, selected, sel.jobs, view))
        return Built(records=merged, audited=audit and bool(merged))
    merge_stage.forget_prebuilt(ctx.dist)
    walk_started_ns = time.time_ns()
    inputs = build_stage.gather_inputs(ctx)
    plans = build_stage.plan_all(ctx, selected, inputs)
    view.starting(ctx, len(plans))
    # What the end of the build needs (the report's jinja, the audit), imported while go runs.
    preload(["jinja2"] + (["gobuildx.audit.stage"] if audit else []))
    with _io("build", BuildFailed), report_page.timed(ctx.dist, "build"), view.progress(len(plans)) as reporter:
        records = build_stage.run(ctx, plans, build_stage.Options(jobs=sel.jobs, force=force), reporter)
    view.built(ctx, records)
    failed = [r.id for r in records if r.status == "failed"]
    report = run_audit(ctx, selected, sel.jobs, view) if audit and len(failed) < len(records) else None
    if failed:
        raise BuildFailed(f"{len(failed)} of {len(records)} targets failed: {', '.join(failed)}")
    if report is not None:
        _enforce(report)
    return Built(records=records, audited=report is not None, inputs=inputs, walk_started_ns=walk_started_ns)


@contextmanager
def _io(stage: str, failure: type[GobuildxError]) -> Iterator[None]:
    """A file a stage cannot write or read (a full disk, a read-only dist) ends the command
    with that stage's exit code and one line naming the file, not a traceback (and not exit
    1, Python's, which means a failed audit)."""
    try:
        yield
    except BrokenPipeError:
        raise  # stdout's reader left (`gobuildx build | head`): cli.main ends quietly
    except OSError as exc:
        raise WriteFailed(f"{stage}: {describe(exc)}", failure.exit_code) from None


def run_audit(
    ctx: ProjectContext,
    targets: Sequence[Target],
    jobs: int,
    view: AuditView,
    *,
    evidence: bool = True,
    warn_only: bool = False,
) -> AuditReport:
    """Audit the built targets among `targets`, record the verdicts, show the report."""
    from gobuildx.audit import stage as audit_stage
    from gobuildx.report import stage as report_page

    opts = audit_stage.Options(evidence=evidence, jobs=jobs, warn_only=warn_only)
    with _io("audit", AuditFailed), report_page.timed(ctx.dist, "audit"):
        report, skipped = audit_stage.audit_targets(ctx.dist, list(targets), opts)
    if skipped:
        view.audit_skipped(skipped)
    if not report.results:
        raise NotBuilt(f"{ctx.dist}: none of the selected targets is built; run `gobuildx build` first")
    view.audit_report(report)
    return report


def _enforce(report: AuditReport, warn_only: bool = False) -> None:
    from gobuildx.audit import stage as audit_stage

    audit_stage.enforce(report, warn_only=warn_only)


def image(ctx: ProjectContext, sel: Selection, opts: image_stage.Options, view: ImageView) -> image_stage.Result:
    """One image per selected Linux target (the build must have run), joined in one index.
    A push with [sign] images = true also signs every pushed manifest with the cosign key and
    attaches dist/release/'s SBOMs and attestations as referrers (sign/ makes the signatures,
    image/ pushes them: neither stage imports the other)."""
    from gobuildx.image import stage as image_stage
    from gobuildx.report import stage as report_page
    from gobuildx.sign import stage as sign_stage

    table = ctx.loaded.config.sign
    signing = None
    if opts.push and table is not None and table.images:
        signing = sign_stage.plan(ctx, [t.id for t in sel.of(ctx)], os.environ)
    try:
        extras = None
        if signing is not None:
            extras = image_stage.Extras(
                signer=sign_stage.image_signer(signing), attachments=sign_stage.image_attachments(ctx.dist)
            )
        with _io("image", ImageFailed), report_page.timed(ctx.dist, "image"):
            result = image_stage.run(ctx, sel.of(ctx), opts, extras)
    finally:
        sign_stage.close(signing)
    view.images(result)
    return result


def package(ctx: ProjectContext, sel: Selection, view: PackageView) -> package_stage.Result:
    """Linux packages of the selected targets (built and audited already): the libc dependency
    from each audit; PackageFailed before any package is written when one cannot be made."""
    from gobuildx.package import stage as package_stage
    from gobuildx.report import stage as report_page

    with _io("package", PackageFailed), report_page.timed(ctx.dist, "package"):
        result = package_stage.build(ctx, sel.of(ctx), sel.jobs)
    view.packaged(result)
    return result


class PackagedSmokeView(AuditView, PackageView, SmokeView, Protocol):
    """What `gobuildx smoke` shows when it packages first."""


def packages_for_smoke(ctx: ProjectContext, sel: Selection, view: PackagedSmokeView) -> None:
    """With a [package] table, `gobuildx smoke` includes the package level: the build's
    records are new, so audit them (warnings only: smoke judges running, not linkage) and
    package them, as a release does before its smoke stage."""
    if ctx.loaded.config.package is None:
        return
    run_audit(ctx, sel.of(ctx), sel.jobs, view, warn_only=True)
    package(ctx, sel, view)


def smoke(ctx: ProjectContext, sel: Selection, opts: smoke_stage.Options, view: SmokeView) -> smoke_stage.Outcome:
    """Run every built artifact where it would run; SmokeFailed names every target that failed."""
    from gobuildx.report import stage as report_page
    from gobuildx.smoke import stage as smoke_stage

    selected = sel.of(ctx)
    view.smoke_starting(ctx, selected)
    with _io("smoke", SmokeFailed), report_page.timed(ctx.dist, "smoke"):
        outcome = smoke_stage.smoke(ctx, selected, opts, view.smoke_reporter())
    view.smoked(outcome)
    if outcome.failed:
        raise SmokeFailed(
            f"{len(outcome.failed)} of {len(outcome.records)} targets failed smoke: {', '.join(outcome.failed)}"
        )
    return outcome


@dataclass(frozen=True)
class CheckReport:
    """`gobuildx check`: the problems that fail it (exit 2) and what it found on the way."""

    config: Path
    problems: list[str]
    targets: list[str]
    toolchains: list[tuple[str, str]]  # (target id, its C toolchain or "none (cgo off)")
    runners: list[smoke_stage.RunnerChoice]

    @property
    def ok(self) -> bool:
        return not self.problems


def check(path: Path, environ: dict[str, str], sel: Selection) -> CheckReport:
    """Everything `build` would refuse before compiling, and more, without building: the file
    (every table), the GOOS/GOARCH pairs of this Go, the C toolchain of every cgo target,
    and the smoke runner of every target (a missing runner is shown, not a problem: smoke
    skips that target)."""
    from gobuildx.errors import ConfigError, ToolchainMissing
    from gobuildx.project import context, toolchain
    from gobuildx.smoke import stage as smoke_stage

    def failed(problems: list[str]) -> CheckReport:
        return CheckReport(config=path.absolute(), problems=problems, targets=[], toolchains=[], runners=[])

    try:
        ctx = context.open_project(path, environ)
        selected = sel.of(ctx)
    except ConfigError as exc:
        return failed(exc.problems)
    except ToolchainMissing as exc:  # no Go: what the file alone says still counts
        return failed(context.file_problems(path) + [str(exc)])
    host = (ctx.go.hostos, ctx.go.hostarch)
    problems, toolchains = [], []
    for target in selected:
        try:
            tc = toolchain.resolve(target, host, ctx.environ)
        except ToolchainMissing as exc:
            why = str(exc).removeprefix(f"{target.id}: ")  # some messages name the target already
            problems.append(f"{ctx.loaded.path}: {target.id}: no C toolchain for this cgo target: {why}")
            continue
        toolchains.append((target.id, tc.description if tc else "none (cgo off)"))
    return CheckReport(
        config=ctx.loaded.path,
        problems=problems,
        targets=[t.id for t in selected],
        toolchains=toolchains,
        runners=smoke_stage.runner_choices(ctx, selected),
    )


def release(
    ctx: ProjectContext, sel: Selection, view: ReleaseView, *, allow_failures: bool = False, rebuild: bool = False
) -> ReleaseManifest:
    """Every stage a release needs, in order, then dist/release/.

    The audit only warns and a smoke failure is only recorded: the release itself refuses
    a target that failed either (or accepts it with allow_failures, recorded in its manifest)."""
    from gobuildx.sign import stage as sign_stage

    # the signing keys first: a missing secret or a wrong passphrase stops before the build
    signing = sign_stage.plan(ctx, [t.id for t in sel.of(ctx)], os.environ)
    try:
        return _release_stages(ctx, sel, view, allow_failures, signing, rebuild)
    finally:
        sign_stage.close(signing)


def _release_stages(
    ctx: ProjectContext,
    sel: Selection,
    view: ReleaseView,
    allow_failures: bool,
    signing: sign_stage.Plan | None,
    rebuild: bool = False,
) -> ReleaseManifest:
    from gobuildx.image import stage as image_stage
    from gobuildx.smoke import stage as smoke_stage

    build(ctx, sel, view, audit=False)
    run_audit(ctx, sel.of(ctx), sel.jobs, view, warn_only=True)  # verdicts recorded; release refuses a fail
    if ctx.loaded.config.image is not None:
        image(ctx, sel, image_stage.Options(), view)
    if ctx.loaded.config.package is not None:
        package(ctx, sel, view)  # before smoke: its package level installs them
    try:
        smoke(ctx, sel, smoke_stage.Options(jobs=sel.jobs), view)
    except SmokeFailed as exc:
        view.smoke_recorded(exc)
    ids = [t.id for t in sel.of(ctx)]
    rebuilt = rebuild_built(ctx, ids, view, allow_failures) if rebuild else None
    return assemble(ctx, ids, allow_failures=allow_failures, jobs=sel.jobs, signing=signing, rebuild=rebuilt)


def assemble(
    ctx: ProjectContext,
    ids: Sequence[str],
    *,
    allow_failures: bool = False,
    jobs: int = 0,
    dist: str | None = None,
    signing: sign_stage.Plan | None = None,
    rebuild: Rebuild | None = None,
) -> ReleaseManifest:
    """Write dist/release/ from what dist/manifest.json records (ReleaseRefused when a target failed),
    signed when targets.toml has a [sign] table (signing: its keys, opened already)."""
    from gobuildx.release import stage as release_stage
    from gobuildx.report import stage as report_page
    from gobuildx.sign import stage as sign_stage

    plan = signing if signing is not None else sign_stage.plan(ctx, list(ids), os.environ)
    finish = None if plan is None else functools.partial(sign_stage.run, plan, Path(dist) if dist else ctx.dist)
    try:
        if dist is not None:  # `gobuildx merge --out`: the joined folder, not the project's dist
            with _io("release", ReleaseRefused):
                inputs = release_stage.from_project(ctx, ids, allow_failures, dist=Path(dist))
                return release_stage.assemble(inputs, finish)
        with _io("release", ReleaseRefused), report_page.timed(ctx.dist, "release"):
            inputs = release_stage.from_project(ctx, ids, allow_failures, jobs, rebuild=rebuild)
            return release_stage.assemble(inputs, finish)
    finally:
        if signing is None:
            sign_stage.close(plan)


def rebuild(ctx: ProjectContext, release: Path, view: BuildView) -> release_rebuild.Rebuilt:
    """Every binary of the release at `release`, built again from its recorded commit in a fresh
    clone with an empty Go cache and the release's build date, compared by sha256."""
    from gobuildx.release import rebuild as release_rebuild
    from gobuildx.release import verify as release_verify

    problems, rm = release_verify.check(release)
    if rm is None:
        raise VerifyFailed(f"{release}: cannot rebuild: " + "; ".join(problems))
    with _fresh_build(ctx, rm.commit, rm.epoch, [t.id for t in rm.targets], view) as (rebuilt, fresh, scratch):
        return release_rebuild.compare(rm, release, rebuilt, fresh, scratch)


@contextmanager
def _fresh_build(
    ctx: ProjectContext, commit: str, epoch: int, ids: Sequence[str], view: BuildView
) -> Iterator[tuple[Manifest, Path, Path]]:
    """`ids` built from `commit` in a fresh clone, with an empty Go cache and build date `epoch`:
    (its dist manifest, its dist, a scratch folder), all gone when the block ends."""
    import tempfile

    from gobuildx.project import manifest_file
    from gobuildx.project.context import open_project
    from gobuildx.release import rebuild as release_rebuild

    with tempfile.TemporaryDirectory(prefix="gobuildx-rebuild-") as tmp:
        src = Path(tmp) / "src"
        top = release_rebuild.clone(ctx.loaded.root, commit, src)
        env = {**ctx.environ, "GOCACHE": str(Path(tmp) / "gocache"), "SOURCE_DATE_EPOCH": str(epoch)}
        fresh = open_project(src / ctx.loaded.path.relative_to(top.resolve()), env, unsigned=True)
        build(fresh, Selection(matrix="all", targets=tuple(ids)), view, force=True, audit=False)
        yield manifest_file.require(fresh.dist), fresh.dist, Path(tmp)


def rebuild_built(ctx: ProjectContext, ids: Sequence[str], view: BuildView, allow_failures: bool) -> Rebuild:
    """`release --rebuild`: dist's built binaries against a fresh build from their commit, before
    the release is written and signed, so the result goes into its manifest and provenance.
    A difference refuses the release (ReleaseRefused) unless allow_failures (then it is recorded)."""
    from gobuildx.project import manifest_file
    from gobuildx.release import rebuild as release_rebuild

    built = manifest_file.require(ctx.dist)
    ok = [i for i in ids if (r := built.target(i)) is not None and r.status == "ok"]
    epoch = built.epoch
    with _fresh_build(ctx, built.commit, epoch, ok, view) as (rebuilt, fresh, scratch):
        record, told = release_rebuild.compare_built(built, ctx.dist, ok, rebuilt, fresh, scratch)
    if told.problems and not allow_failures:
        raise ReleaseRefused(
            f"--rebuild: {len(told.problems)} binaries are not reproducible:\n  " + "\n  ".join(told.problems)
        )
    return record


def propose_smoke(ctx: ProjectContext, view: BuildView) -> tuple[str, Tried | None, list[Tried]]:
    """Build the host's own target and probe its binary for a smoke check `init` can write:
    (the binary's name, the first candidate that worked or None, every run tried)."""
    from gobuildx.smoke import probe

    host = [t for t in ctx.targets if (t.goos, t.goarch) == (ctx.go.hostos, ctx.go.hostarch)]
    if not host:
        raise GobuildxError(f"no target for this host ({ctx.go.hostos}/{ctx.go.hostarch}) to probe")
    target = min(host, key=lambda t: (t.cgo, t.id))  # a pure-Go build needs no C toolchain
    built = build(ctx, Selection(targets=(target.id,)), view, audit=False)
    record = built.records[0]
    names = [b.name for b in ctx.loaded.config.project.binary_list()]
    wanted = ctx.loaded.config.image.binary if ctx.loaded.config.image and ctx.loaded.config.image.binary else None
    artifact = next((a for a in record.artifacts if a.binary == wanted), record.artifacts[0])
    chosen, tried = probe.probe(ctx.dist / artifact.path, ctx.environ)
    return artifact.binary if artifact.binary in names else names[0], chosen, tried
