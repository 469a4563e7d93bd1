"""C toolchain resolution and the libc declarations, against the real zig, gcc and gobuildx.

Fast: nothing here links a libc. Triples are proven by compiling a C file with the
real `zig cc` and reading the object's machine and ABI attributes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from gobuildx.project import platforms, toolchain
from gobuildx.project.matrix import GLIBC_FIRST, Target, lowest_glibc
from tests.conftest import run_gobuildx
from tests.integration.libc.artifacts import elf_facts

C_SOURCE = '#include <stdio.h>\nint main(void) { puts("x"); return 0; }\n'
ENV = {"PATH": "/usr/local/go/bin:/usr/bin:/bin"}
HOST = ("linux", "amd64")

# (target fields, zig -target, ELF machine or PE machine, ARM arch tag, ARM hard-float)
TRIPLES = [
    (dict(goarch="amd64", libc="glibc", min_glibc="2.17"), "x86_64-linux-gnu.2.17", "EM_X86_64", None, None),
    (dict(goarch="386", libc="glibc", min_glibc="2.17"), "x86-linux-gnu.2.17", "EM_386", None, None),
    (dict(goarch="arm64", libc="glibc", min_glibc="2.17"), "aarch64-linux-gnu.2.17", "EM_AARCH64", None, None),
    (dict(goarch="arm", goarm="6", libc="glibc", min_glibc="2.17"), "arm-linux-gnueabihf.2.17", "EM_ARM", "v6", True),
    (dict(goarch="arm", goarm="7", libc="glibc", min_glibc="2.28"), "arm-linux-gnueabihf.2.28", "EM_ARM", "v7", True),
    (dict(goarch="arm", goarm="5", libc="musl"), "arm-linux-musleabi", "EM_ARM", "v5TE", False),
    (dict(goarch="arm", goarm="7", libc="static"), "arm-linux-musleabihf", "EM_ARM", "v7", True),
    (dict(goarch="riscv64", libc="glibc", min_glibc="2.27"), "riscv64-linux-gnu.2.27", "EM_RISCV", None, None),
    (dict(goarch="riscv64", libc="musl"), "riscv64-linux-musl", "EM_RISCV", None, None),
    (dict(goarch="ppc64le", libc="glibc", min_glibc="2.19"), "powerpc64le-linux-gnu.2.19", "EM_PPC64", None, None),
    (dict(goarch="s390x", libc="musl"), "s390x-linux-musl", "EM_S390", None, None),
    (dict(goos="windows", goarch="amd64", libc="system"), "x86_64-windows-gnu", 0x8664, None, None),
    (dict(goos="windows", goarch="arm64", libc="system"), "aarch64-windows-gnu", 0xAA64, None, None),
]


def make_target(**fields: object) -> Target:
    base: dict[str, object] = dict(id="t", goos="linux", goarch="amd64", cgo=True)
    base.update(fields)
    if base.get("libc") == "glibc":
        base.setdefault("link", "dynamic")
    return Target.model_validate(base)


def arm_attributes(obj: Path) -> tuple[str | None, bool]:
    out = subprocess.run(["readelf", "-A", str(obj)], capture_output=True, text=True, timeout=30, check=True).stdout
    arch = re.search(r"Tag_CPU_arch: (\S+)", out)
    return (arch.group(1) if arch else None), "Tag_ABI_VFP_args: VFP registers" in out


@pytest.mark.parametrize("fields,triple,machine,arm_arch,hard_float", TRIPLES, ids=[t[1] for t in TRIPLES])
def test_triple_compiles_for_the_right_cpu_and_abi(
    tmp_path: Path, fields: dict, triple: str, machine: object, arm_arch: str | None, hard_float: bool | None
) -> None:
    tc = toolchain.resolve(make_target(**fields), HOST, ENV)
    assert tc is not None and tc.kind == "zig" and tc.zig_target == triple
    (tmp_path / "m.c").write_text(C_SOURCE)
    obj = tmp_path / "m.o"
    proc = subprocess.run(
        [*tc.cc.split(), "-c", "m.c", "-o", str(obj)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    if isinstance(machine, int):
        assert int.from_bytes(obj.read_bytes()[:2], "little") == machine  # COFF object header
        return
    assert elf_facts(obj).machine == machine
    if arm_arch:
        assert arm_attributes(obj) == (arm_arch, hard_float)


def test_glibc_floor_table_matches_zig() -> None:
    """Our per-CPU lowest floors are exactly zig's `glibc_min` for the CPUs we map."""
    import ziglang  # the zig gobuildx runs here

    text = (Path(ziglang.__file__).parent / "lib" / "std" / "zig" / "target.zig").read_text()
    zig_min = {
        m.group(1): (int(m.group(2)), int(m.group(3)))
        for m in re.finditer(
            r"\.arch = \.(\w+), \.os = \.linux, \.abi = \.gnu\b[^\n]*?\.glibc_min = "
            r"\.\{ \.major = (\d+), \.minor = (\d+)",
            text,
        )
    }
    zig_arch = {a.goarch: a.zig for a in platforms.ARCHES.values() if a.zig}
    for goarch, zarch in zig_arch.items():
        expected = zig_min.get(zarch)
        if expected:
            assert GLIBC_FIRST[goarch] == expected, goarch
        else:
            assert goarch not in GLIBC_FIRST and lowest_glibc(goarch) == (2, 2, 5), goarch
    assert lowest_glibc("riscv64") == (2, 27) and lowest_glibc("arm64") == (2, 17)


def test_impossible_floor_names_lowest_possible(tmp_path: Path) -> None:
    (tmp_path / "targets.toml").write_text("""
[project]
name = "x"
[matrix.m]
goos = ["linux"]
goarch = ["riscv64", "arm64", "ppc64le"]
libc = ["glibc"]
min_glibc = ["2.17"]
""")
    proc = run_gobuildx(["matrix"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    err = proc.stderr
    assert "min_glibc = '2.17' is impossible on linux/riscv64" in err
    assert "lowest possible floor for riscv64 is '2.27'" in err
    assert "lowest possible floor for ppc64le is '2.19'" in err
    assert '{ goarch = "riscv64", min_glibc = "2.17" } to matrix.m.exclude' in err
    assert "linux/arm64" not in err  # 2.17 is exactly arm64's first glibc


def test_resolution_order_explicit_system_zig() -> None:
    explicit = toolchain.resolve(make_target(libc="glibc", cc="/opt/x/bin/my-gcc"), HOST, ENV)
    assert explicit and explicit.kind == "explicit" and explicit.cc == "/opt/x/bin/my-gcc"
    native = toolchain.resolve(make_target(libc="glibc"), HOST, ENV)
    assert native and native.kind == "system" and native.cc.endswith("gcc")
    floor = toolchain.resolve(make_target(libc="glibc", min_glibc="2.17"), HOST, ENV)
    assert floor and floor.kind == "zig" and floor.zig_target == "x86_64-linux-gnu.2.17"
    cross = toolchain.resolve(make_target(goarch="arm64", libc="glibc"), HOST, ENV)
    if shutil.which("aarch64-linux-gnu-gcc", path=ENV["PATH"]):  # gcc-aarch64-linux-gnu installed
        assert cross and cross.kind == "system" and cross.cc.endswith("aarch64-linux-gnu-gcc")
    else:
        assert cross and cross.kind == "zig" and cross.zig_target == "aarch64-linux-gnu"
    musl_native = toolchain.resolve(make_target(libc="musl", link="static"), HOST, ENV)
    assert musl_native and musl_native.kind == "zig" and musl_native.extldflags == ["-static"]
    dyn = toolchain.resolve(make_target(libc="musl", link="dynamic"), HOST, ENV)
    assert dyn and dyn.extldflags == ["-dynamic"] and dyn.libc_key != musl_native.libc_key
    assert toolchain.resolve(make_target(cgo=False, libc="static"), HOST, ENV) is None


def test_link_flags_for_go() -> None:
    """zig always links externally; a stripped link strips for real and is its own libc build."""
    musl = toolchain.resolve(make_target(libc="musl", link="static"), HOST, ENV)
    assert musl is not None
    assert musl.for_link(strip=False).go_ldflags() == ["-linkmode=external", "-extldflags=-static"]
    stripped = musl.for_link(strip=True)
    assert stripped.go_ldflags() == ["-linkmode=external", "'-extldflags=-static -Wl,--strip-all'"]
    assert stripped.libc_key == f"{musl.libc_key}_stripped"
    glibc = toolchain.resolve(make_target(libc="glibc", min_glibc="2.28"), HOST, ENV)
    assert glibc and glibc.for_link(strip=False).go_ldflags() == ["-linkmode=external"]
    system = toolchain.resolve(make_target(libc="glibc"), HOST, ENV)
    assert system and system.for_link(strip=True).go_ldflags() == []


def test_darwin_cgo_fails_before_compiling_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "main.go").write_text(
        'package main\n\n// int one(void) { return 1; }\nimport "C"\n\nfunc main() { println(C.one()) }\n'
    )
    (tmp_path / "go.mod").write_text("module example.com/x\n\ngo 1.22\n")
    (tmp_path / "targets.toml").write_text("""
[project]
name = "x"
[matrix.m]
include = [{ goos = "darwin", goarch = "arm64", cgo = true },
           { goos = "linux", goarch = "arm64", cgo = true, libc = "glibc", min_glibc = "2.17" }]
""")
    doctor = run_gobuildx(["doctor"], cwd=tmp_path, check=True).stdout
    assert "darwin-arm64-cgo" in doctor and "MISSING" in doctor and "macOS SDK" in doctor
    proc = run_gobuildx(["build"], cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "macOS SDK" in proc.stderr and "set `cc`" in proc.stderr and "cgo = false" in proc.stderr
    assert not (tmp_path / "dist" / "linux-arm64-glibc2.17").exists()  # nothing was compiled


def test_cgo_off_is_explicit_whatever_the_environment(tmp_path: Path) -> None:
    """A native build with CGO_ENABLED=1 and CC in the user's env still gets Go's pure static build."""
    (tmp_path / "main.go").write_text(
        'package main\n\nimport (\n\t"fmt"\n\t"net"\n)\n\n'
        'func main() { _, err := net.LookupHost("localhost"); fmt.Println("ok", err == nil) }\n'
    )
    (tmp_path / "go.mod").write_text("module example.com/x\n\ngo 1.22\n")
    (tmp_path / "targets.toml").write_text("""
[project]
name = "x"
[matrix.m]
goos = ["linux"]
goarch = ["amd64"]
""")
    env = {"CGO_ENABLED": "1", "CC": "gcc"}
    run_gobuildx(["build"], cwd=tmp_path, env=env, check=True)
    facts = elf_facts(tmp_path / "dist" / "linux-amd64" / "x")
    assert facts.interpreter is None and facts.needed == []
    log = (tmp_path / "dist" / "logs" / "linux-amd64.log").read_text()
    assert "# env CGO_ENABLED=0" in log and "# C toolchain: none (cgo off)" in log


def test_libc_gate_builds_each_libc_once_at_a_time(tmp_path: Path) -> None:
    """Real flock between threads: the second builder waits, then finds the libc cached."""
    tc = toolchain.CToolchain(
        kind="zig",
        cc="zig cc",
        cxx="zig c++",
        description="zig",
        zig_target="aarch64-linux-musl",
        libc_key="test_aarch64-linux-musl",
    )
    notes: list[str] = []
    order: list[str] = []
    first_inside = threading.Event()

    def first() -> None:
        with toolchain.libc_gate(tc, tmp_path, "a", notes.append) as built:
            first_inside.set()
            order.append("a-start")
            time.sleep(1.0)
            order.append("a-end")
            built()

    def second() -> None:
        first_inside.wait(10)
        with toolchain.libc_gate(tc, tmp_path, "b", notes.append) as built:
            order.append("b-start")
            built()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert order == ["a-start", "a-end", "b-start"]
    assert [n.split(":")[0] for n in notes] == ["a", "b"]
    assert "first-time build of zig's libc for aarch64-linux-musl" in notes[0]
    assert "waiting for another build" in notes[1]
    assert toolchain.libc_cached(tc, tmp_path)
    later: list[str] = []
    with toolchain.libc_gate(tc, tmp_path, "c", later.append):
        pass
    assert later == []


def test_failed_build_does_not_mark_libc_cached(tmp_path: Path) -> None:
    tc = toolchain.CToolchain(
        kind="zig", cc="zig cc", cxx="zig c++", description="zig", zig_target="x86_64-linux-musl", libc_key="test_fail"
    )
    with toolchain.libc_gate(tc, tmp_path, "a", lambda _t: None):
        pass  # the build failed: built() never called
    assert not toolchain.libc_cached(tc, tmp_path)
