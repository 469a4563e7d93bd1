"""Parallel cross-compilation of every selected target, atomically, skipping what is current."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from gobuildx import __version__
from gobuildx.build import stamp
from gobuildx.errors import ConfigError, ToolchainMissing
from gobuildx.model.manifest import ArtifactRecord, Manifest, TargetRecord
from gobuildx.project import checks, manifest_file, toolchain
from gobuildx.project.config import Binary
from gobuildx.project.context import ProjectContext
from gobuildx.project.matrix import Target
from gobuildx.project.toolchain import CToolchain
from gobuildx.util import git as vcs
from gobuildx.util.files import remove_stale, sha256_file, temporary, write_atomic
from gobuildx.util.procs import kill_group

PASS_ENV = (
    "PATH",
    "HOME",
    "USER",
    "TMPDIR",
    "LANG",
    "GOPATH",
    "GOCACHE",
    "GOMODCACHE",
    "GOENV",
    "GOPROXY",
    "GOPRIVATE",
    "GONOPROXY",
    "GONOSUMDB",
    "GOSUMDB",
    "GOINSECURE",
    "GOVCS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "ZIG_GLOBAL_CACHE_DIR",
    "ZIG_LOCAL_CACHE_DIR",
)
LOG_TAIL_LINES = 25
FLUSH_INTERVAL_S = 2.0
UNKNOWN_S, UNKNOWN_CGO_S = 1e6, 2e6  # never built: before any known duration
STATE_DIR = ".gobuildx"
# Where a run prepares files before renaming them into dist (util.files.sibling names them).
TEMPORARIES = (".*.tmp-*", ".*.old-*", "*/.*.tmp-*", f"{STATE_DIR}/stamps/.*.tmp-*")


class Step(BaseModel):
    """One `go build` of one main package."""

    model_config = ConfigDict(frozen=True)

    binary: str
    output: str  # relative to dist
    argv: list[str]


class Plan(BaseModel):
    """Everything needed to build one target, and the digest of all of it."""

    model_config = ConfigDict(frozen=True)

    target: Target
    toolchain: CToolchain | None
    env: dict[str, str]
    steps: list[Step]
    inputs: str
    stamp: stamp.Stamp


class Options(BaseModel):
    jobs: int = 0
    force: bool = False
    timeout_s: float = 3600.0


Reporter = Callable[[str, TargetRecord | str], None]


class Inputs(NamedTuple):
    """What a run's plans are made from, read once before any compiler starts."""

    git: vcs.GitFacts
    stamp: stamp.Stamp
    seen: list[stamp.Seen]  # every source file and directory, as stat saw it
    sources: str  # their digest


def gather_inputs(ctx: ProjectContext) -> Inputs:
    git = vcs.facts(ctx.loaded.module_dir)
    st = stamp.resolve(ctx.loaded.module_dir, ctx.loaded.config.project.version, ctx.loaded.path, ctx.environ, git)
    seen = stamp.walk_sources(ctx.loaded.module_dir, [ctx.dist])
    return Inputs(git=git, stamp=st, seen=seen, sources=stamp.source_digest(seen))


def plan_all(ctx: ProjectContext, targets: Sequence[Target], inputs: Inputs | None = None) -> list[Plan]:
    """Plans for every target, or one error listing every target that cannot be built."""
    inputs = inputs or gather_inputs(ctx)
    st, sources = inputs.stamp, inputs.sources
    host = (ctx.go.hostos, ctx.go.hostarch)
    plans, missing, bad = [], [], []
    for target in targets:
        try:
            tc = toolchain.resolve(target, host, ctx.environ)
        except ToolchainMissing as exc:
            missing.append(str(exc))
            continue
        try:
            plans.append(_plan(ctx, target, tc, st, sources))
        except ConfigError as exc:
            bad += [p for p in exc.problems if p not in bad]
    if bad:
        raise ConfigError(bad)
    if missing:
        raise ToolchainMissing("\n".join(missing))
    return plans


def _plan(ctx: ProjectContext, target: Target, tc: CToolchain | None, st: stamp.Stamp, sources: str) -> Plan:
    proj = ctx.loaded.config.project
    values = {
        "version": st.version,
        "commit": st.commit,
        "short_commit": st.commit[:7],  # as GoReleaser's {{ .ShortCommit }}
        "date": st.date,
        "id": target.id,
        "goos": target.goos,
        "goarch": target.goarch,
    }
    where = ctx.loaded.path
    ldflags = [checks.fill(f, values, f"project.ldflags[{i}]", where) for i, f in enumerate(proj.ldflags)]
    ldflags += [checks.fill(f, values, f"override (target {target.id}) ldflags", where) for f in target.ldflags]
    if tc:
        tc = tc.for_link(strip="-s" in " ".join(ldflags).split())
        ldflags += tc.go_ldflags()
    flags = list(proj.flags) + list(target.flags)
    tags = list(proj.tags) + list(target.tags)
    env = _env(ctx, target, tc)
    steps = [_step(ctx, target, b, flags, tags, ldflags) for b in proj.binary_list()]
    inputs = stamp.digest(__version__, ctx.go.version, ctx.go.goroot, sources, st, env, [s.argv for s in steps], tc)
    return Plan(target=target, toolchain=tc, env=env, steps=steps, inputs=inputs, stamp=st)


def _env(ctx: ProjectContext, target: Target, tc: CToolchain | None) -> dict[str, str]:
    env = {k: ctx.environ[k] for k in PASS_ENV if k in ctx.environ}
    env.update(ctx.loaded.config.project.env)
    env.update(target.env)
    env.update(target.go_env())
    env["GOTOOLCHAIN"] = "local"
    env["GOFLAGS"] = env.get("GOFLAGS", "")
    if tc:
        env.update(tc.env())
        if tc.kind == "zig":
            env["ZIG_GLOBAL_CACHE_DIR"] = str(toolchain.zig_cache_dir(ctx.environ, ctx.cache_dir))
    return env


def _step(
    ctx: ProjectContext, target: Target, binary: Binary, flags: list[str], tags: list[str], ldflags: list[str]
) -> Step:
    output = f"{target.id}/{checks.binary_file(ctx.loaded.config.project.name, binary, target, ctx.loaded.path)}"
    argv = [str(ctx.go.go), "build", *flags]
    if tags:
        argv.append("-tags=" + ",".join(tags))
    if ldflags:
        argv.append("-ldflags=" + " ".join(ldflags))
    argv += ["-o", "{output}", binary.main]
    return Step(binary=binary.name, output=output, argv=argv)


class _Running:
    """The child processes of one build run, so an interrupt can stop them all."""

    def __init__(self) -> None:
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.add(proc)

    def discard(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.discard(proc)

    def kill_all(self) -> None:
        with self._lock:
            for proc in self._procs:
                kill_group(proc, reap_s=None)  # each build thread reaps its own


def run(ctx: ProjectContext, plans: Sequence[Plan], opts: Options, report: Reporter) -> list[TargetRecord]:
    """Build every plan concurrently; a failure never stops the others."""
    dist = ctx.dist
    _clean_temporaries(dist)
    jobs = opts.jobs or os.cpu_count() or 1
    running = _Running()
    records: list[TargetRecord] = []
    header = _header(ctx, plans[0].stamp) if plans else None
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        ordered = longest_first(plans, manifest_file.read(dist))
        futures = {pool.submit(_build_one, ctx, p, opts, running, report): p for p in ordered}
        pending: list[TargetRecord] = []
        flushed = time.monotonic()
        for fut in as_completed(futures):
            record = fut.result()
            records.append(record)
            pending.append(record)
            # Fresh artifacts reach the manifest within FLUSH_INTERVAL_S (an interrupted run
            # loses at most that much of it; the per-target stamps are written at once).
            if not record.cached and time.monotonic() - flushed >= FLUSH_INTERVAL_S:
                _flush(dist, header, pending, durable=False)
                flushed = time.monotonic()
            report("done", record)
        _flush(dist, header, pending)
    except BaseException:
        running.kill_all()
        pool.shutdown(wait=True, cancel_futures=True)
        _clean_temporaries(dist)
        raise
    pool.shutdown(wait=True)
    return sorted(records, key=lambda r: r.id)


def longest_first(plans: Sequence[Plan], previous: Manifest | None) -> list[Plan]:
    """Start the longest builds first: a run ends with its last build, and a long one started
    last leaves the other slots idle meanwhile (LPT scheduling). Durations are the last
    run's (manifest.json); a target never built counts as long, a cgo one as longest."""

    def expected(plan: Plan) -> float:
        rec = previous.target(plan.target.id) if previous else None
        if rec is not None and rec.duration_s:
            return rec.duration_s
        return UNKNOWN_CGO_S if plan.target.cgo else UNKNOWN_S

    return sorted(plans, key=expected, reverse=True)


def _header(ctx: ProjectContext, st: stamp.Stamp) -> Manifest:
    return Manifest(
        gobuildx=__version__,
        project=ctx.loaded.config.project.name,
        version=st.version,
        commit=st.commit,
        date=st.date,
        go=ctx.go.version,
    )


def _flush(dist: Path, header: Manifest | None, pending: list[TargetRecord], durable: bool = True) -> None:
    if header is None or not pending:
        return
    batch = list(pending)
    pending.clear()
    manifest_file.update(dist, lambda old: _merge(old, header, batch), durable=durable)


HEADER = ("gobuildx", "project", "version", "commit", "date", "go")


def _merge(old: Manifest | None, header: Manifest, records: list[TargetRecord]) -> Manifest:
    """The old manifest with this run's header and records; other stages' data is kept."""
    if old is None:
        new = header.model_copy(update={"targets": []})
    else:
        new = old.model_copy(update={k: getattr(header, k) for k in HEADER})
        new.targets = list(old.targets)
    for record in records:
        kept = _carry_over(old.target(record.id) if old else None, record)
        new.upsert(kept)
        index = getattr(new, "image", None)
        if kept is record and index is not None and any(p.target == record.id for p in index.platforms):
            new.image = None  # the multi-arch index names an image of bytes that are gone
    return new


def _carry_over(previous: TargetRecord | None, record: TargetRecord) -> TargetRecord:
    """Keep the later stages' results (audit, image, smoke...) of byte-identical artifacts.

    A rebuilt artifact drops them: they spoke of other bytes.
    """
    if previous is None or record.status != "ok" or previous.artifacts != record.artifacts:
        return record
    later = {k: getattr(previous, k) for k in TargetRecord.model_fields if k not in record.model_fields_set}
    return record.model_copy(update=later)


def _record(plan: Plan, **fields: object) -> TargetRecord:
    t = plan.target
    base = dict(
        id=t.id,
        goos=t.goos,
        goarch=t.goarch,
        goarm=t.goarm,
        goamd64=t.goamd64,
        go386=t.go386,
        goarm64=t.goarm64,
        gomips=t.gomips,
        cgo=t.cgo,
        libc=t.libc,
        min_glibc=t.min_glibc,
        link=t.link,
        inputs=plan.inputs,
        c_toolchain=plan.toolchain.description if plan.toolchain else None,
        log=f"logs/{t.id}.log",
    )
    base.update(fields)
    return TargetRecord.model_validate(base)


def stamp_path(dist: Path, target_id: str) -> Path:
    return dist / STATE_DIR / "stamps" / f"{target_id}.json"


def _saved(dist: Path, target_id: str) -> dict[str, Any]:
    """The target's stamp, or {} when there is none or it is not shaped like one (a damaged
    stamp only costs a rebuild): a dict whose "artifacts" is a list of dicts."""
    try:
        saved = json.loads(stamp_path(dist, target_id).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict):
        return {}
    artifacts = saved.get("artifacts", [])
    if not (isinstance(artifacts, list) and all(isinstance(a, dict) for a in artifacts)):
        return {}
    return saved


def _up_to_date(dist: Path, plan: Plan) -> list[ArtifactRecord] | None:
    """The recorded artifacts if inputs and files are exactly as the last successful build left them."""
    saved = _saved(dist, plan.target.id)
    if saved.get("inputs") != plan.inputs:
        return None
    artifacts = []
    try:
        for art in saved.get("artifacts", []):
            st = os.stat(dist / art["path"])
            if (st.st_size, st.st_mtime_ns) != (art["size"], art["mtime_ns"]):
                return None
            artifacts.append(
                ArtifactRecord(binary=art["binary"], path=art["path"], size=art["size"], sha256=art["sha256"])
            )
    except (OSError, KeyError, TypeError, ValueError):  # gone, or a damaged stamp: build it again
        return None
    # the file names are not among the inputs: a changed binaries[].file must build again
    if [a.path for a in artifacts] != [s.output for s in plan.steps]:
        return None
    return artifacts or None


def _build_one(ctx: ProjectContext, plan: Plan, opts: Options, running: _Running, report: Reporter) -> TargetRecord:
    dist = ctx.dist
    if not opts.force:
        current = _up_to_date(dist, plan)
        if current:
            return _record(plan, status="ok", cached=True, artifacts=current)
    report("start", plan.target.id)
    started = time.monotonic()
    log_path = dist / "logs" / f"{plan.target.id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    artifacts: list[ArtifactRecord] = []
    zig_cache = toolchain.zig_cache_dir(ctx.environ, ctx.cache_dir)
    _drop_unknown_staging(dist, plan)
    with (
        open(log_path, "wb") as log,
        toolchain.libc_gate(  # a zig libc's first build: once at a time
            plan.toolchain, zig_cache, plan.target.id, lambda text: report("note", text)
        ) as libc_built,
    ):
        log.write(_log_header(plan).encode())
        for step in plan.steps:
            error = _run_step(ctx, plan, step, opts, running, log)
            if error:
                log.flush()
                return _record(
                    plan,
                    status="failed",
                    duration_s=round(time.monotonic() - started, 3),
                    error=error + "\n" + _tail(log_path),
                )
            artifacts.append(_finish_artifact(dist, step))
        libc_built()
    _save_stamp(dist, plan, artifacts)
    return _record(plan, status="ok", artifacts=artifacts, duration_s=round(time.monotonic() - started, 3))


def _log_header(plan: Plan) -> str:
    lines = [
        f"# target {plan.target.id}",
        f"# C toolchain: {plan.toolchain.description if plan.toolchain else 'none (cgo off)'}",
    ]
    lines += [f"# env {k}={v}" for k, v in sorted(plan.env.items()) if k.startswith(("GO", "CGO", "CC", "CXX", "ZIG"))]
    return "\n".join(lines) + "\n"


def _run_step(ctx: ProjectContext, plan: Plan, step: Step, opts: Options, running: _Running, log: object) -> str | None:
    dist = ctx.dist
    final = dist / step.output
    final.parent.mkdir(parents=True, exist_ok=True)
    staged = staging_path(dist, step)
    staged.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(staged) if a == "{output}" else a for a in step.argv]
    log.write(("$ " + shlex.join(argv) + "\n").encode())  # type: ignore[attr-defined]
    log.flush()  # type: ignore[attr-defined]
    try:
        proc = subprocess.Popen(
            argv,
            cwd=ctx.loaded.module_dir,
            env=plan.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        return f"cannot start {argv[0]}: {exc}"
    running.add(proc)
    try:
        code = proc.wait(timeout=opts.timeout_s)
    except subprocess.TimeoutExpired:
        kill_group(proc, reap_s=None)
        proc.wait()
        return f"go build timed out after {opts.timeout_s:.0f}s"
    finally:
        running.discard(proc)
    if code != 0:
        return f"go build exited with status {code}"
    publish(staged, final)
    return None


def _drop_unknown_staging(dist: Path, plan: Plan) -> None:
    """Keep a staged binary only if it is exactly what the last build published (its stamp
    says so): anything else there (a write into the artifact, which shares its inode) is
    removed, for go to write afresh rather than refuse to overwrite it."""
    published = {
        a.get("path"): (a.get("size"), a.get("mtime_ns")) for a in _saved(dist, plan.target.id).get("artifacts", [])
    }
    for step in plan.steps:
        staged = staging_path(dist, step)
        try:
            st = os.stat(staged)
        except OSError:
            continue
        if published.get(step.output) != (st.st_size, st.st_mtime_ns):
            staged.unlink()


def staging_path(dist: Path, step: Step) -> Path:
    """Where `go build -o` writes: a private path that persists between runs.

    Go does not relink when the file at -o already holds a binary with the build ID it
    would produce (what `go install` relies on), so a warm rebuild costs no link.
    """
    return dist / STATE_DIR / "out" / step.output


def publish(staged: Path, final: Path) -> None:
    """Make `staged` the artifact at `final` atomically: a hard link (no copy of the bytes)
    to a temporary name, then rename over the old artifact.

    Go never writes an -o file in place (it renames into it, or removes it and writes a
    new one), so a later build of `staged` leaves the published inode untouched.
    """
    if final.exists() and os.path.samefile(staged, final):
        return  # go found the staged binary current: it is the artifact already
    with temporary(final) as tmp:
        tmp.unlink(missing_ok=True)
        try:
            os.link(staged, tmp)
        except OSError:  # a filesystem without hard links
            shutil.copy2(staged, tmp)
        os.replace(tmp, final)


def _finish_artifact(dist: Path, step: Step) -> ArtifactRecord:
    path = dist / step.output
    return ArtifactRecord(binary=step.binary, path=step.output, size=path.stat().st_size, sha256=sha256_file(path))


def _save_stamp(dist: Path, plan: Plan, artifacts: list[ArtifactRecord]) -> None:
    saved = {
        "inputs": plan.inputs,
        "artifacts": [{**a.model_dump(), "mtime_ns": os.stat(dist / a.path).st_mtime_ns} for a in artifacts],
    }
    # A cache entry: lost or stale, it only costs a rebuild (it is checked against the artifact).
    write_atomic(stamp_path(dist, plan.target.id), json.dumps(saved).encode(), durable=False)


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    text = path.read_text(errors="replace").splitlines()
    body = [line for line in text if not line.startswith("# ")]
    return "\n".join(body[-lines:])


def _clean_temporaries(dist: Path) -> None:
    """Remove what a run that died left half-written: artifacts (`.NAME.tmp-PID`), stamps, the
    manifest and report page, a release or layout staged beside its place (`.release.tmp-PID`,
    `.NAME.old-PID`). Another live gobuildx working in the same dist may be about to rename
    its own, so only a dead process's go."""
    if dist.is_dir():
        remove_stale(dist, TEMPORARIES)
