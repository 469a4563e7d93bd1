"""Benchmark: the cgo matrix of examples/cgo (or sqlite), cold and warm, gobuildx vs a plain loop.

    .venv/bin/python bench/cgo.py                       # whole matrix of examples/cgo
    .venv/bin/python bench/cgo.py --example sqlite -t 'linux-arm64-*'

Four runs, side by side in one invocation, each with its own throwaway caches:
  gobuildx cold  : empty ZIG_GLOBAL_CACHE_DIR and GOCACHE, `gobuildx build`
  gobuildx warm  : the same caches again, `gobuildx build --force`
  go loop cold   : empty caches, one `go build` after another with exactly the env
                   (CC/CXX = zig cc -target ..., CGO_ENABLED, GOOS/GOARCH/GOARM) and
                   flags gobuildx plans for each target
  go loop warm   : that loop again on its now-warm caches (outputs removed first, so
                   every target is relinked as with --force)
  gobuildx no-op : `gobuildx build` with nothing changed (every target up to date)
The module cache (GOMODCACHE) is shared: downloading is not what is measured.
Ratios are printed at the end; nothing here asserts a number.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gobuildx.build import stage as build
from gobuildx.project import context as project

TIMEOUT = 7200


def fresh_env(base: dict[str, str], scratch: Path, name: str) -> dict[str, str]:
    caches = scratch / name
    (caches / "zig").mkdir(parents=True)
    (caches / "go").mkdir()
    return {**base, "CI": "1", "ZIG_GLOBAL_CACHE_DIR": str(caches / "zig"), "GOCACHE": str(caches / "go")}


def gobuildx_run(root: Path, env: dict[str, str], patterns: list[str], force: bool) -> float:
    argv = [sys.executable, "-m", "gobuildx", "build", *(["--force"] if force else [])]
    argv += [f"--target={p}" for p in patterns]
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"gobuildx failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def plain_loop(root: Path, env: dict[str, str], patterns: list[str], out: Path) -> float:
    """`go build` per target, sequentially, with the env and argv gobuildx would use."""
    ctx = project.open_project(root / "targets.toml", env)
    plans = build.plan_all(ctx, ctx.select("all", patterns))
    started = time.monotonic()
    for plan in plans:
        for step in plan.steps:
            dest = out / step.output
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.unlink(missing_ok=True)  # relink like `gobuildx build --force` (go skips a current -o file)
            argv = [str(dest) if a == "{output}" else a for a in step.argv]
            subprocess.run(
                argv,
                cwd=ctx.loaded.module_dir,
                env=plan.env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=TIMEOUT,
            )
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="cgo", choices=["cgo", "sqlite"])
    parser.add_argument(
        "-t", "--target", action="append", default=[], help="target id or glob (repeatable); default: the whole matrix"
    )
    parser.add_argument("--skip-cold", action="store_true", help="only the warm runs (minutes saved)")
    args = parser.parse_args()
    base = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="gobuildx-bench-") as tmp:
        scratch = Path(tmp)
        root = scratch / "project"
        shutil.copytree(REPO / "examples" / args.example, root, ignore=shutil.ignore_patterns("dist"))
        n = len(project.open_project(root / "targets.toml", base).select("all", args.target))
        print(f"examples/{args.example}: {n} targets, {os.cpu_count()} cores", flush=True)
        results: dict[str, float] = {}
        if args.skip_cold:
            env_g = dict(base, CI="1")
            gobuildx_run(root, env_g, args.target, force=True)  # make sure caches are warm
            results["gobuildx warm"] = gobuildx_run(root, env_g, args.target, force=True)
            results["go loop warm"] = plain_loop(root, env_g, args.target, scratch / "loop")
            results["gobuildx no-op"] = gobuildx_run(root, env_g, args.target, force=False)
        else:
            env_g = fresh_env(base, scratch, "gobuildx")
            results["gobuildx cold"] = gobuildx_run(root, env_g, args.target, force=True)
            print(f"  gobuildx cold  {results['gobuildx cold']:8.1f} s", flush=True)
            results["gobuildx warm"] = gobuildx_run(root, env_g, args.target, force=True)
            print(f"  gobuildx warm  {results['gobuildx warm']:8.1f} s", flush=True)
            env_l = fresh_env(base, scratch, "loop")
            results["go loop cold"] = plain_loop(root, env_l, args.target, scratch / "loop")
            print(f"  go loop cold   {results['go loop cold']:8.1f} s", flush=True)
            results["go loop warm"] = plain_loop(root, env_l, args.target, scratch / "loop")
            results["gobuildx no-op"] = gobuildx_run(root, env_g, args.target, force=False)
        print()
        for name, seconds in results.items():
            print(f"  {name:15} {seconds:8.1f} s")
        for mode in ("cold", "warm"):
            g, loop = results.get(f"gobuildx {mode}"), results.get(f"go loop {mode}")
            if g and loop:
                print(f"  {mode}: plain go loop / gobuildx = {loop / g:.2f}x")


if __name__ == "__main__":
    main()
