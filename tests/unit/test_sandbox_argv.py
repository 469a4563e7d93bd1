"""gobuildx.util.sandbox without running anything: the bwrap argv, the env, what is missing,
how a limit is named, and the [smoke] keys that set the limits. No Go, Docker, QEMU, Wine or network."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from gobuildx.errors import ConfigError
from gobuildx.project.config import SmokeTable, load
from gobuildx.smoke.stage import PortBook, make_check
from gobuildx.util import sandbox
from gobuildx.util.sandbox import Box, Host, Limits, Spec

WORK = Path("/srv/dist/.smoke/linux-amd64")
PREFIX = Path("/srv/cache/wine/prefix-wine-8.0")


def argv_for(spec: Spec = Spec(), userns: bool = True, cwd: Path = WORK) -> list[str]:
    return sandbox.bwrap_argv("/usr/bin/bwrap", ["/srv/dist/linux-amd64/hello", "-v"], cwd, spec, userns, 9)


def pairs(argv: list[str], option: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == option]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """gobuildx's own HOME, the one the sandbox hides."""
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_the_program_gets_a_loopback_only_network_and_a_read_only_root() -> None:
    argv = argv_for(Spec(writable=(PREFIX,)))
    assert argv[0] == "/usr/bin/bwrap" and argv[-3:] == ["--", "/srv/dist/linux-amd64/hello", "-v"]
    for option in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session"):
        assert option in argv
    assert pairs(argv, "--cap-drop") == ["ALL"]
    ro_root = argv.index("--ro-bind")
    assert argv[ro_root : ro_root + 3] == ["--ro-bind", "/", "/"]
    assert pairs(argv, "--bind") == [str(PREFIX), str(WORK)]  # only the prefix and the work dir
    assert ro_root < argv.index("--bind")  # the writable binds come on top of the read-only /
    assert pairs(argv, "--tmpfs")[0] == "/tmp" and pairs(argv, "--chdir") == [str(WORK)]
    assert pairs(argv, "--info-fd") == ["9"]


def test_a_non_root_uid_only_with_a_user_namespace() -> None:
    assert pairs(argv_for(), "--uid") == [str(sandbox.SANDBOX_UID)] and "--unshare-user" in argv_for()
    plain = argv_for(userns=False)
    assert "--unshare-user" not in plain and "--uid" not in plain


def test_network_true_keeps_the_hosts_network() -> None:
    assert "--unshare-net" not in argv_for(Spec(network=True))


def test_the_callers_home_is_hidden_and_read_only(home: Path) -> None:
    argv = argv_for()
    assert str(home) in pairs(argv, "--tmpfs") and pairs(argv, "--remount-ro") == [str(home)]
    assert argv.index("--remount-ro") > argv.index("--bind")  # binds inside it stay writable


def test_a_home_that_holds_the_work_dir_is_not_hidden(home: Path) -> None:
    argv = argv_for(cwd=home)
    assert str(home) not in pairs(argv, "--tmpfs") and "--remount-ro" not in argv


def test_home_and_tmpdir_are_thrown_away_with_the_sandbox() -> None:
    env = sandbox.sandbox_env({"PATH": "/usr/bin", "HOME": "/srv/dist/.smoke/x", "A": "1"})
    assert env == {"PATH": "/usr/bin", "HOME": sandbox.SANDBOX_HOME, "TMPDIR": "/tmp", "A": "1"}
    assert sandbox.SANDBOX_HOME.startswith("/tmp/")  # in the sandbox's own tmpfs


def host(**kw: object) -> Host:
    base: dict[str, object] = {
        "bwrap": "/usr/bin/bwrap",
        "bwrap_why": "",
        "userns": True,
        "pids_cgroup": Path("/sys/fs/cgroup/pids"),
        "memory_cgroup": None,
        "root": True,
    }
    return Host(**{**base, **kw})  # type: ignore[arg-type]


def test_each_missing_part_is_said_plainly() -> None:
    assert sandbox.missing_parts(host()) == []
    [no_box] = sandbox.missing_parts(host(bwrap=None, bwrap_why="bwrap (bubblewrap) is not on PATH"))
    assert no_box.startswith("no sandbox (bwrap (bubblewrap) is not on PATH)") and "network" in no_box
    assert sandbox.missing_parts(host(userns=False)) == [
        "no user namespace: it runs as the calling user (without capabilities)"
    ]
    [procs] = sandbox.missing_parts(host(pids_cgroup=None))
    assert "RLIMIT_NPROC does not bind root" in procs
    assert sandbox.missing_parts(host(pids_cgroup=None, root=False)) == []  # RLIMIT_NPROC binds others


def test_doctor_lines_name_the_package_when_bwrap_is_missing() -> None:
    lines = host(bwrap=None, bwrap_why="bwrap (bubblewrap) is not on PATH", pids_cgroup=None).lines()
    assert lines[0] == f"sandbox: not contained: bwrap (bubblewrap) is not on PATH; install: {sandbox.PACKAGE}"
    assert any("processes: not limited" in line for line in lines)


def test_required_refuses_before_anything_runs_or_is_made() -> None:
    with pytest.raises(sandbox.Uncontained, match="GOBUILDX_BWRAP=''"):
        sandbox.contain(["/bin/true"], {}, WORK, Spec(mode="required"), {sandbox.OVERRIDE: ""})


def test_a_wrong_bwrap_override_is_reported_not_papered_over(tmp_path: Path) -> None:
    assert sandbox.find_bwrap({sandbox.OVERRIDE: str(tmp_path / "nope"), "PATH": "/usr/bin"}) == (
        None,
        f"{sandbox.OVERRIDE}={str(tmp_path / 'nope')!r} is not an executable file",
    )
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert sandbox.find_bwrap({sandbox.OVERRIDE: str(fake)}) == (str(fake), "")
    assert sandbox.find_bwrap({"PATH": str(tmp_path)}) == (str(fake), "")


def box_with(
    tmp_path: Path, files: dict[str, str], limits: Limits = Limits(memory_mib=300, processes=40, file_size_mib=7)
) -> Box:
    cgroups = {}
    for name, text in files.items():
        controller = name.split(".")[0]
        (tmp_path / controller).mkdir(parents=True, exist_ok=True)
        (tmp_path / controller / name).write_text(text)
        cgroups[controller] = tmp_path / controller
    return Box(argv=[], env={}, cwd=WORK, spec=Spec(limits=limits), preexec=lambda: None, cgroups=cgroups)


def test_each_limit_is_named_with_its_value(tmp_path: Path) -> None:
    oom = box_with(tmp_path / "m", {"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"})
    assert oom.exceeded(137, "") == "exceeded the memory limit (300 MiB)"
    pids = box_with(tmp_path / "p", {"pids.events": "max 12\n"})
    assert pids.exceeded(4, "fork failed") == "exceeded the process limit (40 processes and threads)"
    calm = box_with(tmp_path / "c", {"memory.oom_control": "oom_kill 0\n", "pids.events": "max 0\n"})
    assert calm.exceeded(0, "ok") is None
    assert calm.exceeded(128 + signal.SIGXFSZ, "") == "exceeded the file size limit (7 MiB)"
    assert calm.exceeded(-signal.SIGXFSZ, "") == "exceeded the file size limit (7 MiB)"
    assert calm.exceeded(1, "write big.bin: file too large") == "exceeded the file size limit (7 MiB)"


def test_without_cgroups_the_rlimit_is_named(tmp_path: Path) -> None:
    bare = box_with(tmp_path, {})
    assert bare.exceeded(2, "fatal error: runtime: out of memory") == (
        "exceeded the memory limit (300 MiB, RLIMIT_DATA)"
    )
    assert bare.exceeded(1, "fork/exec /bin/sh: resource temporarily unavailable") == (
        "exceeded the process limit (40, RLIMIT_NPROC)"
    )


def test_the_child_pid_is_read_from_bwraps_info_fd() -> None:
    read, write = os.pipe()
    try:

        def feed() -> None:
            os.write(write, b'{\n    "child-pid": 4')
            os.write(write, b'21,\n    "net-namespace": 4026532182\n}\n')

        threading.Thread(target=feed).start()
        assert sandbox.read_child_pid(read, 5.0) == 421
    finally:
        os.close(read)
        os.close(write)


def test_no_info_means_no_pid() -> None:
    read, write = os.pipe()
    os.close(write)  # bwrap died before it said anything
    try:
        assert sandbox.read_child_pid(read, 1.0) is None
    finally:
        os.close(read)


def test_without_a_netns_the_probe_runs_right_here() -> None:
    assert sandbox.in_netns(None, threading.get_ident) == threading.get_ident()


def test_smoke_keys_reach_the_check() -> None:
    table = SmokeTable(sandbox="required", memory=128, processes=32, file_size=4)
    check = make_check(table, {}, PortBook())
    assert (check.sandbox, check.memory_mib, check.processes, check.file_size_mib) == ("required", 128, 32, 4)
    default = make_check(SmokeTable(), {}, PortBook())
    assert (default.sandbox, default.memory_mib, default.processes, default.file_size_mib) == (
        "auto",
        Limits.memory_mib,
        Limits.processes,
        Limits.file_size_mib,
    )


CONFIG = """
[project]
name = "hello"

[matrix.default]
goos = ["linux"]
goarch = ["amd64"]

[smoke]
"""


@pytest.mark.parametrize(
    "line, expected",
    [
        ('sandbox = "sometimes"', "smoke.sandbox: 'sometimes' is not allowed; allowed: auto, required, off"),
        ("memory = 4", "smoke.memory: Input should be greater than or equal to 16 (got 4)"),
        ("processes = 0", "smoke.processes: Input should be greater than or equal to 8 (got 0)"),
        ('file_size = "1G"', "smoke.file_size: Input should be a valid integer (got '1G')"),
    ],
)
def test_a_bad_limit_names_file_key_and_allowed_values(tmp_path: Path, line: str, expected: str) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(CONFIG + line + "\n")
    with pytest.raises(ConfigError) as err:
        load(path)
    assert err.value.problems == [f"{path}: {expected}"]


def test_a_signal_death_under_bwrap_reads_as_the_signal(tmp_path: Path) -> None:
    box = box_with(tmp_path, {})
    assert box.program_exit(137) == 137  # not wrapped: the code is the program's own
    box.wrapped = True
    assert (box.program_exit(137), box.program_exit(139), box.program_exit(3), box.program_exit(None)) == (
        -signal.SIGKILL,
        -signal.SIGSEGV,
        3,
        None,
    )


def test_a_shared_network_is_said_plainly(tmp_path: Path) -> None:
    spec = Spec(mode="required", network=True, network_why="a server check run by a non-root user")
    with pytest.raises(sandbox.Uncontained, match="^the host's network: a server check run by a non-root user$"):
        sandbox.contain(["/bin/true"], {}, WORK, spec, {sandbox.OVERRIDE: "/bin/true"})
