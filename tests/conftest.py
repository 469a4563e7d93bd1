"""Shared fixtures: run the real `gobuildx` program against real Go projects.

Go's build cache and gobuildx's cache (zig, dist list) are the user's own, so
runs share them: a second test (or a second CI step) never recompiles std or a libc.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def run_gobuildx(args: list[str], cwd: Path, env: dict[str, str] | None = None,
                 timeout: float = 1800, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `python -m gobuildx ARGS` as a user would, with CI=1 for plain output."""
    full_env = {**os.environ, "CI": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "gobuildx", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"gobuildx {' '.join(args)} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def copy_example(name: str, dest: Path) -> Path:
    """A copy of examples/NAME in dest (a Go module of its own)."""
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("dist"))
    return target


@pytest.fixture
def project(tmp_path: Path) -> Callable[[str, str], Path]:
    """project(example, toml_text) -> a directory with the example module and a targets.toml."""

    def make(example: str, toml_text: str) -> Path:
        copy_example(example, tmp_path)
        (tmp_path / "targets.toml").write_text(toml_text)
        return tmp_path

    return make


@pytest.fixture(scope="session")
def hello_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's default matrix of examples/hello, built once per session.

    Returns the dist directory (with manifest.json and every artifact).
    """
    root = tmp_path_factory.mktemp("hello-matrix")
    shutil.copytree(EXAMPLES / "hello", root / "examples" / "hello")
    shutil.copy(REPO / "targets.toml", root / "targets.toml")
    run_gobuildx(["build", "--matrix", "all"], cwd=root, check=True)
    return root / "dist"
