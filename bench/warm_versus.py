#!/usr/bin/env python3
"""The warm row of bench/build_matrix.py for two revisions of gobuildx, side by side in one run.

Issue 16 asks that gobuildx's own time in the warm row (a populated GOCACHE, no outputs:
every target links) go down, measured before and after. Measured in two runs, that figure
moves with the machine's load by more than it is; here each round runs, in an order that
rotates, the old code's `gobuildx build`, this tree's, and the plain loop of the same
`go build` commands (build_matrix.py's loop, planned by this tree), so all three see the same
machine. Own time = gobuildx's wall time minus the loop's in the same round.

    .venv/bin/python bench/warm_versus.py [--old REV] [--rounds 5] [--jobs N]

The old revision is checked out with `git worktree` and run as `python -m gobuildx` with
PYTHONPATH pointing at it (byte-compiled first, as an install would be); both run --no-audit
on the repository's targets.toml and examples/hello, with the fast path off.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from build_matrix import gobuildx_argv, loop_script, plain_loop, setup

from gobuildx.project.context import open_project


def compile_code(code: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(code / "gobuildx")],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )


def timed_build(code: Path, root: Path, env: dict[str, str], jobs: int, targets: list[str]) -> float:
    shutil.rmtree(root / "dist", ignore_errors=True)
    run_env = {**env, "PYTHONPATH": str(code), "GOBUILDX_NO_FASTPATH": "1"}
    start = time.perf_counter()
    subprocess.run(
        gobuildx_argv(jobs, targets), cwd=root, env=run_env, check=True, stdout=subprocess.DEVNULL, timeout=3600
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", default="pre-layout", help="the revision to compare with (default: pre-layout)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gobuildx-versus-") as tmp:
        tmpdir = Path(tmp)
        old = tmpdir / "code-old"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(old), opts.old], check=True)
        try:
            codes = {"old": old, "new": REPO}
            for code in codes.values():
                compile_code(code)
            root = setup(tmpdir / "proj")
            env = {**os.environ, "CI": "1", "SOURCE_DATE_EPOCH": "1700000000", "GOCACHE": str(tmpdir / "cache")}
            targets = [t.id for t in open_project(root / "targets.toml", env).targets]
            timed_build(REPO, root, env, opts.jobs, targets)  # populate the shared warm GOCACHE
            loop_out = tmpdir / "loop-out"
            script = loop_script(root, env, targets, loop_out)
            times: dict[str, list[float]] = {"old": [], "new": [], "loop": []}
            order = ["old", "new", "loop"]
            for n in range(opts.rounds):
                for who in order[n % 3 :] + order[: n % 3]:  # each goes first, second and third in turn
                    if who == "loop":
                        shutil.rmtree(loop_out, ignore_errors=True)
                        times["loop"].append(plain_loop(script, env, opts.jobs))
                    else:
                        times[who].append(timed_build(codes[who], root, env, opts.jobs, targets))
            report(opts.old, times, len(targets), opts.jobs)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], check=False)


def report(old: str, times: dict[str, list[float]], n: int, jobs: int) -> None:
    rounds = len(times["loop"])
    own = {who: [t - lp for t, lp in zip(times[who], times["loop"], strict=True)] for who in ("old", "new")}
    print(f"\n{n} targets, -j {jobs}, {os.cpu_count()} cores, {rounds} rounds; own time = gobuildx - loop, same round")
    print(f"{'round':<7}{'old (s)':>9}{'new (s)':>9}{'loop (s)':>10}{'own old':>9}{'own new':>9}")
    for i in range(rounds):
        print(
            f"{i + 1:<7}{times['old'][i]:>9.2f}{times['new'][i]:>9.2f}{times['loop'][i]:>10.2f}"
            f"{own['old'][i]:>9.2f}{own['new'][i]:>9.2f}"
        )
    med_old, med_new = statistics.median(own["old"]), statistics.median(own["new"])
    print(f"median own time: old ({old}) {med_old:.2f} s, new {med_new:.2f} s; new/old {med_new / med_old:.2f}")
    print(f"median warm: old {statistics.median(times['old']):.2f} s, new {statistics.median(times['new']):.2f} s")


if __name__ == "__main__":
    main()
