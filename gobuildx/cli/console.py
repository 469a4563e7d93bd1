"""Terminal output: a live progress display on a TTY, plain lines in CI and pipes.

rich is imported by the functions that draw with it: in CI and pipes the lines of a build
are plain `print`s, and rich (~20 ms) is not in the way of the first `go build`.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from gobuildx.model.manifest import TargetRecord

if TYPE_CHECKING:
    from rich.console import Console

STYLE = {"ok": "green", "failed": "bold red", "skipped": "yellow"}


def interactive(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    return stream.isatty() and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"


def make_console() -> Console:
    from rich.console import Console

    class PipeAwareConsole(Console):
        def on_broken_pipe(self) -> None:
            # rich's own answer is SystemExit(1), a failed audit's code: let cli.main end
            # it as every other write to a reader that left (141, no message)
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, "the reader of stdout left")

    if interactive():
        return PipeAwareConsole()
    return PipeAwareConsole(force_terminal=False, no_color=True, width=max(100, _columns()), soft_wrap=True)


def _columns() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 120


@contextmanager
def plain_progress() -> Iterator[object]:
    """Yield a reporter(event, payload) for build.run printing a line per finished target."""

    def plain(event: str, payload: object) -> None:
        if event == "done" and isinstance(payload, TargetRecord):
            print(_line(payload))
        elif event == "note":
            print(payload)

    yield plain


@contextmanager
def build_progress(console: Console, total: int) -> Iterator[object]:
    """Yield a reporter(event, payload) for build.run: a live display on a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    if not console.is_terminal:
        with plain_progress() as plain:
            yield plain
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]build"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    )
    task = progress.add_task("", total=total)
    active: list[str] = []

    def live(event: str, payload: object) -> None:
        if event == "start":
            active.append(str(payload))
        elif event == "done" and isinstance(payload, TargetRecord):
            if payload.id in active:
                active.remove(payload.id)
            progress.advance(task)
            progress.console.print(_line(payload))
        elif event == "note":
            progress.console.print(str(payload))
        progress.update(task, description=", ".join(active[-4:]))

    with progress:
        yield live


def _line(r: TargetRecord) -> str:
    if r.status == "ok" and r.cached:
        return f"  up to date  {r.id}"
    if r.status == "ok":
        return f"  built       {r.id}  ({r.duration_s:.1f}s)"
    return f"  FAILED      {r.id}  ({r.error.splitlines()[0] if r.error else 'unknown error'})"


def summary(console: Console, records: Sequence[TargetRecord], dist_label: str) -> None:
    from rich.table import Table

    table = Table(title=f"build summary ({dist_label})", show_lines=False)
    for col in ("target", "status", "libc", "cgo", "C toolchain", "size", "artifact"):
        table.add_column(col)
    for r in sorted(records, key=lambda r: (r.status != "failed", r.id)):
        status = "up to date" if r.cached else r.status
        size = sum(a.size for a in r.artifacts)
        table.add_row(
            r.id,
            f"[{STYLE[r.status]}]{status}[/]",
            r.libc + (f" {r.min_glibc}" if r.min_glibc else ""),
            "on" if r.cgo else "off",
            r.c_toolchain or "-",
            _size(size) if size else "-",
            ", ".join(a.path for a in r.artifacts) or "-",
        )
    console.print(table)
    for r in records:
        if r.status == "failed":
            console.print(f"\n[bold red]{r.id} failed[/] (log: {r.log})", highlight=False)
            console.print(r.error or "", highlight=False, markup=False)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024  # type: ignore[assignment]
    return str(n)
