#!/usr/bin/env python3
"""gobuildx build vs. a plain shell loop of the same `go build` commands, side by side.

Both run the exact commands gobuildx plans (same flags, ldflags, env), at the same
parallelism (`-j N` vs `xargs -P N`), alternating, in one run:

  cold      each tool gets its own empty GOCACHE and no outputs
  warm      a populated GOCACHE and no outputs (dist/ and the loop's tree removed): both link
  in place  a populated GOCACHE with last run's outputs in place, gobuildx with --force: `go build`
            finds every binary current on both sides, so this times gobuildx's own overhead
  no-op     a second `gobuildx build` with nothing changed, answered from its receipt
            (gobuildx/fastpath.py), and again with GOBUILDX_NO_FASTPATH=1; beside it the loop run
            again with nothing to do (the in-place loop time)
  floor     the warm loop, and at the same moment beside it gobuildx's full path on current
            outputs (GOBUILDX_NO_FASTPATH=1: start-up, config, plans, walk, manifest, report;
            no compiling): the least a warm gobuildx run could take if all of its own work
            overlapped the compiles (on a busy machine its CPU still has to fit somewhere)

gobuildx runs with --no-audit here (the loop does not audit); bench/audit.py measures the audit.

Usage: python bench/build_matrix.py [--reps 3] [--cold-reps 1] [--jobs N] [--quick] [--skip-cold]
Targets (issue #2): cold and warm within 1.10x of the loop; no-op under 0.5 s.
The in-place row has no goal of its own: it is the loop doing nothing, against gobuildx asked to.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gobuildx.build import stage as build
from gobuildx.project.context import open_project

QUICK_TARGETS = ["linux-amd64", "windows-arm64"]


def setup(workdir: Path) -> Path:
    shutil.copytree(REPO / "examples" / "hello", workdir / "examples" / "hello")
    shutil.copy(REPO / "targets.toml", workdir / "targets.toml")
    return workdir


NOOP = "gobuildx: nothing changed since"


def gobuildx_argv(jobs: int, targets: list[str], *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gobuildx",
        "build",
        "--no-audit",
        "-j",
        str(jobs),
        *extra,
        *(w for t in targets for w in ("--target", t)),
    ]


def gobuildx(
    root: Path, env: dict[str, str], jobs: int, targets: list[str], *extra: str, answered: list[bool] | None = None
) -> float:
    """One `gobuildx build`, compile only (--no-audit): the loop does not audit either.
    `answered` gets whether the receipt answered it (the fast path's first line)."""
    start = time.perf_counter()
    proc = subprocess.run(
        gobuildx_argv(jobs, targets, *extra),
        cwd=root,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        timeout=3600,
    )
    took = time.perf_counter() - start
    if answered is not None:
        answered.append(proc.stdout.startswith(NOOP))
    return took


def startup(root: Path, env: dict[str, str]) -> float:
    """`gobuildx --list`: the interpreter, invoke and the task collection, the floor under every task."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "gobuildx", "--list"],
        cwd=root,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=60,
    )
    return time.perf_counter() - start


def loop_script(root: Path, env: dict[str, str], targets: list[str], out: Path) -> Path:
    """A shell script: one `env ... go build ...` line per target, run by xargs -P."""
    ctx = open_project(root / "targets.toml", env)
    plans = build.plan_all(ctx, ctx.select("all", targets))
    lines = []
    for plan in plans:
        for step in plan.steps:
            dest = out / step.output
            argv = [str(dest) if a == "{output}" else a for a in step.argv]
            assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(plan.env.items()))
            lines.append(
                f"mkdir -p {shlex.quote(str(dest.parent))} && cd {shlex.quote(str(ctx.loaded.module_dir))}"
                f" && env -i {assigns} {shlex.join(argv)}"
            )
    script = out.parent / "loop-commands.txt"
    script.write_text("\n".join(lines) + "\n")
    return script


def loop_argv(jobs: int) -> list[str]:
    return ["xargs", "-P", str(jobs), "-I{}", "-d", "\n", "sh", "-c", "{}"]


def plain_loop(script: Path, env: dict[str, str], jobs: int) -> float:
    start = time.perf_counter()
    with open(script) as commands:
        subprocess.run(loop_argv(jobs), stdin=commands, env=env, check=True, timeout=3600)
    return time.perf_counter() - start


def floor(script: Path, root: Path, env: dict[str, str], jobs: int, targets: list[str]) -> float:
    """The loop and, started with it, gobuildx's full path finding every target current."""
    start = time.perf_counter()
    with open(script) as commands:
        loop = subprocess.Popen(loop_argv(jobs), stdin=commands, env=env)
        try:
            proc = subprocess.run(
                gobuildx_argv(jobs, targets),
                cwd=root,
                env={**env, "GOBUILDX_NO_FASTPATH": "1"},
                check=True,
                stdout=subprocess.PIPE,
                text=True,
                timeout=3600,
            )
        finally:
            code = loop.wait(timeout=3600)
    took = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"the loop failed beside gobuildx (exit {code})")
    current = proc.stdout.count("  up to date  ")
    if current != len(targets):  # it compiled: not the floor
        raise SystemExit(f"the full path beside the loop found {current} of {len(targets)} targets current")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3, help="warm and no-op repetitions")
    parser.add_argument("--cold-reps", type=int, default=1, help="cold repetitions (each compiles std per target)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK_TARGETS)}, one rep each")
    parser.add_argument(
        "--skip-cold",
        action="store_true",
        help="no cold runs; the warm runs use $GOCACHE as it is (tests/integration/bench runs this)",
    )
    opts = parser.parse_args()
    if opts.quick:
        opts.reps, opts.cold_reps = 1, 1
    # as a regular (non-editable) install would have it, even under PYTHONDONTWRITEBYTECODE
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "gobuildx")],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )
    with tempfile.TemporaryDirectory(prefix="gobuildx-bench-") as tmp:
        tmpdir = Path(tmp)
        root = setup(tmpdir / "proj")
        base = {**os.environ, "CI": "1", "SOURCE_DATE_EPOCH": "1700000000"}
        all_ids = [t.id for t in open_project(root / "targets.toml", base).targets]
        targets = QUICK_TARGETS if opts.quick else all_ids
        results: dict[str, list[float]] = {
            k: []
            for k in (
                "cold gobuildx",
                "cold loop",
                "warm gobuildx",
                "warm loop",
                "in place gobuildx",
                "in place loop",
                "no-op gobuildx",
                "no-op full path",
                "startup",
                "floor",
            )
        }
        loop_out = tmpdir / "loop-out"
        answered: list[bool] = []  # per no-op run: did the receipt answer it?
        for rep in range(0 if opts.skip_cold else opts.cold_reps):
            for tool in ("gobuildx", "loop") if rep % 2 == 0 else ("loop", "gobuildx"):
                env = {**base, "GOCACHE": str(tmpdir / f"cold-{tool}-{rep}")}
                shutil.rmtree(root / "dist", ignore_errors=True)
                shutil.rmtree(loop_out, ignore_errors=True)
                if tool == "gobuildx":
                    results["cold gobuildx"].append(gobuildx(root, env, opts.jobs, targets, "--force"))
                else:
                    script = loop_script(root, env, targets, loop_out)
                    results["cold loop"].append(plain_loop(script, env, opts.jobs))
                shutil.rmtree(tmpdir / f"cold-{tool}-{rep}", ignore_errors=True)
        # --skip-cold: Go's own cache as the environment names it (the user's, already warm)
        warm_env = base if opts.skip_cold else {**base, "GOCACHE": str(tmpdir / "warm-cache")}
        gobuildx(root, warm_env, opts.jobs, targets, "--force")  # populate the shared warm cache
        script = loop_script(root, warm_env, targets, loop_out)
        for rep in range(opts.reps):
            order = ("gobuildx", "loop") if rep % 2 == 0 else ("loop", "gobuildx")
            for tool in order:
                if tool == "gobuildx":
                    shutil.rmtree(root / "dist", ignore_errors=True)
                    results["warm gobuildx"].append(gobuildx(root, warm_env, opts.jobs, targets))
                else:
                    shutil.rmtree(loop_out, ignore_errors=True)
                    results["warm loop"].append(plain_loop(script, warm_env, opts.jobs))
            for tool in order:
                if tool == "gobuildx":
                    results["in place gobuildx"].append(gobuildx(root, warm_env, opts.jobs, targets, "--force"))
                else:
                    results["in place loop"].append(plain_loop(script, warm_env, opts.jobs))
            results["no-op gobuildx"].append(gobuildx(root, warm_env, opts.jobs, targets, answered=answered))
            results["no-op full path"].append(
                gobuildx(root, {**warm_env, "GOBUILDX_NO_FASTPATH": "1"}, opts.jobs, targets)
            )
            results["startup"].append(startup(root, warm_env))
            shutil.rmtree(loop_out, ignore_errors=True)  # dist/ is current: gobuildx only checks it
            results["floor"].append(floor(script, root, warm_env, opts.jobs, targets))
        report(results, len(targets), opts.jobs)
        print(f"(the receipt answered {sum(answered)} of {len(answered)} no-op runs; the others took the full path)")


def report(results: dict[str, list[float]], n: int, jobs: int) -> None:
    med = {k: statistics.median(v) for k, v in results.items() if v}
    print(
        f"\n{n} targets, -j {jobs}, {os.cpu_count()} cores, medians of "
        f"{len(results['warm gobuildx'])} warm / {len(results['cold gobuildx'])} cold runs"
    )
    print(f"{'mode':<16}{'gobuildx (s)':>14}{'plain loop (s)':>16}{'ratio':>8}  goal")
    for mode, goal in (("cold", "<= 1.10"), ("warm", "<= 1.10"), ("in place", "-  (--force; nothing to link)")):
        if f"{mode} gobuildx" not in med:
            continue
        g, lp = med[f"{mode} gobuildx"], med[f"{mode} loop"]
        print(f"{mode:<16}{g:>14.2f}{lp:>16.2f}{g / lp:>8.2f}  {goal}")
    noop, idle_loop = med["no-op gobuildx"], med["in place loop"]
    print(
        f"{'no-op':<16}{noop:>14.2f}{idle_loop:>16.2f}{noop / idle_loop:>8.2f}  < 0.50 s (answered from the receipt;"
        " the loop column: the same loop, nothing to do)"
    )
    print(
        f"{'no-op, full':<16}{med['no-op full path']:>14.2f}{'-':>16}{'-':>8}  GOBUILDX_NO_FASTPATH=1: "
        "every target re-checked"
    )
    print(
        f"{'(startup)':<16}{med['startup']:>14.2f}{'-':>16}{'-':>8}  "
        "`gobuildx --list`: invoke + tasks, under every task"
    )
    fl, warm_loop = med["floor"], med["warm loop"]
    print(
        f"{'floor':<16}{fl:>14.2f}{warm_loop:>16.2f}{fl / warm_loop:>8.2f}  the warm loop with gobuildx's full path "
        "(no compiling) beside it: a warm run cannot take less"
    )


if __name__ == "__main__":
    main()
