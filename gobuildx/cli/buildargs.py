"""The `build` task's options, declared once, and read without invoke when that is exact.

`OPTIONS` is the one declaration: the invoke task takes its help from it (cli.tasks.build),
the no-op fast path's receipt key reads it (`grammar`), and `read` turns a `gobuildx build`
command line into `BuildArgs` without importing invoke, which costs a warm build about
70 ms before its first `go build` can start (measured: bench/RESULTS.md, issue 16). `read`
takes only the forms it reads exactly as invoke does (`--name value`, `--name=value`,
`-x value`, `--flag`, `-x`, `--target` repeated); anything else (`--help`, `-j4`, a repeated
`--matrix`, a value that starts with `-`, an unknown word) returns None and goes to invoke,
which parses it and words its errors. tests/unit/test_build_args.py checks, command line by
command line, that `read` and invoke agree, and that the short flags are invoke's own.

Standard library only: it is imported before anything heavy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from gobuildx.cli.fastpath import Grammar

Kind = Literal["text", "int", "list", "flag"]

# --config/--matrix/--target: every stage's selection (cli.tasks shares these words).
SELECT_HELP = {
    "config": "path to targets.toml (default: ./targets.toml or $GOBUILDX_CONFIG)",
    "matrix": "matrix name, or 'all' (default)",
    "target": "target id or shell glob (repeatable), e.g. 'linux-*' or '*-musl'",
}


@dataclass(frozen=True)
class Option:
    name: str  # --NAME, dashed as invoke dashes the parameter's name
    short: str  # the short flag invoke gives it (first free letter of the name)
    kind: Kind
    help: str

    @property
    def attr(self) -> str:
        """The task's parameter name."""
        return self.name.replace("-", "_")


OPTIONS = (
    Option("config", "c", "text", SELECT_HELP["config"]),
    Option("matrix", "m", "text", SELECT_HELP["matrix"]),
    Option("target", "t", "list", SELECT_HELP["target"]),
    Option("jobs", "j", "int", "parallel builds (default: one per core)"),
    Option("force", "f", "flag", "rebuild even targets whose inputs did not change (and ignore merged artifacts)"),
    Option(
        "shard", "s", "text", "I/N: build only shard I of N of the selection (one CI runner each; see docs/release.md)"
    ),
    Option("no-audit", "n", "flag", "skip the linkage audit that runs after compiling"),
)
HELP = {o.name: o.help for o in OPTIONS}


@dataclass(frozen=True)
class BuildArgs:
    """The build task's parameters, with the task's defaults."""

    config: str | None = None
    matrix: str = "all"
    target: tuple[str, ...] = ()
    jobs: int = 0
    force: bool = False
    shard: str | None = None
    no_audit: bool = False


def grammar() -> Grammar:
    """The options as the fast path's receipt key reads them (`--force` is never answered)."""
    from gobuildx.cli.fastpath import Grammar

    return Grammar.of(((o.name, o.short), o.kind != "flag", o.name == "force") for o in OPTIONS)


def read(argv: Sequence[str]) -> BuildArgs | None:
    """`gobuildx build ...` as BuildArgs, or None: not a build, or a form left to invoke."""
    if len(argv) < 2 or argv[1] != "build":
        return None
    by_word = {f"--{o.name}": o for o in OPTIONS} | {f"-{o.short}": o for o in OPTIONS}
    values: dict[str, object] = {}
    words = list(argv[2:])
    i = 0
    while i < len(words):
        word, value = words[i], None
        if word.startswith("--") and "=" in word:
            word, value = word.split("=", 1)
        option = by_word.get(word)
        if option is None:
            return None
        i += 1
        if option.kind == "flag":
            if value is not None or option.attr in values:
                return None
            values[option.attr] = True
            continue
        if value is None:
            if i >= len(words):
                return None
            value, i = words[i], i + 1
        if not value or value.startswith("-") or (option.kind != "list" and option.attr in values):
            return None
        if option.kind == "int" and not value.isdigit():
            return None
        if option.kind == "list":
            values[option.attr] = (*values.get(option.attr, ()), value)  # type: ignore[misc]
        else:
            values[option.attr] = int(value) if option.kind == "int" else value
    return BuildArgs(**values)  # type: ignore[arg-type]
