"""The unit tier: pure tests that need no Go, Docker, QEMU, Wine or network.

A project here is a targets.toml in tmp_path, expanded against a fixed platform list (what
`go tool dist list` says on Go 1.26), with a Go that is never run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gobuildx.project import config, matrix
from gobuildx.project.context import ProjectContext
from gobuildx.project.goenv import GoToolchain, Platform

FIRST_CLASS = {
    ("linux", "amd64"),
    ("linux", "386"),
    ("linux", "arm64"),
    ("linux", "arm"),
    ("windows", "amd64"),
    ("windows", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
}
NO_CGO = {("wasip1", "wasm"), ("js", "wasm")}
PLATFORMS = [
    Platform(goos=os_, goarch=arch, cgo_supported=(os_, arch) not in NO_CGO, first_class=(os_, arch) in FIRST_CLASS)
    for os_, arch in [
        ("linux", "amd64"),
        ("linux", "386"),
        ("linux", "arm64"),
        ("linux", "arm"),
        ("linux", "riscv64"),
        ("linux", "ppc64le"),
        ("linux", "s390x"),
        ("windows", "amd64"),
        ("windows", "arm64"),
        ("windows", "386"),
        ("darwin", "amd64"),
        ("darwin", "arm64"),
        ("freebsd", "amd64"),
        ("wasip1", "wasm"),
        ("js", "wasm"),
    ]
]
HELLO = """
[project]
name = "hello"
dir = "hello"
version = "1.2.3"
"""


def fake_go(root: Path) -> GoToolchain:
    """A Go that is never run: its answers to `go env` written down."""
    return GoToolchain(
        go=root / "go" / "bin" / "go",
        version="go1.26.8",
        goroot=root / "go",
        gocache=root / "gocache",
        gomodcache=root / "gopath" / "pkg" / "mod",
        gopath=root / "gopath",
        hostos="linux",
        hostarch="amd64",
        source="GOBUILDX_GO",
    )


@pytest.fixture
def context(tmp_path: Path) -> Callable[[str], ProjectContext]:
    """context(toml) -> a ProjectContext of tmp_path/targets.toml with a hello module beside it."""

    def make(toml: str) -> ProjectContext:
        (tmp_path / "hello").mkdir(exist_ok=True)
        (tmp_path / "hello" / "go.mod").write_text("module example.com/hello\n\ngo 1.22\n")
        (tmp_path / "hello" / "main.go").write_text("package main\n\nfunc main() {}\n")
        (tmp_path / "targets.toml").write_text(toml)
        loaded = config.load(tmp_path / "targets.toml")
        return ProjectContext(
            loaded=loaded,
            go=fake_go(tmp_path),
            targets=matrix.expand(loaded, PLATFORMS),
            cache_dir=tmp_path / "cache",
            environ={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )

    return make
