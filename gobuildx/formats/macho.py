"""Mach-O (macOS/iOS): CPU, linked dylibs, dynamic linker, minimum OS, rpaths, `__go_buildinfo`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from gobuildx.formats import Blob, FormatError

CPUS = {7: "x86", 0x01000007: "x86-64", 12: "ARM", 0x0100000C: "AArch64", 18: "PowerPC", 0x01000012: "PowerPC64"}
FILETYPES = {1: "object", 2: "execute", 6: "dylib", 8: "bundle"}
LC_SEGMENT, LC_SYMTAB, LC_DYSYMTAB, LC_LOAD_DYLINKER, LC_SEGMENT_64 = 0x1, 0x2, 0xB, 0xE, 0x19
LC_DYLIBS = {0xC: "load", 0x80000018: "weak", 0x8000001F: "reexport", 0x20: "lazy", 0x80000023: "upward"}
LC_RPATH, LC_BUILD_VERSION, LC_VERSION_MIN_MACOSX = 0x8000001C, 0x32, 0x24
PLATFORMS = {1: "macOS", 2: "iOS", 3: "tvOS", 4: "watchOS", 6: "Mac Catalyst", 7: "iOS simulator"}
MH_PIE = 0x200000
MAX_COMMANDS = 4096


class MachoSection(BaseModel):
    segment: str
    name: str
    offset: int
    size: int


class MachoInfo(BaseModel):
    bits: Literal[32, 64]
    endian: Literal["little", "big"]
    machine: str
    machine_code: int
    filetype: str
    pie: bool
    dylibs: list[str] = []
    weak_dylibs: list[str] = []
    dylinker: str | None = None
    rpaths: list[str] = []
    platform: str | None = None
    min_os: str | None = None
    stripped: bool = True  # no local symbols in the symbol table
    universal_archs: list[str] = []
    slices: list[MachoInfo] = []  # a universal binary's thin slices, in header order
    sections: list[MachoSection] = []

    def section(self, name: str) -> MachoSection | None:
        return next((s for s in self.sections if s.name == name), None)


FAT_MAGIC, FAT_MAGIC_64 = 0xCAFEBABE, 0xCAFEBABF
THIN_MAGICS = (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xfe\xed\xfa\xce")


def read(data: object) -> MachoInfo:
    """A thin Mach-O, or a universal one: every slice is read (a corrupt one is a FormatError);
    the first slice's facts come back with every slice in `slices` and `universal_archs`."""
    head = Blob(data, little=False)
    if head.u32(0) in (FAT_MAGIC, FAT_MAGIC_64):
        return _universal(data, head, wide=head.u32(0) == FAT_MAGIC_64)
    return _thin(data, 0)


def _universal(data: object, head: Blob, wide: bool) -> MachoInfo:
    count = head.u32(4, "fat header")
    if not 0 < count <= 32:
        raise FormatError(f"universal header lists {count} architectures (a Java class file?)")
    fmt, size = ("iiQQII", 32) if wide else ("iiIII", 20)
    archs = [head.unpack(fmt, 8 + size * i, f"fat arch {i}") for i in range(count)]
    _disjoint([(a[2], a[3]) for a in archs], 8 + size * count)
    slices = [_thin(data, a[2], a[2] + a[3]) for a in archs]
    info = slices[0].model_copy(update={"slices": slices})
    info.universal_archs = [s.machine for s in slices]
    return info


def _disjoint(ranges: list[tuple[int, int]], header_end: int) -> None:
    """Slices lie after the arch table and apart, as lipo writes them: 32 arch entries naming one
    slice (or overlapping ones) would have that slice's load commands read 32 times."""
    last_end = header_end
    for start, size in sorted(ranges):
        if start < last_end:
            raise FormatError(f"universal slice at offset {start:#x} overlaps the fat header or another slice")
        last_end = start + size


def _thin(data: object, base: int, limit: int | None = None) -> MachoInfo:
    probe = Blob(data).read(base, 4, "Mach-O magic")
    if probe not in THIN_MAGICS:
        raise FormatError(f"no Mach-O header at offset {base} (magic {probe.hex()})")
    little = probe in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe")
    bits: Literal[32, 64] = 64 if probe in (b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf") else 32
    b = Blob(data, little=little)
    _m, cpu, _sub, ftype, ncmds, sizeofcmds, flags = b.unpack("IiiIIII", base, "Mach-O header")
    info = MachoInfo(
        bits=bits,
        endian="little" if little else "big",
        machine=CPUS.get(cpu & 0xFFFFFFFF, f"cpu {cpu:#x}"),
        machine_code=cpu & 0xFFFFFFFF,
        filetype=FILETYPES.get(ftype, f"filetype {ftype}"),
        pie=bool(flags & MH_PIE),
    )
    off = base + (32 if bits == 64 else 28)
    end = off + sizeofcmds
    b.check(off, sizeofcmds, "load commands")
    if limit is not None and off + sizeofcmds > limit:  # keeps each slice's commands inside its own range
        raise FormatError(f"load commands of the slice at offset {base:#x} run past its size")
    for i in range(min(ncmds, MAX_COMMANDS)):
        cmd, size = b.unpack("II", off, f"load command {i}")
        if size < 8 or off + size > end:
            raise FormatError(f"load command {i} has size {size}, outside the load-command area")
        _command(b, info, cmd, off, size, base)
        off += size
    return info


def _command(b: Blob, info: MachoInfo, cmd: int, off: int, size: int, base: int) -> None:
    if cmd in LC_DYLIBS:
        name = _lc_str(b, off, size)
        (info.weak_dylibs if LC_DYLIBS[cmd] == "weak" else info.dylibs).append(name)
    elif cmd == LC_LOAD_DYLINKER:
        info.dylinker = _lc_str(b, off, size)
    elif cmd == LC_RPATH:
        info.rpaths.append(_lc_str(b, off, size))
    elif cmd == LC_BUILD_VERSION:
        platform, minos = b.unpack("II", off + 8, "LC_BUILD_VERSION")
        info.platform, info.min_os = PLATFORMS.get(platform, f"platform {platform}"), _version(minos)
    elif cmd == LC_VERSION_MIN_MACOSX:
        info.platform, info.min_os = "macOS", _version(b.u32(off + 8, "LC_VERSION_MIN_MACOSX"))
    elif cmd == LC_DYSYMTAB:
        info.stripped = b.unpack("II", off + 8, "LC_DYSYMTAB")[1] == 0
    elif cmd in (LC_SEGMENT, LC_SEGMENT_64):
        info.sections += _sections(b, off, size, cmd == LC_SEGMENT_64, base)


def _sections(b: Blob, off: int, size: int, wide: bool, base: int) -> list[MachoSection]:
    head, entry, fmt = (72, 80, "16s16sQQI") if wide else (56, 68, "16s16sIII")
    nsects = b.u32(off + head - 8, "segment nsects")
    if head + nsects * entry > size:
        raise FormatError(f"segment claims {nsects} sections, more than its load command holds")
    out = []
    for i in range(nsects):
        sect, seg, _addr, sz, foff = b.unpack(fmt, off + head + i * entry, f"section {i}")
        out.append(
            MachoSection(
                segment=seg.rstrip(b"\x00").decode("latin-1"),
                name=sect.rstrip(b"\x00").decode("latin-1"),
                offset=base + foff,
                size=sz,
            )
        )
    return out


def _lc_str(b: Blob, off: int, size: int) -> str:
    rel = b.u32(off + 8, "load command string offset")
    if not 12 <= rel < size:
        raise FormatError(f"load command string offset {rel} is outside its command ({size} bytes)")
    return b.cstr(off + rel, "load command string", size - rel)


def _version(packed: int) -> str:
    major, minor, patch = packed >> 16, (packed >> 8) & 0xFF, packed & 0xFF
    return f"{major}.{minor}" + (f".{patch}" if patch else "")
