"""PE (Windows): machine, subsystem, imported and delay-loaded DLLs, the data section."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from gobuildx.formats import Blob, FormatError

MACHINES = {0x14C: "x86", 0x8664: "x86-64", 0x1C0: "ARM", 0x1C4: "ARM", 0xAA64: "AArch64"}
SUBSYSTEMS = {1: "native", 2: "gui", 3: "console", 10: "efi"}
INITIALIZED_DATA, MEM_WRITE = 0x40, 0x80000000
DIR_IMPORT, DIR_DELAY_IMPORT = 1, 13
MAX_DLLS = 512  # a real import table names a few dozen; 90 000 took the audit 37 s to judge


class PeSection(BaseModel):
    name: str
    vaddr: int
    vsize: int
    offset: int
    rawsize: int
    flags: int


class PeInfo(BaseModel):
    bits: Literal[32, 64]
    machine: str
    machine_code: int
    subsystem: str
    dll: bool
    stripped: bool  # no COFF symbol table
    imports: list[str] = []  # DLLs in the import table, in file order
    delay_imports: list[str] = []
    sections: list[PeSection] = []

    def data_section(self) -> PeSection | None:
        """Where Go puts its build info: the first writable, initialised data section."""
        return next(
            (s for s in self.sections if s.flags & INITIALIZED_DATA and s.flags & MEM_WRITE and s.rawsize), None
        )


def read(data: object) -> PeInfo:
    b = Blob(data)
    pe = b.u32(0x3C, "DOS header e_lfanew")
    if b.read(pe, 4, "PE signature") != b"PE\x00\x00":
        raise FormatError(f"no PE signature at offset {pe:#x} (an MS-DOS executable?)")
    machine, nsect, _ts, symptr, nsyms, opt_size, chars = b.unpack("HHIIIHH", pe + 4, "COFF header")
    opt = pe + 24
    magic = b.u16(opt, "optional header magic")
    if magic not in (0x10B, 0x20B):
        raise FormatError(f"optional header magic {magic:#x} is neither PE32 nor PE32+")
    bits: Literal[32, 64] = 64 if magic == 0x20B else 32
    subsystem = b.u16(opt + 68, "subsystem")
    dirs_at = opt + (112 if bits == 64 else 96)
    ndirs = min(b.u32(dirs_at - 4, "NumberOfRvaAndSizes"), 16)
    dirs = [b.unpack("II", dirs_at + 8 * i, f"data directory {i}") for i in range(ndirs)]
    sections = [_section(b, opt + opt_size + 40 * i, i) for i in range(min(nsect, 96))]
    info = PeInfo(
        bits=bits,
        machine=MACHINES.get(machine, f"machine {machine:#x}"),
        machine_code=machine,
        subsystem=SUBSYSTEMS.get(subsystem, f"subsystem {subsystem}"),
        dll=bool(chars & 0x2000),
        stripped=symptr == 0 or nsyms == 0,
        sections=sections,
    )
    if ndirs > DIR_IMPORT and dirs[DIR_IMPORT][0]:
        info.imports = _dll_names(b, sections, dirs[DIR_IMPORT][0], 20, 12)
    if ndirs > DIR_DELAY_IMPORT and dirs[DIR_DELAY_IMPORT][0]:
        info.delay_imports = _dll_names(b, sections, dirs[DIR_DELAY_IMPORT][0], 32, 4)
    return info


def _section(b: Blob, off: int, i: int) -> PeSection:
    name, vsize, vaddr, rawsize, rawptr, _r, _l, _nr, _nl, flags = b.unpack("8sIIIIIIHHI", off, f"section header {i}")
    return PeSection(
        name=name.rstrip(b"\x00").decode("latin-1"),
        vaddr=vaddr,
        vsize=vsize,
        offset=rawptr,
        rawsize=rawsize,
        flags=flags,
    )


def rva_to_offset(sections: list[PeSection], rva: int) -> int:
    for s in sections:
        if s.vaddr <= rva < s.vaddr + max(s.vsize, s.rawsize) and rva - s.vaddr < s.rawsize:
            return s.offset + (rva - s.vaddr)
    raise FormatError(f"RVA {rva:#x} is not inside any section's file data")


def _dll_names(b: Blob, sections: list[PeSection], rva: int, entry: int, name_at: int) -> list[str]:
    """Walk an import (or delay-import) descriptor table up to its all-zero terminator."""
    off = rva_to_offset(sections, rva)
    out: list[str] = []
    for i in range(MAX_DLLS + 1):
        desc = b.read(off + i * entry, entry, "import descriptor")
        if not any(desc):
            return out
        name_rva = int.from_bytes(desc[name_at : name_at + 4], "little")
        out.append(b.cstr(rva_to_offset(sections, name_rva), "imported DLL name", 512))
    raise FormatError(f"import table has more than {MAX_DLLS} entries")
