"""The `gobuildx` program: invoke's Program over the task collection."""

from __future__ import annotations

from invoke import Program

from gobuildx import __version__
from gobuildx.tasks import StageExecutor, collection


def program() -> Program:
    return Program(name="gobuildx", binary="gobuildx", version=__version__,
                   namespace=collection(), executor_class=StageExecutor)


def main() -> None:
    program().run()
