"""Every mistake at once, before any compiler runs (issue 17), `gobuildx check`, and one exit
code for "nothing built yet" in every stage: the real program, a real Go, a real module."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gobuildx.errors import NotBuilt
from gobuildx.project.context import open_project
from tests.conftest import run_gobuildx

GOOD = """[project]
name = "hello"
dir = "hello"
version = "1.2.3"

[matrix.linux]
goos = ["linux"]
goarch = ["amd64"]
include = [{ goos = "wasip1", goarch = "wasm" }]

[image]
repository = "127.0.0.1:5000/hello"
tags = ["{version}"]
files = [{ src = "NOTICE", dst = "/NOTICE" }]

[release]
name = "{project}_{version}_{id}"
files = ["NOTICE"]
"""
FIVE = (
    GOOD.replace('"127.0.0.1:5000/hello"', '"Not A Repo!"')
    .replace('["{version}"]', '["{verzion}"]')
    .replace('src = "NOTICE"', 'src = "missing.txt"')
    .replace('"{project}_{version}_{id}"', '"{project}_{nope}"')
    .replace('files = ["NOTICE"]', 'files = ["LICENCE.md"]')
)
KEYS = ["image.repository", "image.tags[0]", "image.files[0].src", "release.name", "release.files[0]"]


@pytest.fixture
def five(project: Callable[[str, str], Path]) -> Path:
    root = project("hello", FIVE)
    (root / "NOTICE").write_text("notice\n")
    return root


def problem_lines(stderr: str) -> list[str]:
    return [line.removeprefix("gobuildx: ") for line in stderr.splitlines()]


def keys_of(lines: list[str], config: Path) -> list[str]:
    return [line.removeprefix(f"{config}: ").split(": ")[0] for line in lines]


def test_five_mistakes_are_five_messages_in_one_release_run_and_nothing_is_built(five: Path) -> None:
    proc = run_gobuildx(["release"], cwd=five)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = problem_lines(proc.stderr)
    assert keys_of(lines, five / "targets.toml") == KEYS, proc.stderr
    assert "did you mean {version}?" in lines[1]
    assert not (five / "dist").exists()  # nothing compiled, no report, no manifest
    assert proc.stdout == ""


def test_check_prints_the_same_five_and_json_places_them(five: Path) -> None:
    release = run_gobuildx(["release"], cwd=five)
    check = run_gobuildx(["check"], cwd=five)
    assert check.returncode == 2 and check.stderr == release.stderr
    proc = run_gobuildx(["check", "--format", "json"], cwd=five)
    assert proc.returncode == 2, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is False
    assert [p["key"] for p in report["problems"]] == KEYS
    assert {p["file"] for p in report["problems"]} == {str(five / "targets.toml")}
    assert not (five / "dist").exists()


def test_check_of_a_good_project_names_toolchains_and_runners_and_builds_nothing(
    project: Callable[[str, str], Path],
) -> None:
    root = project("hello", GOOD)
    (root / "NOTICE").write_text("notice\n")
    proc = run_gobuildx(["check"], cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "OK, 2 targets" in proc.stdout and "smoke: native" in proc.stdout
    report = json.loads(run_gobuildx(["check", "--format", "json"], cwd=root, check=True).stdout)
    assert report["ok"] is True and report["problems"] == []
    by_id = {t["id"]: t for t in report["targets"]}
    assert by_id["linux-amd64"]["toolchain"] == "none (cgo off)" and by_id["linux-amd64"]["runner"] == "native"
    assert by_id["wasip1-wasm"]["runner"] == "wasmtime"
    assert not (root / "dist").exists()


def test_check_refuses_a_pair_this_go_does_not_know(project: Callable[[str, str], Path]) -> None:
    root = project("hello", GOOD.replace('goos = ["linux"]', 'goos = ["linux", "windwos"]'))
    (root / "NOTICE").write_text("notice\n")
    proc = run_gobuildx(["check", "--format", "json"], cwd=root)
    assert proc.returncode == 2
    (problem,) = json.loads(proc.stdout)["problems"]
    assert problem["key"] == "matrix.linux.goos[1]" and "did you mean 'windows'?" in problem["message"]


def test_check_refuses_a_cgo_target_without_a_c_toolchain(project: Callable[[str, str], Path]) -> None:
    """darwin cgo needs Apple's SDK: `build` would stop at exit 3 after the other targets; check says it first."""
    root = project(
        "hello",
        GOOD.split("[image]")[0].replace(
            "include = [", 'include = [{ goos = "darwin", goarch = "arm64", cgo = true }, '
        ),
    )
    proc = run_gobuildx(["check", "--format", "json"], cwd=root)
    assert proc.returncode == 2, proc.stderr
    (problem,) = json.loads(proc.stdout)["problems"]
    assert problem["file"] == str(root / "targets.toml") and problem["key"] == "darwin-arm64-cgo"
    assert problem["message"].startswith("no C toolchain for this cgo target: cgo for darwin needs Apple's macOS SDK")
    assert not (root / "dist").exists()


def test_check_refuses_an_unknown_format(project: Callable[[str, str], Path]) -> None:
    root = project("hello", GOOD)
    proc = run_gobuildx(["check", "--format", "yaml"], cwd=root)
    assert proc.returncode == 2 and "--format 'yaml': allowed: text, json" in proc.stderr


@pytest.mark.parametrize("command", [["audit"], ["report"]])
def test_nothing_built_is_exit_11_on_the_command_line(project: Callable[[str, str], Path], command: list[str]) -> None:
    root = project("hello", GOOD.split("[image]")[0])  # no table that names NOTICE
    proc = run_gobuildx(command, cwd=root)
    assert proc.returncode == 11, proc.stderr
    assert "run `gobuildx build` first" in proc.stderr


def test_nothing_built_is_the_same_error_in_every_stage(project: Callable[[str, str], Path]) -> None:
    """image, smoke and release build first on the command line; called as stages (from
    Python, or `merge` without a build) on an empty dist, each says NotBuilt (exit 11)."""
    from gobuildx.audit import stage as audit_stage
    from gobuildx.image import stage as image_stage
    from gobuildx.release import stage as release_stage
    from gobuildx.smoke import stage as smoke_stage

    root = project("hello", GOOD)
    (root / "NOTICE").write_text("notice\n")
    ctx = open_project(root / "targets.toml", dict(os.environ))
    calls: dict[str, Callable[[], object]] = {
        "audit": lambda: audit_stage.audit_targets(ctx.dist, ctx.targets, audit_stage.Options()),
        "image": lambda: image_stage.run(ctx, ctx.targets, image_stage.Options(oci_layout=root / "l")),
        "smoke": lambda: smoke_stage.smoke(ctx, ctx.targets, smoke_stage.Options()),
        "release": lambda: release_stage.read_manifest(ctx.dist),
    }
    for name, call in calls.items():
        with pytest.raises(NotBuilt) as err:
            call()
        assert err.value.exit_code == 11, name
    assert not (root / "dist" / "manifest.json").exists()
