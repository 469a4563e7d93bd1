"""ELF: headers, interpreter, the dynamic section and the GNU version tables.

Reads only what the loader reads (program headers, PT_DYNAMIC, .gnu.version_r)
plus the section headers for names; `.dynsym` is touched only for the symbols
whose version index the caller asks about, with the version array read in one
go from its raw bytes.
"""

from __future__ import annotations

import array
import mmap
import sys
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import BaseModel

from gobuildx.formats import MAX_ITEMS, Blob, FormatError

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
SHT_SYMTAB, SHT_DYNSYM = 2, 11
DT_NULL, DT_NEEDED, DT_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ = 0, 1, 4, 5, 6, 10
DT_SONAME, DT_RPATH, DT_RUNPATH = 14, 15, 29
DT_FLAGS_1, DT_VERSYM, DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFFFB, 0x6FFFFFF0, 0x6FFFFFFE, 0x6FFFFFFF
DF_1_PIE = 0x08000000
ET_NAMES = {1: "rel", 2: "exec", 3: "dyn", 4: "core"}
OSABI = {
    0: "SYSV",
    1: "HP-UX",
    2: "NetBSD",
    3: "GNU/Linux",
    6: "Solaris",
    9: "FreeBSD",
    12: "OpenBSD",
    97: "ARM",
    255: "standalone",
}
MACHINES = {
    3: "x86",
    8: "MIPS",
    20: "PowerPC",
    21: "PowerPC64",
    22: "S/390",
    40: "ARM",
    62: "x86-64",
    183: "AArch64",
    243: "RISC-V",
    258: "LoongArch",
}
MAX_SYMBOL_NAMES = 200  # names kept per version index (the count is always exact)
# Entries of a damaged file can all name one long string, and each copy costs memory: a 22 KB
# file asked for 1.2 GB of version names, 1.4 MB of DT_NEEDED for 1.4 GB. Real files read a few KB.
MAX_DYNSTR_BYTES = 1 << 20  # total bytes of dynamic-string-table strings read from one file
MAX_NEEDED = 512  # DT_NEEDED entries (real ones: a few dozen; the audit checks each one)
MAX_VERSION_NEEDS = 4096  # .gnu.version_r (library, version) pairs (real ones: tens)


class VersionNeed(BaseModel):
    """One (library, version) pair from .gnu.version_r, with its version index."""

    library: str
    version: str
    index: int


class Segment(NamedTuple):
    type: int
    offset: int
    vaddr: int
    filesz: int
    flags: int


class Section(NamedTuple):
    name: str
    type: int
    offset: int
    size: int
    entsize: int


class ElfInfo(BaseModel):
    bits: Literal[32, 64]
    endian: Literal["little", "big"]
    osabi: str
    machine: str
    machine_code: int
    flags: int
    elf_type: str
    interpreter: str | None = None
    dynamic: bool = False  # has a PT_DYNAMIC segment
    needed: list[str] = []
    soname: str | None = None
    rpath: list[str] = []
    runpath: list[str] = []
    pie: bool = False
    stripped: bool = True  # no .symtab (the meaning `file` uses)
    debug_info: bool = False
    version_needs: list[VersionNeed] = []


class ElfReader:
    """Parse once; ask for symbol names of chosen version indices afterwards."""

    def __init__(self, data: object) -> None:
        head = Blob(data)
        ident = head.read(0, 16, "ELF identification")
        if ident[4] not in (1, 2) or ident[5] not in (1, 2):
            raise FormatError(f"ELF identification has class {ident[4]} / data encoding {ident[5]}; expected 1 or 2")
        self.bits: Literal[32, 64] = 64 if ident[4] == 2 else 32
        self.blob = Blob(data, little=ident[5] == 1)
        self._dyn: dict[int, list[int]] = {}
        self._dynstr_bytes = 0
        self.info = self._parse(ident)

    # --- headers -----------------------------------------------------------------
    def _parse(self, ident: bytes) -> ElfInfo:
        b = self.blob
        # The 32- and 64-bit headers differ only in the width of the entry point and the offsets.
        layout = "HHIQQQIHHHHHH" if self.bits == 64 else "HHIIIIIHHHHHH"
        (e_type, e_machine, _v, _entry, phoff, shoff, e_flags, _eh, phentsize, phnum, shentsize, shnum, shstrndx) = (
            b.unpack(layout, 16, "ELF header")
        )
        self.segments = self._segments(phoff, phentsize, phnum)
        self.sections = self._sections(shoff, shentsize, shnum, shstrndx)
        info = ElfInfo(
            bits=self.bits,
            endian="little" if b.little else "big",
            osabi=OSABI.get(ident[7], f"osabi {ident[7]}"),
            machine=MACHINES.get(e_machine, f"machine {e_machine}"),
            machine_code=e_machine,
            flags=e_flags,
            elf_type=ET_NAMES.get(e_type, f"type {e_type}"),
        )
        info.stripped = not any(s.type == SHT_SYMTAB for s in self.sections)
        info.debug_info = any(s.name in (".debug_info", ".zdebug_info") for s in self.sections)
        interp = next((s for s in self.segments if s.type == PT_INTERP), None)
        if interp:
            raw = b.read(interp.offset, min(interp.filesz, 4096), "PT_INTERP")
            info.interpreter = raw.split(b"\x00", 1)[0].decode("utf-8", "replace")
        dyn = next((s for s in self.segments if s.type == PT_DYNAMIC), None)
        if dyn:
            info.dynamic = True
            self._read_dynamic(info, dyn)
        flags_1 = self._dyn.get(DT_FLAGS_1, [0])[0]
        info.pie = e_type == 3 and (bool(flags_1 & DF_1_PIE) or info.interpreter is not None)
        return info

    def _segments(self, phoff: int, entsize: int, count: int) -> list[Segment]:
        if count == 0:
            return []
        want = 56 if self.bits == 64 else 32
        if entsize < want:
            raise FormatError(f"program header entry size {entsize} is smaller than {want}")
        out = []
        for i in range(count):
            off = phoff + i * entsize
            if self.bits == 64:
                p_type, p_flags, p_off, p_vaddr, _pa, p_filesz, _memsz, _al = self.blob.unpack(
                    "IIQQQQQQ", off, f"program header {i}"
                )
            else:
                p_type, p_off, p_vaddr, _pa, p_filesz, _memsz, p_flags, _al = self.blob.unpack(
                    "IIIIIIII", off, f"program header {i}"
                )
            out.append(Segment(type=p_type, offset=p_off, vaddr=p_vaddr, filesz=p_filesz, flags=p_flags))
        return out

    def _sections(self, shoff: int, entsize: int, count: int, strndx: int) -> list[Section]:
        if shoff == 0:
            return []
        want = 64 if self.bits == 64 else 40
        if entsize < want:
            raise FormatError(f"section header entry size {entsize} is smaller than {want}")
        if count == 0 or strndx == 0xFFFF:  # extended numbering: the real values live in section 0
            first = self._shdr(shoff, 0)
            count = count or first[4]
            strndx = first[5] if strndx == 0xFFFF else strndx
        if count > MAX_ITEMS:
            raise FormatError(f"{count} section headers is more than the {MAX_ITEMS} this reader accepts")
        self.blob.check(shoff, count * entsize, "section header table")
        raw = [self._shdr(shoff + i * entsize, i) for i in range(count)]
        names = b""
        if strndx < count and raw[strndx][3] < self.blob.size:
            start = raw[strndx][3]
            names = self.blob.read(start, min(raw[strndx][4], self.blob.size - start), "section names")
        return [Section(_name_at(names, r[0]), r[1], r[3], r[4], r[7]) for r in raw]

    def _shdr(self, off: int, i: int) -> tuple[int, ...]:
        """(name, type, flags, offset, size, link, info, entsize) for both classes."""
        if self.bits == 64:
            name, typ, flags, _addr, offset, size, link, info, _al, entsize = self.blob.unpack(
                "IIQQQQIIQQ", off, f"section header {i}"
            )
        else:
            name, typ, flags, _addr, offset, size, link, info, _al, entsize = self.blob.unpack(
                "IIIIIIIIII", off, f"section header {i}"
            )
        return (name, typ, flags, offset, size, link, info, entsize)

    # --- dynamic section -----------------------------------------------------------
    def to_offset(self, vaddr: int) -> int:
        """File offset of a virtual address, through the PT_LOAD segments."""
        for seg in self.segments:
            if seg.type == PT_LOAD and seg.vaddr <= vaddr < seg.vaddr + seg.filesz:
                return seg.offset + (vaddr - seg.vaddr)
        raise FormatError(f"address {vaddr:#x} is not inside any loaded segment")

    def _read_dynamic(self, info: ElfInfo, seg: Segment) -> None:
        fmt, size = ("qQ", 16) if self.bits == 64 else ("iI", 8)
        count = min(seg.filesz // size, MAX_ITEMS)
        for i in range(count):
            tag, val = self.blob.unpack(fmt, seg.offset + i * size, f"dynamic entry {i}")
            if tag == DT_NULL:
                break
            self._dyn.setdefault(tag, []).append(val)
            if tag == DT_NEEDED and len(self._dyn[DT_NEEDED]) > MAX_NEEDED:  # stop at once, not 100 000 entries on
                raise FormatError(f"more than {MAX_NEEDED} DT_NEEDED entries; this reader accepts no more")
        if DT_STRTAB not in self._dyn:
            if self._dyn.get(DT_NEEDED):
                raise FormatError("the dynamic section has DT_NEEDED entries but no DT_STRTAB")
            return
        self.strtab = self.to_offset(self._dyn[DT_STRTAB][0])
        info.needed = [self._dynstr(v, "DT_NEEDED") for v in self._dyn.get(DT_NEEDED, [])]
        info.rpath = _split_paths([self._dynstr(v, "DT_RPATH") for v in self._dyn.get(DT_RPATH, [])])
        info.runpath = _split_paths([self._dynstr(v, "DT_RUNPATH") for v in self._dyn.get(DT_RUNPATH, [])])
        if DT_SONAME in self._dyn:
            info.soname = self._dynstr(self._dyn[DT_SONAME][0], "DT_SONAME")
        if DT_VERNEED in self._dyn:
            num = self._dyn.get(DT_VERNEEDNUM, [0])[0]
            info.version_needs = self._verneed(self.to_offset(self._dyn[DT_VERNEED][0]), num)

    def _dynstr(self, index: int, what: str) -> str:
        text = self.blob.cstr(self.strtab + index, what)
        self._dynstr_bytes += len(text) + 1
        if self._dynstr_bytes > MAX_DYNSTR_BYTES:
            raise FormatError(f"the dynamic entries name more than {MAX_DYNSTR_BYTES >> 20} MiB of strings")
        return text

    def _verneed(self, off: int, count: int) -> list[VersionNeed]:
        out: list[VersionNeed] = []
        seen: set[int] = set()
        for _ in range(min(count, MAX_ITEMS)):
            if off in seen:
                raise FormatError(f".gnu.version_r entries loop back to offset {off:#x}")
            seen.add(off)
            _ver, cnt, vn_file, vn_aux, vn_next = self.blob.unpack("HHIII", off, ".gnu.version_r entry")
            library = self._dynstr(vn_file, ".gnu.version_r file name")
            aux = off + vn_aux
            for _ in range(cnt):
                _hash, _flags, other, name, nxt = self.blob.unpack("IHHII", aux, ".gnu.version_r aux entry")
                out.append(
                    VersionNeed(library=library, version=self._dynstr(name, "version name"), index=other & 0x7FFF)
                )
                if len(out) > MAX_VERSION_NEEDS:
                    raise FormatError(f"more than {MAX_VERSION_NEEDS} version needs")
                if nxt == 0:
                    break
                aux += nxt
            if vn_next == 0:
                break
            off += vn_next
        return out

    # --- symbols of chosen versions --------------------------------------------------
    def symbols_for(self, indices: set[int]) -> dict[int, tuple[int, list[str]]]:
        """For each version index: (number of dynamic symbols bound to it, first names sorted)."""
        if not indices or DT_VERSYM not in self._dyn or DT_SYMTAB not in self._dyn:
            return {}
        count = self._dynsym_count()
        if count is None:
            return {}
        versym_off = self.to_offset(self._dyn[DT_VERSYM][0])
        raw = self.blob.read(versym_off, 2 * count, ".gnu.version")
        versions = array.array("H")
        versions.frombytes(raw)
        if self.blob.little != (sys.byteorder == "little"):
            versions.byteswap()
        symtab = self.to_offset(self._dyn[DT_SYMTAB][0])
        entsize = 24 if self.bits == 64 else 16
        found: dict[int, tuple[int, list[str]]] = {}
        for i, v in enumerate(versions):
            idx = v & 0x7FFF
            if idx not in indices:
                continue
            n, names = found.get(idx, (0, []))
            if len(names) < MAX_SYMBOL_NAMES:
                name_off = self.blob.u32(symtab + i * entsize, "dynamic symbol")
                names.append(self._dynstr(name_off, "dynamic symbol name"))
            found[idx] = (n + 1, names)
        return {k: (n, sorted(names)) for k, (n, names) in found.items()}

    def _dynsym_count(self) -> int | None:
        entsize = 24 if self.bits == 64 else 16
        dynsym = next((s for s in self.sections if s.type == SHT_DYNSYM), None)
        if dynsym:
            return min(dynsym.size // entsize, MAX_ITEMS * 10)
        if DT_HASH in self._dyn:  # nchain of the SysV hash table equals the symbol count
            return min(self.blob.u32(self.to_offset(self._dyn[DT_HASH][0]) + 4, "DT_HASH"), MAX_ITEMS * 10)
        return None

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)


def read_file(path: Path) -> ElfInfo:
    """The headers and dynamic section of the ELF file at `path` (mapped, never executed).

    Raises FormatError for anything that is not a well-formed ELF file, OSError if it cannot be opened.
    """
    with open(path, "rb") as fh:
        if fh.read(4) != b"\x7fELF":
            raise FormatError(f"{path} is not an ELF file")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return ElfReader(data).info


def _name_at(table: bytes, index: int) -> str:
    end = table.find(b"\x00", index, index + 256)
    return table[index:end].decode("utf-8", "replace") if 0 <= index < len(table) and end >= 0 else ""


def _split_paths(values: list[str]) -> list[str]:
    return [p for v in values for p in v.split(":") if p]
