"""The no-op fast path: a repeated `gobuildx build` answers from its receipt, and any change
(source, config, environment, git, artifact) takes the full path and rebuilds what it must."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from gobuildx.cli import fastpath
from tests.conftest import git, run_gobuildx
from tests.integration.core.test_build import EPOCH, TOML, lines

ARGS = ["build", "--target", "linux-amd64", "--no-audit"]
NOOP = "gobuildx: nothing changed since"


def settle(root: Path, age_s: float = 30) -> None:
    """Date every file and directory a little in the past: fresh copies are 'racy' inputs."""
    then = time.time() - age_s
    for path in [root, *root.rglob("*")]:
        if "dist" not in path.relative_to(root).parts:
            os.utime(path, (then, then))


def edit(path: Path, text: str) -> None:
    path.write_text(text)
    settle_one(path)


def settle_one(path: Path) -> None:
    then = time.time() - 5
    os.utime(path, (then, then))


def binary_says(root: Path) -> str:
    return subprocess.run(
        [root / "dist" / "linux-amd64" / "hello"], capture_output=True, text=True, timeout=30, check=True
    ).stdout


def built_then_noop(root: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A full-path build that rebuilt linux-amd64, then a no-op answered by the fast path."""
    full = run_gobuildx(ARGS, cwd=root, env={**EPOCH, **(env or {})}, check=True)
    assert NOOP not in full.stdout and lines(full, "built") == 1, full.stdout
    again = run_gobuildx(ARGS, cwd=root, env={**EPOCH, **(env or {})}, check=True)
    assert again.stdout.startswith(NOOP) and lines(again, "up to date") == 1, again.stdout
    return again


def test_noop_is_answered_without_touching_dist(project) -> None:
    root = project("hello", TOML)
    settle(root)
    run_gobuildx(["build"], cwd=root, env=EPOCH, check=True)
    dist = root / "dist"
    before = {p: p.stat().st_mtime_ns for p in dist.rglob("*") if p.is_file()}
    again = run_gobuildx(["build"], cwd=root, env=EPOCH, check=True)
    assert again.stdout.startswith(NOOP), again.stdout
    assert lines(again, "up to date") == 5 and lines(again, "built") == 0
    assert "audit: 5 targets passed" in again.stdout
    assert str(dist / "wasip1-wasm" / "hello.wasm") in again.stdout
    assert {p: p.stat().st_mtime_ns for p in dist.rglob("*") if p.is_file()} == before
    # the full path, asked for, agrees: everything up to date
    slow = run_gobuildx(["build"], cwd=root, env={**EPOCH, fastpath.DISABLE: "1"}, check=True)
    assert NOOP not in slow.stdout and lines(slow, "up to date") == 5


def test_every_change_takes_the_full_path(project) -> None:
    root = project("hello", TOML)
    settle(root)
    built_then_noop(root)
    main = root / "hello" / "main.go"
    edit(main, main.read_text().replace("hello %s", "hullo %s"))  # a source edit
    built_then_noop(root)
    assert binary_says(root).startswith("hullo 1.2.3")
    (root / "hello" / "extra.go").write_text('package main\n\nvar extra = "x"\n')  # a new file
    settle_one(root / "hello" / "extra.go")
    built_then_noop(root)
    toml = root / "targets.toml"
    edit(toml, toml.read_text().replace('version = "1.2.3"', 'version = "1.2.4"'))  # the config
    built_then_noop(root)
    assert binary_says(root).startswith("hullo 1.2.4")
    built_then_noop(root, env={"SOURCE_DATE_EPOCH": "1700000123"})  # the environment
    (root / "dist" / "linux-amd64" / "hello").unlink()  # a lost artifact
    built_then_noop(root)
    forced = run_gobuildx([*ARGS, "--force"], cwd=root, env=EPOCH, check=True)
    assert NOOP not in forced.stdout and lines(forced, "built") == 1
    again = run_gobuildx(ARGS, cwd=root, env=EPOCH, check=True)  # what --force built answers the same command
    assert again.stdout.startswith(NOOP), again.stdout


def test_git_state_alone_takes_the_full_path(project) -> None:
    """Git state outside the module changes the stamped version: the fast path asks git too."""
    root = project("hello", TOML.replace('version = "1.2.3"', 'version = "git"'))
    notes = root / "NOTES.md"  # tracked, outside the module: no walk sees it
    notes.write_text("one\n")
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "one"], ["tag", "v1.0.0"]):
        git(root, *cmd)
    settle(root)
    built_then_noop(root)
    assert binary_says(root).startswith("hello 1.0.0 ")
    notes.write_text("two\n")  # the work tree is dirty now
    built_then_noop(root)
    assert binary_says(root).startswith("hello 1.0.0-dirty ")
    git(root, "commit", "-qam", "two")
    built_then_noop(root)
    assert binary_says(root).startswith("hello 1.0.0-1-g")


def test_dist_inside_the_module_does_not_spoil_the_receipt(project) -> None:
    """targets.toml beside go.mod puts dist/ in the module: creating it changes the module
    directory's mtime after the walk, and the next build is still answered from the receipt."""
    root = project("hello", "")
    module = root / "hello"
    (module / "targets.toml").write_text(TOML.replace('dir = "hello"\n', ""))
    settle(root)
    assert not (module / "dist").exists()
    built_then_noop(module)
    assert (module / "dist" / "linux-amd64" / "hello").is_file()
