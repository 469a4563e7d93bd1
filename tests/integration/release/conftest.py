"""A small release project (three targets of examples/hello: tar.gz, zip and wasm) and helpers."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import copy_example, run_gobuildx

EPOCH = "1700000000"  # 2023-11-14T22:13:20Z
ENV = {"SOURCE_DATE_EPOCH": EPOCH}
IDS = ["linux-amd64", "wasip1-wasm", "windows-amd64"]

TOML = """
[project]
name = "hello"
dir = "hello"

[matrix.release]
include = [
  { goos = "linux", goarch = "amd64" },
  { goos = "windows", goarch = "amd64" },
  { goos = "wasip1", goarch = "wasm" },
]

[release]
files = ["LICENSE", "README.md"]
"""

# examples/hello for linux/amd64 alone: what the trust and rebuild tests release
ONE_TARGET_TOML = """
[project]
name = "hello"
dir = "hello"

[matrix.release]
include = [{ goos = "linux", goarch = "amd64" }]
"""

IMAGE_TOML = """
[project]
name = "hello"
dir = "hello"

[matrix.m]
goos = ["linux"]
goarch = ["amd64", "arm64"]

[image]
repository = "127.0.0.1:5000/gobuildx-release-test"
"""


def docker_up() -> bool:
    """A Docker engine answers (ci/services.sh starts one): the image tests need it."""
    return (
        shutil.which("docker") is not None
        and subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0
    )


def make_project(dest: Path, toml_text: str = TOML) -> Path:
    """dest/ with examples/hello as hello/, a targets.toml, a LICENSE and a README.md."""
    dest.mkdir(parents=True, exist_ok=True)
    copy_example("hello", dest)
    (dest / "targets.toml").write_text(toml_text)
    (dest / "LICENSE").write_text("Apache-2.0 (test)\n")
    (dest / "README.md").write_text("# hello\n")
    return dest


def gobuildx(args: list[str], cwd: Path, check: bool = True):  # type: ignore[no-untyped-def]
    return run_gobuildx(args, cwd=cwd, env=ENV, check=check)


@pytest.fixture(scope="session")
def one_machine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project released on one machine: `gobuildx release` (read-only for tests)."""
    root = make_project(tmp_path_factory.mktemp("one-machine"))
    gobuildx(["release"], cwd=root)
    return root


@pytest.fixture
def release_copy(one_machine: Path, tmp_path: Path) -> Path:
    """A private copy of the one-machine dist/release/ (for tests that tamper with it)."""
    dest = tmp_path / "release"
    shutil.copytree(one_machine / "dist" / "release", dest)
    return dest


def read_json(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text())
