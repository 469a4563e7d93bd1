"""Dynamic targets: the loader and library closure come from the CPU's sysroot, or the build refuses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import docker
import pytest

from tests.conftest import EXAMPLES, run_gobuildx
from tests.integration.image.conftest import run_in_image, unique_repo

CGO_TOML = """
[project]
name = "cgo"
version = "0.9.0"
ldflags = ["-s", "-w", "-X main.version={version}"]

[matrix.linux]
goos = ["linux"]
goarch = ["amd64", "arm64"]
libc = ["glibc"]
min_glibc = ["2.28"]

[image]
repository = "127.0.0.1:5000/test/cgo"
"""


@pytest.fixture(scope="session")
def cgo_images(tmp_path_factory: pytest.TempPathFactory, services: dict[str, str]) -> Path:
    """examples/cgo as dynamic glibc binaries (2.28 floor) for amd64 and arm64."""
    root = tmp_path_factory.mktemp("cgo-images")
    shutil.copytree(EXAMPLES / "cgo", root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("dist"))
    (root / "targets.toml").write_text(CGO_TOML)
    run_gobuildx(["build"], cwd=root, env=services, check=True)
    return root


def test_dynamic_glibc_gets_loader_and_libraries(
    cgo_images: Path, services: dict[str, str], engine: docker.DockerClient
) -> None:
    repo = unique_repo("cgo")
    run_gobuildx(["image", "-r", repo, "--tarballs", "tars"], cwd=cgo_images, env=services, check=True)
    mani = json.loads((cgo_images / "dist" / "manifest.json").read_text())
    recs = {t["id"]: t["image"] for t in mani["targets"]}
    amd64, arm64 = recs["linux-amd64-glibc2.28"], recs["linux-arm64-glibc2.28"]
    assert amd64["dynamic"] and amd64["linkage_from"] in ("audit", "elf")
    assert "/lib64/ld-linux-x86-64.so.2" in amd64["libraries"] and "/lib/libc.so.6" in amd64["libraries"]
    assert "/lib/ld-linux-aarch64.so.1" in arm64["libraries"] and "/lib/libc.so.6" in arm64["libraries"]
    for tid, arch in (("linux-amd64-glibc2.28", "amd64"), ("linux-arm64-glibc2.28", "arm64")):
        engine.images.load((cgo_images / "tars" / f"{tid}.tar").read_bytes())
        out = run_in_image(engine, f"{repo}:0.9.0-{tid}", arch, "/usr/local/bin/cgo", f"linux/{arch}")
        assert f"on linux/{arch}" in out and "libc glibc 2." in out and "getaddrinfo 127.0.0.1" in out, (tid, out)


def test_dynamic_refused_with_the_reason(cgo_images: Path, services: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "p"
    shutil.copytree(cgo_images, root, symlinks=True)
    (root / "targets.toml").write_text(CGO_TOML + 'dynamic = "refuse"\n')
    proc = run_gobuildx(["image", "--oci-layout", "l"], cwd=root, env=services)
    assert proc.returncode == 5, proc.stderr
    assert "linux-amd64-glibc2.28: dynamically linked (interpreter /lib64/ld-linux-x86-64.so.2" in proc.stderr
    assert "linux-arm64-glibc2.28: dynamically linked (interpreter /lib/ld-linux-aarch64.so.1" in proc.stderr
    assert 'refused by image.dynamic = "refuse"' in proc.stderr
    assert not (root / "l").exists()


def test_dynamic_through_the_engine(
    cgo_images: Path, services: dict[str, str], engine: docker.DockerClient, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    shutil.copytree(cgo_images, root, symlinks=True)
    repo = unique_repo("cgo-engine")
    run_gobuildx(["image", "-t", "linux-amd64-glibc2.28", "-r", repo], cwd=root, env=services, check=True)
    rec = next(
        t
        for t in json.loads((root / "dist" / "manifest.json").read_text())["targets"]
        if t["id"] == "linux-amd64-glibc2.28"
    )["image"]
    assert rec["builder"] == "docker" and "/lib/libc.so.6" in rec["libraries"]
    out = run_in_image(engine, rec["local_tags"][0], "amd64", "/usr/local/bin/cgo", "linux/amd64")
    assert "on linux/amd64" in out and "libc glibc 2." in out, out
