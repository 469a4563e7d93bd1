"""A declared CPU level runs on the lowest CPU QEMU models for it, so a level mistake fails."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gobuildx.project.context import open_project
from gobuildx.project.matrix import Target
from gobuildx.smoke.runners.base import Check, Host, Job
from gobuildx.smoke.runners.qemu import QemuRunner
from tests.conftest import EXAMPLES, go_program


@pytest.fixture(scope="module")
def hello_v3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("levels") / "hello"
    env = {**os.environ, "GOOS": "linux", "GOARCH": "amd64", "GOAMD64": "v3", "CGO_ENABLED": "0"}
    subprocess.run(
        [go_program(), "build", "-trimpath", "-o", str(out), "."],
        cwd=EXAMPLES / "hello",
        env=env,
        check=True,
        timeout=600,
    )
    return out


def job(artifact: Path, goamd64: str, tmp: Path) -> Job:
    ctx = open_project(Path(__file__).resolve().parents[3] / "targets.toml")
    target = Target(id=f"linux-amd64{goamd64}", goos="linux", goarch="amd64", goamd64=goamd64)
    return Job(
        target=target,
        binary="hello",
        artifact=artifact,
        check=Check(expect=r"platform linux/amd64"),
        host=Host(goos=ctx.go.hostos, goarch=ctx.go.hostarch),
        goroot=ctx.go.goroot,
        cache_dir=tmp / "cache",
        work_dir=tmp / "work",
        environ=dict(os.environ),
    )


def test_a_v3_binary_runs_on_the_lowest_v3_cpu(hello_v3: Path, tmp_path: Path) -> None:
    runner = QemuRunner()
    j = job(hello_v3, "v3", tmp_path)
    assert runner.applies(j)  # a level check goes to QEMU even on an amd64 host
    result = runner.run(j)
    assert result.status == "passed", result
    assert result.command[1:3] == ["-cpu", "Haswell-noTSX,-pcid,-x2apic,-tsc-deadline,-invpcid"]
    assert "warning" not in result.output


def test_a_level_mistake_fails(hello_v3: Path, tmp_path: Path) -> None:
    # The artifact really needs v3, but the target claims v2: it must fail on a v2 CPU.
    result = QemuRunner().run(job(hello_v3, "v2", tmp_path))
    assert result.status == "failed", result
    assert result.command[1:3] == ["-cpu", "Nehalem"]
    assert "v3 microarchitecture support" in result.output


def test_v4_cannot_be_emulated_and_is_skipped(hello_v3: Path, tmp_path: Path) -> None:
    result = QemuRunner().run(job(hello_v3, "v4", tmp_path))
    assert result.status == "skipped" and "AVX-512" in result.reason, result
