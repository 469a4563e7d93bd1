"""The per-GOARCH facts, one row per architecture (and one per GOARM/GOAMD64 level).

Every stage that needs to know a CPU by another name reads it here: the audit (the
machine a binary reader reports, the host's `uname -m`), the C toolchains (zig's arch,
Debian's cross gcc prefix), the image closure (Debian's multiarch triple and cross
sysroot), the package stage (each package format's architecture name), the smoke
runners (QEMU's name, the sysroots for `-L`, the lowest CPU of a level) and the matrix
(the first glibc with a port). Adding an architecture is one row.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sysroot:
    """A Debian cross sysroot (libc6-<arch>-cross) that holds one architecture's glibc."""

    triple: str  # Debian's multiarch triple: /usr/lib/<triple> inside a root
    path: str  # where the package puts it ("/" for the host's own root)
    package: str
    goarms: tuple[str, ...] = ()  # GOARM levels it serves (arm only; empty: every one)


@dataclass(frozen=True)
class PackageArch:
    """One CPU's architecture name in each package format (None: no such port)."""

    deb: str | None = None
    rpm: str | None = None
    apk: str | None = None
    archlinux: str | None = None


@dataclass(frozen=True)
class Arch:
    goarch: str
    machine: str | None = None  # what formats/elf, pe and macho call it ("x86-64", "AArch64", ...)
    bits: int = 64
    uname: str | None = None  # `uname -m` of a host of this CPU
    qemu: str | None = None  # qemu-<name>-static
    zig: str | None = None  # zig's arch in a Linux triple (arm: per GOARM, in ARM_LEVELS)
    zig_windows: str | None = None  # zig's arch in a Windows (mingw) triple
    gcc: str | None = None  # Debian's cross gcc prefix (arm: per GOARM, in ARM_LEVELS)
    sysroots: tuple[Sysroot, ...] = ()  # the first one serving a level is the image closure's
    glibc_first: tuple[int, int] | None = None  # the first glibc with this port (None: older than any floor)
    # Package architecture names (arm: per GOARM, in ARM_LEVELS), as nfpm v2.45.2 maps GOARCH
    # (deb/rpm/apk/arch archTo* maps; unmapped names pass through); None: the format has no
    # port for this CPU. archlinux follows GoReleaser's nfpm pipe: x86_64, i686, aarch64 only.
    package: PackageArch | None = None


ARCHES: dict[str, Arch] = {
    a.goarch: a
    for a in (
        Arch(
            "amd64",
            "x86-64",
            64,
            uname="x86_64",
            qemu="x86_64",
            zig="x86_64",
            zig_windows="x86_64",
            gcc="x86_64-linux-gnu",
            sysroots=(
                Sysroot("x86_64-linux-gnu", "/usr/x86_64-linux-gnu", "libc6-amd64-cross"),
                Sysroot("x86_64-linux-gnu", "/", "libc6-amd64-cross"),
            ),
            package=PackageArch("amd64", "x86_64", "x86_64", "x86_64"),
        ),
        Arch(
            "386",
            "x86",
            32,
            uname="i686",
            qemu="i386",
            zig="x86",
            zig_windows="x86",
            gcc="i686-linux-gnu",
            sysroots=(Sysroot("i386-linux-gnu", "/usr/i686-linux-gnu", "libc6-i386-cross"),),
            package=PackageArch("i386", "i386", "x86", "i686"),
        ),
        Arch(
            "arm64",
            "AArch64",
            64,
            uname="aarch64",
            qemu="aarch64",
            zig="aarch64",
            zig_windows="aarch64",
            gcc="aarch64-linux-gnu",
            glibc_first=(2, 17),
            sysroots=(Sysroot("aarch64-linux-gnu", "/usr/aarch64-linux-gnu", "libc6-arm64-cross"),),
            package=PackageArch("arm64", "aarch64", "aarch64", "aarch64"),
        ),
        Arch(
            "arm",
            "ARM",
            32,
            uname="armv7l",
            qemu="arm",
            sysroots=(
                Sysroot("arm-linux-gnueabihf", "/usr/arm-linux-gnueabihf", "libc6-armhf-cross", ("7",)),
                Sysroot("arm-linux-gnueabi", "/usr/arm-linux-gnueabi", "libc6-armel-cross", ("6", "5")),
            ),
        ),
        Arch(
            "riscv64",
            "RISC-V",
            64,
            uname="riscv64",
            qemu="riscv64",
            zig="riscv64",
            gcc="riscv64-linux-gnu",
            glibc_first=(2, 27),
            sysroots=(Sysroot("riscv64-linux-gnu", "/usr/riscv64-linux-gnu", "libc6-riscv64-cross"),),
            package=PackageArch("riscv64", "riscv64", "riscv64"),
        ),
        Arch(
            "ppc64le",
            "PowerPC64",
            64,
            uname="ppc64le",
            qemu="ppc64le",
            zig="powerpc64le",
            gcc="powerpc64le-linux-gnu",
            glibc_first=(2, 19),
            sysroots=(Sysroot("powerpc64le-linux-gnu", "/usr/powerpc64le-linux-gnu", "libc6-ppc64el-cross"),),
            package=PackageArch("ppc64el", "ppc64le", "ppc64le"),
        ),
        Arch("ppc64", "PowerPC64", 64, qemu="ppc64", package=PackageArch("ppc64", "ppc64")),
        Arch(
            "s390x",
            "S/390",
            64,
            uname="s390x",
            qemu="s390x",
            zig="s390x",
            gcc="s390x-linux-gnu",
            sysroots=(Sysroot("s390x-linux-gnu", "/usr/s390x-linux-gnu", "libc6-s390x-cross"),),
            package=PackageArch("s390x", "s390x", "s390x"),
        ),
        Arch(
            "loong64",
            "LoongArch",
            64,
            qemu="loongarch64",
            zig="loongarch64",
            gcc="loongarch64-linux-gnu",
            glibc_first=(2, 36),
            package=PackageArch("loong64", "loongarch64", "loongarch64"),
        ),
        Arch("mips", "MIPS", 32, qemu="mips", package=PackageArch("mips", "mips")),
        Arch("mipsle", "MIPS", 32, qemu="mipsel", package=PackageArch("mipsel", "mipsel")),
        Arch("mips64", "MIPS", 64, qemu="mips64"),
        Arch("mips64le", "MIPS", 64, qemu="mips64el", package=PackageArch("mips64el", "mips64el")),
        Arch("ppc", "PowerPC", 32),  # no GOARCH: what a 32-bit PowerPC binary is called in a report
    )
}


@dataclass(frozen=True)
class ArmLevel:
    """GOARM: Go's GOARM=6/7 use the VFP hard-float ABI, GOARM=5 soft-float."""

    zig_abi: str  # the libc part of zig's triple (gnueabihf, musleabi, ...) before its libc
    gcc: str  # Debian's cross gcc prefix
    zig_cpu: str  # zig -mcpu: the triple alone would mean the oldest ARM
    qemu_cpu: str  # the lowest CPU QEMU models for the level (a level mistake then faults)
    package: PackageArch  # nfpm's arm5/arm6/arm7 names (Alpine has no ARMv5; Arch Linux ARM only armv7h)


ARM_LEVELS: dict[str, ArmLevel] = {
    "5": ArmLevel("eabi", "arm-linux-gnueabi", "arm926ej_s", "arm926", PackageArch("armel", "armv5tel")),
    "6": ArmLevel("eabihf", "arm-linux-gnueabihf", "arm1176jzf_s", "arm1176", PackageArch("armhf", "armv6hl", "armhf")),
    "7": ArmLevel(
        "eabihf", "arm-linux-gnueabihf", "generic+v7a", "cortex-a8", PackageArch("armhf", "armv7hl", "armv7", "armv7h")
    ),
}
# GOAMD64 -> the lowest CPU QEMU models for it: Haswell minus the system features TCG cannot
# model (each would print a warning). v4 (AVX-512) has none.
AMD64_QEMU_CPU = {"v1": "qemu64", "v2": "Nehalem", "v3": "Haswell-noTSX,-pcid,-x2apic,-tsc-deadline,-invpcid"}


def goarch_of_machine(machine: str | None, bits: int | None, little_endian: bool = True) -> str | None:
    """The GOARCH a binary reader's machine name means (the byte order tells ppc64/mips apart)."""
    found = [a for a in ARCHES.values() if a.machine == machine and a.bits == bits]
    if len(found) > 1:  # PowerPC64, MIPS: the little-endian one ends in "le"
        found = [a for a in found if a.goarch.endswith("le") == little_endian]
    return found[0].goarch if found else None


def goarch_of_uname(machine: str) -> str | None:
    return next((a.goarch for a in ARCHES.values() if a.uname == machine), None)


def sysroot(goarch: str, goarm: str | None = None) -> Sysroot | None:
    """The cross sysroot that holds this CPU's (and GOARM level's) glibc."""
    arch = ARCHES.get(goarch)
    rows = arch.sysroots if arch else ()
    level = goarm or "7"
    return next((s for s in rows if not s.goarms or level in s.goarms), None)


def multiarch_triples() -> list[str]:
    return sorted({s.triple for a in ARCHES.values() for s in a.sysroots})


PackageFormat = str  # "deb", "rpm", "apk" or "archlinux" (project.config.PackageFormat)


def package_arch(fmt: PackageFormat, goarch: str, goarm: str | None = None) -> str | None:
    """The architecture name a package of this format has for this CPU (None: the format has no
    port for it). GOAMD64 levels share amd64's name; a deb states its level in
    Architecture-Variant (package_arch_variant), as GoReleaser does."""
    arch = ARCHES.get(goarch)
    if goarch == "arm":
        level = ARM_LEVELS.get(goarm or "7")
        names = level.package if level else None
    else:
        names = arch.package if arch else None
    return None if names is None else getattr(names, fmt)


def package_arch_variant(goarch: str, goamd64: str | None) -> str | None:
    """A deb's Architecture-Variant (amd64v3) for a GOAMD64 level above v1, as GoReleaser sets it."""
    return f"amd64{goamd64}" if goarch == "amd64" and goamd64 and goamd64 != "v1" else None
