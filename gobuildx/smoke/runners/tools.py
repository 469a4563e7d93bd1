"""Finding a runner's tool on the explicit PATH, its version, and an artifact's ELF interpreter."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from gobuildx.formats import FormatError, elf

VERSION_TIMEOUT_S = 20.0


def which(tool: str, environ: dict[str, str]) -> str | None:
    return shutil.which(tool, path=environ.get("PATH", ""))


def version(argv: list[str], environ: dict[str, str]) -> str | None:
    """The first line `tool --version` prints, or None if it cannot run."""
    try:
        proc = subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=VERSION_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0].strip() if proc.returncode == 0 and lines else None


def elf_interpreter(path: Path) -> str | None:
    """PT_INTERP of an ELF file (None for a static binary or a non-ELF file)."""
    try:
        return elf.read_file(path).interpreter
    except (FormatError, OSError, ValueError):
        return None
