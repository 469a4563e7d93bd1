"""Smoke time for the whole default matrix (examples/hello, 15 targets), cold and warm.

    .venv/bin/python bench/smoke.py [--jobs N]

Builds the matrix first (not timed). Then smokes it twice with the same environment:
cold = a fresh gobuildx cache (new Wine prefix, the ProcessPrng shim DLL not built yet)
and a fresh HOME (no wasmtime compiled-module cache); warm = the same again. Go's and
zig's caches stay the shared ones (zig's mingw libc is compiled once per machine, minutes
on 2 cores; that is the libc axis' cost, not smoke's). Prints wall times and, per runner,
the count, the sum and the longest check (each check's time includes its one-time setup).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gobuildx.project.context import open_project
from gobuildx.project.toolchain import zig_cache_dir
from gobuildx.smoke import stage as smoke
from gobuildx.util.dirs import user_cache_dir

SMOKE = r"""
[smoke]
args = ["one", "two"]
expect = '(?m)^platform {goos}/{goarch} go1\.\d+.*\n^args \[one two\]$'
timeout = 300
"""


def go_env(name: str) -> str:
    return subprocess.run(["go", "env", name], capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def prepare(work: Path) -> Path:
    root = work / "hello"
    shutil.copytree(REPO / "examples" / "hello", root / "examples" / "hello")
    (root / "targets.toml").write_text((REPO / "targets.toml").read_text() + SMOKE)
    t0 = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "gobuildx", "build", "--matrix", "all", "--no-audit"],
        cwd=root,
        env={**os.environ, "CI": "1"},
        check=True,
        capture_output=True,
        timeout=3600,
    )
    print(f"build of the matrix (not part of the figures): {time.monotonic() - t0:.1f}s")
    return root


def environ(work: Path) -> dict[str, str]:
    """Fresh gobuildx cache and HOME; Go's and zig's caches kept (never wiped)."""
    env = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    env.update(
        HOME=str(work / "home"),
        GOBUILDX_CACHE=str(work / "gobuildx-cache"),
        ZIG_GLOBAL_CACHE_DIR=str(zig_cache_dir(dict(os.environ), user_cache_dir(dict(os.environ)))),
        GOCACHE=go_env("GOCACHE"),
        GOMODCACHE=go_env("GOMODCACHE"),
        GOPATH=go_env("GOPATH"),
    )
    (work / "home").mkdir(exist_ok=True)
    return env


def one_run(root: Path, env: dict[str, str], jobs: int, label: str) -> float:
    ctx = open_project(root / "targets.toml", env)
    t0 = time.monotonic()
    out = smoke.smoke(ctx, ctx.select("all"), smoke.Options(jobs=jobs, junit=root / f"{label}.xml"))
    wall = time.monotonic() - t0
    per: dict[str, list[float]] = defaultdict(list)
    verdicts: dict[str, int] = defaultdict(int)
    for rec in out.records.values():
        for r in rec.results:
            per[r.runner].append(r.duration_s)
            verdicts[r.status] += 1
    print(
        f"\n{label}: {wall:.1f}s wall for {len(out.records)} targets, jobs={jobs} "
        f"({', '.join(f'{n} {s}' for s, n in sorted(verdicts.items()))})"
    )
    print(f"  {'runner':10} {'checks':>6} {'sum s':>8} {'max s':>8}")
    for runner, times in sorted(per.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {runner:10} {len(times):6d} {sum(times):8.2f} {max(times):8.2f}")
    if out.failed:
        print(f"  FAILED: {', '.join(out.failed)}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gobuildx-bench-smoke-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        root = prepare(work)
        env = environ(work)
        cold = one_run(root, env, args.jobs, "cold (fresh Wine prefix, shim not built, no wasmtime cache)")
        warm = one_run(root, env, args.jobs, "warm")
        print(f"\nsmoke of the default matrix: cold {cold:.1f}s, warm {warm:.1f}s")
        stop_wineserver(env)


def stop_wineserver(env: dict[str, str]) -> None:
    """End the wineserver of the bench's own prefix, so its directory can be removed."""
    for prefix in (Path(env["GOBUILDX_CACHE"]) / "wine").glob("prefix-*"):
        server = shutil.which("wineserver") or "/usr/lib/wine/wineserver64"
        subprocess.run(
            [server, "-k"], env={**env, "WINEPREFIX": str(prefix)}, capture_output=True, timeout=60, check=False
        )
        subprocess.run(
            [server, "-w"], env={**env, "WINEPREFIX": str(prefix)}, capture_output=True, timeout=60, check=False
        )


if __name__ == "__main__":
    main()
