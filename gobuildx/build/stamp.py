"""Version stamping ({version}, {commit}, {date}) and the input fingerprint of a build."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from gobuildx.errors import ConfigError
from gobuildx.project import checks as configcheck
from gobuildx.util import git as vcs

SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv"}


class Stamp(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    commit: str
    date: str
    dirty: bool


def resolve(
    module_dir: Path, source: str, config_path: Path, environ: dict[str, str], git: vcs.GitFacts | None = None
) -> Stamp:
    """The version per `project.version`, the commit, and a reproducible date.

    The date is SOURCE_DATE_EPOCH when set, else the commit time, else the epoch:
    never the wall clock, so two builds of one commit are byte-identical.
    """
    git = git or vcs.facts(module_dir)
    epoch = environ.get("SOURCE_DATE_EPOCH") or git.commit_time or "0"
    if not epoch.isdigit():
        raise ConfigError([f"SOURCE_DATE_EPOCH={epoch!r}: expected whole seconds since 1970"])
    date = datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Stamp(
        version=_version(git, source, config_path, environ, module_dir),
        commit=git.commit or "none",
        date=date,
        dirty=git.dirty,
    )


def _version(git: vcs.GitFacts, source: str, config_path: Path, environ: dict[str, str], module_dir: Path) -> str:
    where = f"{config_path}: project.version"
    if source == "git":
        if git.describe is None and (why := vcs.unreadable(module_dir)):
            raise ConfigError(
                [
                    f'{where}: "git" (the default) needs git to read the repository, and it '
                    f'cannot: {why}; fix that, or set project.version ("env:NAME", '
                    '"file:PATH" or a literal)'
                ]
            )
        described = git.describe or "0.0.0-dev"
        return described[1:] if re.match(r"v\d", described) else described
    if source.startswith("env:"):
        name = source[4:]
        if name not in environ:
            raise ConfigError([f"{where}: {source!r} names the environment variable {name}, which is not set"])
        return environ[name]
    wrong = configcheck.version_problems(source, config_path)  # checked at load; a file may go since
    if wrong:
        raise ConfigError(wrong)
    return (config_path.parent / source[5:]).read_text().strip() if source.startswith("file:") else source


class Seen(NamedTuple):
    """One file or directory as a walk saw it: enough to tell later whether it changed."""

    path: str
    size: int
    mtime_ns: int
    ino: int
    is_dir: bool


def walk_sources(module_dir: Path, exclude: list[Path]) -> list[Seen]:
    """Every directory and file under the module and its local replaces (VCS and tool dirs skipped).

    Over-approximates what `go build` reads (any embedded file counts) at the cost of a
    stat per entry, once per run for all targets.
    """
    seen: list[Seen] = []
    skip = {p.resolve() for p in exclude}
    for root in [module_dir, *_local_replaces(module_dir)]:
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and (here / d).resolve() not in skip)
            for name, is_dir in [("", True), *((f, False) for f in sorted(filenames))]:
                try:
                    st = os.stat(here / name if name else here)
                except OSError:
                    continue
                seen.append(
                    Seen(str(here / name) if name else str(here), st.st_size, st.st_mtime_ns, st.st_ino, is_dir)
                )
    return seen


def settle_dirs(seen: list[Seen], exclude: list[Path]) -> list[Seen] | None:
    """The walk's directories re-read after a build: their current stat where they still hold
    exactly the entries the walk saw (the build itself may have created dist/ in one, which
    changes its mtime), files as the walk saw them. None if any directory gained or lost an
    entry since the walk: the build may not have seen it, so nothing may vouch for it.
    (A dist nested in a directory the build creates, such as "build/dist", is such an entry:
    that first build leaves no receipt, the next one does.)"""
    children: dict[str, set[str]] = {}
    for s in seen:
        parent, _, name = s.path.rpartition(os.sep)
        children.setdefault(parent, set()).add(name)
    skip = {p.resolve() for p in exclude}
    settled = []
    for s in seen:
        if s.is_dir:
            fresh = _same_entries(s.path, children.get(s.path, set()), skip)
            if fresh is None:
                return None
            s = fresh
        settled.append(s)
    return settled


def _same_entries(path: str, expected: set[str], skip: set[Path]) -> Seen | None:
    """The directory's stat (taken before listing it) if its walked entries are `expected`."""
    try:
        st = os.stat(path)
        with os.scandir(path) as entries:
            names = {e.name for e in entries if _walked(e, skip)}
    except OSError:
        return None
    if names != expected:
        return None
    return Seen(path, st.st_size, st.st_mtime_ns, st.st_ino, True)


def _walked(entry: os.DirEntry[str], skip: set[Path]) -> bool:
    """Whether walk_sources records this entry of a directory it enters (as os.walk sorts it)."""
    try:
        is_dir = entry.is_dir()
    except OSError:  # e.g. a symlink loop: os.walk lists it among the files
        is_dir = False
    if is_dir:  # os.walk lists a linked or unreadable directory but does not enter it
        return not (
            entry.name in SKIP_DIRS or entry.is_symlink() or _skipped(entry, skip) or not os.access(entry.path, os.R_OK)
        )
    try:
        entry.stat()  # the walk records only what it can stat (not a dangling link)
    except OSError:
        return False
    return True


def _skipped(entry: os.DirEntry[str], skip: set[Path]) -> bool:
    return any(entry.name == p.name for p in skip) and Path(entry.path).resolve() in skip


def source_digest(seen: list[Seen]) -> str:
    """A digest of the files of a walk (path, size, mtime): what changes when a source does."""
    h = hashlib.sha256()
    for s in seen:
        if not s.is_dir:
            h.update(f"{s.path}\0{s.size}\0{s.mtime_ns}\n".encode())
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
