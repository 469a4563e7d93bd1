"""The no-op fast path's receipt logic, on synthetic files: what is saved, what a later
identical command accepts, and what sends it down the full path."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from gobuildx.build import stamp
from gobuildx.cli import fastpath
from gobuildx.cli.buildargs import grammar as build_grammar
from gobuildx.util import git as vcs


def test_a_racy_input_writes_no_receipt(tmp_path: Path) -> None:
    """An input modified just before the walk that read it (a directory: just before it was
    re-listed after the build) could change again unseen."""
    now = time.time_ns()
    later = now + 5_000_000_000
    common = dict(
        module_dir=tmp_path,
        git=vcs.GitFacts(None, None, None),
        go=Path("/usr/bin/go"),
        go_source="PATH",
        walk_started_ns=now,
        settled_ns=later,
        inputs=[],
        outputs=[],
        lines=[],
    )
    env = {"GOBUILDX_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin"}

    def save(*walked: tuple[str, int, int, int, bool]) -> Path | None:
        return fastpath.save(
            ["gobuildx", "build"], env, str(tmp_path), grammar=build_grammar(), walked=list(walked), **common
        )

    assert save(("a.go", 1, now - 1_000, 1, False)) is None
    assert save(("src", 4096, later - 1_000, 2, True)) is None
    calm = save(("a.go", 1, now - 10_000_000_000 + 123, 1, False), ("src", 4096, now - 1_000, 2, True))
    assert calm is not None and json.loads(calm.read_text())["key"] == []


def test_a_file_that_comes_during_the_build_forbids_the_receipt(tmp_path: Path) -> None:
    """stamp.settle_dirs: a directory's new stat is taken only if it holds what the walk saw."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.go").write_text("package pkg\n")
    (tmp_path / "link").symlink_to(tmp_path / "pkg")  # listed by os.walk, never entered
    (tmp_path / "dangling.go").symlink_to(tmp_path / "gone")  # cannot be stat'ed: not recorded
    (tmp_path / "loop").symlink_to(tmp_path / "loop")  # is_dir() raises: neither
    dist = tmp_path / "dist"
    seen = stamp.walk_sources(tmp_path, [dist])
    dist.mkdir()  # what a build does
    settled = stamp.settle_dirs(seen, [dist])
    assert settled is not None
    assert [s.path for s in settled] == [s.path for s in seen]
    root_now = os.stat(tmp_path).st_mtime_ns
    assert next(s for s in settled if s.path == str(tmp_path)).mtime_ns == root_now
    (tmp_path / "pkg" / "b.go").write_text("package pkg\n")  # a source the build never saw
    assert stamp.settle_dirs(seen, [dist]) is None


@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (["gobuildx", "build"], []),
        (["gobuildx", "build", "-j", "2", "--target=linux-*", "-n"], ["-j", "2", "--target=linux-*", "-n"]),
        (["gobuildx", "build", "--matrix", "linux", "--config", "x.toml"], ["--matrix", "linux", "--config", "x.toml"]),
        (["gobuildx", "build", "--target"], None),
        (["gobuildx", "build", "--help"], None),
        (["gobuildx", "build", "-fn"], None),
        (["gobuildx", "smoke"], None),
        (["gobuildx", "--echo", "build"], None),
    ],
)
def test_only_commands_a_receipt_can_speak_for(argv: list[str], key: list[str] | None) -> None:
    """What a successful build saves a receipt under (the words of the build task's grammar)."""
    assert fastpath.command_key(argv, build_grammar()) == key


def test_a_forced_build_is_saved_as_the_same_command_without_force() -> None:
    argv = ["gobuildx", "build", "-f", "--target", "x", "--force"]
    assert fastpath.command_key(argv, build_grammar()) == ["--target", "x"]
    # looked up as it is: no receipt is ever saved under a key holding --force
    assert fastpath.command_key(argv) == ["-f", "--target", "x", "--force"]


def test_the_grammar_is_the_build_task_s_own() -> None:
    grammar = build_grammar()
    assert grammar.values == {"-c", "--config", "-m", "--matrix", "-t", "--target", "-j", "--jobs", "-s", "--shard"}
    assert grammar.flags == {"-n", "--no-audit"} and grammar.force == {"-f", "--force"}


def test_a_saved_receipt_answers_the_same_command_until_an_output_changes(tmp_path: Path) -> None:
    module, out = tmp_path / "mod", tmp_path / "dist" / "linux-amd64" / "hello"
    module.mkdir()
    (module / "main.go").write_text("package main\n")
    out.parent.mkdir(parents=True)
    out.write_bytes(b"binary")
    long_ago = time.time() - 60
    for p in (module / "main.go", module, out):
        os.utime(p, (long_ago, long_ago))
    env = {"GOBUILDX_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    argv, cwd = ["gobuildx", "build", "--target", "linux-*"], str(tmp_path)
    walked = [(e.path, e.size, e.mtime_ns, e.ino, e.is_dir) for e in stamp.walk_sources(module, [tmp_path / "dist"])]
    now = time.time_ns()
    saved = fastpath.save(
        argv,
        env,
        cwd,
        grammar=build_grammar(),
        module_dir=module,
        git=vcs.facts(module),
        go=tmp_path / "go",
        go_source="GOBUILDX_GO",
        walked=walked,
        walk_started_ns=now,
        settled_ns=now,
        inputs=[],
        outputs=[out],
        lines=["  up to date  linux-amd64"],
    )
    assert saved is not None
    assert fastpath.check(argv, env, cwd) is not None
    assert fastpath.check(["gobuildx", "build", "--force", "--target", "linux-*"], env, cwd) is None
    assert fastpath.check(argv, {**env, "GOFLAGS": "-race"}, cwd) is None  # another environment
    assert fastpath.check(argv, {**env, fastpath.DISABLE: "1"}, cwd) is None
    out.write_bytes(b"another binary")
    assert fastpath.check(argv, env, cwd) is None


def test_a_command_with_words_the_grammar_lacks_saves_nothing(tmp_path: Path) -> None:
    env = {"GOBUILDX_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin"}
    saved = fastpath.save(
        ["gobuildx", "build", "--frobnicate"],
        env,
        str(tmp_path),
        grammar=build_grammar(),
        module_dir=tmp_path,
        git=vcs.GitFacts(None, None, None),
        go=Path("/usr/bin/go"),
        go_source="PATH",
        walked=[],
        walk_started_ns=0,
        settled_ns=0,
        inputs=[],
        outputs=[],
        lines=[],
    )
    assert saved is None and not (tmp_path / "cache").exists()
