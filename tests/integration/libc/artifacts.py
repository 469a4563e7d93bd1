"""Reading and running built artifacts for the libc tests: ELF facts and emulators.

ELF facts come from pyelftools and only the version tables (never every symbol);
foreign CPUs run under qemu-user-static, dynamic glibc ones with `-L` pointing at
Debian's cross sysroot (libc6-<arch>-cross), the way a user would run them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection
from pydantic import BaseModel, ConfigDict

RUN_TIMEOUT = 120

# target CPU label (as in target ids) -> (ELF e_machine, qemu user binary or None for native, sysroot)
CPUS = {
    "amd64": ("EM_X86_64", None, "/"),
    "arm64": ("EM_AARCH64", "qemu-aarch64-static", "/usr/aarch64-linux-gnu"),
    "armv7": ("EM_ARM", "qemu-arm-static", "/usr/arm-linux-gnueabihf"),
    "riscv64": ("EM_RISCV", "qemu-riscv64-static", "/usr/riscv64-linux-gnu"),
}
GOARCH = {"amd64": "amd64", "arm64": "arm64", "armv7": "arm", "riscv64": "riscv64"}
EF_ARM_ABI_FLOAT_HARD = 0x400


class ElfFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    machine: str
    interpreter: str | None
    needed: list[str]
    glibc_versions: list[tuple[int, ...]]
    flags: int
    sections: list[str]

    @property
    def stripped(self) -> bool:
        return not any(n == ".symtab" or n.startswith((".debug", ".zdebug")) for n in self.sections)

    @property
    def max_glibc(self) -> tuple[int, ...] | None:
        return max(self.glibc_versions) if self.glibc_versions else None


def elf_facts(path: Path) -> ElfFacts:
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        interp = None
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_INTERP":
                interp = seg.get_interp_name()
        dynamic = elf.get_section_by_name(".dynamic")
        needed = [t.needed for t in dynamic.iter_tags() if t.entry.d_tag == "DT_NEEDED"] if dynamic else []
        versions = []
        for section in elf.iter_sections():
            if isinstance(section, GNUVerNeedSection):
                for _lib, auxes in section.iter_versions():
                    for aux in auxes:
                        if aux.name.startswith("GLIBC_") and aux.name[6:7].isdigit():
                            versions.append(tuple(int(p) for p in aux.name[6:].split(".")))
        return ElfFacts(
            machine=elf["e_machine"],
            interpreter=interp,
            needed=needed,
            glibc_versions=sorted(set(versions)),
            flags=elf["e_flags"],
            sections=[sec.name for sec in elf.iter_sections()],
        )


def pe_machine(path: Path) -> int:
    """The COFF machine of a PE file (0x8664 = x86-64, 0xAA64 = arm64)."""
    data = path.read_bytes()[:4096]
    assert data[:2] == b"MZ", f"{path} is not a PE file"
    offset = int.from_bytes(data[0x3C:0x40], "little")
    assert data[offset : offset + 4] == b"PE\0\0", f"{path}: no PE signature"
    return int.from_bytes(data[offset + 4 : offset + 6], "little")


def run_argv(path: Path, cpu: str, libc: str) -> list[str]:
    """How to run a Linux artifact of `cpu` here: natively, or under qemu (-L for dynamic glibc)."""
    _machine, qemu, sysroot = CPUS[cpu]
    if qemu is None:
        return [str(path)]
    found = shutil.which(qemu)
    assert found, f"{qemu} is not installed (apt-get install qemu-user-static)"
    if libc == "glibc":
        assert Path(sysroot).is_dir(), f"{sysroot} missing (apt-get install libc6-*-cross)"
        return [found, "-L", sysroot, str(path)]
    return [found, str(path)]


def run_artifact(path: Path, cpu: str, libc: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"}
    return subprocess.run(
        run_argv(path, cpu, libc), env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )


def parse_id(target_id: str) -> tuple[str, str, str | None]:
    """`linux-arm64-glibc2.17` -> ("arm64", "glibc", "2.17"); `linux-armv7-musl` -> ("armv7", "musl", None)."""
    _os, cpu, variant = target_id.split("-", 2)
    if variant.startswith("glibc"):
        return cpu, "glibc", variant[5:] or None
    return cpu, variant, None
