"""Broken programs are caught: a hang, a crash, a wrong exit code, wrong output, a bad HTTP answer."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import go_program, run_gobuildx
from tests.integration.smoke.conftest import SERVER_TARGETS, smoke_records

MARKER = f"gobuildx-smoke-test-{uuid.uuid4().hex[:12]}"

# One run, three failure modes, one per runner (per-target overrides of [smoke]).
FAILURES = (
    SERVER_TARGETS
    + f"""
[smoke]
timeout = 60

[[override]]
match = "linux-amd64"
smoke = {{ args = ["-hang", "-marker", "{MARKER}"], timeout = 4 }}

[[override]]
match = "linux-arm64"
smoke = {{ args = ["-crash"] }}

[[override]]
match = "windows-amd64"
smoke = {{ args = ["-exit", "3"] }}
"""
)


@pytest.fixture(scope="module")
def failed_run(
    server_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    (server_root / "failures.toml").write_text(FAILURES)
    junit = tmp_path_factory.mktemp("junit") / "failures.xml"
    proc = run_gobuildx(["smoke", "--config", "failures.toml", "--junit", str(junit)], cwd=server_root, timeout=900)
    return proc, smoke_records(server_root / "dist")


def only_result(records: dict[str, Any], tid: str) -> dict[str, Any]:
    assert records[tid]["status"] == "failed", records[tid]
    [result] = records[tid]["results"]
    return result


def test_any_failure_makes_the_exit_code_6(failed_run: Any) -> None:
    proc, _ = failed_run
    assert proc.returncode == 6, proc.stdout + proc.stderr
    assert "3 of 3 targets failed smoke" in proc.stderr


def test_a_hang_is_killed_with_its_children_at_the_timeout(failed_run: Any) -> None:
    _, records = failed_run
    result = only_result(records, "linux-amd64")
    assert result["reason"].startswith("hung: killed with its process group after 4s"), result
    assert 4 <= result["duration_s"] < 30
    assert "hanging with child" in result["output"]
    leftovers = [p for p in Path("/proc").iterdir() if p.name.isdigit() and MARKER in cmdline(p)]
    assert leftovers == []


def test_a_crash_under_qemu_is_reported_as_a_crash(failed_run: Any) -> None:
    _, records = failed_run
    result = only_result(records, "linux-arm64")
    assert result["runner"] == "qemu"
    assert result["reason"].startswith("crashed: exit code 2"), result
    assert "nil pointer dereference" in result["reason"] or "SIGSEGV" in result["reason"]


def test_a_wrong_exit_code_under_wine(failed_run: Any) -> None:
    _, records = failed_run
    result = only_result(records, "windows-amd64")
    assert result["runner"] == "wine"
    assert result["reason"] == "wrong exit code: exit code 3, expected 0", result
    assert "exiting with 3" in result["output"]


def test_wrong_output_is_caught_on_every_runner(hello_smoke_root: Path) -> None:
    text = (hello_smoke_root / "targets.toml").read_text().split("[smoke]")[0]
    (hello_smoke_root / "wrong.toml").write_text(text + '[smoke]\nexpect = "platform plan9/mips"\n')
    proc = run_gobuildx(
        [
            "smoke",
            "--config",
            "wrong.toml",
            "-t",
            "linux-riscv64",
            "-t",
            "js-wasm",
            "-t",
            "wasip1-wasm",
            "--junit",
            "wrong.xml",
        ],
        cwd=hello_smoke_root,
        timeout=900,
    )
    assert proc.returncode == 6, proc.stdout + proc.stderr
    records = smoke_records(hello_smoke_root / "dist")
    for tid in ("linux-riscv64", "js-wasm", "wasip1-wasm"):
        [result] = records[tid]["results"]
        assert result["status"] == "failed"
        assert result["reason"].startswith("wrong output: does not match /platform plan9/mips/"), result


def test_server_mode_passes_on_native_qemu_and_wine(server_root: Path) -> None:
    proc = run_gobuildx(["smoke", "--junit", "server.xml"], cwd=server_root, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = smoke_records(server_root / "dist")
    for tid, runner in (("linux-amd64", "native"), ("linux-arm64", "qemu"), ("windows-amd64", "wine")):
        [result] = records[tid]["results"]
        assert (result["status"], result["runner"]) == ("passed", runner), result
        assert "answered HTTP 200, body matches" in result["reason"]


def test_server_mode_catches_a_wrong_http_status(server_root: Path) -> None:
    text = (server_root / "targets.toml").read_text().replace('http_path = "/healthz"', 'http_path = "/missing"')
    (server_root / "badpath.toml").write_text(text)
    proc = run_gobuildx(
        ["smoke", "--config", "badpath.toml", "-t", "linux-amd64", "--junit", "bad.xml"], cwd=server_root, timeout=900
    )
    assert proc.returncode == 6
    [result] = smoke_records(server_root / "dist")["linux-amd64"]["results"]
    assert result["reason"].startswith("GET /missing answered HTTP 404, expected 200"), result


def test_a_missing_runner_is_skipped_with_the_package_to_install(server_root: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "go").symlink_to(go_program())
    (bin_dir / "git").symlink_to(
        subprocess.run(["which", "git"], capture_output=True, text=True, check=True).stdout.strip()
    )
    # Wine is found off PATH too (Debian's /usr/lib/wine/wine64): point GOBUILDX_WINE at nothing.
    proc = run_gobuildx(
        ["smoke", "--junit", "missing.xml"],
        cwd=server_root,
        timeout=900,
        env={"PATH": str(bin_dir), "GOBUILDX_WINE": str(tmp_path / "no-wine")},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr  # skipped is not failed...
    records = smoke_records(server_root / "dist")
    assert records["linux-amd64"]["status"] == "passed"  # ...and native still runs
    for tid, package in (
        ("linux-arm64", "apt-get install qemu-user-static"),
        ("windows-amd64", "apt-get install wine64"),
    ):
        [result] = records[tid]["results"]
        assert result["status"] == "skipped", result
        assert result["reason"].startswith("runner unavailable") and package in result["reason"], result


def cmdline(proc_dir: Path) -> str:
    try:
        return (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
