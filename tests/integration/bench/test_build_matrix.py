"""bench/build_matrix.py in small: gobuildx against the plain `go build` loop, for real.

Two targets, the suite's warm Go cache, one rep of each mode. The script must run both
tools to the end and print every row of its table with a ratio. Timings are printed,
never asserted (speed goals live in the full run; see bench/RESULTS.md and issue 2).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import REPO

SCRIPT = REPO / "bench" / "build_matrix.py"


def test_quick_run_prints_every_mode_with_a_ratio() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--skip-cold", "--jobs", "2"],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    number = r"\d+\.\d+"
    assert re.search(r"^2 targets, -j 2, ", proc.stdout, re.MULTILINE), proc.stdout
    for mode in ("warm", "in place", "no-op", "floor"):
        assert re.search(rf"^{mode}\s+{number}\s+{number}\s+{number}\s", proc.stdout, re.MULTILINE), proc.stdout
    assert re.search(rf"^no-op, full\s+{number}\s", proc.stdout, re.MULTILINE), proc.stdout
    assert not re.search(r"^cold\s", proc.stdout, re.MULTILINE), "--skip-cold ran a cold build"
    assert "(the receipt answered 1 of 1 no-op runs;" in proc.stdout, proc.stdout
