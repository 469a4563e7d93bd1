"""invoke's Program, fitted to gobuildx: only the core options that mean something here, and
command-line mistakes as a configuration error (exit 2) with a did-you-mean.

invoke's own core options for shell tasks (--echo, --pty, --dry, --hide, --warn-only,
--command-timeout, --prompt-for-sudo-password, and -f/--config for an invoke config
file) do nothing for gobuildx, whose tasks run no shell commands through invoke, and
`--config` before the task name used to reach invoke's config loader and crash.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from contextlib import contextmanager

from invoke import Program
from invoke.exceptions import Exit, ParseError
from invoke.parser import Argument

from gobuildx.errors import ConfigError

# Core options of invoke's Program that gobuildx keeps (the others configure invoke's runners).
CORE = (
    "complete",
    "debug",
    "help",
    "list",
    "list-depth",
    "list-format",
    "print-completion-script",
    "version",
    "write-pyc",
)
LIST_FORMATS = ("flat", "nested", "json")


class GobuildxProgram(Program):
    def core_args(self) -> list[Argument]:
        return [a for a in super().core_args() if a.name in CORE]

    def update_config(self, merge: bool = True) -> None:
        """No runtime config file or run() overrides: none of the dropped options exist. The
        command line is kept for the build task's receipt (cli.fastpath keys it by its words)."""
        self.config["gobuildx_argv"] = list(self.argv)
        if merge:
            self.config.merge()

    def parse_core(self, argv: list[str] | None) -> None:
        with _usage_errors(self):
            super().parse_core(argv)

    def parse_collection(self) -> None:
        with _usage_errors(self):
            super().parse_collection()

    def parse_tasks(self) -> None:
        with _usage_errors(self):
            super().parse_tasks()

    def parse_cleanup(self) -> None:
        with _usage_errors(self):
            super().parse_cleanup()

    def list_tasks(self) -> None:
        if self.list_format not in LIST_FORMATS:
            raise Exit(
                f"gobuildx: --list-format {self.list_format!r}: allowed: {', '.join(LIST_FORMATS)}",
                code=ConfigError.exit_code,
            )
        super().list_tasks()


@contextmanager
def _usage_errors(prog: Program) -> Iterator[None]:
    """Turn invoke's ParseError (and a value of the wrong kind) into exit 2 with a hint."""
    try:
        yield
    except ParseError as exc:
        raise Exit(f"gobuildx: {exc}{hint(str(exc), prog)}", code=ConfigError.exit_code) from None
    except ValueError as exc:  # an option's value of the wrong kind: `--jobs x`
        raise Exit(
            f"gobuildx: an option's value is not of its kind ({exc}); "
            "`gobuildx TASK --help` shows what each option takes",
            code=ConfigError.exit_code,
        ) from None


def hint(message: str, prog: Program) -> str:
    """A did-you-mean for an unknown task or option, or where an option belongs."""
    match = re.match(r"No idea what '(.+)' is!", message)
    if not match or prog.namespace is None:
        return ""
    word = match.group(1)
    tasks = sorted(prog.namespace.task_names)
    if not word.startswith("-"):
        close = difflib.get_close_matches(word, tasks, n=2)
        return (
            f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        ) + f" (tasks: {', '.join(tasks)}; `gobuildx --list`)"
    name = word.split("=", 1)[0]
    argv = list(prog.argv[1:])
    at = _position(argv, name)
    task = next((w for w in argv if w in tasks), None)
    long = name.startswith("--")  # a short flag means different things in different tasks (-f, -j)
    before_task = at is not None and (task is None or argv.index(task) > at)
    owners = sorted((t for t in tasks if _argument(prog, t, name) is not None), key=lambda t: t != "build")
    if long and before_task and owners:
        if task is None:
            return f"; {name} is an option of a task and goes after its name, e.g. `gobuildx {owners[0]} {name} ...`"
        if task in owners:
            return f"; options go after the task name: `gobuildx {' '.join(_moved(prog, argv, task))}`"
    flags = sorted(_flags(prog, task) if task else {f for t in tasks for f in _flags(prog, t)})
    close = difflib.get_close_matches(name, [f for f in flags if f.startswith("--")], n=2) if long else []
    return (
        f"; did you mean {' or '.join(close)}?" if close else ""
    ) + f" (`gobuildx {task or 'TASK'} --help` lists its options)"


def _position(argv: list[str], name: str) -> int | None:
    """Where the option `name` is on the command line, given as `--name`, `--name=value` or `-n`."""
    return next((i for i, w in enumerate(argv) if w == name or w.startswith(name + "=")), None)


def _moved(prog: Program, argv: list[str], task: str) -> list[str]:
    """argv with every option of `task` given before it (and its value, when it takes one as
    the next word) moved after it."""
    end = argv.index(task)
    kept, taken, i = [], [], 0
    while i < end:
        word = argv[i]
        arg = _argument(prog, task, word.split("=", 1)[0]) if word.startswith("--") else None
        size = 2 if arg is not None and "=" not in word and arg.takes_value and i + 1 < end else 1
        (taken if arg is not None else kept).extend(argv[i : i + size])
        i += size
    return kept + [task] + taken + argv[end + 1 :]


def _argument(prog: Program, task: str, flag: str) -> Argument | None:
    for arg in prog.namespace[task].get_arguments():  # type: ignore[index]
        if flag in _names(arg):
            return arg
    return None


def _flags(prog: Program, task: str) -> set[str]:
    return {f for arg in prog.namespace[task].get_arguments() for f in _names(arg)}  # type: ignore[index]


def _names(arg: Argument) -> set[str]:
    return {("--" if len(n) > 1 else "-") + n.replace("_", "-") for n in arg.names}
