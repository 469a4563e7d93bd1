"""The `gobuildx` program: invoke's Program over the task collection."""

from __future__ import annotations

import sys

from invoke import Program

from gobuildx import __version__
from gobuildx.tasks import StageExecutor, collection


def program() -> Program:
    return Program(name="gobuildx", binary="gobuildx", version=__version__,
                   namespace=collection(), executor_class=StageExecutor)


def normalize(argv: list[str]) -> list[str]:
    """`gobuildx TASK --help` as `gobuildx --help TASK`: a task's positional argument
    (e.g. `verify DIR`) would otherwise swallow the --help."""
    if len(argv) >= 3 and not argv[1].startswith("-") and argv[2] in ("--help", "-h"):
        return [argv[0], "--help", argv[1], *argv[3:]]
    return argv


def main() -> None:
    program().run(normalize(sys.argv))
