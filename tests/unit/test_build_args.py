"""cli.buildargs reads a `gobuildx build` command line exactly as invoke does, or leaves it to invoke.

Each command line is parsed by gobuildx's real invoke Program (the task collection as
declared) and by `buildargs.read`; where `read` answers, the values must be invoke's. No Go,
no project: parsing only."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from gobuildx.cli import buildargs
from gobuildx.cli.main import program
from gobuildx.cli.tasks import build as build_task

AGREE = [
    [],
    ["--target", "linux-*", "-t", "*-musl", "--target=windows-amd64"],
    ["-c", "other.toml", "-m", "default", "-j", "3"],
    ["--config=t.toml", "--matrix=all", "--jobs=0"],
    ["--force", "--no-audit", "--shard", "2/3"],
    ["-f", "-n", "-s", "1/2"],
    ["--jobs", "12", "--target", "a", "--target", "b", "--target", "c"],
]
# Forms read() leaves to invoke: each is either invoke's error to word, or a form whose
# reading by invoke read() does not repeat.
LEFT_TO_INVOKE = [
    ["--help"],
    ["-h"],
    ["-j4"],
    ["-fn"],
    ["--jobs", "x"],
    ["--jobs", "-1"],
    ["--matrix", "a", "--matrix", "b"],
    ["--force", "--force"],
    ["--force=yes"],
    ["--target"],
    ["--target", ""],
    ["--bogus"],
    ["linux-amd64"],
    ["--target", "-x"],
]


def invoke_values(words: list[str]) -> dict[str, object]:
    """The build task's keyword values as gobuildx's invoke Program parses `gobuildx build WORDS`."""
    prog = program()
    prog.create_config()
    prog.parse_core(["gobuildx", "build", *words])
    prog.parse_collection()
    prog.parse_tasks()
    [ctx] = prog.tasks
    return {arg.attr_name or arg.name: arg.value for arg in ctx.args.values()}


@pytest.mark.parametrize("words", AGREE, ids=" ".join)
def test_read_agrees_with_invoke(words: list[str]) -> None:
    got = buildargs.read(["gobuildx", "build", *words])
    assert got is not None, words
    want = invoke_values(words)
    ours = dataclasses.asdict(got)
    ours["target"] = list(ours["target"])
    assert ours == want


@pytest.mark.parametrize("words", LEFT_TO_INVOKE, ids=" ".join)
def test_other_forms_are_left_to_invoke(words: list[str]) -> None:
    assert buildargs.read(["gobuildx", "build", *words]) is None


def test_only_build_is_read() -> None:
    assert buildargs.read(["gobuildx", "smoke"]) is None
    assert buildargs.read(["gobuildx", "--debug", "build"]) is None
    assert buildargs.read(["gobuildx"]) is None


def test_the_declaration_is_the_tasks() -> None:
    """Every option invoke gives the build task, with its short flag, kind and help, is in
    buildargs.OPTIONS, and nothing else is."""
    declared = {o.attr: o for o in buildargs.OPTIONS}
    # In a process of its own: invoke's Task hands its help out once (get_arguments pops it).
    out = subprocess.run(
        [sys.executable, "-m", "gobuildx", "build", "--help"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    shown = " ".join(out.split())
    for option in buildargs.OPTIONS:  # each help text, as `gobuildx build --help` shows it
        assert f"-{option.short}" in shown and f"--{option.name}" in shown and option.help in shown, option
    args = build_task.get_arguments()
    assert {a.attr_name or a.name for a in args} == declared.keys()
    for arg in args:
        option = declared[arg.attr_name or arg.name]
        assert sorted(arg.names) == sorted([option.name, option.short]), arg.names
        kind = {"text": str, "int": int, "list": list, "flag": bool}[option.kind]
        assert arg.kind is kind, (arg.name, arg.kind)
    defaults = buildargs.BuildArgs()
    assert {f.name for f in dataclasses.fields(defaults)} == declared.keys()
