"""Build plans from a Go that is never run: the command line, environment and stamp of each target."""

from __future__ import annotations

from gobuildx.build import stage as build_stage
from gobuildx.build import stamp
from gobuildx.util.git import GitFacts

TOML = """
[project]
name = "hello"
dir = "hello"
version = "1.2.3"
ldflags = ["-s", "-w", "-X main.version={version}", "-X main.id={id}"]

[matrix.m]
goos = ["linux"]
goarch = ["amd64", "arm"]
goarm = ["7"]
include = [{ goos = "windows", goarch = "amd64" }]

[[override]]
match = ["linux-*"]
tags = ["netgo"]
env = { GOGC = "off" }
"""


def inputs() -> build_stage.Inputs:
    st = stamp.Stamp(version="1.2.3", commit="abc1234", date="2023-11-14T22:13:20Z", dirty=False)
    return build_stage.Inputs(git=GitFacts(None, None, None), stamp=st, seen=[], sources="0" * 64)


def test_each_target_gets_its_go_command_and_environment(context) -> None:
    ctx = context(TOML)
    plans = {p.target.id: p for p in build_stage.plan_all(ctx, ctx.targets, inputs())}
    assert sorted(plans) == ["linux-amd64", "linux-armv7", "windows-amd64"]
    arm = plans["linux-armv7"]
    assert (arm.env["GOOS"], arm.env["GOARCH"], arm.env["GOARM"], arm.env["CGO_ENABLED"]) == ("linux", "arm", "7", "0")
    assert arm.env["GOGC"] == "off" and arm.env["GOTOOLCHAIN"] == "local"
    [step] = arm.steps
    assert step.output == "linux-armv7/hello"
    assert step.argv[0] == str(ctx.go.go) and step.argv[1] == "build"
    assert "-tags=netgo" in step.argv
    assert "-ldflags=-s -w -X main.version=1.2.3 -X main.id=linux-armv7" in step.argv
    assert plans["windows-amd64"].steps[0].output == "windows-amd64/hello.exe"
    assert "-tags=netgo" not in plans["windows-amd64"].steps[0].argv


def test_the_inputs_digest_changes_with_what_changes_the_binary(context) -> None:
    ctx = context(TOML)
    first = {p.target.id: p.inputs for p in build_stage.plan_all(ctx, ctx.targets, inputs())}
    again = {p.target.id: p.inputs for p in build_stage.plan_all(ctx, ctx.targets, inputs())}
    assert first == again and len(set(first.values())) == len(first)
    other = inputs()._replace(sources="1" * 64)
    changed = {p.target.id: p.inputs for p in build_stage.plan_all(ctx, ctx.targets, other)}
    assert all(changed[k] != first[k] for k in first)


def test_a_bad_placeholder_names_the_allowed_ones(context) -> None:
    import pytest

    from gobuildx.errors import ConfigError

    ctx = context(TOML.replace("{id}", "{idd}"))
    with pytest.raises(ConfigError) as err:
        build_stage.plan_all(ctx, ctx.targets, inputs())
    assert "{idd}" in str(err.value) and "{version}" in str(err.value)
