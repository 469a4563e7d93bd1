"""The smoke stage: run every built artifact where it would run, and record the verdicts.

Per target: the first artifact runner that applies (native, qemu, wine, wasmtime, node) runs
each binary; every image runner that applies (container, image-rootfs) runs too, and every
package runner (deb, lintian, rpm, pacman, apk: the `package` level) for the packages it has. A target
nobody can run here is SKIPPED with the reason, never passed.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from gobuildx.model.manifest import Manifest, TargetRecord
from gobuildx.project import checks, manifest_file
from gobuildx.project.config import SmokeTable
from gobuildx.project.context import ProjectContext
from gobuildx.project.matrix import Target
from gobuildx.smoke.runners.base import (
    Availability,
    Check,
    Host,
    Job,
    Runner,
    SmokeRecord,
    SmokeResult,
)
from gobuildx.smoke.runners.registry import all_runners
from gobuildx.util import junit
from gobuildx.util.files import write_atomic

JUNIT = "smoke-junit.xml"
SCRATCH = ".smoke"

Reporter = Callable[[str, SmokeResult], None]


class Options(BaseModel):
    jobs: int = 0
    junit: Path | None = None  # default: dist/smoke-junit.xml


class Task(BaseModel):
    """One unit of parallel work: a runner on a job, or a verdict decided without running."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    target: str
    job: Job | None = None
    runner: Runner | None = None
    decided: SmokeResult | None = None


class Outcome(BaseModel):
    records: dict[str, SmokeRecord]
    junit: Path

    @property
    def failed(self) -> list[str]:
        return sorted(t for t, r in self.records.items() if r.status == "failed")


def host_of(ctx: ProjectContext) -> Host:
    return Host(goos=ctx.go.hostos, goarch=ctx.go.hostarch)


def smoke(
    ctx: ProjectContext,
    targets: Sequence[Target],
    opts: Options,
    report: Reporter | None = None,
    runners: Sequence[Runner] | None = None,
) -> Outcome:
    """Plan, run in parallel, write manifest.json and JUnit XML; return every verdict."""
    mf = manifest_file.require(ctx.dist)  # a target missing from it fails; no manifest at all: not built
    chosen = list(runners) if runners is not None else all_runners()
    avail = AvailabilityCache(ctx.environ)
    ports = PortBook()
    tasks = [t for target in targets for t in plan_target(ctx, target, mf, chosen, avail, ports)]
    started = time.monotonic()
    results = run_tasks(tasks, opts.jobs or os.cpu_count() or 2, ports, report)
    records = aggregate(targets, results)
    write_manifest(ctx.dist, records)
    junit = opts.junit or ctx.dist / JUNIT
    write_junit(junit, targets, results, time.monotonic() - started)
    return Outcome(records=records, junit=junit)


def plan_target(
    ctx: ProjectContext,
    target: Target,
    mf: Manifest | None,
    runners: Sequence[Runner],
    avail: AvailabilityCache,
    ports: PortBook,
) -> list[Task]:
    """The tasks of one target: one per binary for its artifact runner, plus its image checks."""
    if target.smoke.skip:
        return [decided(target.id, "config", "skipped", f"[smoke] skip: {target.smoke.skip}")]
    record = mf.target(target.id) if mf else None
    if record is None or record.status != "ok" or not record.artifacts:
        why = record.error.splitlines()[0] if record and record.error else "no artifact in manifest.json"
        return [decided(target.id, "build", "failed", f"not built ({why}); run `gobuildx build`")]
    version = mf.version if mf else ""
    jobs = [make_job(ctx, target, record, a.binary, ctx.dist / a.path, version, ports) for a in record.artifacts]
    tasks = [artifact_task(target, job, runners, avail, ctx) for job in jobs]
    first = record.artifacts[0]
    for runner in (r for r in runners if r.kind in ("image", "package")):
        # A job of its own: in server mode, its own port (it runs beside the artifact check).
        job = make_job(ctx, target, record, first.binary, ctx.dist / first.path, version, ports)
        if runner.applies(job):
            tasks.append(runner_task(target.id, job, runner, avail.get(runner)))
    return tasks


class RunnerChoice(BaseModel):
    """The runner `gobuildx smoke` would use for a target on this host, decided without a build."""

    target: str
    runner: str  # "none": nothing runs this platform here; "config": [smoke] skip
    available: bool
    detail: str  # the tool found, or why it cannot run, and what to install


def runner_choices(ctx: ProjectContext, targets: Sequence[Target]) -> list[RunnerChoice]:
    """For `gobuildx check`: the artifact runner of each target, from the target alone
    (`applies` is pure), at the path the build would write."""
    runners = [r for r in all_runners() if r.kind == "artifact"]
    avail = AvailabilityCache(ctx.environ)
    first = ctx.loaded.config.project.binary_list()[0]
    binary, project = first.name, ctx.loaded.config.project.name
    out = []
    for target in targets:
        if target.smoke.skip:
            out.append(RunnerChoice(target=target.id, runner="config", available=True, detail=target.smoke.skip))
            continue
        job = Job(
            target=target,
            binary=binary,
            artifact=ctx.dist / target.id / checks.binary_file(project, first, target, ctx.loaded.path),
            check=Check(),
            host=host_of(ctx),
            goroot=ctx.go.goroot,
            cache_dir=ctx.cache_dir,
            work_dir=ctx.dist / SCRATCH / target.id,
            environ=ctx.environ,
        )
        runner = next((r for r in runners if r.applies(job)), None)
        if runner is None:
            why = no_runner_reason(target, job.host)
            out.append(RunnerChoice(target=target.id, runner="none", available=False, detail=why))
            continue
        a = avail.get(runner)
        detail = a.detail if a.available else f"{a.detail}; install: {a.install}"
        out.append(RunnerChoice(target=target.id, runner=runner.name, available=a.available, detail=detail))
    return out


def artifact_task(
    target: Target, job: Job, runners: Sequence[Runner], avail: AvailabilityCache, ctx: ProjectContext
) -> Task:
    runner = next((r for r in runners if r.kind == "artifact" and r.applies(job)), None)
    if runner is None:
        return decided(target.id, "none", "skipped", no_runner_reason(target, host_of(ctx)), job.binary)
    return runner_task(target.id, job, runner, avail.get(runner))


def runner_task(target_id: str, job: Job, runner: Runner, avail: Availability) -> Task:
    if not avail.available:
        reason = f"runner unavailable: {avail.detail}; install: {avail.install}"
        return decided(target_id, runner.name, "skipped", reason, job.binary)
    return Task(target=target_id, job=job, runner=runner)


def decided(target_id: str, runner: str, status: str, reason: str, binary: str = "") -> Task:
    return Task(
        target=target_id,
        decided=SmokeResult(
            runner=runner,
            binary=binary,
            status=status,  # type: ignore[arg-type]
            reason=reason,
        ),
    )


def no_runner_reason(target: Target, host: Host) -> str:
    where = {"darwin": "a macOS host", "ios": "an iOS device", "android": "an Android device or emulator"}
    needs = where.get(target.goos, f"a {target.platform} machine")
    return f"no runner for {target.platform} on this {host.goos}/{host.goarch} host (needs {needs})"


def make_job(
    ctx: ProjectContext,
    target: Target,
    record: TargetRecord,
    binary: str,
    artifact: Path,
    version: str,
    ports: PortBook,
) -> Job:
    values = {"goos": target.goos, "goarch": target.goarch, "target": target.id, "binary": binary, "version": version}
    return Job(
        target=target,
        binary=binary,
        artifact=artifact.resolve(),
        check=make_check(target.smoke, values, ports),
        host=host_of(ctx),
        goroot=ctx.go.goroot,
        cache_dir=ctx.cache_dir,
        work_dir=ctx.dist / SCRATCH / target.id,
        environ=ctx.environ,
        record=record,
        dist=ctx.dist,
    )


def make_check(table: SmokeTable, values: dict[str, str], ports: PortBook) -> Check:
    port = None if table.port is None else (table.port or ports.free())
    filled = {**values, "port": str(port or "")}
    return Check(
        args=[fill(a, filled) for a in table.args],
        env={k: fill(v, filled) for k, v in table.env.items()},
        exit_code=table.exit_code,
        expect=fill(table.expect, filled) if table.expect else None,
        timeout_s=table.timeout,
        port=port,
        http_path=table.http_path,
        http_status=table.http_status,
        sandbox=table.sandbox,
        memory_mib=table.memory,
        processes=table.processes,
        file_size_mib=table.file_size,
    )


def fill(text: str, values: dict[str, str]) -> str:
    """Replace only the known {placeholders}: a regex's own braces ({2,3}) stay as they are."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


class AvailabilityCache:
    """Each runner's availability, asked once per run and only if some target needs that runner."""

    def __init__(self, environ: dict[str, str]) -> None:
        self._environ = environ
        self._known: dict[str, Availability] = {}

    def get(self, runner: Runner) -> Availability:
        if runner.name not in self._known:
            self._known[runner.name] = runner.availability(self._environ)
        return self._known[runner.name]


class PortBook:
    """Free ports handed out in this run, and a lock per fixed port so servers never collide."""

    def __init__(self) -> None:
        self._given: set[int] = set()
        self._locks: dict[int, threading.Lock] = {}
        self._mutex = threading.Lock()

    def free(self) -> int:
        with self._mutex:
            while True:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", 0))
                    port = int(s.getsockname()[1])
                if port not in self._given:
                    self._given.add(port)
                    return port

    def lock(self, port: int) -> threading.Lock:
        with self._mutex:
            return self._locks.setdefault(port, threading.Lock())


def run_tasks(
    tasks: Sequence[Task], jobs: int, ports: PortBook, report: Reporter | None
) -> list[tuple[str, SmokeResult]]:
    def one(task: Task) -> tuple[str, SmokeResult]:
        result = task.decided or run_one(task, ports)
        if report:
            report(task.target, result)
        return task.target, result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, tasks))


def run_one(task: Task, ports: PortBook) -> SmokeResult:
    assert task.job is not None and task.runner is not None
    start = time.monotonic()
    try:
        if task.job.check.port:
            with ports.lock(task.job.check.port):
                result = task.runner.run(task.job)
        else:
            result = task.runner.run(task.job)
    except Exception as exc:
        return SmokeResult(
            runner=task.runner.name,
            binary=task.job.binary,
            status="failed",
            reason=f"runner error: {exc.__class__.__name__}: {exc}",
            duration_s=round(time.monotonic() - start, 3),
        )
    # The whole cost of the check, including one-time setup (a Wine prefix, the shim DLL).
    update: dict[str, object] = {"duration_s": round(time.monotonic() - start, 3)}
    if result.log:
        update["log"] = relative_log(result.log, task.job)
    return result.model_copy(update=update)


def relative_log(log: str, job: Job) -> str:
    dist = job.work_dir.parent.parent
    try:
        return Path(log).resolve().relative_to(dist.resolve()).as_posix()
    except ValueError:
        return log


def aggregate(targets: Sequence[Target], results: Sequence[tuple[str, SmokeResult]]) -> dict[str, SmokeRecord]:
    out = {}
    for target in targets:
        mine = [r for tid, r in results if tid == target.id]
        statuses = {r.status for r in mine}
        status = "failed" if "failed" in statuses else "passed" if "passed" in statuses else "skipped"
        out[target.id] = SmokeRecord(
            status=status,
            results=mine,  # type: ignore[arg-type]
            duration_s=round(sum(r.duration_s for r in mine), 3),
        )
    return out


def write_manifest(dist: Path, records: dict[str, SmokeRecord]) -> None:
    def change(mf: Manifest | None) -> Manifest:
        assert mf is not None
        mf.targets = [t.model_copy(update={"smoke": records[t.id]}) if t.id in records else t for t in mf.targets]
        return mf

    if manifest_file.read(dist) is not None:
        manifest_file.update(dist, change)


def write_junit(
    path: Path, targets: Sequence[Target], results: Sequence[tuple[str, SmokeResult]], elapsed: float
) -> None:
    """JUnit XML: one testcase per target x runner x binary; skipped and failed as JUnit says."""
    cases = []
    for tid, r in results:
        cases.append(
            junit.Case(
                classname=f"smoke.{tid}",
                name=f"{r.runner}:{r.binary}" if r.binary else r.runner,
                time=f"{r.duration_s:.3f}",
                failure=(r.reason, None, r.output) if r.status == "failed" else None,
                skipped=r.reason if r.status == "skipped" else None,
                system_out=" ".join(r.command) + "\n" + r.output if r.output or r.command else None,
            )
        )
    counts = {
        "tests": str(len(cases)),
        "failures": str(sum(1 for _, r in results if r.status == "failed")),
        "skipped": str(sum(1 for _, r in results if r.status == "skipped")),
    }
    suite = junit.Suite(name="gobuildx smoke", cases=cases, attrs={"time": f"{elapsed:.3f}", **counts})
    write_atomic(path, junit.document("gobuildx", [suite]).encode())
