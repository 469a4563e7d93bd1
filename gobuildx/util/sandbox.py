"""Contain a program gobuildx runs but did not write: a smoke run, or `ldd` on a foreign file.

`contain(argv, env, cwd, spec)` returns a `Box`: the argv to run instead (bubblewrap around the
original one), the environment, a `preexec` that applies the limits in the child before it
executes, and the fds to pass. The caller starts the process itself (so its logging, timeouts
and process groups stay its own), then calls `box.started()`, and after the run
`box.exceeded(exit_code, output)` (which limit, if any, killed or starved it) and `box.close()`
(kill anything left in its cgroups and remove them).

What a box gives, each part only where the host allows it (`box.missing` says plainly what
is not in force, never pretending):
* bubblewrap: its own network namespace (only `lo`, which bwrap brings up), PID, IPC and UTS
  namespaces, a read-only view of `/`, a fresh /tmp, /dev and /proc, the caller's HOME hidden,
  write access only to `cwd` and `spec.writable`, a throwaway HOME and TMPDIR (in the fresh
  /tmp), and death with its parent;
* a non-root user without capabilities: called by root, bwrap makes the mounts and `setpriv`
  then drops to uid 65534 (`$GOBUILDX_SANDBOX_UID`), a real unprivileged user on the host (a
  user namespace alone would not do: its uid 1000 is root outside it). Paths it must write are
  handed to that uid for the run and back after. Called by anyone else, uid 1000 in a user
  namespace of its own, which outside it is the (already unprivileged) caller;
* limits: memory and process count in cgroups made under the caller's own cgroup (so the
  caller's own limits still apply), else RLIMIT_DATA / RLIMIT_NPROC; RLIMIT_FSIZE for the size
  of one file; no core dumps. Time is the caller's timeout.

Standard library only: the smoke runners and the audit both use it.
"""

from __future__ import annotations

import ctypes
import itertools
import json
import os
import resource
import select
import shutil
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

Mode = Literal["auto", "required", "off"]
MODES: tuple[Mode, ...] = ("auto", "required", "off")
SANDBOX_UID = 1000  # uid and gid inside the user namespace of a non-root caller
DROP_UID = 65534  # root's programs run as this host uid (nobody): owns nothing, may read little
UID_OVERRIDE = "GOBUILDX_SANDBOX_UID"  # another unprivileged uid for that, if 65534 is in use
# What root keeps in the box, only for setpriv to drop to DROP_UID and clear the bounding set.
DROP_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")
PACKAGE = "apt-get install bubblewrap"
OVERRIDE = "GOBUILDX_BWRAP"  # the bwrap to use, by absolute path ("" or a missing file: none)
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROBE_TIMEOUT_S = 20.0
INFO_TIMEOUT_S = 10.0
MIB = 1024 * 1024
CLONE_NEWNET = 0x40000000
_serial = itertools.count()
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """Per-run resource limits. Defaults measured on Debian 12 (see docs/smoke.md): a Go hello
    peaks near 5 MiB and 7 threads natively, ~20 MiB under QEMU, and Wine near 200 MiB and
    60 threads (wineserver and its services count as well)."""

    memory_mib: int = 1024
    processes: int = 256  # tasks: processes and threads
    file_size_mib: int = 256  # the largest file it may write


@dataclass(frozen=True)
class Spec:
    """What to contain and how strictly."""

    limits: Limits = Limits()
    mode: Mode = "auto"  # auto: contain what the host allows; required: refuse to run otherwise
    writable: tuple[Path, ...] = ()  # besides cwd
    owned: tuple[Path, ...] = ()  # trees made for this run that the program must own (a scratch Wine prefix)
    readable: tuple[Path, ...] = ()  # besides / (needed when under the hidden HOME)
    network: bool = False  # True: the host's network, for the reason in network_why
    network_why: str = ""
    label: str = "run"  # names the cgroups


@dataclass(frozen=True)
class Host:
    """What this host allows, probed once per bwrap."""

    bwrap: str | None
    bwrap_why: str  # why there is no usable bwrap ("" when there is one)
    userns: bool  # bwrap can make a user namespace (the uid 1000 without capabilities)
    pids_cgroup: Path | None  # a cgroup directory to make per-run children in
    memory_cgroup: Path | None
    root: bool
    drop: tuple[str, int] | None = None  # root: (setpriv, uid) that takes the program off root
    drop_why: str = ""  # root without `drop`: why not

    def user(self) -> str:
        """Who the program is, in words."""
        if self.bwrap and self.drop:
            return f"uid {self.drop[1]}, an unprivileged user of this host, without capabilities"
        if self.bwrap and self.userns and not self.root:
            return f"uid {SANDBOX_UID} in a user namespace (your own uid outside it), no capabilities"
        if self.root:
            return f"root without capabilities (no unprivileged user: {self.drop_why})"
        return "the calling user"

    def lines(self) -> list[str]:
        """For `gobuildx doctor`: one line per part, saying what is and is not contained."""
        box = (
            f"bubblewrap {self.bwrap}: own network (loopback only), PID, IPC and UTS namespaces, "
            "read-only /, fresh /tmp, throwaway HOME"
            if self.bwrap
            else f"not contained: {self.bwrap_why}; install: {PACKAGE}"
        )
        user = self.user()
        pids = f"pids cgroup under {self.pids_cgroup}" if self.pids_cgroup else nproc_note(self.root)
        mem = f"memory cgroup under {self.memory_cgroup}" if self.memory_cgroup else "RLIMIT_DATA (no memory cgroup)"
        return [
            f"sandbox: {box}",
            f"user: {user}",
            f"processes: {pids}",
            f"memory: {mem}",
            "file size: RLIMIT_FSIZE; time: the smoke timeout",
        ]


def limit_hit(
    lim: Limits,
    exit_code: int | None,
    output: str,
    *,
    oom: bool | None,
    pids_max: bool | None,
    uncounted: tuple[str, str] = ("RLIMIT_DATA", "RLIMIT_NPROC"),
) -> str | None:
    """The limit a run hit, in words, from what its cgroups counted (`oom`, `pids_max`; None:
    not counted, then what the program said is the evidence, and `uncounted` names what
    limited memory and processes then), or None."""
    if oom:
        return f"exceeded the memory limit ({lim.memory_mib} MiB)"
    if pids_max:
        return f"exceeded the process limit ({lim.processes} processes and threads)"
    if exit_code in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ) or "file too large" in output.lower():
        return f"exceeded the file size limit ({lim.file_size_mib} MiB)"
    if oom is None and ("out of memory" in output or "cannot allocate memory" in output.lower()):
        return f"exceeded the memory limit ({lim.memory_mib} MiB, {uncounted[0]})"
    if pids_max is None and "resource temporarily unavailable" in output:
        return f"exceeded the process limit ({lim.processes}, {uncounted[1]})"
    return None


def nproc_note(root: bool) -> str:
    if root:
        return "not limited: no pids cgroup, and RLIMIT_NPROC does not bind the root user"
    return "RLIMIT_NPROC (no pids cgroup; counts every process of this user)"


@dataclass
class Box:
    """One contained run: what to execute, and what it did to its limits afterwards."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    spec: Spec
    preexec: Callable[[], None]
    pass_fds: tuple[int, ...] = ()
    missing: list[str] = field(default_factory=list)  # containment not in force, in plain words
    notes: list[str] = field(default_factory=list)
    cgroups: dict[str, Path] = field(default_factory=dict)  # controller -> this run's cgroup
    info_fd: int | None = None  # read end of bwrap's --info-fd
    child_pid: int | None = None  # the sandboxed program's init, as the host sees it
    wrapped: bool = False  # argv runs under bwrap
    handed: list[Handed] = field(default_factory=list)  # paths the dropped uid has for the run

    def started(self) -> None:
        """The caller has spawned argv: close our copy of the info pipe's write end."""
        for fd in self.pass_fds:
            _close(fd)
        self.pass_fds = ()

    def netns(self) -> str | None:
        """/proc/PID/ns/net of the program's network namespace (None: it shares the host's)."""
        if self.info_fd is None:
            return None
        if self.child_pid is None:
            self.child_pid = read_child_pid(self.info_fd, INFO_TIMEOUT_S)
        return f"/proc/{self.child_pid}/ns/net" if self.child_pid else None

    def program_exit(self, code: int | None) -> int | None:
        """The program's exit code as subprocess would give it unsandboxed: bwrap exits 128+N
        when the program was killed by signal N, so that becomes -N again (an exit status of
        129..192 the program chose itself reads as that signal, too)."""
        if self.wrapped and code is not None and 128 < code <= 128 + 64:
            return -(code - 128)
        return code

    def exceeded(self, exit_code: int | None, output: str) -> str | None:
        """Which limit the run hit, in words ("exceeded the memory limit (512 MiB)"), or None."""
        mem, pids = self.cgroups.get("memory"), self.cgroups.get("pids")
        oom = bool(_counter(mem / "memory.oom_control", "oom_kill")) if mem else None
        forks = bool(_counter(pids / "pids.events", "max")) if pids else None
        return limit_hit(self.spec.limits, exit_code, output, oom=oom, pids_max=forks)

    def close(self) -> None:
        """Kill whatever is left in this run's cgroups, then remove them: the host as it was."""
        if self.info_fd is not None:
            _close(self.info_fd)
            self.info_fd = None
        for path in self.cgroups.values():
            remove_cgroup(path)
        give_back(self.handed)  # its processes are gone: nothing changes under the chown
        self.handed = []


# --------------------------------------------------------------------------- the host
def find_bwrap(environ: dict[str, str]) -> tuple[str | None, str]:
    """$GOBUILDX_BWRAP if set (only it: a wrong value is reported), else bwrap on PATH."""
    if OVERRIDE in environ:
        explicit = environ[OVERRIDE]
        if explicit and os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit, ""
        return None, f"{OVERRIDE}={explicit!r} is not an executable file"
    found = shutil.which("bwrap", path=environ.get("PATH", "/usr/bin:/bin"))
    return (found, "") if found else (None, "bwrap (bubblewrap) is not on PATH")


def host(environ: dict[str, str]) -> Host:
    bwrap, why = find_bwrap(environ)
    uid, uid_why = drop_uid(environ)
    setpriv = shutil.which("setpriv", path=environ.get("PATH", "/usr/bin:/bin")) or (
        "/usr/bin/setpriv" if os.access("/usr/bin/setpriv", os.X_OK) else None
    )
    return _probe(bwrap, why, setpriv, uid, uid_why)


def drop_uid(environ: dict[str, str]) -> tuple[int | None, str]:
    """The uid root's programs run as: $GOBUILDX_SANDBOX_UID (an unprivileged uid), else 65534."""
    text = environ.get(UID_OVERRIDE)
    if text is None:
        return DROP_UID, ""
    if text.isdigit() and 0 < int(text) < 2**32 - 1:
        return int(text), ""
    return None, f"{UID_OVERRIDE}={text!r} is not a uid between 1 and 4294967294"


@lru_cache(maxsize=8)
def _probe(bwrap: str | None, why: str, setpriv: str | None, uid: int | None, uid_why: str) -> Host:
    userns = False
    drop: tuple[str, int] | None = None
    root = os.geteuid() == 0
    drop_why = uid_why if uid is None else "" if setpriv else "setpriv (util-linux) is not on PATH"
    if bwrap:
        ok, detail = _try_bwrap(bwrap, ["--unshare-user", "--uid", str(SANDBOX_UID)])
        userns = ok
        if root and setpriv and uid is not None:
            dropped, drop_detail = _try_bwrap(bwrap, drop_options(), drop_command(setpriv, uid))
            drop, drop_why = ((setpriv, uid), "") if dropped else (None, f"setpriv failed: {drop_detail}")
            ok = ok or dropped
        if not ok:
            ok, detail = _try_bwrap(bwrap, [])
            if not ok:
                bwrap, why = None, f"bwrap cannot make a sandbox here: {detail}"
    return Host(
        bwrap=bwrap,
        bwrap_why=why,
        userns=userns,
        pids_cgroup=own_cgroup("pids"),
        memory_cgroup=own_cgroup("memory"),
        root=root,
        drop=drop if root else None,
        drop_why=drop_why if root else "",
    )


def drop_options() -> list[str]:
    """bwrap as root: every capability dropped but what setpriv needs to drop the rest."""
    out = ["--cap-drop", "ALL"]
    for cap in DROP_CAPS:
        out += ["--cap-add", cap]
    return out


def drop_command(setpriv: str, uid: int) -> list[str]:
    """setpriv in the box, after bwrap's mounts: to `uid` for real (no supplementary groups), no
    capability left in any set, and no way back (no_new_privs: a setuid file gives nothing)."""
    return [
        setpriv,
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]


def _try_bwrap(bwrap: str, extra: list[str], command: tuple[str, ...] | list[str] = ()) -> tuple[bool, str]:
    argv = [
        bwrap,
        *extra,
        "--unshare-net",
        "--unshare-pid",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--",
        *command,
        "true",
    ]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return proc.returncode == 0, proc.stderr.strip()[:200]


def own_cgroup(controller: str) -> Path | None:
    """The cgroup v1 directory of `controller` this process is in, if we may make children there.
    Children of our own cgroup keep every limit the caller is under (never a way out of one)."""
    base = CGROUP_ROOT / controller
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3 and controller in parts[1].split(","):
            here = base / parts[2].lstrip("/")
            return here if (here / "cgroup.procs").is_file() and os.access(here, os.W_OK) else None
    return None


# --------------------------------------------------------------------------- one run
def contain(argv: list[str], env: dict[str, str], cwd: Path, spec: Spec, environ: dict[str, str]) -> Box:
    """The box for one run (see the module doc). Raises Uncontained in `required` mode when a
    part is missing; in `off` mode the argv is unchanged and only the limits apply."""
    h = host(environ)
    if spec.mode == "off":  # the limits still apply, in cgroups where the host has them
        h = replace(h, bwrap=None, bwrap_why='sandbox = "off"', userns=False, drop=None, drop_why='sandbox = "off"')
    # Whatever the command names by absolute path (the artifact, a QEMU sysroot) stays readable
    # even where it lies under the hidden HOME.
    named = tuple(Path(a) for a in argv if a.startswith("/") and os.path.exists(a))
    if h.drop and h.bwrap:
        # What the run needs (the program, what the runner lists) must be the uid's to read, or
        # it would fail on a permission it never had: then say why it stays root instead.
        uid = h.drop[1]
        needed = [(p, False) for p in (*spec.readable, *spec.owned)]
        needed += [(Path(argv[0]), True)] if argv and argv[0].startswith("/") else []
        unreadable = [p for p, run in needed if not may_read(p, uid, execute=run)]
        if unreadable:
            h = replace(h, drop=None, drop_why=f"{unreadable[0]} is not readable by uid {uid}")
        else:  # any other path in argv it may not read stays hidden, as it would be anyway
            named = tuple(p for p in named if may_read(p, uid))
    spec = replace(spec, readable=spec.readable + named)
    handed: list[Handed] = []
    if h.drop and h.bwrap:  # the paths it must write become the dropped uid's for the run
        try:
            handed = hand_over(sorted({cwd, *spec.writable}), h.drop[1], whole=False)
            handed += hand_over(list(spec.owned), h.drop[1], whole=True)
        except OSError as exc:
            give_back(handed)
            handed, h = [], replace(h, drop=None, drop_why=f"cannot give it what it must write: {exc}")
    missing = missing_parts(h) + (["the host's network: " + spec.network_why] if spec.network and h.bwrap else [])
    if spec.mode == "required" and missing:
        give_back(handed)
        raise Uncontained("; ".join(missing))
    cgroups = make_cgroups(spec, h)
    box = Box(
        argv=list(argv),
        env=dict(env),
        cwd=cwd,
        spec=spec,
        preexec=preexec_for(spec.limits, cgroups),
        cgroups=cgroups,
        missing=missing,
        handed=handed,
    )
    if h.bwrap:
        read_end, write_end = os.pipe()
        os.set_inheritable(write_end, True)
        box.argv = bwrap_argv(h.bwrap, argv, cwd, spec, h.userns and not h.root, write_end, h.drop)
        box.env = sandbox_env(env)
        box.pass_fds, box.info_fd, box.wrapped = (write_end,), read_end, True
    box.notes = notes_for(h, box)
    return box


class Uncontained(Exception):
    """The run was asked to be contained and this host cannot do it."""


def missing_parts(h: Host) -> list[str]:
    out = []
    if not h.bwrap:
        out.append(f"no sandbox ({h.bwrap_why}): it has the host's network and a writable file system")
    elif h.root and not h.drop:
        out.append(f"no unprivileged user ({h.drop_why}): it runs as root, without capabilities")
    elif not h.root and not h.userns:
        out.append("no user namespace: it runs as the calling user (without capabilities)")
    if h.pids_cgroup is None and h.root:
        out.append("no process limit (no pids cgroup, and RLIMIT_NPROC does not bind root)")
    return out


def notes_for(h: Host, box: Box) -> list[str]:
    lim = box.spec.limits
    parts = []
    if h.bwrap:
        parts.append(
            f"sandboxed with bubblewrap: loopback-only network, read-only /, writable work dir, "
            f"throwaway HOME and TMPDIR, {h.user()}"
        )
    mem = "cgroup" if "memory" in box.cgroups else "RLIMIT_DATA"
    procs = "cgroup" if "pids" in box.cgroups else "RLIMIT_NPROC"
    parts.append(
        f"limits: memory {lim.memory_mib} MiB ({mem}), {lim.processes} processes and threads "
        f"({procs}), files up to {lim.file_size_mib} MiB"
    )
    return parts + [f"NOT contained: {m}" for m in box.missing]


def bwrap_argv(
    bwrap: str,
    argv: list[str],
    cwd: Path,
    spec: Spec,
    userns: bool,
    info_fd: int,
    drop: tuple[str, int] | None = None,
) -> list[str]:
    """bubblewrap around argv: every option is there for a reason said beside it. `drop`: bwrap
    runs as root and (setpriv, uid) takes the program to that uid after the mounts."""
    out = [
        bwrap,
        "--die-with-parent",  # a killed gobuildx leaves no sandbox behind
        "--new-session",  # no TIOCSTI into the caller's terminal
        # as root without a user namespace bwrap would keep root's capabilities; with `drop` only
        # setpriv's three stay, and setpriv clears them before the program starts
        *(drop_options() if drop else ["--cap-drop", "ALL"]),
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "gobuildx-sandbox",
    ]
    if not spec.network:
        out.append("--unshare-net")  # only `lo`, brought up by bwrap: server checks still work
    if userns and not drop:
        out += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    # a fresh /tmp anyone may write, as a real /tmp (the dropped uid needs it for TMPDIR)
    out += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp"]
    writable = sorted({cwd, *spec.writable, *spec.owned}, key=lambda p: (len(p.parts), str(p)))  # parents first
    readable = [p for p in spec.readable if p.exists()]
    masked = hidden_homes(writable)
    if drop:  # a directory the uid may not enter would stop it short of what it may use
        masked += blocked_dirs([*writable, *readable], drop[1], [Path("/tmp"), *masked])
    for home in masked:
        out += ["--perms", "0755", "--tmpfs", str(home)]  # the host's home: its keys and configs are not readable
    for folder in parents_to_make([*readable, *writable], [Path("/tmp"), *masked]):
        out += ["--perms", "0755", "--dir", str(folder)]  # bwrap would make them 0700, closed to the uid
    for path in readable:
        out += ["--ro-bind", str(path), str(path)]
    for path in writable:
        out += ["--bind", str(path), str(path)]
    for home in masked:
        out += ["--remount-ro", str(home)]  # an empty, read-only home (the binds in it stay writable)
    out += ["--perms", "1777", "--dir", SANDBOX_HOME, "--chdir", str(cwd), "--info-fd", str(info_fd), "--"]
    return out + (drop_command(*drop) if drop else []) + argv


SANDBOX_HOME = "/tmp/home"


def hidden_homes(writable: list[Path]) -> list[Path]:
    """The caller's home directory (from gobuildx's own environment, not the program's), unless
    it is / or lies inside a writable path (then hiding it would hide that path too)."""
    home = Path(os.environ.get("HOME") or "/root")
    if not home.is_dir() or home == Path("/") or any(home == w or w in home.parents for w in writable):
        return []
    return [home]


def blocked_dirs(paths: list[Path], uid: int, masked: list[Path]) -> list[Path]:
    """The topmost directory on the way to each path that `uid` may not enter (a 0700 home, a
    private temp dir), unless it lies in a tmpfs already: it becomes an empty tmpfs of its own
    in which only the paths are bound again."""
    out: list[Path] = []
    for path in paths:
        for folder in reversed(path.parents):
            if any(folder == m or m in folder.parents for m in [*masked, *out]):
                break
            if not may_enter(folder, uid):
                out.append(folder)
                break
    return out


def parents_to_make(paths: list[Path], masks: list[Path]) -> list[Path]:
    """The folders between each tmpfs and the paths bound under it, parents first."""
    out: dict[Path, None] = {}
    for path in paths:
        for mask in masks:
            if mask in path.parents:
                chain = [f for f in reversed(path.parents) if mask in f.parents]
                out.update(dict.fromkeys(chain))
    return sorted(out, key=lambda p: (len(p.parts), str(p)))


def may_enter(folder: Path, uid: int) -> bool:
    return _mode_allows(folder, uid, 0o1)


def may_read(path: Path, uid: int, execute: bool = False) -> bool:
    """By the mode bits alone (the uid's own group is its uid: setpriv clears the others)."""
    return _mode_allows(path, uid, 0o4) and (not execute or _mode_allows(path, uid, 0o1))


def _mode_allows(path: Path, uid: int, bit: int) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    shift = 6 if st.st_uid == uid else 3 if st.st_gid == uid else 0
    return bool(st.st_mode >> shift & bit)


def sandbox_env(env: dict[str, str]) -> dict[str, str]:
    """HOME and TMPDIR in the sandbox's fresh /tmp: thrown away with it."""
    return {**env, "HOME": SANDBOX_HOME, "TMPDIR": "/tmp"}


# --------------------------------------------------------------------------- handing paths over
@dataclass(frozen=True)
class Handed:
    """A path given to the dropped uid for a run, and its owner to give it back to."""

    path: Path
    uid: int
    gid: int
    drop_uid: int
    mode: int = -1  # the folder's mode before (-1: left as it was)


_handed_lock = threading.Lock()
_handed_count: dict[Path, int] = {}  # runs at once in one work dir (two binaries of one target)


def hand_over(paths: list[Path], uid: int, whole: bool) -> list[Handed]:
    """Give each path to `uid` for the run: the folder alone (a work dir: what is in it stays
    its owner's), or `whole`, a tree made for this run (a scratch Wine prefix). All or none:
    on an error what was given is given back, and the error raised."""
    out: list[Handed] = []
    try:
        for path in paths:
            out += _hand_one(path, uid, whole)
    except OSError:
        give_back(out)
        raise
    return out


def _hand_one(path: Path, uid: int, whole: bool) -> list[Handed]:
    with _handed_lock:
        st = path.stat()
        if _handed_count.get(path):
            _handed_count[path] += 1  # another run has it; that one knows the owner
            return [Handed(path, -1, -1, uid)]
        if st.st_uid == uid:
            return []  # already its own
        for item in _walk(path) if whole else [path]:
            os.chown(item, uid, uid, follow_symlinks=False)
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode) and not mode & 0o001:
            # bwrap, root without capabilities, must still enter it (--chdir) once it is the uid's
            os.chmod(path, mode | 0o001)
        _handed_count[path] = 1
        return [Handed(path, st.st_uid, st.st_gid, uid, mode if not mode & 0o001 else -1)]


def give_back(handed: list[Handed]) -> None:
    """After the run (its processes gone): whatever the uid owns under each path goes back to
    the path's owner. Never through a symlink, and without setuid or setgid bits (a file the
    program left must not become root's setuid program)."""
    with _handed_lock:
        for h in handed:
            _handed_count[h.path] = _handed_count.get(h.path, 1) - 1
            if _handed_count[h.path] > 0:
                continue
            del _handed_count[h.path]
            for item in _walk(h.path):
                try:
                    st = os.lstat(item)
                    if st.st_uid == h.drop_uid or st.st_gid == h.drop_uid:
                        os.chown(item, h.uid, h.gid, follow_symlinks=False)
                        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o6000:
                            os.chmod(item, st.st_mode & 0o1777)
                except OSError:
                    continue
            if h.mode >= 0:
                os.chmod(h.path, h.mode)


def _walk(top: Path) -> list[Path]:
    """top and everything under it, not following symlinks."""
    out = [top]
    for root, dirs, files in os.walk(top, followlinks=False):
        out += [Path(root) / n for n in dirs + files]
    return out


def preexec_for(limits: Limits, cgroups: dict[str, Path]) -> Callable[[], None]:
    """Runs in the child between fork and exec: join the cgroups, set the rlimits. Only
    os-level calls (no imports, no locks), as a preexec in a threaded program must."""
    fsize = limits.file_size_mib * MIB
    data = limits.memory_mib * MIB
    procs_files = [str(p / "cgroup.procs") for p in cgroups.values()]
    use_data = "memory" not in cgroups
    use_nproc = "pids" not in cgroups

    def preexec() -> None:
        for name in procs_files:
            fd = os.open(name, os.O_WRONLY)
            try:
                os.write(fd, str(os.getpid()).encode())
            finally:
                os.close(fd)
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if use_data:
            resource.setrlimit(resource.RLIMIT_DATA, (data, data))
        if use_nproc:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    return preexec


# --------------------------------------------------------------------------- cgroups
def make_cgroups(spec: Spec, h: Host) -> dict[str, Path]:
    """A fresh child cgroup per controller for this run, with its limit set."""
    out: dict[str, Path] = {}
    name = f"gobuildx-{spec.label}-{os.getpid()}-{next(_serial)}"
    wanted = {
        "pids": (h.pids_cgroup, "pids.max", str(spec.limits.processes)),
        "memory": (h.memory_cgroup, "memory.limit_in_bytes", str(spec.limits.memory_mib * MIB)),
    }
    for controller, (parent, knob, value) in wanted.items():
        if parent is None:
            continue
        forget_abandoned(parent)
        path = parent / name
        try:
            path.mkdir()
            (path / knob).write_text(value)
            if controller == "memory":
                _write_quietly(path / "memory.memsw.limit_in_bytes", value)  # no way around it via swap
        except OSError:
            remove_cgroup(path)
            continue
        out[controller] = path
    return out


def forget_abandoned(parent: Path) -> None:
    """Remove the cgroups of gobuildx processes that are gone (killed before their cleanup):
    their programs died with them (--die-with-parent), so the cgroups are empty."""
    for path in parent.glob("gobuildx-*-*-*"):
        pid = path.name.split("-")[-2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            try:
                path.rmdir()
            except OSError:
                continue


def remove_cgroup(path: Path) -> None:
    """Kill every task left in the cgroup, wait for them to go, remove it."""
    deadline = time.monotonic() + 10
    while path.is_dir() and time.monotonic() < deadline:
        pids = _tasks(path)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            path.rmdir()
            return
        except OSError:
            time.sleep(0.05)


def _tasks(path: Path) -> list[int]:
    try:
        return [int(x) for x in (path / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _counter(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _write_quietly(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError:
        pass


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


# --------------------------------------------------------------------------- the network namespace
def read_child_pid(fd: int, timeout_s: float) -> int | None:
    """bwrap's --info-fd JSON ({"child-pid": N, ...}), read as soon as bwrap writes it."""
    data = b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
        try:
            return int(json.loads(data)["child-pid"])
        except (ValueError, KeyError):
            continue
    return None


def in_netns(netns: str | None, fn: Callable[[], T]) -> T:
    """fn() on a thread that has entered the network namespace `netns` (None: right here).
    setns(CLONE_NEWNET) moves only the calling thread, so the rest of gobuildx stays on the host."""
    if netns is None:
        return fn()
    result: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fd = os.open(netns, os.O_RDONLY)
            try:
                if _libc().setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns({netns}): {os.strerror(ctypes.get_errno())}")
            finally:
                os.close(fd)
            result.append(fn())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name="gobuildx-netns", daemon=True)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)
