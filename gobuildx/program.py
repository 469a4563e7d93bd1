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
from typing import Any

from invoke import Program
from invoke.exceptions import Exit, ParseError
from invoke.parser import Argument

from gobuildx.errors import ConfigError

# Core options of invoke's Program that gobuildx keeps (the others configure invoke's runners).
CORE = ("complete", "debug", "help", "list", "list-depth", "list-format", "print-completion-script",
        "version", "write-pyc")


class GobuildxProgram(Program):
    def core_args(self) -> list[Argument]:
        return [a for a in super().core_args() if a.name in CORE]

    def update_config(self, merge: bool = True) -> None:
        """No runtime config file or run() overrides: none of the dropped options exist."""
        if merge:
            self.config.merge()

    def parse_core(self, argv: list[str] | None) -> None:
        with self._usage_errors():
            super().parse_core(argv)

    def parse_collection(self) -> None:
        with self._usage_errors():
            super().parse_collection()

    def parse_tasks(self) -> None:
        with self._usage_errors():
            super().parse_tasks()

    def _usage_errors(self) -> Any:
        return _UsageErrors(self)


class _UsageErrors:
    """Turn invoke's ParseError into exit 2 (a configuration error) with a hint."""

    def __init__(self, prog: GobuildxProgram) -> None:
        self.prog = prog

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if not isinstance(exc, ParseError):
            return False
        raise Exit(f"gobuildx: {exc}{hint(str(exc), self.prog)}", code=ConfigError.exit_code) from None


def hint(message: str, prog: Program) -> str:
    """A did-you-mean for an unknown task or option, or where an option belongs."""
    match = re.match(r"No idea what '(.+)' is!", message)
    if not match or prog.namespace is None:
        return ""
    word = match.group(1)
    tasks = sorted(prog.namespace.task_names)
    if not word.startswith("-"):
        close = difflib.get_close_matches(word, tasks, n=2)
        return (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else "") + \
            f" (tasks: {', '.join(tasks)}; `gobuildx --list`)"
    name = word.split("=", 1)[0]
    argv = list(prog.argv[1:])
    task = next((w for w in argv if w in tasks), None)
    long = name.startswith("--")  # a short flag means different things in different tasks (-f, -j)
    if long and task is not None and argv.index(task) > argv.index(word) and name in _flags(prog, task):
        return f"; options go after the task name: `gobuildx {' '.join(_moved(argv, word, task))}`"
    flags = sorted(_flags(prog, task) if task else {f for t in tasks for f in _flags(prog, t)})
    close = difflib.get_close_matches(name, [f for f in flags if f.startswith("--")], n=2) if long else []
    return (f"; did you mean {' or '.join(close)}?" if close else "") + \
        f" (`gobuildx {task or 'TASK'} --help` lists its options)"


def _moved(argv: list[str], word: str, task: str) -> list[str]:
    """argv with the option `word` (and its value, if separate) moved after `task`."""
    i = argv.index(word)
    taken = argv[i:i + (1 if "=" in word or argv[i + 1:i + 2] == [task] else 2)]
    rest = argv[:i] + argv[i + len(taken):]
    at = rest.index(task) + 1
    return rest[:at] + taken + rest[at:]


def _flags(prog: Program, task: str) -> set[str]:
    body = prog.namespace[task]  # type: ignore[index]
    flags = set()
    for arg in body.get_arguments():
        flags |= {("--" if len(n) > 1 else "-") + n.replace("_", "-") for n in arg.names}
    return flags
