"""`gobuildx build` + `gobuildx audit` end to end, through the real program, in every report format."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gobuildx.project import manifest_file
from tests.conftest import need, run_gobuildx
from tests.integration.audit.conftest import CPROG

TOML = """
[project]
name = "cprog"
dir = "cprog"
ldflags = ["-s", "-w"]

[matrix.main]
include = [
  { goos = "linux", goarch = "amd64" },
  { goos = "linux", goarch = "amd64", libc = "glibc", min_glibc = "2.17" },
  { goos = "linux", goarch = "amd64", libc = "musl" },
  { goos = "windows", goarch = "amd64" },
  { goos = "darwin", goarch = "arm64" },
  { goos = "wasip1", goarch = "wasm" },
  { goos = "js", goarch = "wasm" },
]

# Deliberately wrong: the host gcc makes a static *glibc* build and a glibc floor it cannot keep.
[matrix.wrong]
include = [
  { goos = "linux", goarch = "amd64", cgo = true, libc = "static" },
  { goos = "linux", goarch = "amd64", libc = "glibc", min_glibc = "2.28" },
]

[[override]]
match = ["linux-amd64-cgo-static", "linux-amd64-glibc2.28"]
cc = "gcc"
"""
MAIN = [
    "linux-amd64",
    "linux-amd64-glibc2.17",
    "linux-amd64-musl",
    "windows-amd64",
    "darwin-arm64",
    "wasip1-wasm",
    "js-wasm",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built (with the default audit) for both matrices; returns its root."""
    root = tmp_path_factory.mktemp("audit-cli")
    shutil.copytree(CPROG, root / "cprog")
    (root / "targets.toml").write_text(TOML)
    good = run_gobuildx(["build", "--matrix", "main"], cwd=root)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "linkage audit: 7 checked, verdict PASS" in good.stdout
    wrong = run_gobuildx(["build", "--matrix", "wrong"], cwd=root)
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr  # built fine, audit failed
    assert "audit failed for 2 of 2" in wrong.stderr
    return root


def test_build_audits_and_records_in_manifest(built: Path) -> None:
    man = manifest_file.read(built / "dist")
    assert man is not None
    audits = {t.id: t.audit for t in man.targets}
    assert all(audits[i] is not None and audits[i].verdict == "pass" for i in MAIN), audits  # type: ignore[union-attr]
    old = audits["linux-amd64-glibc2.17"]
    assert old and old.highest_glibc and old.floor_symbols and old.interpreter == "/lib64/ld-linux-x86-64.so.2"
    raw = json.loads((built / "dist" / "manifest.json").read_text())
    record = next(t for t in raw["targets"] if t["id"] == "linux-amd64")["audit"]
    assert record["static"] is True and record["runs_on"][0] == "scratch" and record["needed"] == []


def test_wrong_declarations_fail_naming_the_cause(built: Path) -> None:
    proc = run_gobuildx(["audit", "--matrix", "wrong"], cwd=built)
    assert proc.returncode == 1
    assert "linux-amd64-cgo-static: cprog: glibc is linked in statically" in proc.stderr
    assert "libnss_" in proc.stderr
    assert "linux-amd64-glibc2.28: cprog: needs GLIBC_2." in proc.stderr and "min_glibc = 2.28" in proc.stderr
    assert proc.stdout.index("GLIBC DEPENDENCIES") < proc.stdout.index("linkage audit:")
    assert run_gobuildx(["audit", "--matrix", "wrong", "--warn-only"], cwd=built).returncode == 0


def test_json_report(built: Path) -> None:
    proc = run_gobuildx(["audit", "--format", "json"], cwd=built)
    assert proc.returncode == 1  # the wrong matrix is part of `all`
    data = json.loads(proc.stdout)
    assert data["schema"] == "gobuildx.audit/1" and data["verdict"] == "fail"
    by_id = {r["id"]: r for r in data["results"]}
    assert set(by_id) == set(MAIN) | {"linux-amd64-cgo-static", "linux-amd64-glibc2.28"}
    assert set(data["dynamic_glibc"]) == {"linux-amd64-glibc2.17", "linux-amd64-cgo-static", "linux-amd64-glibc2.28"}
    assert by_id["darwin-arm64"]["verdict"] == "pass"
    assert any(f["code"] == "dynamic-by-design" for f in by_id["darwin-arm64"]["findings"])
    keys = {
        "id",
        "declared",
        "verdict",
        "problems",
        "warnings",
        "findings",
        "linkage",
        "static",
        "interpreter",
        "needed",
        "libc",
        "highest_glibc",
        "floor_symbols",
        "glibc_private",
        "cxx",
        "gcc",
        "runs_on",
        "cgo",
        "go_version",
        "file",
        "artifacts",
    }
    assert set(by_id["linux-amd64"]) == keys
    art = by_id["linux-amd64"]["artifacts"][0]
    assert art["file"].startswith("ELF 64-bit") and art["go"]["settings"]["CGO_ENABLED"] == "0"


def test_markdown_report_to_file(built: Path) -> None:
    out = built / "audit.md"
    proc = run_gobuildx(["audit", "--format", "markdown", "--output", str(out), "--warn-only"], cwd=built)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.startswith("## gobuildx linkage audit: ❌ fail (warn-only)")
    assert "> [!WARNING]" in text and "`linux-amd64-glibc2.28: dynamic glibc, needs GLIBC_2." in text
    assert "| `linux-amd64` | ✅ pass | static |" in text
    assert "### Failures" in text
    assert "linkage audit:" in proc.stdout  # the table still goes to the terminal


def test_junit_report(built: Path) -> None:
    out = built / "audit.xml"
    proc = run_gobuildx(["audit", "--format", "junit", "--output", str(out)], cwd=built)
    assert proc.returncode == 1
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert len(cases) == 9 and suite.get("failures") == "2"
    failure = cases["linux-amd64-glibc2.28"].find("failure")
    assert failure is not None and "min_glibc = 2.28" in (failure.get("message") or "")
    assert cases["linux-amd64"].find("failure") is None


def test_table_lists_every_target(built: Path) -> None:
    proc = run_gobuildx(["audit", "--matrix", "main", "--no-evidence"], cwd=built)
    assert proc.returncode == 0, proc.stderr
    for tid in MAIN:
        assert tid in proc.stdout
    assert "macOS >= " in proc.stdout and "Windows (x86-64)" in proc.stdout


def test_paths_mode_mixes_good_and_bad_files(built: Path, tmp_path: Path) -> None:
    bad = tmp_path / "truncated"
    bad.write_bytes((built / "dist" / "linux-amd64" / "cprog").read_bytes()[:500])
    args = [
        "audit",
        "--path",
        str(built / "dist" / "linux-amd64" / "cprog"),
        "--path",
        str(bad),
        "--path",
        str(tmp_path / "missing"),
        "--format",
        "json",
    ]
    proc = run_gobuildx(args, cwd=tmp_path)  # no targets.toml needed
    assert proc.returncode == 1
    results = {Path(r["id"]).name: r for r in json.loads(proc.stdout)["results"]}
    assert results["cprog"]["verdict"] == "pass"
    assert results["truncated"]["verdict"] == "fail" and "corrupt ELF" in results["truncated"]["problems"][0]
    assert results["missing"]["problems"] == ["missing: no such file"]
    after_dashes = run_gobuildx(["audit", "--expect", "static", "--", "/bin/ls"], cwd=tmp_path)
    assert after_dashes.returncode == 1 and 'declared libc = "static" but it has interpreter' in after_dashes.stderr
    assert (
        run_gobuildx(
            ["audit", "--expect", "glibc", "--min-glibc", "2.36", "--path", "/bin/ls"], cwd=tmp_path
        ).returncode
        == 0
    )


def test_bad_options_are_config_errors(built: Path) -> None:
    proc = run_gobuildx(["audit", "--format", "yaml"], cwd=built)
    assert proc.returncode == 2 and "allowed: table, json, markdown, junit" in proc.stderr
    proc = run_gobuildx(["audit", "--path", "/bin/ls", "--expect", "glibcc"], cwd=built)
    assert proc.returncode == 2 and "--expect 'glibcc'" in proc.stderr


def test_build_no_audit_skips_it(built: Path) -> None:
    proc = run_gobuildx(["build", "--matrix", "wrong", "--no-audit"], cwd=built)
    assert proc.returncode == 0, proc.stderr
    assert "linkage audit" not in proc.stdout


def test_a_dll_that_windows_does_not_have_is_a_warning(built: Path, tmp_path: Path) -> None:
    """Wine's d3d9.dll (a real PE) imports wined3d.dll, which no Windows install has: the audit
    warns, as it would for a MinGW runtime such as libwinpthread-1.dll. Go's own .exe imports
    kernel32.dll only and passes."""
    wine_pe = Path("/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/d3d9.dll")
    need(wine_pe.is_file(), "wine64's PE libraries are not installed (apt-get install wine64)")
    exe = built / "dist" / "windows-amd64" / "cprog.exe"
    proc = run_gobuildx(["audit", "--path", str(wine_pe), "--path", str(exe), "--format", "json"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # a warning, not a failure
    results = {Path(r["id"]).name: r for r in json.loads(proc.stdout)["results"]}
    assert results["d3d9.dll"]["verdict"] == "warn"
    warned = [f for f in results["d3d9.dll"]["findings"] if f["code"] == "extra-dlls"]
    assert warned and "needs wined3d.dll, which a clean Windows does not have" in warned[0]["message"]
    assert "kernel32.dll" not in warned[0]["message"] and "ucrtbase.dll" not in warned[0]["message"]
    assert results["cprog.exe"]["verdict"] == "pass", results["cprog.exe"]
