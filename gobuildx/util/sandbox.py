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
  /tmp), uid 1000 without capabilities in a user namespace of its own, and death with its parent;
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
SANDBOX_UID = 1000  # uid and gid inside the user namespace: an ordinary user, no capabilities
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
    writable: tuple[Path, ...] = ()  # besides cwd (a Wine prefix, say)
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

    def lines(self) -> list[str]:
        """For `gobuildx doctor`: one line per part, saying what is and is not contained."""
        box = (
            f"bubblewrap {self.bwrap}: own network (loopback only), PID, IPC and UTS namespaces, "
            "read-only /, fresh /tmp, throwaway HOME"
            if self.bwrap
            else f"not contained: {self.bwrap_why}; install: {PACKAGE}"
        )
        user = (
            f"uid {SANDBOX_UID} in a user namespace, no capabilities"
            if self.bwrap and self.userns
            else "no user namespace: runs as the calling user"
        )
        pids = f"pids cgroup under {self.pids_cgroup}" if self.pids_cgroup else nproc_note(self.root)
        mem = f"memory cgroup under {self.memory_cgroup}" if self.memory_cgroup else "RLIMIT_DATA (no memory cgroup)"
        return [
            f"sandbox: {box}",
            f"user: {user}",
            f"processes: {pids}",
            f"memory: {mem}",
            "file size: RLIMIT_FSIZE; time: the smoke timeout",
        ]


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
        lim = self.spec.limits
        mem = self.cgroups.get("memory")
        if mem and _counter(mem / "memory.oom_control", "oom_kill"):
            return f"exceeded the memory limit ({lim.memory_mib} MiB)"
        pids = self.cgroups.get("pids")
        if pids and _counter(pids / "pids.events", "max"):
            return f"exceeded the process limit ({lim.processes} processes and threads)"
        if exit_code in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ) or "file too large" in output.lower():
            return f"exceeded the file size limit ({lim.file_size_mib} MiB)"
        if not mem and ("out of memory" in output or "cannot allocate memory" in output.lower()):
            return f"exceeded the memory limit ({lim.memory_mib} MiB, RLIMIT_DATA)"
        if not pids and "resource temporarily unavailable" in output:
            return f"exceeded the process limit ({lim.processes}, RLIMIT_NPROC)"
        return None

    def close(self) -> None:
        """Kill whatever is left in this run's cgroups, then remove them: the host as it was."""
        if self.info_fd is not None:
            _close(self.info_fd)
            self.info_fd = None
        for path in self.cgroups.values():
            remove_cgroup(path)


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
    return _probe(bwrap, why)


@lru_cache(maxsize=8)
def _probe(bwrap: str | None, why: str) -> Host:
    userns = False
    if bwrap:
        ok, detail = _try_bwrap(bwrap, ["--unshare-user", "--uid", str(SANDBOX_UID)])
        userns = ok
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
        root=os.geteuid() == 0,
    )


def _try_bwrap(bwrap: str, extra: list[str]) -> tuple[bool, str]:
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
        h = replace(h, bwrap=None, bwrap_why='sandbox = "off"', userns=False)
    # Whatever the command names by absolute path (the artifact, a QEMU sysroot) stays readable
    # even where it lies under the hidden HOME.
    named = tuple(Path(a) for a in argv if a.startswith("/") and os.path.exists(a))
    spec = replace(spec, readable=spec.readable + named)
    missing = missing_parts(h) + (["the host's network: " + spec.network_why] if spec.network and h.bwrap else [])
    if spec.mode == "required" and missing:
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
    )
    if h.bwrap:
        read_end, write_end = os.pipe()
        os.set_inheritable(write_end, True)
        box.argv = bwrap_argv(h.bwrap, argv, cwd, spec, h.userns, write_end)
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
    elif not h.userns:
        out.append("no user namespace: it runs as the calling user (without capabilities)")
    if h.pids_cgroup is None and h.root:
        out.append("no process limit (no pids cgroup, and RLIMIT_NPROC does not bind root)")
    return out


def notes_for(h: Host, box: Box) -> list[str]:
    lim = box.spec.limits
    parts = []
    if h.bwrap:
        user = f"uid {SANDBOX_UID} in a user namespace" if h.userns else "the calling user"
        parts.append(
            f"sandboxed with bubblewrap: loopback-only network, read-only /, writable work dir, "
            f"throwaway HOME and TMPDIR, {user}"
        )
    mem = "cgroup" if "memory" in box.cgroups else "RLIMIT_DATA"
    procs = "cgroup" if "pids" in box.cgroups else "RLIMIT_NPROC"
    parts.append(
        f"limits: memory {lim.memory_mib} MiB ({mem}), {lim.processes} processes and threads "
        f"({procs}), files up to {lim.file_size_mib} MiB"
    )
    return parts + [f"NOT contained: {m}" for m in box.missing]


def bwrap_argv(bwrap: str, argv: list[str], cwd: Path, spec: Spec, userns: bool, info_fd: int) -> list[str]:
    """bubblewrap around argv: every option is there for a reason said beside it."""
    out = [
        bwrap,
        "--die-with-parent",  # a killed gobuildx leaves no sandbox behind
        "--new-session",  # no TIOCSTI into the caller's terminal
        "--cap-drop",
        "ALL",  # as root without a user namespace bwrap would keep root's capabilities
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "gobuildx-sandbox",
    ]
    if not spec.network:
        out.append("--unshare-net")  # only `lo`, brought up by bwrap: server checks still work
    if userns:
        out += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    out += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    writable = sorted({cwd, *spec.writable}, key=lambda p: (len(p.parts), str(p)))  # parents first
    hidden = hidden_homes(writable)
    for home in hidden:
        out += ["--tmpfs", str(home)]  # the host's home: its keys and configs are not readable
    for path in spec.readable:
        if path.exists():
            out += ["--ro-bind", str(path), str(path)]
    for path in writable:
        out += ["--bind", str(path), str(path)]
    for home in hidden:
        out += ["--remount-ro", str(home)]  # an empty, read-only home (the binds in it stay writable)
    out += ["--dir", SANDBOX_HOME, "--chdir", str(cwd), "--info-fd", str(info_fd), "--", *argv]
    return out


SANDBOX_HOME = "/tmp/home"


def hidden_homes(writable: list[Path]) -> list[Path]:
    """The caller's home directory (from gobuildx's own environment, not the program's), unless
    it is / or lies inside a writable path (then hiding it would hide that path too)."""
    home = Path(os.environ.get("HOME") or "/root")
    if not home.is_dir() or home == Path("/") or any(home == w or w in home.parents for w in writable):
        return []
    return [home]


def sandbox_env(env: dict[str, str]) -> dict[str, str]:
    """HOME and TMPDIR in the sandbox's fresh /tmp: thrown away with it."""
    return {**env, "HOME": SANDBOX_HOME, "TMPDIR": "/tmp"}


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
