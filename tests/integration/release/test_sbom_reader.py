"""The SBOM's module list comes from gobuildx's own build-info reader; `go version -m -json`
(what it used before) is the oracle: both give the same SBOM bytes, in both formats."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gobuildx.release import sbom
from tests.conftest import git, go_program

LOCAL_REPLACE = {
    "go.mod": (
        "module example.com/app\n\ngo 1.22\n\nrequire example.com/lib v1.2.3\n\nreplace example.com/lib => ./lib\n"
    ),
    "main.go": 'package main\n\nimport "example.com/lib"\n\nfunc main() { println(lib.Name) }\n',
    "lib/go.mod": "module example.com/lib\n\ngo 1.22\n",
    "lib/lib.go": 'package lib\n\nconst Name = "lib"\n',
}


def go_oracle(binary: Path) -> sbom.BuildInfo | None:
    """The build info as `go version -m -json` prints it (None: go finds none, e.g. wasm)."""
    proc = subprocess.run(
        [go_program(), "version", "-m", "-json", str(binary)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "GOTOOLCHAIN": "local"},
    )
    if proc.returncode != 0 and not proc.stdout.strip():
        assert "could not read Go build info" in proc.stderr, proc.stderr
        return None
    return sbom.BuildInfo.model_validate_json(proc.stdout)


def assert_same_sboms(binary: Path) -> None:
    subject = sbom.Subject(
        project="p",
        version="1.0.0",
        date="2023-11-14T22:13:20Z",
        target=binary.parent.name,
        binary=binary.name,
        path=binary.name,
        sha256="0" * 64,
    )
    ours, oracle = sbom.read_buildinfo(binary), go_oracle(binary)
    for fmt in ("spdx", "cyclonedx"):
        assert sbom.render(fmt, subject, ours) == sbom.render(fmt, subject, oracle), (binary, fmt)


def test_every_artifact_of_the_default_matrix(hello_dist: Path) -> None:
    binaries = sorted(p for p in hello_dist.glob("*/hello*") if p.is_file())
    assert len(binaries) == 15
    for binary in binaries:
        assert_same_sboms(binary)


@pytest.mark.parametrize("goos,goarch", [("linux", "arm64"), ("windows", "amd64"), ("darwin", "arm64")])
def test_a_dependency_replaced_by_a_local_directory(tmp_path: Path, goos: str, goarch: str) -> None:
    for name, text in LOCAL_REPLACE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    git(tmp_path, "init", "-q")
    out = tmp_path / "out" / f"app-{goos}"
    subprocess.run(
        [go_program(), "build", "-o", str(out), "."],
        cwd=tmp_path,
        check=True,
        timeout=600,
        capture_output=True,
        env={
            **os.environ,
            "GOOS": goos,
            "GOARCH": goarch,
            "CGO_ENABLED": "0",
            "GOTOOLCHAIN": "local",
            "GOFLAGS": "-mod=mod",
        },
    )
    info = sbom.read_buildinfo(out)
    assert info is not None and [(d.path, d.replace.path if d.replace else None) for d in info.deps] == [
        ("example.com/lib", "./lib")
    ]
    assert_same_sboms(out)


def test_a_module_with_a_real_dependency(sqlite_core_dist: Path) -> None:
    binaries = sorted(p for p in sqlite_core_dist.glob("*/*") if p.is_file() and p.parent.name != "logs")
    assert binaries
    for binary in binaries:
        info = sbom.read_buildinfo(binary)
        assert info is not None and any(d.path == "github.com/mattn/go-sqlite3" for d in info.deps)
        assert_same_sboms(binary)
