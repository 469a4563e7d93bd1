"""examples/cgo and examples/sqlite: built with real zig, run under real qemu, ELF-checked.

The default suite proves every libc claim on CGO_CORE/SQLITE_CORE (tests/conftest.py):
a glibc 2.17 floor natively and on arm64 (qemu -L sysroot), a 2.28 floor on armv7
hard-float, static musl, and windows-gnu. The `slow` tests build and run the whole
matrix of both examples (every Linux CPU x glibc 2.17/2.28/static musl, plus windows).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CGO_CORE, REPO, SQLITE_CORE, need, run_gobuildx
from tests.integration.libc.artifacts import (
    CPUS,
    EF_ARM_ABI_FLOAT_HARD,
    GOARCH,
    elf_facts,
    parse_id,
    pe_machine,
    run_artifact,
)

CPU_LIST = ["amd64", "arm64", "armv7", "riscv64"]
FULL = sorted(
    [
        f"linux-{cpu}-{v}"
        for cpu in CPU_LIST
        for v in ("glibc2.17", "glibc2.28", "musl")
        if (cpu, v) != ("riscv64", "glibc2.17")
    ]
    + ["windows-amd64-cgo"]
)
# Under `pytest -n N --dist loadgroup` every example test shares one worker, so each
# example matrix is built once per run (session fixtures are per worker).
pytestmark = pytest.mark.xdist_group("libc-examples")
INTERPRETERS = {
    "amd64": "/lib64/ld-linux-x86-64.so.2",
    "arm64": "/lib/ld-linux-aarch64.so.1",
    "armv7": "/lib/ld-linux-armhf.so.3",
    "riscv64": "/lib/ld-linux-riscv64-lp64d.so.1",
}


def as_version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def check_linkage(path: Path, target_id: str) -> None:
    """The declared libc, read from the ELF: machine, interpreter, DT_NEEDED, GLIBC versions."""
    cpu, libc, floor = parse_id(target_id)
    facts = elf_facts(path)
    assert facts.machine == CPUS[cpu][0], target_id
    assert facts.stripped, f"{target_id} keeps debug info or symbols despite -s: {facts.sections}"
    if cpu == "armv7":
        assert facts.flags & EF_ARM_ABI_FLOAT_HARD, f"{target_id} is not hard-float"
    if libc == "glibc":
        assert facts.interpreter == INTERPRETERS[cpu], target_id
        assert "libc.so.6" in facts.needed, facts.needed
        assert floor and facts.max_glibc and facts.max_glibc <= as_version(floor), (
            f"{target_id} needs GLIBC_{'.'.join(map(str, facts.max_glibc or ()))}, floor is {floor}"
        )
    else:
        assert facts.interpreter is None and facts.needed == [], f"{target_id} is not static: {facts}"
        assert facts.glibc_versions == []


def run_and_check(path: Path, target_id: str, expected: list[str]) -> str:
    cpu, libc, _floor = parse_id(target_id)
    proc = run_artifact(path, cpu, libc)
    assert proc.returncode == 0, f"{target_id}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
    for line in expected + [f" on linux/{GOARCH[cpu]}"]:
        assert line in proc.stdout, f"{target_id}: {line!r} not in output:\n{proc.stdout}"
    return proc.stdout


def check_cgo(dist: Path, target_id: str) -> None:
    path = dist / target_id / ("cgo.exe" if target_id.startswith("windows") else "cgo")
    if target_id.startswith("windows"):
        assert pe_machine(path) == 0x8664  # runs under Wine: proven by the smoke tests
        return
    check_linkage(path, target_id)
    _cpu, libc, _floor = parse_id(target_id)
    out = run_and_check(path, target_id, ["qsort [3 7 11 19 42]", "getaddrinfo 127.0.0.1"])
    assert ("libc glibc 2." if libc == "glibc" else "libc musl") in out, out


def check_sqlite(dist: Path, target_id: str) -> None:
    path = dist / target_id / ("sqlite.exe" if target_id.startswith("windows") else "sqlite")
    if target_id.startswith("windows"):
        assert pe_machine(path) == 0x8664
        return
    check_linkage(path, target_id)
    run_and_check(path, target_id, ["rows 3", "sqlite 3."])


def check_log_and_manifest(dist: Path, target_id: str) -> None:
    log = (dist / "logs" / f"{target_id}.log").read_text()
    record = next(t for t in json.loads((dist / "manifest.json").read_text())["targets"] if t["id"] == target_id)
    assert record["status"] == "ok" and record["c_toolchain"].startswith("zig cc -target ")
    assert f"# C toolchain: {record['c_toolchain']}" in log
    assert "# env CGO_ENABLED=1" in log


# --- default suite: every claim on a well-chosen set -------------------------------------------


@pytest.mark.parametrize("target_id", CGO_CORE)
def test_cgo_core_target_builds_links_and_runs(cgo_core_dist: Path, target_id: str) -> None:
    check_log_and_manifest(cgo_core_dist, target_id)
    check_cgo(cgo_core_dist, target_id)


@pytest.mark.parametrize("target_id", SQLITE_CORE)
def test_sqlite_core_target_builds_links_and_runs(sqlite_core_dist: Path, target_id: str) -> None:
    check_log_and_manifest(sqlite_core_dist, target_id)
    check_sqlite(sqlite_core_dist, target_id)


def test_example_matrices_are_the_declared_ones() -> None:
    for name in ("cgo", "sqlite"):
        proc = run_gobuildx(["matrix", "--json"], cwd=REPO / "examples" / name, check=True)
        assert sorted(t["id"] for t in json.loads(proc.stdout)) == FULL, name


def test_without_a_floor_the_native_glibc_leaks_in(project) -> None:  # type: ignore[no-untyped-def]
    """The check above can fail: a host-gcc build (no floor) needs the build machine's glibc."""
    root = project(
        "cgo",
        """
[project]
name = "cgo"
dir = "cgo"
[matrix.m]
include = [{ goos = "linux", goarch = "amd64", libc = "glibc" }]
""",
    )
    run_gobuildx(["build"], cwd=root, check=True)
    log = (root / "dist" / "logs" / "linux-amd64-glibc.log").read_text()
    assert "# C toolchain: system " in log
    facts = elf_facts(root / "dist" / "linux-amd64-glibc" / "cgo")
    assert facts.max_glibc and facts.max_glibc > (2, 17), facts.glibc_versions


# --- slow: the whole matrices -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("target_id", FULL)
def test_cgo_full_matrix_builds_links_and_runs(cgo_dist: Path, target_id: str) -> None:
    check_log_and_manifest(cgo_dist, target_id)
    check_cgo(cgo_dist, target_id)


@pytest.mark.slow
@pytest.mark.parametrize("target_id", FULL)
def test_sqlite_full_matrix_builds_links_and_runs(sqlite_dist: Path, target_id: str) -> None:
    check_log_and_manifest(sqlite_dist, target_id)
    check_sqlite(sqlite_dist, target_id)


@pytest.mark.slow
def test_dynamic_musl_has_the_musl_interpreter(project) -> None:  # type: ignore[no-untyped-def]
    """libc = "musl" + link = "dynamic": the Alpine kind (a cold zig libc.so build, ~2-3 min)."""
    root = project(
        "cgo",
        """
[project]
name = "cgo"
dir = "cgo"
[matrix.m]
include = [{ goos = "linux", goarch = "amd64", libc = "musl", link = "dynamic" }]
""",
    )
    run_gobuildx(["build"], cwd=root, check=True, timeout=3600)
    path = root / "dist" / "linux-amd64-musl-dynamic" / "cgo"
    facts = elf_facts(path)
    assert facts.interpreter == "/lib/ld-musl-x86_64.so.1", facts
    assert facts.needed == ["libc.so"] and facts.glibc_versions == [], facts
    audit = run_gobuildx(["audit", "--format", "json"], cwd=root, check=True)
    (result,) = json.loads(audit.stdout)["results"]
    assert result["verdict"] == "pass", result  # libc.so is musl itself (zig's name), not an extra library
    need(
        Path("/lib/ld-musl-x86_64.so.1").exists(),
        "linkage checked; running it needs the musl loader (apt-get install musl)",
    )
    proc = run_artifact(path, "amd64", "musl")
    assert proc.returncode == 0 and "libc musl" in proc.stdout, proc.stdout + proc.stderr
