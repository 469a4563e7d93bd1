"""What git says about the module: the facts a version stamp is made of (stdlib only)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import NamedTuple

GIT_TIMEOUT = 30


class GitFacts(NamedTuple):
    """Raw answers of git; None where git had none (no repository, no commit)."""

    commit: str | None
    commit_time: str | None  # committer time, seconds since 1970
    describe: str | None  # `git describe --tags --always --dirty`

    @property
    def dirty(self) -> bool:
        """Tracked files differ from HEAD (what `--dirty` appends; untracked files do not count)."""
        return bool(self.describe and self.describe.endswith("-dirty"))


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`git ARGS` with a minimal environment; raises OSError or TimeoutExpired."""
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT,
        check=False,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "LC_ALL": "C",
        },
    )


def git(args: list[str], cwd: Path) -> str | None:
    try:
        proc = _run(args, cwd)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def facts(module_dir: Path) -> GitFacts:
    """Two git calls: every build asks, and so does each no-op answered from a receipt."""
    head = (git(["log", "-1", "--format=%H %ct"], module_dir) or "").split()
    commit, commit_time = (head[0], head[1]) if len(head) == 2 else (None, None)
    return GitFacts(
        commit=commit, commit_time=commit_time, describe=git(["describe", "--tags", "--always", "--dirty"], module_dir)
    )


def unreadable(module_dir: Path) -> str | None:
    """Why git cannot read the repository the module is in ("dubious ownership", git missing, a
    damaged .git), or None when it can or there is no repository. Asked only when `facts` found
    no version, to tell "no repository or no commit yet" from "git refused"."""
    if not any((d / ".git").exists() for d in (module_dir, *module_dir.parents)):
        return None
    try:
        proc = _run(["rev-parse", "--is-inside-work-tree"], module_dir)
    except OSError as exc:
        return f"cannot run git: {exc}"
    except subprocess.TimeoutExpired:
        return f"git did not answer within {GIT_TIMEOUT} s"
    return None if proc.returncode == 0 else (proc.stderr.strip() or f"git exited {proc.returncode}")
