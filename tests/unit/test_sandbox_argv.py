"""gobuildx.util.sandbox without running anything: the bwrap argv, the env, what is missing,
how a limit is named, and the [smoke] keys that set the limits. No Go, Docker, QEMU, Wine or network."""

from __future__ import annotations

import os
import signal
import stat
import tempfile
import threading
from pathlib import Path

import pytest

from gobuildx.errors import ConfigError
from gobuildx.project.config import SmokeTable, load
from gobuildx.smoke.stage import PortBook, make_check
from gobuildx.util import sandbox
from gobuildx.util.sandbox import Box, Host, Limits, Spec
from tests.conftest import need

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


def test_a_non_root_caller_gets_uid_1000_of_a_user_namespace() -> None:
    assert pairs(argv_for(), "--uid") == [str(sandbox.SANDBOX_UID)] and "--unshare-user" in argv_for()
    plain = argv_for(userns=False)
    assert "--unshare-user" not in plain and "--uid" not in plain


def test_root_drops_to_a_real_unprivileged_uid_after_the_mounts() -> None:
    argv = sandbox.bwrap_argv("/usr/bin/bwrap", ["/srv/a", "-v"], WORK, Spec(), True, 9, ("/usr/bin/setpriv", 65534))
    assert "--unshare-user" not in argv  # its uid 1000 would be root outside
    assert pairs(argv, "--cap-drop") == ["ALL"] and pairs(argv, "--cap-add") == list(sandbox.DROP_CAPS)
    tail = argv[argv.index("--") + 1 :]
    assert tail == [
        "/usr/bin/setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
        "/srv/a",
        "-v",
    ]


def test_the_dropped_uid_is_65534_or_a_valid_override() -> None:
    assert sandbox.drop_uid({}) == (65534, "")
    assert sandbox.drop_uid({sandbox.UID_OVERRIDE: "4242"}) == (4242, "")
    for bad in ("0", "root", "-1", "4294967295"):
        uid, why = sandbox.drop_uid({sandbox.UID_OVERRIDE: bad})
        assert uid is None and why == f"{sandbox.UID_OVERRIDE}={bad!r} is not a uid between 1 and 4294967294"


def test_folders_under_a_tmpfs_are_made_open_to_the_uid(tmp_path: Path) -> None:
    """bwrap makes a bind's missing parents 0700 (closed to the dropped uid): gobuildx makes them
    0755 first, parents before children, only below the tmpfs they are in."""
    made = sandbox.parents_to_make(
        [Path("/tmp/a/b/work"), Path("/tmp/a/c"), Path("/root/.cache/x/prefix"), Path("/srv/d")],
        [Path("/tmp"), Path("/root")],
    )
    assert made == [Path("/root/.cache"), Path("/tmp/a"), Path("/root/.cache/x"), Path("/tmp/a/b")]
    argv = argv_for(Spec(), cwd=Path("/tmp/a/b/work"))
    assert argv[argv.index("/tmp/a") - 3 : argv.index("/tmp/a") + 1] == ["--perms", "0755", "--dir", "/tmp/a"]
    assert argv.index("/tmp/a") < argv.index("--bind")


def test_a_folder_the_uid_may_not_enter_becomes_a_tmpfs_of_its_own() -> None:
    with tempfile.TemporaryDirectory(dir="/var/tmp") as top:  # /var/tmp: open to every uid
        base = Path(top)
        base.chmod(0o755)
        closed = base / "closed"
        (closed / "inner").mkdir(parents=True)
        closed.chmod(0o700)
        (base / "open").mkdir()
        blocked = sandbox.blocked_dirs([closed / "inner" / "work", base / "open" / "x"], 65534, [])
        assert blocked == [closed] and sandbox.may_enter(closed, os.stat(closed).st_uid)
        assert sandbox.blocked_dirs([closed / "inner"], 65534, [base]) == []  # in a tmpfs already


def test_may_read_goes_by_the_mode_bits(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    f.chmod(0o644)
    assert sandbox.may_read(f, 65534) and not sandbox.may_read(f, 65534, execute=True)
    f.chmod(0o755)
    assert sandbox.may_read(f, 65534, execute=True)
    f.chmod(0o600)
    assert not sandbox.may_read(f, 65534) and sandbox.may_read(f, os.stat(f).st_uid)
    assert not sandbox.may_read(tmp_path / "gone", 65534)


def test_handed_paths_come_back_to_their_owner_without_setuid(tmp_path: Path) -> None:
    need(os.geteuid() == 0, "root (chown to another uid)")
    work, tree = tmp_path / "work", tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    work.mkdir(mode=0o700)
    work.chmod(0o700)
    (work / "kept").write_text("gobuildx's log")
    (tree / "sub" / "f").write_text("x")
    handed = sandbox.hand_over([work], 65534, whole=False) + sandbox.hand_over([tree], 65534, whole=True)
    assert work.stat().st_uid == 65534 and stat.S_IMODE(work.stat().st_mode) == 0o701  # bwrap may chdir
    assert (work / "kept").stat().st_uid == 0  # a work dir's own files stay its owner's
    assert {p.stat().st_uid for p in [tree, tree / "sub", tree / "sub" / "f"]} == {65534}
    again = sandbox.hand_over([work], 65534, whole=False)  # a second run in the same work dir
    left = work / "left"  # what the run left: a setuid file, and a link to a file root owns
    left.write_text("#!/bin/sh\n")
    os.chown(left, 65534, 65534)
    left.chmod(0o6755)
    (work / "link").symlink_to("/etc/passwd")
    os.chown(work / "link", 65534, 65534, follow_symlinks=False)
    sandbox.give_back(again)
    assert work.stat().st_uid == 65534  # the first run still has it
    sandbox.give_back(handed)
    assert work.stat().st_uid == 0 and stat.S_IMODE(work.stat().st_mode) == 0o700
    assert left.stat().st_uid == 0 and stat.S_IMODE(left.stat().st_mode) == 0o755  # no setuid root file
    assert os.lstat(work / "link").st_uid == 0 and Path("/etc/passwd").stat().st_uid == 0
    assert {p.stat().st_uid for p in [tree, tree / "sub", tree / "sub" / "f"]} == {0}


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
        "drop": ("/usr/bin/setpriv", 65534),
    }
    return Host(**{**base, **kw})  # type: ignore[arg-type]


def test_each_missing_part_is_said_plainly() -> None:
    assert sandbox.missing_parts(host()) == []
    [no_box] = sandbox.missing_parts(host(bwrap=None, bwrap_why="bwrap (bubblewrap) is not on PATH"))
    assert no_box.startswith("no sandbox (bwrap (bubblewrap) is not on PATH)") and "network" in no_box
    assert sandbox.missing_parts(host(userns=False)) == []  # root drops to 65534 without one
    assert sandbox.missing_parts(host(drop=None, drop_why="setpriv (util-linux) is not on PATH")) == [
        "no unprivileged user (setpriv (util-linux) is not on PATH): it runs as root, without capabilities"
    ]
    assert sandbox.missing_parts(host(userns=False, root=False, drop=None)) == [
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
        sandbox.contain(["/bin/true"], {}, tmp_path, spec, {sandbox.OVERRIDE: "/bin/true"})
