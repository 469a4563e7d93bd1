"""What gobuildx runs stays in its sandbox: real bubblewrap, real Go programs, real runners.

tests/integration/smoke/probe misbehaves on purpose (looks for the network, writes outside its work
dir, forks and allocates without bound); each run must fail its smoke check, name the limit it
hit, and leave the host as it was. It never sends a packet: `probe net` only lists interfaces
and routes. The audit part: a crafted ELF whose program interpreter writes marker files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gobuildx.model.smoke import SmokeResult
from gobuildx.project.matrix import Target
from gobuildx.smoke.runners import wine
from gobuildx.smoke.runners.base import Check, Host, Job
from gobuildx.smoke.runners.native import NativeRunner
from gobuildx.smoke.runners.process import CommandRunner
from gobuildx.smoke.runners.qemu import QemuRunner
from gobuildx.smoke.runners.wasm import NodeRunner
from gobuildx.smoke.runners.wine import WineRunner, find_wine
from gobuildx.util import sandbox
from gobuildx.util.dirs import user_cache_dir
from tests.conftest import go_program, go_root, need, run_gobuildx

PROBE_SRC = Path(__file__).resolve().parent / "probe"
MARK = f"61.{uuid.uuid4().int % 10**9}"  # `sleep 61.NNN`: finds the fork test's children
# platform -> (runner, how a host path is written for the program)
PLATFORMS = {
    "linux/amd64": (NativeRunner, str),
    "linux/arm64": (QemuRunner, str),
    "windows/amd64": (WineRunner, lambda p: "Z:" + str(p).replace("/", "\\")),
}
# js/wasm under Node reaches the file system through Node's fs: it is contained the same way.
# (It has no network API and cannot fork, so only the write test applies to it.)
WRITERS = {**PLATFORMS, "js/wasm": (NodeRunner, str)}


@pytest.fixture(scope="session", autouse=True)
def bwrap_here() -> None:
    host = sandbox.host(dict(os.environ))
    need(host.bwrap, f"bubblewrap: {host.bwrap_why}")


@pytest.fixture(scope="session")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """probe built for each platform with the Go gobuildx uses."""
    out = tmp_path_factory.mktemp("probe")
    built = {}
    for platform in WRITERS:
        goos, goarch = platform.split("/")
        exe = out / f"probe-{goos}-{goarch}{'.exe' if goos == 'windows' else '.wasm' if goos == 'js' else ''}"
        env = {**os.environ, "GOOS": goos, "GOARCH": goarch, "CGO_ENABLED": "0"}
        subprocess.run(
            [go_program(), "build", "-trimpath", "-o", str(exe), "."],
            cwd=PROBE_SRC,
            env=env,
            check=True,
            timeout=600,
            capture_output=True,
        )
        built[platform] = exe
    return built


def job(platform: str, exe: Path, work: Path, check: Check, environ: dict[str, str] | None = None) -> Job:
    goos, goarch = platform.split("/")
    env = dict(environ or os.environ)
    return Job(
        target=Target(id=f"{goos}-{goarch}", goos=goos, goarch=goarch),
        binary="probe",
        artifact=exe,
        check=check,
        host=Host(goos="linux", goarch="amd64"),
        goroot=go_root(),
        cache_dir=user_cache_dir(env),
        work_dir=work,
        environ=env,
    )


def run(platform: str, exe: Path, work: Path, check: Check, environ: dict[str, str] | None = None) -> SmokeResult:
    runner: CommandRunner = WRITERS[platform][0]()
    j = job(platform, exe, work, check, environ)
    if platform.startswith("windows"):
        need(find_wine(j.environ)[0], "Wine")
    assert runner.applies(j), platform
    return runner.run(j)


def sandboxed(result: SmokeResult) -> bool:
    return any(n.startswith("sandboxed with bubblewrap") for n in result.notes)


# ------------------------------------------------------------------------ network
@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_no_network_beyond_loopback(platform: str, probes: dict[str, Path], tmp_path: Path) -> None:
    if platform == "linux/amd64":
        # The host must have a network to hide, or this test proves nothing: probe only looks.
        host = subprocess.run([str(probes[platform]), "net"], capture_output=True, text=True, timeout=30)
        need(host.returncode == 0, f"a host network beyond loopback to hide: {host.stdout}")
    result = run(platform, probes[platform], tmp_path / "work", Check(args=["net"], timeout_s=120))
    assert result.status == "failed", result
    assert result.reason.startswith("wrong exit code: exit code 7"), result
    assert "no network beyond loopback" in result.output and "route:" not in result.output, result.output
    assert sandboxed(result), result.notes


# ------------------------------------------------------------------------ writes
@pytest.fixture
def outside(tmp_path: Path) -> Iterator[list[Path]]:
    """Host paths outside the work dir that root may write: the host HOME, /var/tmp, a test dir."""
    tag = uuid.uuid4().hex[:12]
    (tmp_path / "outside").mkdir()
    paths = [
        Path.home() / f".gobuildx-test-{tag}",
        Path("/var/tmp") / f"gobuildx-test-{tag}",
        tmp_path / "outside" / f"marker-{tag}",
    ]
    yield paths
    for p in paths:
        p.unlink(missing_ok=True)


@pytest.mark.parametrize("platform", list(WRITERS))
def test_writes_outside_the_work_dir_do_not_reach_the_host(
    platform: str, probes: dict[str, Path], tmp_path: Path, outside: list[Path]
) -> None:
    work = tmp_path / "work"
    inside = work / "inside.txt"
    spell = WRITERS[platform][1]
    result = run(
        platform, probes[platform], work, Check(args=["write", spell(inside), *map(spell, outside)], timeout_s=120)
    )
    assert result.status == "failed", result
    assert result.reason.startswith("wrong exit code: exit code 5"), result
    assert inside.read_text() == "written by probe\n", result.output  # the work dir is writable
    assert [p for p in outside if p.exists()] == [], result.output
    assert sandboxed(result), result.notes


def test_home_and_tmpdir_are_thrown_away(probes: dict[str, Path], tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:12]
    check = Check(args=["write", f"/tmp/home/{tag}", f"/tmp/{tag}"], timeout_s=60)
    result = run("linux/amd64", probes["linux/amd64"], tmp_path / "work", check)
    assert result.status == "passed", result  # both writable in the sandbox ...
    assert not (Path("/tmp") / tag).exists() and not (Path("/tmp/home") / tag).exists()  # ... gone after


def test_the_program_is_an_unprivileged_user_without_capabilities(probes: dict[str, Path], tmp_path: Path) -> None:
    """Run by root, the program is uid 65534 on the host itself (not uid 1000 of a user namespace,
    which is root outside it); run by anyone else, uid 1000 of its own user namespace."""
    host = sandbox.host(dict(os.environ))
    if os.geteuid() == 0:
        need(host.drop, f"setpriv in the sandbox: {host.drop_why}")
        want = f"uid {sandbox.DROP_UID} gid {sandbox.DROP_UID}"
    else:
        need(host.userns, "user namespaces (a chroot refuses them: enter a root with pivot_root)")
        want = f"uid {sandbox.SANDBOX_UID} gid {sandbox.SANDBOX_UID}"
    result = run("linux/amd64", probes["linux/amd64"], tmp_path / "work", Check(args=["whoami"], timeout_s=60))
    assert result.status == "passed", result
    assert want in result.output and "CapEff:\t0000000000000000" in result.output, result.output


def test_root_only_files_stay_unreadable(probes: dict[str, Path], tmp_path: Path) -> None:
    need(os.geteuid() == 0, "root: only then is there a root-only file the program must not read")
    secret = Path("/var/tmp") / f"gobuildx-secret-{uuid.uuid4().hex[:12]}"
    secret.write_text("root's secret\n")
    secret.chmod(0o600)
    try:
        check = Check(args=["read", str(secret), "/etc/shadow"], timeout_s=60)
        result = run("linux/amd64", probes["linux/amd64"], tmp_path / "work", check)
    finally:
        secret.unlink()
    assert result.status == "failed" and result.reason.startswith("wrong exit code: exit code 6"), result
    assert result.output.count("permission denied") == 2 and "root's secret" not in result.output, result.output


def test_what_it_wrote_is_given_back_to_the_work_dirs_owner(probes: dict[str, Path], tmp_path: Path) -> None:
    work = tmp_path / "work"
    result = run("linux/amd64", probes["linux/amd64"], work, Check(args=["write", str(work / "a"), str(work / "b")]))
    assert result.status == "passed", result
    owners = {(p.name, p.stat().st_uid) for p in [work, work / "a", work / "b"]}
    assert owners == {(work.name, os.getuid()), ("a", os.getuid()), ("b", os.getuid())}


def test_a_link_left_at_the_logs_name_is_never_followed(probes: dict[str, Path], tmp_path: Path) -> None:
    """The work dir is the program's during its run: a link it leaves where the next run's log
    goes must not make gobuildx (root) write through it."""
    work = tmp_path / "work"
    victim = tmp_path / "victim"
    victim.write_text("root's file\n")
    work.mkdir()
    (work / "native-probe.log").symlink_to(victim)  # what a hostile earlier run could leave
    result = run("linux/amd64", probes["linux/amd64"], work, Check(args=["whoami"], timeout_s=60))
    assert result.status == "passed", result
    assert victim.read_text() == "root's file\n"  # untouched
    log = work / "native-probe.log"
    assert not log.is_symlink() and "uid" in log.read_text()


def wine_path(path: str) -> str:
    return path.replace("/", "\\")


def test_each_wine_run_has_a_prefix_of_its_own(probes: dict[str, Path], tmp_path: Path) -> None:
    """What a program writes into its prefix (C:\\users) is gone at the next run; C:\\windows is
    read-only; the template in the cache is as it was; no scratch prefix is left behind."""
    exe, tag = probes["windows/amd64"], uuid.uuid4().hex[:12]
    users, windows = f"C:/users/Public/gobuildx-{tag}", f"C:/windows/gobuildx-{tag}"
    work = tmp_path / "work"
    first = run("windows/amd64", exe, work, Check(args=["write", wine_path(users), wine_path(windows)], timeout_s=120))
    assert first.status == "failed" and first.reason.startswith("wrong exit code: exit code 5"), first
    assert f"wrote {wine_path(users)}" in first.output and "cannot write" in first.output, first.output
    second = run("windows/amd64", exe, work, Check(args=["read", wine_path(users)], timeout_s=120))
    assert second.status == "failed" and second.reason.startswith("wrong exit code: exit code 6"), second
    template = wine.ensure_prefix(user_cache_dir(dict(os.environ)), dict(os.environ))[0]
    assert not (template / f"drive_c/users/Public/gobuildx-{tag}").exists()
    assert not (template / f"drive_c/windows/gobuildx-{tag}").exists()
    assert [p.name for p in work.iterdir() if p.name.startswith(".wine-prefix")] == []


# ------------------------------------------------------------------------ limits
def stray(mark: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and mark in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(proc.name)
        except OSError:
            continue
    return found


def test_a_fork_bomb_fails_naming_the_process_limit(probes: dict[str, Path], tmp_path: Path) -> None:
    check = Check(args=["fork", MARK], timeout_s=60, processes=64)
    result = run("linux/amd64", probes["linux/amd64"], tmp_path / "work", check)
    assert result.status == "failed", result
    assert result.reason.startswith("exceeded the process limit (64 processes and threads)"), result
    assert result.duration_s < 50, result  # stopped by the limit, not by the timeout
    assert stray(MARK) == []


def test_a_memory_hog_fails_naming_the_memory_limit(probes: dict[str, Path], tmp_path: Path) -> None:
    result = run(
        "linux/amd64", probes["linux/amd64"], tmp_path / "work", Check(args=["hog"], timeout_s=60, memory_mib=256)
    )
    assert result.status == "failed", result
    assert result.reason.startswith("exceeded the memory limit (256 MiB)"), result
    assert "holding 128 MiB" in result.output  # it did allocate, up to the limit
    assert result.duration_s < 50, result


def test_a_huge_file_fails_naming_the_file_size_limit(probes: dict[str, Path], tmp_path: Path) -> None:
    work = tmp_path / "work"
    result = run(
        "linux/amd64",
        probes["linux/amd64"],
        work,
        Check(args=["big", str(work / "big.bin")], timeout_s=60, file_size_mib=8),
    )
    assert result.status == "failed", result
    assert result.reason.startswith("exceeded the file size limit (8 MiB)"), result
    assert (work / "big.bin").stat().st_size <= 8 << 20


def test_limits_leave_no_cgroup_behind(probes: dict[str, Path], tmp_path: Path) -> None:
    run("linux/amd64", probes["linux/amd64"], tmp_path / "work", Check(args=["net"], timeout_s=60))
    host = sandbox.host(dict(os.environ))
    for parent in (host.pids_cgroup, host.memory_cgroup):
        if parent is not None:
            assert [p.name for p in parent.glob(f"gobuildx-*-{os.getpid()}-*")] == []


# ------------------------------------------------------------------------ servers and missing parts
def test_a_server_check_works_on_the_sandboxs_own_loopback(probes: dict[str, Path], tmp_path: Path) -> None:
    check = Check(args=["serve", "127.0.0.1:18931"], port=18931, expect="^probe linux", timeout_s=60)
    result = run("linux/amd64", probes["linux/amd64"], tmp_path / "work", check)
    assert result.status == "passed", result
    assert sandboxed(result), result.notes


def test_without_bwrap_the_result_says_so(probes: dict[str, Path], tmp_path: Path) -> None:
    environ = {**os.environ, sandbox.OVERRIDE: ""}  # GOBUILDX_BWRAP set to nothing: no bwrap
    auto = run("linux/amd64", probes["linux/amd64"], tmp_path / "a", Check(args=["net"]), environ)
    assert auto.status == "passed", auto  # not contained: it sees the host's network ...
    assert any(n.startswith("NOT contained: no sandbox") for n in auto.notes), auto.notes  # ... and says so
    required = run(
        "linux/amd64", probes["linux/amd64"], tmp_path / "r", Check(args=["net"], sandbox="required"), environ
    )
    assert required.status == "failed" and required.exit_code is None, required  # never started
    assert required.reason.startswith('sandbox = "required", but this host cannot contain it: no sandbox'), required


# ------------------------------------------------------------------------ ldd on a crafted ELF
INTERP_C = r"""
/* A program interpreter that writes marker files: nothing may run it outside a sandbox. */
static long sys(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
static long len(const char *s) { long n = 0; while (s[n]) n++; return n; }
static void say(const char *s) { sys(1, 1, (long)s, len(s)); }
static void mark(const char *path) {
    long fd = sys(2, (long)path, 01 | 0100 | 01000, 0644); /* open(O_WRONLY|O_CREAT|O_TRUNC) */
    if (fd < 0) { say("crafted interpreter: cannot write "); say(path); say("\n"); return; }
    sys(1, fd, (long)"ran\n", 4);
    sys(3, fd, 0, 0);
    say("crafted interpreter: wrote "); say(path); say("\n");
}
void _start(void) {
    say("crafted interpreter ran\n");
    mark(MARK_A);
    mark(MARK_B);
    sys(60, 0, 0, 0);
}
"""
# ldd as glibc had it before 2.27, and as its man page warns: it runs the program itself.
TRUSTING_LDD = '#!/bin/sh\nLD_TRACE_LOADED_OBJECTS=1 exec "$1"\n'


@pytest.fixture
def crafted(tmp_path: Path) -> Iterator[tuple[Path, list[Path], Path]]:
    """(crafted ELF, the markers its interpreter writes, a dir with a trusting `ldd`)."""
    need(shutil.which("gcc"), "gcc (apt-get install gcc)")
    tag = uuid.uuid4().hex[:12]
    # The interpreter outside /tmp, so that the sandbox (a fresh /tmp) still sees and runs it.
    home = Path("/var/tmp") / f"gobuildx-interp-{tag}"
    home.mkdir()
    markers = [tmp_path / f"marker-a-{tag}", home / "marker-b"]
    (tmp_path / "interp.c").write_text(INTERP_C)
    (tmp_path / "prog.c").write_text("int main(void) { return 0; }\n")
    subprocess.run(
        [
            "gcc",
            "-nostdlib",
            "-static-pie",
            "-fPIE",
            "-O1",
            "-fno-stack-protector",
            f'-DMARK_A="{markers[0]}"',
            f'-DMARK_B="{markers[1]}"',
            "-o",
            str(home / "interp"),
            str(tmp_path / "interp.c"),
        ],
        check=True,
        timeout=120,
    )
    elf = tmp_path / "crafted"
    subprocess.run(
        ["gcc", "-o", str(elf), str(tmp_path / "prog.c"), f"-Wl,--dynamic-linker={home / 'interp'}"],
        check=True,
        timeout=120,
    )
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "ldd").write_text(TRUSTING_LDD)
    (tools / "ldd").chmod(0o755)
    try:
        yield elf, markers, tools
    finally:
        shutil.rmtree(home, ignore_errors=True)


def audit_json(elf: Path, cwd: Path, env: dict[str, str]) -> dict[str, object]:
    proc = run_gobuildx(["audit", "--path", str(elf), "--format", "json"], cwd=cwd, env=env, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    [result] = json.loads(proc.stdout)["results"]
    [facts] = result["artifacts"]
    return facts


def test_the_crafted_interpreter_runs_when_executed(crafted: tuple[Path, list[Path], Path]) -> None:
    """The control: run by a trusting ldd outside any sandbox, the interpreter writes both markers
    (so the tests below would see it if the audit ran it on the host)."""
    elf, markers, tools = crafted
    proc = subprocess.run([str(tools / "ldd"), str(elf)], capture_output=True, text=True, timeout=30)
    assert "crafted interpreter ran" in proc.stdout, proc
    assert all(m.exists() for m in markers), proc.stdout
    for m in markers:
        m.unlink()


def test_audit_path_runs_ldd_only_in_the_sandbox(crafted: tuple[Path, list[Path], Path], tmp_path: Path) -> None:
    elf, markers, tools = crafted
    env = {"PATH": f"{tools}:{os.environ['PATH']}"}  # the trusting ldd is the one found
    facts = audit_json(elf, tmp_path, env)
    assert facts["interpreter"] == str(markers[1].parent / "interp")  # the audit still reports the file
    assert "crafted interpreter ran" in str(facts["ldd"]), facts["ldd"]  # it ran, in the sandbox ...
    assert "cannot write" in str(facts["ldd"]), facts["ldd"]
    assert [m for m in markers if m.exists()] == []  # ... and wrote nothing on the host


def test_audit_path_with_the_hosts_ldd_writes_nothing(crafted: tuple[Path, list[Path], Path], tmp_path: Path) -> None:
    elf, markers, _ = crafted
    facts = audit_json(elf, tmp_path, {})
    assert facts["interpreter"] == str(markers[1].parent / "interp")
    assert facts["ldd"], facts
    assert [m for m in markers if m.exists()] == []


def test_audit_path_without_a_sandbox_does_not_run_ldd(crafted: tuple[Path, list[Path], Path], tmp_path: Path) -> None:
    elf, markers, tools = crafted
    facts = audit_json(elf, tmp_path, {"PATH": f"{tools}:{os.environ['PATH']}", sandbox.OVERRIDE: ""})
    assert str(facts["ldd"]).startswith("not run: gobuildx did not build this file"), facts["ldd"]
    assert "GOBUILDX_BWRAP" in str(facts["ldd"])
    assert facts["interpreter"] and facts["file"], facts
    assert [m for m in markers if m.exists()] == []
