"""The per-GOARCH table, as the stages read it."""

from __future__ import annotations

from gobuildx.audit.linkage import elf_goarch
from gobuildx.image import closure
from gobuildx.project import platforms
from gobuildx.project.matrix import Target, lowest_glibc
from gobuildx.project.toolchain import system_prefix, zig_cpu, zig_triple
from gobuildx.smoke.runners.qemu import QEMU_ARCH, cpu_for, sysroot_for


def target(goarch: str, goarm: str | None = None, libc: str = "glibc", goos: str = "linux") -> Target:
    return Target(
        id="t",
        goos=goos,
        goarch=goarch,
        goarm=goarm,
        cgo=True,
        libc=libc,  # type: ignore[arg-type]
        min_glibc="2.17" if libc == "glibc" else None,
    )


def test_a_binary_reader_s_machine_names_its_goarch() -> None:
    assert elf_goarch("x86-64", 64, "little") == "amd64"
    assert elf_goarch("PowerPC64", 64, "little") == "ppc64le" and elf_goarch("PowerPC64", 64, "big") == "ppc64"
    assert elf_goarch("MIPS", 32, "little") == "mipsle" and elf_goarch("MIPS", 64, "big") == "mips64"
    assert elf_goarch("SPARC", 64, "big") is None
    assert platforms.goarch_of_uname("aarch64") == "arm64"


def test_c_toolchain_names() -> None:
    assert zig_triple(target("arm64")) == "aarch64-linux-gnu.2.17"
    assert zig_triple(target("arm", "5", libc="musl")) == "arm-linux-musleabi"
    assert zig_triple(target("arm", "7")) == "arm-linux-gnueabihf.2.17"
    assert zig_triple(target("amd64", goos="windows")) == "x86_64-windows-gnu"
    assert zig_cpu(target("arm", "6")) == "arm1176jzf_s"
    assert system_prefix(target("386")) == "i686-linux-gnu" and system_prefix(target("arm", "5")) == "arm-linux-gnueabi"


def test_qemu_and_sysroots() -> None:
    assert QEMU_ARCH["mips64le"] == "mips64el" and QEMU_ARCH["386"] == "i386"
    assert cpu_for(target("arm", "7")) == "cortex-a8"
    assert sysroot_for("arm", "/lib/ld-linux-armhf.so.3", {}) in (
        ("/usr/arm-linux-gnueabihf", "libc6-armhf-cross libc6-armel-cross"),
        (None, "libc6-armhf-cross libc6-armel-cross"),
    )
    assert closure.sysroot_for(target("arm", "6"), "amd64")[1] == "libc6-armel-cross"
    assert str(closure.sysroot_for(target("arm64"), "arm64")[0]) == "/"


def test_glibc_floors() -> None:
    assert lowest_glibc("riscv64") == (2, 27) and lowest_glibc("amd64") == (2, 2, 5)
