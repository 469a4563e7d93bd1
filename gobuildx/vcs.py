"""What git says about the module: the facts a version stamp is made of (stdlib only)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import NamedTuple

GIT_TIMEOUT = 30


class GitFacts(NamedTuple):
    """Raw answers of git; None where git had none (no repository, no commit, no tag)."""

    commit: str | None
    status: str | None  # `git status --porcelain` of tracked files: non-empty means dirty
    commit_time: str | None
    describe: str | None


def git(args: list[str], cwd: Path) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=GIT_TIMEOUT, check=False,
                              env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"),
                                   "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def facts(module_dir: Path) -> GitFacts:
    return GitFacts(
        commit=git(["rev-parse", "HEAD"], module_dir),
        status=git(["status", "--porcelain", "--untracked-files=no"], module_dir),
        commit_time=git(["log", "-1", "--format=%ct"], module_dir),
        describe=git(["describe", "--tags", "--always", "--dirty"], module_dir),
    )
