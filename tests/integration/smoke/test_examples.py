"""The cgo and sqlite examples (glibc floors, static musl, mingw) smoke under the right runner.

Dynamic glibc artifacts of foreign CPUs run under QEMU with `-L` to Debian's cross sysroot;
the program itself reports the libc it really runs on.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CGO_CORE, SQLITE_CORE, run_gobuildx
from tests.integration.smoke.conftest import smoke_records

BASE = r"(?m)^cgo \S+ on {goos}/{goarch}\n^qsort \[3 7 11 19 42\]\n^getaddrinfo 127\.0\.0\.1\n"
CGO_SMOKE = f"""
[smoke]
expect = '{BASE}^libc '

[[override]]
match = "*-musl"
smoke = {{ expect = '{BASE}^libc musl$' }}

[[override]]
match = "*-glibc*"
smoke = {{ expect = '{BASE}^libc glibc 2\\.\\d+$' }}
"""
SQLITE_SMOKE = r"""
[smoke]
expect = '(?m)^sqlite \S+ on {goos}/{goarch}\n^rows \d+$'
"""
RUNNER = {
    "linux-amd64-glibc2.17": "native",
    "linux-arm64-glibc2.17": "qemu",
    "linux-armv7-glibc2.28": "qemu",
    "linux-amd64-musl": "native",
    "windows-amd64-cgo": "wine",
}
SYSROOT = {"linux-arm64-glibc2.17": "/usr/aarch64-linux-gnu", "linux-armv7-glibc2.28": "/usr/arm-linux-gnueabihf"}


def smoke_example(dist: Path, table: str, targets: list[str]) -> dict[str, dict]:  # type: ignore[type-arg]
    root = dist.parent
    (root / "smoke.toml").write_text((root / "targets.toml").read_text() + table)
    args = ["smoke", "--config", "smoke.toml", "--junit", "smoke.xml"] + [f"--target={t}" for t in targets]
    proc = run_gobuildx(args, cwd=root, timeout=3600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return smoke_records(dist)


def test_cgo_core_targets_run_on_their_libc(cgo_core_dist: Path) -> None:
    records = smoke_example(cgo_core_dist, CGO_SMOKE, CGO_CORE)
    for tid in CGO_CORE:
        [result] = records[tid]["results"]
        assert (result["status"], result["runner"]) == ("passed", RUNNER[tid]), (tid, result)
        if tid in SYSROOT:
            assert result["command"][-3:-1] == ["-L", SYSROOT[tid]], result["command"]
    assert "libc glibc 2." in records["linux-arm64-glibc2.17"]["results"][0]["output"]


def test_sqlite_core_targets_run(sqlite_core_dist: Path) -> None:
    records = smoke_example(sqlite_core_dist, SQLITE_SMOKE, SQLITE_CORE)
    for tid in SQLITE_CORE:
        [result] = records[tid]["results"]
        assert result["status"] == "passed", (tid, result)
