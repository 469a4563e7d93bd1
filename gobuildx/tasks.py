"""The invoke task collection behind the `gobuildx` program.

Each task is a thin shell: parse options, open the project, call the stage
module, print, and turn a GobuildxError into its documented exit code.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from invoke import Collection, Context, Executor, task
from invoke.exceptions import Exit
from invoke.tasks import Call, Task

from gobuildx import build as build_stage
from gobuildx import console as ui
from gobuildx import scaffold, toolchain
from gobuildx.errors import BuildFailed, GobuildxError
from gobuildx.project import ProjectContext, config_path, open_project

# Options that select what a stage works on; passed down to its pre-tasks.
SHARED = ("config", "matrix", "target", "jobs")


def stage(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn GobuildxError into a clean message and its exit code."""

    @functools.wraps(fn)
    def wrapper(c: Context, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(c, *args, **kwargs)
        except GobuildxError as exc:
            raise Exit(f"gobuildx: {exc}", code=exc.exit_code) from None

    return wrapper


class StageExecutor(Executor):
    """Invoke's executor, but a pre-task gets the selection options of the task that needs it.

    `gobuildx smoke --matrix release` then builds the release matrix first, not the default.
    """

    def expand_calls(self, calls: list[Any]) -> list[Call]:  # type: ignore[override]
        ret: list[Call] = []
        for call in calls:
            if isinstance(call, Task):
                call = Call(call)
            pre = [self._inherit(call, p) for p in call.pre]
            ret.extend(self.expand_calls(pre))
            ret.append(call)
            ret.extend(self.expand_calls(list(call.post)))
        return ret

    @staticmethod
    def _inherit(parent: Call, pre: Any) -> Call:
        child = pre if isinstance(pre, Call) else Call(pre)
        accepted = inspect.signature(child.task.body).parameters
        kwargs = dict(child.kwargs or {})
        for key in SHARED:
            if key in accepted and key in (parent.kwargs or {}):
                kwargs.setdefault(key, parent.kwargs[key])
        return Call(child.task, args=child.args, kwargs=kwargs, called_as=child.called_as)


def _open(config: str | None) -> ProjectContext:
    import os

    return open_project(config_path(config, dict(os.environ)))


@task(
    help={
        "config": "path to targets.toml (default: ./targets.toml or $GOBUILDX_CONFIG)",
        "matrix": "matrix name, or 'all' (default)",
        "json": "print the targets as JSON",
    }
)
@stage
def matrix(c: Context, config: str | None = None, matrix: str = "all", json_: bool = False) -> None:
    """Print the expanded targets of a matrix (ids, platforms, libc, cgo)."""
    ctx = _open(config)
    targets = ctx.select(matrix)
    if json_:
        print(json.dumps([t.model_dump(mode="json") for t in targets], indent=2))
        return
    con = ui.make_console()
    from rich.table import Table

    table = Table(title=f"{len(targets)} targets ({matrix}) — {ctx.go.version}")
    for col in ("id", "goos/goarch", "variant", "libc", "cgo", "matrices"):
        table.add_column(col)
    for t in targets:
        variant = t.goarm and f"GOARM={t.goarm}" or t.goamd64 and f"GOAMD64={t.goamd64}" or ""
        table.add_row(t.id, t.platform, variant, t.libc + (f" >= {t.min_glibc}" if t.min_glibc else ""),
                      "on" if t.cgo else "off", ", ".join(t.matrices))
    con.print(table)


@task(
    iterable=["target"],
    help={
        "config": "path to targets.toml",
        "matrix": "matrix name, or 'all' (default)",
        "target": "target id or shell glob (repeatable), e.g. 'linux-*' or '*-musl'",
        "jobs": "parallel builds (default: one per core)",
        "force": "rebuild even targets whose inputs did not change",
    },
)
@stage
def build(c: Context, config: str | None = None, matrix: str = "all", target: list[str] | None = None,
          jobs: int = 0, force: bool = False) -> None:
    """Cross-compile every selected target in parallel into dist/<target-id>/."""
    ctx = _open(config)
    selected = ctx.select(matrix, target or [])
    plans = build_stage.plan_all(ctx, selected)
    con = ui.make_console()
    con.print(f"gobuildx: {len(plans)} targets with {ctx.go.version} ({ctx.go.go}, from {ctx.go.source})",
              highlight=False)
    with ui.build_progress(con, len(plans)) as report:
        records = build_stage.run(ctx, plans, build_stage.Options(jobs=jobs, force=force), report)  # type: ignore[arg-type]
    ui.summary(con, records, str(ctx.dist))
    failed = [r.id for r in records if r.status == "failed"]
    if failed:
        raise BuildFailed(f"{len(failed)} of {len(records)} targets failed: {', '.join(failed)}")


@task(help={"force": "overwrite an existing targets.toml", "dir": "the Go module directory (default: .)"})
@stage
def init(c: Context, dir: str = ".", force: bool = False) -> None:
    """Inspect the Go module and write a starter targets.toml."""
    path = scaffold.write_starter(Path(dir), force=force)
    print(f"wrote {path}")


@task(help={"config": "path to targets.toml", "matrix": "matrix name, or 'all'"})
@stage
def doctor(c: Context, config: str | None = None, matrix: str = "all") -> None:
    """Show the Go toolchain and the C toolchain each target resolves to."""
    ctx = _open(config)
    print(f"go: {ctx.go.version} at {ctx.go.go} (from {ctx.go.source}); GOCACHE={ctx.go.gocache}")
    host = (ctx.go.hostos, ctx.go.hostarch)
    for tid, desc in toolchain.describe_all(ctx.select(matrix), host, ctx.environ):
        print(f"  {tid:28} {desc}")


def collection() -> Collection:
    ns = Collection()
    for t in (init, matrix, build, doctor):
        ns.add_task(t)
    return ns

