"""The `gobuildx` program: invoke's Program over the task collection.

Two answers come before invoke is imported (it and the stage models cost most of a
second): `--version`, and a `build` whose receipt says nothing changed (see fastpath).
Any other `build` that cli.buildargs reads exactly as invoke would runs without invoke too
(cli.common.build, the task's own body): its first `go build` starts ~70 ms sooner.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from gobuildx import __version__

if TYPE_CHECKING:
    from invoke import Program


def program() -> Program:
    from gobuildx.cli.program import GobuildxProgram
    from gobuildx.cli.tasks import collection

    return GobuildxProgram(name="gobuildx", binary="gobuildx", version=__version__, namespace=collection())


def normalize(argv: list[str]) -> list[str]:
    """`gobuildx TASK --help` as `gobuildx --help TASK`: a task's positional argument
    (e.g. `verify DIR`) would otherwise swallow the --help."""
    if len(argv) >= 3 and not argv[1].startswith("-") and argv[2] in ("--help", "-h"):
        return [argv[0], "--help", argv[1], *argv[3:]]
    return argv


def main() -> None:
    try:
        try:
            _main(normalize(sys.argv))
        finally:
            sys.stdout.flush()  # here, not at exit: a reader gone by then is a broken pipe too
    except BrokenPipeError:  # `gobuildx build | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(128 + 13)


def _main(argv: list[str]) -> None:
    if argv[1:] in (["--version"], ["-V"]):
        print(f"gobuildx {__version__}")
        return
    from gobuildx.cli import fastpath

    if fastpath.run(argv, os.environ, os.getcwd()):
        return
    from gobuildx.cli import buildargs

    args = buildargs.read(argv)
    if args is not None:
        from gobuildx.cli import common

        sys.exit(common.build_directly(argv, args))
    program().run(argv)
