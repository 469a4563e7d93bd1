"""Identity proof for a refactoring: the code of two git revisions, run on the same project,
must make the same bytes and print the same help.

    .venv/bin/python bench/same_output.py [--old REV] [--new REV] [--keep]

Each revision is checked out with `git worktree` (the new one may be `.`: this working
tree) and run as `python -m gobuildx` with PYTHONPATH pointing at it (never from a
directory holding a gobuildx/ of its own: Python would take that one), on one project (the repository's targets.toml
and examples/hello, committed once with fixed dates, so both builds stamp the same commit),
at the same path for both runs, with SOURCE_DATE_EPOCH fixed and the fast path off.
Compared byte for byte: dist/release/ (every file), dist/manifest.json, and the output of
`gobuildx --list` and every `gobuildx TASK --help`. dist/manifest.json records how long
each stage and each smoke run took; when the bytes differ the script names every JSON
path that differs, and says whether anything but those durations and start times does.
Exit status 0 when everything that must be identical is.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EPOCH = "1700000000"
TASKS = ["audit", "build", "doctor", "image", "init", "matrix", "merge", "release", "report", "smoke", "verify"]
HELP_COMMANDS = [["--list"], ["--help"], ["--list-format", "json", "--list"], *([t, "--help"] for t in TASKS)]
# Fields of dist/manifest.json that say when and how long, never what: two runs of one
# revision differ there too.
VOLATILE = {"duration_s", "started"}
# Differences the change is meant to make, each with its reason: (old text, new text, why).
EXPECTED = [
    (
        "gobuildx.runners.wasi_main",
        "gobuildx.smoke.runners.wasi_main",
        "the wasm smoke helper moved to gobuildx/smoke/runners/ (its command is recorded)",
    )
]
TIMING = re.compile(r"\d+(\.\d+)? ?s\b")
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_AUTHOR_DATE": "2023-11-14T22:13:20Z",
    "GIT_COMMITTER_DATE": "2023-11-14T22:13:20Z",
}


def git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, check=True, capture_output=True, text=True
    ).stdout.strip()


def checkout(rev: str, where: Path) -> Path:
    """The source tree of `rev` ('.' is this working tree, uncommitted changes included)."""
    if rev == ".":
        return REPO
    git("worktree", "add", "--detach", str(where), rev)
    return where


def make_project(root: Path) -> Path:
    """targets.toml + examples/hello as one git commit with fixed dates (the same hash every time)."""
    root.mkdir(parents=True)
    shutil.copy(REPO / "targets.toml", root / "targets.toml")
    shutil.copytree(REPO / "examples" / "hello", root / "examples" / "hello", ignore=shutil.ignore_patterns("dist"))
    git("init", "-q", "-b", "main", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "example", cwd=root)
    git("tag", "v1.0.0", cwd=root)
    return root


def code_env(code: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(code)}


def gobuildx(code: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**code_env(code), "CI": "1", "SOURCE_DATE_EPOCH": EPOCH, "GOBUILDX_NO_FASTPATH": "1", "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "gobuildx", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )


def where_from(code: Path, cwd: Path) -> str:
    return subprocess.run(
        [sys.executable, "-c", "import gobuildx; print(gobuildx.__file__)"],
        env=code_env(code),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def json_diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(a.keys() | b.keys()) for d in json_diff(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=False)) for d in json_diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


def tree_diff(a: Path, b: Path) -> list[str]:
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    out = [f"only in one: {n}" for n in sorted(set(files_a) ^ set(files_b))]
    out += [f"differs: {n}" for n in files_a if n in files_b and not filecmp.cmp(a / n, b / n, shallow=False)]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="pre-layout", help="revision before the change (default: tag pre-layout)")
    parser.add_argument("--new", default=".", help="revision after it (default: this working tree)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gobuildx-same-"))
    ok = True
    try:
        base = make_project(tmp / "project")
        runs = {}
        for label, rev in (("old", args.old), ("new", args.new)):
            code = checkout(rev, tmp / f"code-{label}")
            here = tmp / "run"  # one path for both: the manifest records absolute paths
            shutil.copytree(base, here, symlinks=True)
            proc = gobuildx(code, ["release"], here)
            proj = here.rename(tmp / f"proj-{label}")
            runs[label] = (code, proj, proc)
            print(f"{label}: {rev} ({where_from(code, tmp)}): `gobuildx release` exited {proc.returncode}")

        (_, old_proj, old_proc), (_, new_proj, new_proc) = runs["old"], runs["new"]
        same_exit = old_proc.returncode == new_proc.returncode
        ok &= same_exit
        print(f"exit status: {'same' if same_exit else 'DIFFERENT'} ({old_proc.returncode}, {new_proc.returncode})")

        rel = tree_diff(old_proj / "dist" / "release", new_proj / "dist" / "release")
        n_files = sum(1 for p in (new_proj / "dist" / "release").rglob("*") if p.is_file())
        ok &= not rel and n_files > 0
        print(f"dist/release/: {'byte-identical' if not rel else 'DIFFERENT'} ({n_files} files)")
        for line in rel:
            print(f"  {line}")

        old_m = (old_proj / "dist" / "manifest.json").read_bytes()
        new_m = (new_proj / "dist" / "manifest.json").read_bytes()
        if old_m == new_m:
            print("dist/manifest.json: byte-identical")
        else:
            paths = json_diff(json.loads(old_m), json.loads(new_m))
            real = [p for p in paths if re.sub(r"\[\d+\]$", "", p).rsplit(".", 1)[-1] not in VOLATILE]
            expected_text = old_m.decode()
            for before, after, _ in EXPECTED:
                expected_text = expected_text.replace(before, after)
            unexpected = json_diff(json.loads(expected_text), json.loads(new_m))
            unexpected = [p for p in unexpected if p in real]
            ok &= not unexpected
            print(
                f"dist/manifest.json: {'DIFFERENT' if unexpected else 'identical but for timings and the expected'} "
                f"({len(paths)} paths differ: {len(paths) - len(real)} durations/start times, "
                f"{len(real) - len(unexpected)} expected, {len(unexpected)} unexpected)"
            )
            for p in real:
                why = (
                    "UNEXPECTED"
                    if p in unexpected
                    else "expected: " + "; ".join(w for b, _, w in EXPECTED if b in old_m.decode())
                )
                print(f"  {p}: {why}")

        def normalized(proc: subprocess.CompletedProcess[str]) -> list[str]:
            """The lines printed, durations masked, in sorted order (parallel builds finish in any order)."""
            text = proc.stdout + proc.stderr
            for before, after, _ in EXPECTED:
                text = text.replace(before, after)
            return sorted(TIMING.sub("<t>", line).rstrip() for line in text.splitlines())

        old_lines, new_lines = normalized(old_proc), normalized(new_proc)
        same_out = old_lines == new_lines
        ok &= same_out
        print(
            f"`gobuildx release` output ({len(new_lines)} lines; durations masked, order of parallel work "
            f"ignored): {'same' if same_out else 'DIFFERENT'}"
        )
        if not same_out:
            for line in sorted(set(old_lines) ^ set(new_lines))[:20]:
                print(f"  {'old' if line in old_lines else 'new'}: {line}")

        help_diffs = []
        for cmd in HELP_COMMANDS:
            outs = [gobuildx(runs[label][0], cmd, tmp) for label in ("old", "new")]
            if (outs[0].stdout, outs[0].stderr, outs[0].returncode) != (
                outs[1].stdout,
                outs[1].stderr,
                outs[1].returncode,
            ):
                help_diffs.append(" ".join(cmd))
        ok &= not help_diffs
        print(
            f"help: {len(HELP_COMMANDS) - len(help_diffs)} of {len(HELP_COMMANDS)} commands print the same text"
            + (f"; different: {', '.join(help_diffs)}" if help_diffs else "")
        )
        print("RESULT:", "same output" if ok else "DIFFERENT")
        return 0 if ok else 1
    finally:
        for label in ("old", "new"):
            wt = tmp / f"code-{label}"
            if wt.exists():
                git("worktree", "remove", "--force", str(wt))
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
