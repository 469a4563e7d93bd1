"""zig's first-time libc build through the real program: announced, done once at a time, cached.

Costs one cold glibc build (zig's x86_64 glibc 2.17 stubs, crt and compiler_rt) in a
throwaway ZIG_GLOBAL_CACHE_DIR: ~25 s on a quiet 2-core machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import copy_example, run_gobuildx

TARGET = "linux-amd64-glibc2.17"
FIRST = "first-time build of zig's libc for x86_64-linux-gnu.2.17"
WAITING = "waiting for another build that is compiling zig's libc for x86_64-linux-gnu.2.17"


def doctor_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.split()[:1] == [TARGET])


def test_cold_libc_is_built_once_announced_and_then_cached(tmp_path: Path) -> None:
    zig_cache = tmp_path / "zig-cache"
    env = {**os.environ, "CI": "1", "ZIG_GLOBAL_CACHE_DIR": str(zig_cache)}
    roots = [copy_example("cgo", tmp_path / f"p{i}") for i in range(2)]
    before = run_gobuildx(["doctor"], cwd=roots[0], env=env, check=True).stdout
    assert "[libc not built yet" in doctor_line(before)

    # Two separate gobuildx processes want the same cold libc at the same moment.
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gobuildx", "build", "-t", TARGET],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for root in roots
    ]
    outputs = [p.communicate(timeout=1200)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    both = "\n".join(outputs)
    assert both.count(FIRST) == 1, both
    assert both.count(WAITING) == 1, both

    after = run_gobuildx(["doctor"], cwd=roots[0], env=env, check=True).stdout
    assert "zig cc -target x86_64-linux-gnu.2.17" in doctor_line(after)
    assert "not built" not in doctor_line(after)
    again = run_gobuildx(["build", "--force", "-t", TARGET], cwd=roots[0], env=env, check=True)
    assert "first-time build" not in again.stdout + again.stderr
    for root in roots:
        assert subprocess.run(
            [str(root / "dist" / TARGET / "cgo")], capture_output=True, text=True, timeout=60, check=True
        ).stdout.startswith("cgo ")
