"""Run one command under a timeout in its own process group, and judge what it did.

Output goes to a log file, not a pipe: a grandchild that outlives the program (wineserver,
a forked helper) can hold a pipe open forever, but it cannot hold up a wait() on the pid.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict

from gobuildx.smoke.runners.base import Check, Job, Runner, SmokeResult
from gobuildx.util import sandbox
from gobuildx.util.procs import kill_group, terminate_group

__all__ = [
    "CommandRunner",
    "Invocation",
    "Outcome",
    "base_env",
    "execute",
    "kill_group",
    "limits_of",
    "log_path",
    "open_log",
    "stop_group",
    "verdict",
]

TAIL_LINES = 30
TAIL_CHARS = 4000
STOP_GRACE_S = 3.0
POLL_S = 0.1
CRASH_MARKERS = (
    "panic: ",
    "fatal error: ",
    "unexpected signal",
    "SIGSEGV",
    "SIGILL",
    "qemu: uncaught target signal",
    "Illegal instruction",
)


class Invocation(BaseModel):
    """The exact command a runner wants executed, with its whole environment."""

    model_config = ConfigDict(frozen=True)

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    notes: list[str] = []
    contained: bool = False  # run it in gobuildx.util.sandbox (native, qemu, wine)
    writable: list[Path] = []  # in the sandbox, writable besides cwd
    owned: list[Path] = []  # made for this run, the program's own in the sandbox (a scratch Wine prefix)
    readable: list[Path] = []  # besides what argv names (the template of that prefix)


class Outcome(BaseModel):
    """What the process did: exit code (negative: signal), whether it hung, its output."""

    exit_code: int | None
    timed_out: bool
    output: str
    duration_s: float
    http: str | None = None  # server mode: the verdict of the HTTP check ("" when it passed)


class CommandRunner(Runner):
    """A runner that turns a job into one command line; `execute` does the rest."""

    def invocation(self, job: Job) -> Invocation:  # pragma: no cover - abstract
        raise NotImplementedError

    def unsupported(self, job: Job) -> str | None:
        """A reason this runner cannot run this check (e.g. server mode without sockets)."""
        return None

    def run(self, job: Job) -> SmokeResult:
        why = self.unsupported(job)
        if why:
            return self.skipped(job, why)
        inv = self.invocation(job)
        return execute(self.name, job, inv)


def execute(runner: str, job: Job, inv: Invocation) -> SmokeResult:
    """Run the invocation as the job's check asks, and return the verdict."""
    log = log_path(runner, job)
    try:
        box = sandbox.contain(inv.argv, inv.env, inv.cwd, sandbox_spec(runner, job, inv), job.environ)
    except sandbox.Uncontained as exc:
        return SmokeResult(
            runner=runner,
            binary=job.binary,
            status="failed",
            reason=f'sandbox = "required", but this host cannot contain it: {exc}',
            command=inv.argv,
            notes=inv.notes,
        )
    try:
        outcome = run_logged(inv, log, job.check, box)
        outcome.exit_code = box.program_exit(outcome.exit_code)
        limit = box.exceeded(outcome.exit_code, outcome.output)
    finally:
        box.close()  # kills what is left in its cgroups
    return verdict(runner, job, inv.argv, outcome, log, inv.notes + (box.notes if inv.contained else []), limit)


def log_path(runner: str, job: Job) -> Path:
    """Where a run's whole output is kept (the result holds only its tail)."""
    job.work_dir.mkdir(parents=True, exist_ok=True)
    return job.work_dir / f"{runner}-{job.binary}.log"


def open_log(path: Path) -> BinaryIO:
    """A new log file at `path`, opened for writing and reading back. The work dir belongs to the
    sandboxed program during its run: whatever it left at this name (a link to /etc/passwd, say)
    is removed, never followed, and O_EXCL refuses a link that appears meanwhile."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    return os.fdopen(fd, "w+b")


def verdict(
    runner: str, job: Job, command: list[str], outcome: Outcome, log: Path, notes: list[str], limit: str | None = None
) -> SmokeResult:
    """The result of one run from what it did (`judge`), failed whatever it printed if it hit a limit."""
    status, reason = judge(job.check, outcome)
    if limit:
        status, reason = "failed", f"{limit}; {reason}"
    return SmokeResult(
        runner=runner,
        binary=job.binary,
        status=status,
        reason=reason,
        command=command,
        exit_code=outcome.exit_code,
        duration_s=round(outcome.duration_s, 3),
        output=tail(outcome.output),
        log=str(log),
        notes=notes,
    )


def limits_of(job: Job) -> sandbox.Limits:
    """The [smoke] limits of the job's check."""
    c = job.check
    return sandbox.Limits(memory_mib=c.memory_mib, processes=c.processes, file_size_mib=c.file_size_mib)


def sandbox_spec(runner: str, job: Job, inv: Invocation) -> sandbox.Spec:
    """The check's limits and sandbox mode; an uncontained invocation (docker, wasm) gets the limits only."""
    c = job.check
    limits = limits_of(job)
    # Probing a server inside its own network namespace takes setns(), which needs root.
    shared = c.server and os.geteuid() != 0
    return sandbox.Spec(
        limits=limits,
        mode=c.sandbox if inv.contained else "off",
        writable=tuple(inv.writable),
        owned=tuple(inv.owned),
        readable=tuple(inv.readable),
        label=runner,
        network=shared,
        network_why="a server check run by a non-root user is probed on the host's loopback",
    )


def run_logged(inv: Invocation, log: Path, check: Check, box: sandbox.Box) -> Outcome:
    start = time.monotonic()
    # Read back through the same open file: the program may own the work dir, and could replace
    # the log's name with a link to a file only gobuildx may read.
    with open_log(log) as out:
        proc = subprocess.Popen(
            box.argv,
            env=box.env,
            cwd=inv.cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=box.preexec,
            pass_fds=box.pass_fds,
        )
        box.started()
        try:
            if check.server:
                assert check.port is not None
                http_verdict, timed_out = serve_and_probe(proc, check, start, box)
            else:
                http_verdict, timed_out = None, not wait(proc, check.timeout_s)
        finally:
            kill_group(proc)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    code = proc.returncode
    return Outcome(
        exit_code=code, timed_out=timed_out, output=text, duration_s=time.monotonic() - start, http=http_verdict
    )


def wait(proc: subprocess.Popen[bytes], timeout_s: float) -> bool:
    try:
        proc.wait(timeout=timeout_s)
        return True
    except subprocess.TimeoutExpired:
        return False


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the group, then give it a moment before kill_group."""
    terminate_group(proc, STOP_GRACE_S)


def serve_and_probe(
    proc: subprocess.Popen[bytes], check: Check, start: float, box: sandbox.Box
) -> tuple[str | None, bool]:
    """Wait for an HTTP answer on 127.0.0.1:port; return (verdict or None, timed_out).
    A sandboxed server has a loopback of its own: the probe connects from inside its namespace."""
    assert check.port is not None
    deadline = start + check.timeout_s
    netns = box.netns()
    port, path = check.port, check.http_path

    def probe() -> tuple[int, str] | None:
        return http_get(port, path)

    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None, False  # judged from its exit code and output
        answer = sandbox.in_netns(netns, probe)
        if answer is not None:
            status, body = answer
            stop_group(proc)
            return http_verdict(check, status, body), False
        time.sleep(POLL_S)
    return None, True


def http_get(port: int, path: str) -> tuple[int, str] | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read(65536).decode("utf-8", "replace")
    except (ConnectionError, OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def http_verdict(check: Check, status: int, body: str) -> str:
    if status != check.http_status:
        return f"GET {check.http_path} answered HTTP {status}, expected {check.http_status}: {first_line(body)!r}"
    if check.expect and not re.search(check.expect, body, re.MULTILINE):
        return f"GET {check.http_path} body does not match /{check.expect}/: {first_line(body)!r}"
    return ""


def judge(check: Check, o: Outcome) -> tuple[str, str]:
    """(status, one-line reason) from what the process did."""
    if o.timed_out:
        what = f"no HTTP answer on 127.0.0.1:{check.port}{check.http_path}" if check.server else "hung"
        return "failed", f"{what}: killed with its process group after {check.timeout_s:g}s timeout"
    if check.server:
        if o.http is None:
            return "failed", (
                f"exited ({describe_exit(o)}) before answering on 127.0.0.1:{check.port}" + crash_hint(o.output)
            )
        if o.http:
            return "failed", o.http
        return "passed", f"GET {check.http_path} on 127.0.0.1:{check.port} answered HTTP {check.http_status}" + (
            f", body matches /{check.expect}/" if check.expect else ""
        )
    if o.exit_code is not None and o.exit_code < 0:
        return "failed", f"crashed: {describe_exit(o)}{crash_hint(o.output)}"
    if o.exit_code != check.exit_code:
        hint = crash_hint(o.output)
        kind = "crashed" if hint else "wrong exit code"
        return "failed", f"{kind}: exit code {o.exit_code}, expected {check.exit_code}{hint}"
    if check.expect and not re.search(check.expect, o.output, re.MULTILINE):
        return "failed", f"wrong output: does not match /{check.expect}/; got {first_line(o.output)!r}"
    return "passed", f"exit code {o.exit_code}" + (f", output matches /{check.expect}/" if check.expect else "")


def describe_exit(o: Outcome) -> str:
    if o.exit_code is not None and o.exit_code < 0:
        try:
            return f"killed by {signal.Signals(-o.exit_code).name}"
        except ValueError:
            return f"killed by signal {-o.exit_code}"
    return f"exit code {o.exit_code}"


def crash_hint(output: str) -> str:
    for line in output.splitlines():
        if any(m in line for m in CRASH_MARKERS):
            return f" ({line.strip()[:160]})"
    return ""


def first_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[0][:160] if lines else ""


def tail(text: str) -> str:
    return "\n".join(text.splitlines()[-TAIL_LINES:])[-TAIL_CHARS:]


def base_env(job: Job) -> dict[str, str]:
    """The environment a smoked program gets: a minimal, explicit one plus the check's env."""
    env = {"PATH": job.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(job.work_dir), "LANG": "C.UTF-8", "TZ": "UTC"}
    env.update(job.check.env)
    return env
