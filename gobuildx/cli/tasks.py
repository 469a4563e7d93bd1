"""The invoke task collection behind the `gobuildx` program.

Each task is a thin shell: parse options, open the project (once per command), call
`gobuildx.pipeline` or a stage, show the result (views.TerminalView), and turn a
GobuildxError into its documented exit code. The order of the stages and the gates
between them are the pipeline's, not these tasks'.
"""

from __future__ import annotations

import functools
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke import Collection, Context, task
from invoke.exceptions import Exit

from gobuildx.cli import buildargs, common
from gobuildx.cli.buildargs import SELECT_HELP
from gobuildx.errors import (
    AuditFailed,
    ConfigError,
    GobuildxError,
    ImageFailed,
    MergeFailed,
    NotBuilt,
    PackageFailed,
    ReleaseRefused,
    SmokeFailed,
    VerifyFailed,
)

if TYPE_CHECKING:
    from pydantic import SecretStr


# Stage modules (pydantic models, parsers, jinja...) are imported inside the task that
# uses them: `gobuildx --help` or `gobuildx matrix` should not pay for all of them.


def selection_help(jobs: str | None, own: dict[str, str]) -> dict[str, str]:
    """--config/--matrix/--target help shared by every stage, then `--jobs` and the task's own options."""
    return {**SELECT_HELP, **({"jobs": jobs} if jobs else {}), **own}


def stage(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn GobuildxError into a clean message and its exit code."""

    @functools.wraps(fn)
    def wrapper(c: Context, *args: Any, **kwargs: Any) -> Any:
        try:
            common.check_jobs(kwargs.get("jobs"))
            return fn(c, *args, **kwargs)
        except BrokenPipeError:
            raise  # stdout's reader left: cli.main ends with 141 and no message
        except (GobuildxError, OSError) as exc:
            said = common.failure(exc)
            assert said is not None
            raise Exit(said[0], code=said[1]) from None

    return wrapper


@task(
    iterable=["target"],
    help={
        **SELECT_HELP,
        "json": "print the targets as JSON (the same as --format json)",
        "format": "table (default), json, or github: one line for a GitHub Actions strategy.matrix",
        "shards": "with --format github: N shard jobs ({shard: 'I/N', ...}) instead of one job per target",
    },
)
@stage
def matrix(
    c: Context,
    config: str | None = None,
    matrix: str = "all",
    target: list[str] | None = None,
    json_: bool = False,
    format: str = "table",
    shards: int = 0,
) -> None:
    """Print the expanded targets of a matrix (ids, platforms, libc, cgo)."""
    from gobuildx.cli import console as ui
    from gobuildx.project import shard as shard_stage

    if format not in ("table", "json", "github"):
        raise ConfigError([f"--format {format!r}: allowed: table, json, github"])
    if json_ and format not in ("table", "json"):
        raise ConfigError([f"--json and --format {format} disagree: --json is --format json"])
    if shards and format != "github":
        raise ConfigError([f"--shards {shards}: only with --format github (a GitHub Actions matrix of shard jobs)"])
    ctx = common.open_at(config)
    targets = ctx.select(matrix, target or [])
    if format == "github":
        print(shard_stage.github_matrix(targets, shards))
        return
    if json_ or format == "json":
        print(json.dumps([t.model_dump(mode="json") for t in targets], indent=2))
        return
    con = ui.make_console()
    from rich.table import Table

    table = Table(title=f"{len(targets)} targets ({matrix}) — {ctx.go.version}")
    for col in ("id", "goos/goarch", "variant", "libc", "cgo", "matrices"):
        table.add_column(col)
    for t in targets:
        plain = {"GOOS", "GOARCH", "CGO_ENABLED"}  # the variant column: GOARM, GOAMD64, GO386, GOARM64, GOMIPS
        variant = " ".join(f"{k}={v}" for k, v in t.go_env().items() if k not in plain)
        table.add_row(
            t.id,
            t.platform,
            variant,
            t.libc + (f" >= {t.min_glibc}" if t.min_glibc else ""),
            "on" if t.cgo else "off",
            ", ".join(t.matrices),
        )
    con.print(table)


@task(iterable=["target"], help=buildargs.HELP)
@stage
def build(
    c: Context,
    config: str | None = None,
    matrix: str = "all",
    target: list[str] | None = None,
    jobs: int = 0,
    force: bool = False,
    shard: str | None = None,
    no_audit: bool = False,
) -> None:
    """Cross-compile every selected target in parallel into dist/<target-id>/."""
    args = buildargs.BuildArgs(config, matrix, tuple(target or ()), jobs, force, shard, no_audit)
    common.build(args, c.config.get("gobuildx_argv") or [])


@task(
    iterable=["target", "path"],
    help=selection_help(
        "parallel `file`/`ldd` runs (default: two per core, at most 8)",
        {
            "path": "audit this file instead of the built matrix (repeatable; also: `gobuildx audit -- FILE...`)",
            "expect": "with --path: the declared libc to check against: static, musl, glibc",
            "min-glibc": "with --path --expect glibc: the oldest glibc the files must run on, e.g. 2.17",
            "cgo": "with --path: expect CGO_ENABLED=1 (on) or 0 (off)",
            "format": "table (default), json, markdown or junit",
            "output": "write the report in --format to this file (the table still goes to the terminal)",
            "warn-only": "report failed verdicts but exit 0",
            "no-evidence": "skip running `file` and `ldd` (parse only)",
        },
    ),
)
@stage
def audit(
    c: Context,
    config: str | None = None,
    matrix: str = "all",
    target: list[str] | None = None,
    jobs: int = 0,
    path: list[str] | None = None,
    expect: str | None = None,
    min_glibc: str | None = None,
    cgo: str | None = None,
    format: str = "table",
    output: str | None = None,
    warn_only: bool = False,
    no_evidence: bool = False,
) -> None:
    """Audit the linkage of every built artifact (or of any files) against its declaration."""
    from gobuildx import pipeline
    from gobuildx.audit import stage as audit_stage
    from gobuildx.cli.views import TerminalView

    audit_stage.check_format(format)
    view = TerminalView(audit_format=format, audit_output=output)
    paths = list(path or []) + shlex.split(c.remainder or "")
    if paths:
        opts = audit_stage.Options(evidence=not no_evidence, jobs=jobs, warn_only=warn_only)
        declared = audit_stage.expectation(expect, min_glibc, cgo)
        report = audit_stage.audit_paths([Path(p) for p in paths], declared, opts)
        view.audit_report(report)
    else:
        if expect or min_glibc or cgo:
            raise ConfigError(
                ["--expect, --min-glibc and --cgo apply to --path; targets declare theirs in targets.toml"]
            )
        ctx = common.open_at(config)
        with common.writing(ctx.dist, AuditFailed):
            report = pipeline.run_audit(
                ctx, common.selection(matrix, target).of(ctx), jobs, view, evidence=not no_evidence, warn_only=warn_only
            )
    audit_stage.enforce(report, warn_only)


@task(
    optional=["from_goreleaser"],
    help={
        "force": "overwrite an existing targets.toml",
        "dir": "the Go module directory (default: .)",
        "from-goreleaser": "translate this .goreleaser.yaml ('auto': the one beside go.mod) instead",
        "no-probe": "do not build the host's target to propose a [smoke] check",
    },
)
@stage
def init(
    c: Context, dir: str = ".", force: bool = False, from_goreleaser: str | bool | None = None, no_probe: bool = False
) -> None:
    """Inspect the Go module and write a starter targets.toml (or translate .goreleaser.yaml)."""
    from gobuildx.project import scaffold

    if from_goreleaser is not None:
        given = None if from_goreleaser in (True, "", "auto") else str(from_goreleaser)
        source = Path(given) if given else None
        path, lines = scaffold.write_from_goreleaser(Path(dir), source, force=force)
        print("migration report (also at the top of the file):")
        for line in lines or ["nothing left untranslated"]:
            print(f"  {line}")
        print(f"wrote {path}")
    else:
        path, note = scaffold.write_starter(Path(dir), force=force)
        if note:
            print(note)
        print(f"wrote {path}")
    if not no_probe:
        _propose_smoke(path)


def _propose_smoke(path: Path) -> None:
    """Build the host's target, probe it, and write the first argument that works into [smoke]."""
    from gobuildx import pipeline
    from gobuildx.cli.views import TerminalView
    from gobuildx.errors import GobuildxError
    from gobuildx.project import scaffold
    from gobuildx.smoke import probe

    try:
        ctx = common.open_at(str(path))
        binary, chosen, tried = pipeline.propose_smoke(ctx, TerminalView())
    except GobuildxError as exc:
        print(f"no smoke check proposed: could not build the host's target to probe it ({exc})")
        print('add a [smoke] table by hand (docs/smoke.md), e.g. args = ["--version"]')
        return
    comment = probe.smoke_comment(chosen, tried, binary)
    scaffold.add_smoke(path, comment, list(chosen.args) if chosen else None)
    print(comment.rstrip())
    print(f"{path}: [smoke] args = {list(chosen.args)}" if chosen else f"{path}: no [smoke] table written")


@task(iterable=["target"], help=SELECT_HELP)
@stage
def doctor(c: Context, config: str | None = None, matrix: str = "all", target: list[str] | None = None) -> None:
    """Show the Go toolchain and the C toolchain each target resolves to."""
    from gobuildx.project import toolchain

    ctx = common.open_at(config)
    print(f"go: {ctx.go.version} at {ctx.go.go} (from {ctx.go.source}); GOCACHE={ctx.go.gocache}")
    host = (ctx.go.hostos, ctx.go.hostarch)
    for tid, desc in toolchain.describe_all(ctx.select(matrix, target or []), host, ctx.environ):
        print(f"  {tid:28} {desc}")
    from gobuildx.cli import smoke_view
    from gobuildx.smoke.runners.registry import all_runners

    print("smoke runners:")
    for text in smoke_view.runner_lines([r.availability(ctx.environ) for r in all_runners()]):
        print(text)
    from gobuildx.util import sandbox

    print("smoke sandbox (native, qemu, wine, node, image-rootfs; and ldd on files gobuildx did not build):")
    for line in sandbox.host(ctx.environ).lines():
        print(f"  {line}")


@task(
    iterable=["target"],
    help={**SELECT_HELP, "format": "text (default), or json: one object for editors and CI"},
)
@stage
def check(
    c: Context, config: str | None = None, matrix: str = "all", target: list[str] | None = None, format: str = "text"
) -> None:
    """Check targets.toml and this machine without building: every problem at once."""
    import os

    from gobuildx import pipeline
    from gobuildx.cli import views
    from gobuildx.project.context import config_path

    if format not in ("text", "json"):
        raise ConfigError([f"--format {format!r}: allowed: text, json"])
    environ = dict(os.environ)
    report = pipeline.check(config_path(config, environ), environ, common.selection(matrix, target))
    if format == "json":
        print(json.dumps(views.check_json(report), indent=2))
        if not report.ok:
            raise Exit(code=ConfigError.exit_code)
        return
    if not report.ok:
        raise ConfigError(report.problems)  # printed as every stage prints them
    views.print_check(report)


@task(
    help={
        "config": "path to targets.toml (for its dist directory)",
        "dist": "render this dist directory instead (no targets.toml or Go needed)",
    }
)
@stage
def report(c: Context, config: str | None = None, dist: str | None = None) -> None:
    """Regenerate dist/report.html (the matrix as one self-contained page) from dist/manifest.json."""
    from gobuildx.report import stage as report_page

    where = Path(dist) if dist else common.open_at(config).dist
    page = report_page.refresh(where)
    if page is None:
        raise NotBuilt(f"{where}: no manifest.json yet; run `gobuildx build` first")
    print(f"wrote {page}")


@task(
    iterable=["target", "mount_from"],
    help=selection_help(
        "parallel builds for the build this needs (default: one per core)",
        {
            "target": SELECT_HELP["target"] + "; only Linux targets matching image.targets get images",
            "repository": "image repository, overriding image.repository (e.g. 127.0.0.1:5000/hello)",
            "push": "push every platform image, then the multi-arch index under each tag",
            "oci_layout": "build without a daemon: write an OCI image layout (all platforms) to this directory",
            "tarballs": "build without a daemon: write one `docker load`-able tarball per target to this directory",
            "login": "push as this user, with the password read from stdin (like docker login --password-stdin)",
            "mount_from": "another repository of the same registry to mount existing blobs from (repeatable)",
        },
    ),
)
@stage
def image(
    c: Context,
    config: str | None = None,
    matrix: str = "all",
    target: list[str] | None = None,
    jobs: int = 0,
    repository: str | None = None,
    push: bool = False,
    oci_layout: str | None = None,
    tarballs: str | None = None,
    login: str | None = None,
    mount_from: list[str] | None = None,
) -> None:
    """Build one FROM-scratch image per Linux target (Docker engine, or daemonless), join them in one index."""
    from gobuildx import pipeline
    from gobuildx.cli.views import TerminalView
    from gobuildx.image import stage as image_stage

    ctx, sel, view = common.open_at(config), common.selection(matrix, target, jobs), TerminalView()
    opts = image_stage.Options(
        repository=repository,
        push=push,
        oci_layout=Path(oci_layout) if oci_layout else None,
        tarballs=Path(tarballs) if tarballs else None,
        login=login,
        password=_stdin_password() if login else None,
        mount_from=mount_from or [],
    )
    with common.writing(ctx.dist, ImageFailed):
        pipeline.build(ctx, sel, view)
        pipeline.image(ctx, sel, opts, view)


def _stdin_password() -> SecretStr:
    """The --login password: stdin up to its end, without the final newline (as `docker login
    --password-stdin` reads it); never echoed, never an argument (a process list shows those)."""
    from pydantic import SecretStr

    return SecretStr(sys.stdin.read().rstrip("\r\n"))


@task(iterable=["target"], help=selection_help("parallel builds and packages (default: one per core)", {}))
@stage
def package(
    c: Context, config: str | None = None, matrix: str = "all", target: list[str] | None = None, jobs: int = 0
) -> None:
    """Build and audit, then write deb, rpm, apk and archlinux packages of the Linux targets ([package], nfpm)."""
    from gobuildx import pipeline
    from gobuildx.cli.views import TerminalView

    ctx, sel, view = common.open_at(config), common.selection(matrix, target, jobs), TerminalView()
    with common.writing(ctx.dist, PackageFailed):
        pipeline.build(ctx, sel, view)
        pipeline.package(ctx, sel, view)


@task(
    iterable=["target"],
    help=selection_help(
        "parallel work (default: one per core)",
        {
            "allow_failures": "release even if an audit or smoke test failed (recorded in manifest.json)",
            "rebuild": "build every binary again from the commit (fresh clone, empty Go cache), record the result",
        },
    ),
)
@stage
def release(
    c: Context,
    config: str | None = None,
    matrix: str = "all",
    target: list[str] | None = None,
    jobs: int = 0,
    allow_failures: bool = False,
    rebuild: bool = False,
) -> None:
    """Write dist/release/: archives, SBOMs, manifest.json and SHA256SUMS (after the stages it needs)."""
    from gobuildx import pipeline
    from gobuildx.cli.views import TerminalView, print_release
    from gobuildx.model.release import RELEASE_DIR

    ctx = common.open_at(config)
    with common.writing(ctx.dist, ReleaseRefused):
        rm = pipeline.release(
            ctx, common.selection(matrix, target, jobs), TerminalView(), allow_failures=allow_failures, rebuild=rebuild
        )
    print_release(rm, ctx.dist / RELEASE_DIR, ctx.loaded.config.project.version)


@task(
    iterable=["dir", "target"],
    help={
        "dir": "a runner's dist folder (repeat --dir for each; a quoted glob such as 'shards/*' works)",
        "out": "the joined dist folder (default: the project's dist)",
        "config": "path to targets.toml (the same one every shard used)",
        "matrix": "the --matrix the shards used (default: all)",
        "target": "the --target globs the shards used (repeatable)",
        "allow_failures": "release even if an audit or smoke test failed",
        "no_release": "only join the dist folders; do not write <out>/release/",
    },
)
@stage
def merge(
    c: Context,
    dir: list[str] | None = None,
    out: str | None = None,
    config: str | None = None,
    matrix: str = "all",
    target: list[str] | None = None,
    allow_failures: bool = False,
    no_release: bool = False,
) -> None:
    """Join the dist folders of several CI runners (built with --shard) into one dist and one release."""
    from gobuildx import pipeline
    from gobuildx.cli.views import print_release
    from gobuildx.model.release import RELEASE_DIR
    from gobuildx.release import merge as merge_stage

    ctx = common.open_at(config)
    dirs = merge_stage.expand_dirs(dir or [])
    if not dirs:
        raise GobuildxError("merge needs the runners' dist folders: --dir A --dir B (or --dir 'shards/*')")
    ids = [t.id for t in ctx.select(matrix, target or [])]
    dest = Path(out).resolve() if out else ctx.dist
    with common.writing(dest, MergeFailed):
        joined = merge_stage.join(dirs, dest, ids)
        print(f"merged {len(joined.targets)} targets from {len(dirs)} runners into {dest}")
        if not no_release:
            rm = pipeline.assemble(ctx, ids, allow_failures=allow_failures, dist=str(dest))
            print_release(rm, dest / RELEASE_DIR, ctx.loaded.config.project.version)


@task(
    iterable=["key"],
    help={
        "dir": "the release folder, e.g. dist/release (positional, or --dir)",
        "key": "a public key: minisign, PEM (cosign) or OpenPGP, told apart by content (repeatable)",
        "require_signatures": "fail unless SHA256SUMS has a signature the keys verify and provenance exists",
        "rebuild": "build every binary again from the recorded commit (fresh clone, empty Go cache) and compare",
        "config": "with --rebuild: targets.toml of the project the release came from",
    },
)
@stage
def verify(
    c: Context,
    dir: str,
    key: list[str] | None = None,
    require_signatures: bool = False,
    rebuild: bool = False,
    config: str | None = None,
) -> None:
    """Re-check a release folder: SHA256SUMS, archives, SBOMs, manifest.json, signatures, provenance."""
    from gobuildx.release import verify as verify_stage
    from gobuildx.sign import verify as trust

    keys, problems = trust.read_keys([Path(k) for k in key or []])
    found, rm = verify_stage.check(Path(dir))
    problems += found
    signed = trust.Result()
    if rm is not None:
        signed = trust.check(Path(dir), rm, keys, require_signatures)
        problems += signed.problems
    if rebuild and not problems:
        from gobuildx import pipeline
        from gobuildx.cli.views import TerminalView

        rebuilt = pipeline.rebuild(common.open_at(config), Path(dir), TerminalView())
        problems += rebuilt.problems
        if not rebuilt.problems:
            print(f"{dir}: rebuilt {len(rebuilt.identical)} binaries from the recorded commit: all identical")
    if problems:
        raise VerifyFailed(f"{dir}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    count = len(rm.targets) if rm else 0
    print(f"{dir}: OK ({count} targets; checksums, archives, SBOMs and manifest agree)")
    if signed.verified:
        print(f"{dir}: {len(signed.verified)} signature(s) verified: {', '.join(signed.verified)}")
    if signed.unchecked:
        print(f"{dir}: not checked (no --key of their kind): {', '.join(signed.unchecked)}")


@task(
    iterable=["target"],
    help=selection_help(
        "parallel smoke runs (default: one per core)",
        {
            "junit": "write the JUnit XML here (default: dist/smoke-junit.xml)",
        },
    ),
)
@stage
def smoke(
    c: Context,
    config: str | None = None,
    matrix: str = "all",
    target: list[str] | None = None,
    jobs: int = 0,
    junit: str | None = None,
) -> None:
    """Run every artifact where it would run (native, QEMU, Wine, wasmtime, Node, its image, its packages)."""
    from gobuildx import pipeline
    from gobuildx.cli.views import TerminalView
    from gobuildx.smoke import stage as smoke_stage

    ctx, sel, view = common.open_at(config), common.selection(matrix, target, jobs), TerminalView()
    with common.writing(ctx.dist, SmokeFailed):
        pipeline.build(ctx, sel, view, audit=False)
        pipeline.packages_for_smoke(ctx, sel, view)
        pipeline.smoke(ctx, sel, smoke_stage.Options(jobs=jobs, junit=Path(junit) if junit else None), view)


def collection() -> Collection:
    ns = Collection()
    for t in (release, merge, verify):
        ns.add_task(t)
    for t in (init, check, matrix, build, audit, doctor, report):
        ns.add_task(t)
    ns.add_task(image)
    ns.add_task(package)
    ns.add_task(smoke)
    return ns
