"""What the tasks share, without invoke: opening the project, the dist lock, the selection,
turning an error into its message and exit code, and the whole `build` command.

`gobuildx build` runs from here directly when cli.buildargs can read its command line
(cli.main), and through the invoke task otherwise (cli.tasks.build): the same function
either way, so the two cannot drift apart.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from gobuildx.cli import buildargs
from gobuildx.errors import BuildFailed, ConfigError, GobuildxError, WriteFailed

if TYPE_CHECKING:
    from gobuildx.pipeline import Built, Selection
    from gobuildx.project.context import ProjectContext


def failure(exc: BaseException) -> tuple[str, int] | None:
    """The one line and exit code of an error a task ends with (None: not ours to word)."""
    if isinstance(exc, GobuildxError):
        return f"gobuildx: {exc}", exc.exit_code
    if isinstance(exc, OSError):  # outside any stage (e.g. the dist lock): one line, "any other error"
        from gobuildx.util.files import describe

        return f"gobuildx: {describe(exc)}", GobuildxError.exit_code
    return None


def check_jobs(jobs: object) -> None:
    if isinstance(jobs, int) and jobs < 0:
        raise ConfigError([f"--jobs {jobs}: expected a number of parallel jobs, or 0 for one per core"])


DIST_LOCK = ".dist.lock"  # beside .manifest.lock: dist/*/* holds only target folders and their files


@contextmanager
def writing(dist: Path, failure: type[GobuildxError]) -> Iterator[None]:
    """One gobuildx command writes a dist at a time. Two at once would `go build -o` the same
    staged binary (one publishing the other's half-copied file), rename one release over the
    other, or archive an artifact the other is replacing; the second waits, and says so.
    A dist where even the lock cannot be made (read-only, full) ends with the task's code."""
    from gobuildx.util.files import describe
    from gobuildx.util.lock import file_lock

    def waiting() -> None:
        print(f"gobuildx: waiting for another gobuildx command writing {dist} ...", file=sys.stderr, flush=True)

    with ExitStack() as stack:
        try:
            stack.enter_context(file_lock(dist / DIST_LOCK, on_wait=waiting))
        except OSError as exc:
            raise WriteFailed(f"{describe(exc)} (the dist lock); nothing was written", failure.exit_code) from None
        yield


def open_at(config: str | None) -> ProjectContext:
    import os

    from gobuildx.project.context import config_path, open_project

    return open_project(config_path(config, dict(os.environ)))


def selection(matrix: str, target: Sequence[str] | None, jobs: int = 0) -> Selection:
    from gobuildx.pipeline import Selection

    return Selection(matrix=matrix, targets=tuple(target or []), jobs=jobs)


def build(args: buildargs.BuildArgs, argv: Sequence[str]) -> None:
    """Cross-compile every selected target in parallel into dist/<target-id>/ (the build task)."""
    from gobuildx import pipeline
    from gobuildx.cli.views import TerminalView

    check_jobs(args.jobs)
    ctx = open_at(args.config)
    with writing(ctx.dist, BuildFailed):
        built = pipeline.build(
            ctx,
            selection(args.matrix, args.target, args.jobs),
            TerminalView(),
            force=args.force,
            shard=args.shard,
            audit=not args.no_audit,
        )
        if built.inputs is not None:
            save_receipt(argv, ctx, built)


def build_directly(argv: Sequence[str], args: buildargs.BuildArgs) -> int:
    """`gobuildx build` without invoke: what invoke's Program does with the task's Exit (the
    message on stderr, its code), for a command line buildargs read exactly as invoke would."""
    try:
        build(args, argv)
    except BrokenPipeError:
        raise  # the reader of stdout left: main() ends with 141 and no message
    except (GobuildxError, OSError) as exc:
        said = failure(exc)
        assert said is not None
        print(said[0], file=sys.stderr)
        return said[1]
    return 0


def save_receipt(argv: Sequence[str], ctx: ProjectContext, built: Built) -> None:
    """Let the next identical `gobuildx build` answer from stat calls (gobuildx.cli.fastpath)."""
    import os

    from gobuildx.build import stamp
    from gobuildx.build.stage import stamp_path
    from gobuildx.cli import fastpath
    from gobuildx.project import manifest_file
    from gobuildx.release import merge
    from gobuildx.report import stage as report_page

    if built.inputs is None or not fastpath.wanted(argv, ctx.environ):  # e.g. the build before `smoke`
        return
    inputs, records, dist = built.inputs, built.records, ctx.dist
    lines = [f"  up to date  {r.id:28} {', '.join(str(dist / a.path) for a in r.artifacts)}" for r in records]
    lines.append(f"report: {report_page.path_in(dist)}")
    if built.audited:
        lines.append(f"audit: {len(records)} targets passed (artifacts unchanged since)")
    outputs = [dist / a.path for r in records for a in r.artifacts]
    outputs += [stamp_path(dist, r.id) for r in records]
    outputs += [manifest_file.path_in(dist), report_page.path_in(dist), dist / merge.PREBUILT]
    proj_inputs = [ctx.loaded.path, ctx.go.go, ctx.go.goroot / "VERSION"]
    version = ctx.loaded.config.project.version
    if version.startswith("file:"):
        proj_inputs.append(ctx.loaded.path.parent / version[5:])
    settled_ns = time.time_ns()
    walked = stamp.settle_dirs(inputs.seen, [dist])  # the build may have created dist/ in the module
    if walked is None:  # a file came or went during the build: let the next run look for itself
        return
    try:
        fastpath.save(
            argv,
            ctx.environ,
            os.getcwd(),
            grammar=buildargs.grammar(),
            module_dir=ctx.loaded.module_dir,
            git=inputs.git,
            go=ctx.go.go,
            go_source=ctx.go.source,
            walk_started_ns=built.walk_started_ns,
            settled_ns=settled_ns,
            walked=[(e.path, e.size, e.mtime_ns, e.ino, e.is_dir) for e in walked],
            inputs=proj_inputs,
            outputs=outputs,
            lines=lines,
        )
    except OSError as exc:  # the build succeeded; only the shortcut for the next one is lost
        print(f"gobuildx: note: no receipt for the next no-op run ({exc})", file=sys.stderr)
