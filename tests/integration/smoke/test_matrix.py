"""`gobuildx smoke --matrix all` on the hello matrix: every runner, for real, with verdicts."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_gobuildx
from tests.integration.smoke.conftest import smoke_records

EXPECTED_RUNNER = {
    "linux-amd64": "native",
    "linux-386": "native",
    "linux-arm64": "qemu",
    "linux-armv6": "qemu",
    "linux-armv7": "qemu",
    "linux-riscv64": "qemu",
    "linux-ppc64le": "qemu",
    "linux-s390x": "qemu",
    "windows-amd64": "wine",
    "wasip1-wasm": "wasmtime",
    "js-wasm": "node",
}
NO_RUNNER = ["darwin-amd64", "darwin-arm64", "freebsd-amd64", "windows-arm64"]


@pytest.fixture(scope="module")
def smoked(hello_smoke_root: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = run_gobuildx(["smoke", "--matrix", "all"], cwd=hello_smoke_root, timeout=1800)
    return proc, smoke_records(hello_smoke_root / "dist")


def test_every_runnable_target_passes_under_its_runner(smoked: Any) -> None:
    proc, records = smoked
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for tid, runner in EXPECTED_RUNNER.items():
        rec = records[tid]
        assert rec["status"] == "passed", (tid, rec)
        [result] = rec["results"]
        assert result["runner"] == runner, (tid, result)
        goarch = {"armv6": "arm", "armv7": "arm"}.get(tid.split("-")[1], tid.split("-")[1])
        assert f"platform {tid.split('-')[0]}/{goarch} go1." in result["output"], result
        assert "args [one two]" in result["output"]


def test_targets_without_a_runner_are_skipped_with_the_reason(smoked: Any) -> None:
    _, records = smoked
    for tid in NO_RUNNER:
        rec = records[tid]
        assert rec["status"] == "skipped", (tid, rec)
        assert "no runner for" in rec["results"][0]["reason"]
    assert "windows/arm64 machine" in records["windows-arm64"]["results"][0]["reason"]
    assert "macOS" in records["darwin-arm64"]["results"][0]["reason"]


def test_wine_gets_the_processprng_shim_and_says_so(smoked: Any) -> None:
    proc, records = smoked
    [result] = records["windows-amd64"]["results"]
    assert any("ProcessPrng" in n for n in result["notes"]), result
    assert "ProcessPrng" in proc.stdout  # the report tells the user too


def test_foreign_cpus_run_under_qemu_with_their_cpu_level(smoked: Any) -> None:
    _, records = smoked
    armv6 = records["linux-armv6"]["results"][0]["command"]
    assert Path(armv6[0]).name == "qemu-arm-static" and armv6[1:3] == ["-cpu", "arm1176"], armv6
    assert records["linux-armv7"]["results"][0]["command"][1:3] == ["-cpu", "cortex-a8"]
    assert Path(records["linux-s390x"]["results"][0]["command"][0]).name == "qemu-s390x-static"


def test_junit_xml_has_one_case_per_target(smoked: Any, hello_smoke_root: Path) -> None:
    root = ET.parse(hello_smoke_root / "dist" / "smoke-junit.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("15", "0", "4")
    skipped = {c.get("classname"): c.find("skipped") for c in suite.iter("testcase")}
    assert skipped["smoke.freebsd-amd64"] is not None
    assert "no runner" in (skipped["smoke.freebsd-amd64"].get("message") or "")
    assert skipped["smoke.linux-arm64"] is None


def test_manifest_keeps_the_build_records(smoked: Any, hello_smoke_root: Path) -> None:
    data = json.loads((hello_smoke_root / "dist" / "manifest.json").read_text())
    for t in data["targets"]:
        assert t["status"] == "ok" and t["artifacts"], t["id"]
        assert t["smoke"]["status"] in ("passed", "skipped")
