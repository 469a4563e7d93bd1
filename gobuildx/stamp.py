"""Version stamping ({version}, {commit}, {date}) and the input fingerprint of a build."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from gobuildx.errors import ConfigError

GIT_TIMEOUT = 30
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv"}


class Stamp(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    commit: str
    date: str
    dirty: bool


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=GIT_TIMEOUT, check=False,
                              env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"),
                                   "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def resolve(module_dir: Path, source: str, config_path: Path, environ: dict[str, str]) -> Stamp:
    """The version per `project.version`, the commit, and a reproducible date.

    The date is SOURCE_DATE_EPOCH when set, else the commit time, else the epoch:
    never the wall clock, so two builds of one commit are byte-identical.
    """
    commit = _git(["rev-parse", "HEAD"], module_dir) or "none"
    dirty = bool(_git(["status", "--porcelain", "--untracked-files=no"], module_dir))
    epoch = environ.get("SOURCE_DATE_EPOCH") or _git(["log", "-1", "--format=%ct"], module_dir) or "0"
    if not epoch.isdigit():
        raise ConfigError([f"SOURCE_DATE_EPOCH={epoch!r}: expected whole seconds since 1970"])
    date = datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Stamp(version=_version(module_dir, source, config_path, environ), commit=commit,
                 date=date, dirty=dirty)


def _version(module_dir: Path, source: str, config_path: Path, environ: dict[str, str]) -> str:
    where = f"{config_path}: project.version"
    if source == "git":
        described = _git(["describe", "--tags", "--always", "--dirty"], module_dir) or "0.0.0-dev"
        return described[1:] if re.match(r"v\d", described) else described
    if source.startswith("env:"):
        name = source[4:]
        if name not in environ:
            raise ConfigError([f"{where}: {source!r} names the environment variable {name}, which is not set"])
        return environ[name]
    if source.startswith("file:"):
        file = (config_path.parent / source[5:])
        if not file.is_file():
            raise ConfigError([f"{where}: {source!r}: no such file {file}"])
        return file.read_text().strip()
    if not re.fullmatch(r"[0-9A-Za-z.+_-]+", source):
        raise ConfigError([f"{where}: {source!r} is not a version; allowed: \"git\", "
                           "\"env:NAME\", \"file:PATH\" or a literal such as \"1.2.3\""])
    return source


def source_digest(module_dir: Path, exclude: list[Path]) -> str:
    """A digest of every file under the module (path, size, mtime), plus local replaces.

    Over-approximates what `go build` reads (any embedded file counts), costs a
    stat per file, and is computed once per run for all targets.
    """
    h = hashlib.sha256()
    roots = [module_dir, *_local_replaces(module_dir)]
    skip = {p.resolve() for p in exclude}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames
                                 if d not in SKIP_DIRS and (here / d).resolve() not in skip)
            for name in sorted(filenames):
                try:
                    st = os.stat(here / name)
                except OSError:
                    continue
                h.update(f"{here / name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _local_replaces(module_dir: Path) -> list[Path]:
    out = []
    for name in ("go.mod", "go.work"):
        file = module_dir / name
        if not file.is_file():
            continue
        for match in re.finditer(r"=>\s*(\.{1,2}/\S*|/\S+)", file.read_text()):
            path = (module_dir / match.group(1)).resolve()
            if path.is_dir() and path != module_dir.resolve():
                out.append(path)
        for match in re.finditer(r"^\s*use\s+(\S+)|^\s+(\.\S*)\s*$", file.read_text(), re.M):
            rel = match.group(1) or match.group(2)
            path = (module_dir / rel).resolve()
            if path.is_dir() and path != module_dir.resolve():
                out.append(path)
    return out


def digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()
