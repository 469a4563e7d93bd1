"""Fixtures of the smoke tests: real projects, built once, smoked by the real program."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, run_gobuildx

HELLO_SMOKE = r"""
[smoke]
args = ["one", "two"]
expect = '(?m)^platform {goos}/{goarch} go1\.\d+.*\n^args \[one two\]$'
timeout = 120
"""

SERVER_TARGETS = """
[project]
name = "server"
ldflags = ["-s", "-w", "-X main.version={version}"]

[matrix.default]
goos = ["linux"]
goarch = ["amd64", "arm64"]
include = [{ goos = "windows", goarch = "amd64" }]
"""

SERVER_SMOKE = """
[smoke]
args = ["-addr", "127.0.0.1:{port}"]
port = 0
http_path = "/healthz"
expect = '^ok {goos}/{goarch} '
timeout = 120
"""


def smoke_records(dist: Path) -> dict[str, dict[str, Any]]:
    """target id -> its `smoke` record in dist/manifest.json."""
    data = json.loads((dist / "manifest.json").read_text())
    return {t["id"]: t["smoke"] for t in data["targets"] if t.get("smoke")}


@pytest.fixture(scope="session")
def hello_smoke_root(hello_dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the hello matrix project (15 targets) whose targets.toml has a [smoke] table."""
    root = tmp_path_factory.mktemp("hello-smoke") / "p"
    shutil.copytree(hello_dist.parent, root, ignore=shutil.ignore_patterns("*.lock"))
    with open(root / "targets.toml", "a") as fh:
        fh.write(HELLO_SMOKE)
    return root


@pytest.fixture(scope="session")
def server_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/server built for linux-amd64 (native), linux-arm64 (QEMU), windows-amd64 (Wine).

    Tests smoke it with their own config files in this directory (`--config X.toml`): the
    project and matrix are the same, so the build they need is always up to date.
    """
    root = tmp_path_factory.mktemp("server-smoke") / "server"
    shutil.copytree(EXAMPLES / "server", root, ignore=shutil.ignore_patterns("dist", "targets.toml"))
    (root / "targets.toml").write_text(SERVER_TARGETS + SERVER_SMOKE)
    run_gobuildx(["build"], cwd=root, timeout=3600, check=True)
    return root
