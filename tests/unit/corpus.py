"""A damaged-binary corpus, generated at test time: small valid seeds, then seeded damage.

Every seed is assembled here with `struct` (no Go, no toolchain), and carries the structures
gobuildx's readers look at: ELF PT_INTERP, PT_DYNAMIC/DT_NEEDED, .gnu.version_r and the Go
build info; PE import and delay-import tables; Mach-O load commands, thin and universal; wasm
import, export and `producers` sections. Each builder records where its counts, offsets and
sizes live (`Field`) and a few hand-picked self-references (`Patch`), so the damage can aim at
what a parser trusts instead of only at random bytes.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

MAGIC = b"\xff Go buildinf:"
GO_VERSION = "go1.22.1"
MODINFO = (
    "path\texample.com/hello\nmod\texample.com/hello\t(devel)\t\n"
    "dep\tgolang.org/x/sys\tv0.20.0\th1:abc=\n=>\t../sys\t\n"
    'build\tCGO_ENABLED=1\nbuild\t"-ldflags"="-s -w"\nbuild\tGOOS=linux\n'
)
SENTINEL = b"0" * 16  # Go wraps the module info in two 16-byte sentinels


@dataclass(frozen=True)
class Field:
    """A count, offset or size the parser trusts: `size` bytes at `off` (size 5 = padded LEB128)."""

    name: str
    off: int
    size: int
    little: bool


@dataclass(frozen=True)
class Patch:
    """One field set to one value: a mutation."""

    name: str
    off: int
    size: int
    little: bool
    value: int


@dataclass(frozen=True)
class Seed:
    name: str
    group: str  # elf, pe, macho-thin, macho-fat, wasm
    data: bytes
    fields: tuple[Field, ...]
    patches: tuple[Patch, ...]  # hand-picked self-references and overlaps
    expect: dict[str, object]  # Facts keys the seed must parse to


@dataclass(frozen=True)
class Case:
    name: str
    group: str
    seed: str  # "" for a crafted case, which has none
    data: bytes
    expect: str | None = None  # crafted: what the error (or Go note) must say; "" for none


# --- writing -------------------------------------------------------------------------
class Image:
    """A growing file that remembers the fields written into it."""

    def __init__(self, little: bool) -> None:
        self.buf = bytearray()
        self.little = little
        self.fields: list[Field] = []
        self.patches: list[Patch] = []

    def put(self, data: bytes, align: int = 8) -> int:
        self.buf += b"\x00" * (-len(self.buf) % align)
        off = len(self.buf)
        self.buf += data
        return off

    def pack(self, off: int, fmt: str, values: tuple[int | bytes, ...], names: str = "") -> None:
        """struct.pack_into at off; `names` lists one word per code, "-" for no mutation target."""
        end = "<" if self.little else ">"
        struct.pack_into(end + fmt, self.buf, off, *values)
        pos = off
        for code, name in zip(_codes(fmt), (names or "").split() + ["-"] * len(fmt), strict=False):
            if name != "-" and code[-1] in "HIQhiq":
                self.fields.append(Field(name, pos, struct.calcsize(end + code), self.little))
            pos += struct.calcsize(end + code)

    def patch(self, name: str, off: int, size: int, value: int) -> None:
        self.patches.append(Patch(name, off, size, self.little, value))

    def seed(self, name: str, group: str, expect: dict[str, object]) -> Seed:
        return Seed(name, group, bytes(self.buf), tuple(self.fields), tuple(self.patches), expect)


def _codes(fmt: str) -> list[str]:
    """'16sQI' -> ['16s', 'Q', 'I']."""
    out, digits = [], ""
    for ch in fmt:
        if ch.isdigit():
            digits += ch
        else:
            out.append(digits + ch)
            digits = ""
    return out


class Strings:
    """A NUL-separated string table; index() gives each string's offset."""

    def __init__(self, *names: str) -> None:
        self.raw = b"\x00"
        self.at: dict[str, int] = {}
        for n in names:
            self.at[n] = len(self.raw)
            self.raw += n.encode() + b"\x00"

    def index(self, name: str) -> int:
        return self.at[name]


def go_buildinfo(ptrsize: int = 8) -> bytes:
    """The Go >= 1.18 inline build info blob that formats/buildinfo.py searches for."""
    header = MAGIC + bytes([ptrsize, 0x2]) + b"\x00" * 16
    mod = SENTINEL + MODINFO.encode() + b"\n" + SENTINEL
    return header + _uleb(len(GO_VERSION)) + GO_VERSION.encode() + _uleb(len(mod)) + mod


def _uleb(value: int, width: int = 0) -> bytes:
    """LEB128; with `width`, padded to exactly that many bytes (valid wasm, fixed-size fields)."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if value or len(out) + 1 < width:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


# --- ELF -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ElfCpu:
    name: str
    machine: int
    bits: int
    little: bool
    interp: str
    label: str  # what formats/elf.py calls the machine


ELF_CPUS = (
    ElfCpu("x86-64", 62, 64, True, "/lib64/ld-linux-x86-64.so.2", "x86-64"),
    ElfCpu("i386", 3, 32, True, "/lib/ld-linux.so.2", "x86"),
    ElfCpu("aarch64", 183, 64, True, "/lib/ld-linux-aarch64.so.1", "AArch64"),
    ElfCpu("arm", 40, 32, True, "/lib/ld-linux-armhf.so.3", "ARM"),
    ElfCpu("riscv64", 243, 64, True, "/lib/ld-linux-riscv64-lp64d.so.1", "RISC-V"),
    ElfCpu("ppc64le", 21, 64, True, "/lib64/ld64.so.2", "PowerPC64"),
    ElfCpu("s390x", 22, 64, False, "/lib/ld64.so.1", "S/390"),
    ElfCpu("ppc64", 21, 64, False, "/lib64/ld64.so.1", "PowerPC64"),
    ElfCpu("mips", 8, 32, False, "/lib/ld.so.1", "MIPS"),
)
ELF_STATIC = ("x86-64", "aarch64", "arm", "s390x")
BASE = 0x400000  # one PT_LOAD maps the whole file at BASE + offset
SYMS = (("", 0), ("puts", 2), ("__libc_start_main", 3), ("pthread_create", 3), ("_dl_find", 4), ("pthread_join", 5))
NEEDS = (
    ("libc.so.6", (("GLIBC_2.2.5", 2), ("GLIBC_2.34", 3), ("GLIBC_PRIVATE", 4))),
    ("libpthread.so.0", (("GLIBC_2.17", 5),)),
)
DT = {
    "NEEDED": 1,
    "HASH": 4,
    "STRTAB": 5,
    "SYMTAB": 6,
    "STRSZ": 10,
    "SYMENT": 11,
    "RUNPATH": 29,
    "FLAGS_1": 0x6FFFFFFB,
    "VERSYM": 0x6FFFFFF0,
    "VERNEED": 0x6FFFFFFE,
    "VERNEEDNUM": 0x6FFFFFFF,
}


class ElfImage(Image):
    def __init__(self, cpu: ElfCpu) -> None:
        super().__init__(cpu.little)
        self.cpu = cpu
        self.wide = cpu.bits == 64
        self.A = "Q" if self.wide else "I"  # address-sized field
        self.sections: list[tuple[str, int, int, int, int, int]] = []  # name type off size link entsize

    def section(self, name: str, typ: int, data: bytes, align: int = 8, link: int = 0, entsize: int = 0) -> int:
        off = self.put(data, align)
        self.sections.append((name, typ, off, len(data), link, entsize))
        return off

    def phdr(self, at: int, i: int, typ: int, flags: int, off: int, size: int) -> None:
        name = f"ph{i}"
        if self.wide:
            self.pack(
                at,
                "IIQQQQQQ",
                (typ, flags, off, BASE + off, BASE + off, size, size, 8),
                f"- - {name}.offset {name}.vaddr - {name}.filesz - -",
            )
        else:
            self.pack(
                at,
                "IIIIIIII",
                (typ, off, BASE + off, BASE + off, size, size, flags, 4),
                f"- {name}.offset {name}.vaddr - {name}.filesz - - -",
            )


def elf_seed(cpu: ElfCpu, dynamic: bool) -> Seed:
    img = ElfImage(cpu)
    ehsize, phent, shent = (64, 56, 64) if img.wide else (52, 32, 40)
    nph = 5 if dynamic else 3
    img.put(b"\x00" * (ehsize + nph * phent))
    img.section("", 0, b"", 1)
    note = struct.pack(("<" if cpu.little else ">") + "III", 4, 20, 4) + b"Go\x00\x00" + b"b" * 20
    note_off = img.section(".note.go.buildid", 7, note, 4)
    interp_off = img.section(".interp", 1, cpu.interp.encode() + b"\x00", 1) if dynamic else 0
    dyn = _elf_dynamic(img) if dynamic else None
    img.section(".rodata", 1, b"hello\x00GLIBC_TUNABLES\x00libnss_files.so.2\x00" if not dynamic else b"hi\x00")
    data_off = img.section(".go.buildinfo", 1, go_buildinfo(cpu.bits // 8), 16)
    img.section(".symtab", 2, b"\x00" * (24 if img.wide else 16), 8, entsize=24 if img.wide else 16)
    _elf_headers(img, dynamic, interp_off, dyn, note_off, data_off, ehsize, phent, shent)
    label = f"elf-{cpu.name}-{'dynamic' if dynamic else 'static'}"
    expect: dict[str, object] = {"machine": cpu.label, "bits": cpu.bits, "go_version": GO_VERSION}
    if dynamic:
        expect |= {
            "interpreter": cpu.interp,
            "needed": ["libc.so.6", "libpthread.so.0"],
            "max_glibc": "2.34",
            "max_glibc_symbols": ["__libc_start_main", "pthread_create"],
        }
    else:
        expect |= {"static": True, "static_glibc": True, "nss": True}
    return img.seed(label, "elf", expect)


def _elf_dynamic(img: ElfImage) -> tuple[int, int]:
    """.dynstr, .dynsym, .gnu.version, .gnu.version_r, .hash and .dynamic -> (offset, size) of .dynamic."""
    names = [n for n, _ in SYMS if n] + [lib for lib, _ in NEEDS] + [v for _, vs in NEEDS for v, _ in vs]
    strs = Strings(*names, "$ORIGIN/../lib")
    nsect = len(img.sections)
    dynstr = img.section(".dynstr", 3, strs.raw, 1)
    symfmt, syment = ("IBBHQQ", 24) if img.wide else ("IIIBBH", 16)
    dynsym = img.put(b"\x00" * syment * len(SYMS))
    for i, (name, _v) in enumerate(SYMS):
        vals = (
            (strs.index(name) if name else 0, 0x12, 0, 0, 0, 0)
            if img.wide
            else (strs.index(name) if name else 0, 0, 0, 0x12, 0, 0)
        )
        img.pack(dynsym + i * syment, symfmt, vals, f"sym{i}.name")
    img.sections.append((".dynsym", 11, dynsym, syment * len(SYMS), nsect, syment))
    versym = img.section(".gnu.version", 0x6FFFFFFF, b"\x00" * 2 * len(SYMS), 2, nsect + 1, 2)
    for i, (_n, v) in enumerate(SYMS):
        img.pack(versym + 2 * i, "H", (v,))
    verneed = _elf_verneed(img, strs, nsect)
    hash_off = img.put(b"\x00" * 4 * (2 + 1 + len(SYMS)), 4)
    img.pack(hash_off, "II", (1, len(SYMS)), "hash.nbucket hash.nchain")
    img.sections.append((".hash", 5, hash_off, 4 * (3 + len(SYMS)), nsect + 1, 4))
    entries = [
        ("NEEDED", strs.index("libc.so.6")),
        ("NEEDED", strs.index("libpthread.so.0")),
        ("RUNPATH", strs.index("$ORIGIN/../lib")),
        ("HASH", BASE + hash_off),
        ("STRTAB", BASE + dynstr),
        ("STRSZ", len(strs.raw)),
        ("SYMTAB", BASE + dynsym),
        ("SYMENT", syment),
        ("VERSYM", BASE + versym),
        ("VERNEED", BASE + verneed),
        ("VERNEEDNUM", len(NEEDS)),
        ("FLAGS_1", 0x08000000),
    ]
    fmt, ent = ("qQ", 16) if img.wide else ("iI", 8)
    dyn = img.put(b"\x00" * ent * (len(entries) + 1))
    for i, (tag, val) in enumerate(entries):
        img.pack(dyn + i * ent, fmt, (DT[tag], val), f"- DT_{tag}.{i}")
    img.sections.append((".dynamic", 6, dyn, ent * (len(entries) + 1), nsect + 1, ent))
    # Self-references: the string table and the version needs pointing at .dynamic itself.
    img.patch("DT_STRTAB=.dynamic", dyn + 4 * ent + ent // 2, ent // 2, BASE + dyn)
    img.patch("DT_VERNEED=.dynamic", dyn + 9 * ent + ent // 2, ent // 2, BASE + dyn)
    img.patch("DT_VERSYM=.dynamic", dyn + 8 * ent + ent // 2, ent // 2, BASE + dyn)
    img.patch("DT_HASH=.dynamic", dyn + 3 * ent + ent // 2, ent // 2, BASE + dyn)
    return dyn, ent * (len(entries) + 1)


def _elf_verneed(img: ElfImage, strs: Strings, nsect: int) -> int:
    """Two Verneed entries with their Vernaux chains (the GLIBC_x.y needs)."""
    size = sum(16 + 16 * len(vs) for _, vs in NEEDS)
    start = img.put(b"\x00" * size, 4)
    off = start
    for n, (lib, versions) in enumerate(NEEDS):
        nxt = 16 + 16 * len(versions) if n + 1 < len(NEEDS) else 0
        img.pack(
            off, "HHIII", (1, len(versions), strs.index(lib), 16, nxt), f"- vn{n}.cnt vn{n}.file vn{n}.aux vn{n}.next"
        )
        for k, (ver, idx) in enumerate(versions):
            last = k + 1 == len(versions)
            img.pack(
                off + 16 + 16 * k,
                "IHHII",
                (0x1234, 0, idx, strs.index(ver), 0 if last else 16),
                f"- - vna{n}.{k}.other vna{n}.{k}.name vna{n}.{k}.next",
            )
        off += 16 + 16 * len(versions)
    # vn_aux = 0: the aux entry is the Verneed itself; vna_next forward onto the next Verneed.
    img.patch("vn0.aux=self", start + 8, 4, 0)
    img.patch("vna0.0.next=into-vn1", start + 16 + 12, 4, 16 * 3)
    img.sections.append((".gnu.version_r", 0x6FFFFFFE, start, size, nsect, 0))
    return start


def _elf_headers(
    img: ElfImage,
    dynamic: bool,
    interp_off: int,
    dyn: tuple[int, int] | None,
    note_off: int,
    data_off: int,
    ehsize: int,
    phent: int,
    shent: int,
) -> None:
    shstr = Strings(*[s[0] for s in img.sections if s[0]], ".shstrtab")
    img.section(".shstrtab", 3, shstr.raw, 1)
    shoff = img.put(b"\x00" * shent * len(img.sections))
    for i, (name, typ, off, size, link, entsize) in enumerate(img.sections):
        at = shoff + i * shent
        info = len(NEEDS) if typ == 0x6FFFFFFE else 1 if typ == 11 else 0  # readelf wants sh_info here
        vals = (shstr.index(name) if name else 0, typ, 0, BASE + off if off else 0, off, size, link, info, 8, entsize)
        img.pack(
            at,
            "IIQQQQIIQQ" if img.wide else "IIIIIIIIII",
            vals,
            f"sh{i}.name - - - sh{i}.offset sh{i}.size sh{i}.link - - -",
        )
    size = len(img.buf)
    cpu = img.cpu
    ident = b"\x7fELF" + bytes([2 if img.wide else 1, 1 if cpu.little else 2, 1, 3 if not dynamic else 0]) + b"\x00" * 8
    img.buf[:16] = ident
    etype = 3 if dynamic and cpu.little and img.wide else 2
    nph = 5 if dynamic else 3
    img.pack(
        16,
        "HHI" + img.A * 3 + "IHHHHHH",
        (
            etype,
            cpu.machine,
            1,
            BASE + 0x100,
            ehsize,
            shoff,
            0,
            ehsize,
            phent,
            nph,
            shent,
            len(img.sections),
            len(img.sections) - 1,
        ),
        "- - - - e_phoff e_shoff - - e_phentsize e_phnum e_shentsize e_shnum e_shstrndx",
    )
    phdrs = [(1, 5, 0, size), (1, 6, data_off, len(go_buildinfo())), (4, 4, note_off, 36)]
    if dynamic and dyn is not None:
        phdrs += [(3, 4, interp_off, len(cpu.interp) + 1), (2, 6, dyn[0], dyn[1])]
    for i, (typ, flags, off, sz) in enumerate(phdrs):
        img.phdr(ehsize + i * phent, i, typ, flags, off, sz)
    # Self-references: the program header table as PT_DYNAMIC; the names table as section 0.
    ph_dyn = ehsize + 4 * phent + (8 if img.wide else 4)
    if dynamic:
        img.patch("PT_DYNAMIC=phdrs", ph_dyn, 8 if img.wide else 4, ehsize)
    img.patch("shstrndx=.note", 62 if img.wide else 50, 2, 1)
    img.patch("sh-table=phdrs", 40 if img.wide else 32, 8 if img.wide else 4, ehsize)
    link_at = shoff + 1 * shent + (40 if img.wide else 24)
    img.patch("sh1.link=self", link_at, 4, 1)


# --- PE ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PeCpu:
    name: str
    machine: int
    wide: bool  # PE32+
    dll: bool
    label: str


PE_CPUS = (
    PeCpu("x86-64", 0x8664, True, False, "x86-64"),
    PeCpu("x86", 0x14C, False, False, "x86"),
    PeCpu("arm64-dll", 0xAA64, True, True, "AArch64"),
    PeCpu("arm", 0x1C4, False, False, "ARM"),
)
PE_AT, FILE_ALIGN, SECT_ALIGN = 0x80, 0x200, 0x1000
IMPORTS, DELAY_IMPORTS = ("kernel32.dll", "ws2_32.dll"), ("winmm.dll",)


def pe_seed(cpu: PeCpu) -> Seed:
    img = Image(little=True)
    img.put(b"MZ" + b"\x00" * (PE_AT - 2))
    img.pack(0x3C, "I", (PE_AT,), "e_lfanew")
    opt_size = 240 if cpu.wide else 224
    nsect = 4
    headers_end = PE_AT + 24 + opt_size + 40 * nsect
    img.put(b"\x00" * (headers_end - PE_AT), 1)
    text = _pe_raw(img, b"\xc3" * 16)
    rdata = _pe_raw(img, b"const data\x00")
    data = _pe_raw(img, go_buildinfo(8 if cpu.wide else 4))
    idata, import_rva, delay_rva = _pe_idata(img, 4 * SECT_ALIGN)  # Go's order: .idata last
    symptr = img.put(b"\x00" * 18 + struct.pack("<I", 4), 1)  # one COFF symbol, empty string table
    img.buf[PE_AT : PE_AT + 4] = b"PE\x00\x00"
    img.pack(
        PE_AT + 4,
        "HHIIIHH",
        (cpu.machine, nsect, 0, symptr, 1, opt_size, 0x2022 if cpu.dll else 0x22),
        "- pe.nsect - pe.symptr pe.nsyms pe.opt_size -",
    )
    opt = PE_AT + 24
    img.pack(opt, "H", (0x20B if cpu.wide else 0x10B,))
    img.pack(opt + 68, "H", (3,))  # console
    dirs = opt + (112 if cpu.wide else 96)
    img.pack(dirs - 4, "I", (16,), "pe.ndirs")
    img.pack(dirs + 8 * 1, "II", (import_rva, 20 * (len(IMPORTS) + 1)), "dir.import.rva dir.import.size")
    img.pack(dirs + 8 * 13, "II", (delay_rva, 32 * (len(DELAY_IMPORTS) + 1)), "dir.delay.rva dir.delay.size")
    table = opt + opt_size
    for i, (name, raw, flags) in enumerate(
        (
            (".text", text, 0x60000020),
            (".rdata", rdata, 0x40000040),
            (".data", data, 0xC0000040),
            (".idata", idata, 0xC0000040),
        )
    ):
        rva = (i + 1) * SECT_ALIGN
        img.pack(
            table + 40 * i,
            "8sIIIIIIHHI",
            (name.encode(), raw[1], rva, raw[1], raw[0], 0, 0, 0, 0, flags),
            f"- s{i}.vsize s{i}.vaddr s{i}.rawsize s{i}.rawptr",
        )
    # Self-references and overlaps: the delay table is the import table; a DLL name is its own
    # descriptor; the import table lies in the section headers' RVA; e_lfanew points at "MZ".
    img.patch("delay=import", dirs + 8 * 13, 4, import_rva)
    img.patch("import-name=descriptor", idata[0] + 12, 4, import_rva)
    img.patch("import=.data", dirs + 8, 4, 3 * SECT_ALIGN)
    img.patch("import=delay", dirs + 8, 4, delay_rva)
    img.patch("e_lfanew=0", 0x3C, 4, 0)
    img.patch("s3.rawptr=s0", table + 3 * 40 + 20, 4, text[0])
    img.buf += b"\x00" * (-len(img.buf) % FILE_ALIGN)
    expect: dict[str, object] = {
        "machine": cpu.label,
        "bits": 64 if cpu.wide else 32,
        "dlls": list(IMPORTS),
        "delay_dlls": list(DELAY_IMPORTS),
        "go_version": GO_VERSION,
    }
    return img.seed(f"pe-{cpu.name}", "pe", expect)


def _pe_raw(img: Image, data: bytes) -> tuple[int, int]:
    """A section's raw data at the next file-aligned offset -> (offset, aligned size)."""
    size = len(data) + (-len(data) % FILE_ALIGN)
    return img.put(data + b"\x00" * (size - len(data)), FILE_ALIGN), size


def _pe_idata(img: Image, rva: int) -> tuple[tuple[int, int], int, int]:
    """Import and delay-import descriptors plus DLL names, as the .idata section at `rva`."""
    n_imp, n_delay = len(IMPORTS) + 1, len(DELAY_IMPORTS) + 1
    names_at = 20 * n_imp + 32 * n_delay
    blob = bytearray(names_at)
    name_rvas = []
    for dll in IMPORTS + DELAY_IMPORTS:
        name_rvas.append(rva + len(blob))
        blob += dll.encode() + b"\x00"
    off, size = _pe_raw(img, bytes(blob))
    for i in range(len(IMPORTS)):
        img.pack(off + 20 * i, "IIIII", (0, 0, 0, name_rvas[i], 0), f"- - - imp{i}.name -")
    for i in range(len(DELAY_IMPORTS)):
        img.pack(
            off + 20 * n_imp + 32 * i,
            "IIIIIIII",
            (1, name_rvas[len(IMPORTS) + i], 0, 0, 0, 0, 0, 0),
            f"- delay{i}.name",
        )
    return (off, size), rva, rva + 20 * n_imp


# --- Mach-O --------------------------------------------------------------------------
@dataclass(frozen=True)
class MachoCpu:
    name: str
    cpu: int
    wide: bool
    little: bool
    label: str


MACHO_CPUS = (
    MachoCpu("x86-64", 0x01000007, True, True, "x86-64"),
    MachoCpu("arm64", 0x0100000C, True, True, "AArch64"),
    MachoCpu("x86", 7, False, True, "x86"),
    MachoCpu("ppc", 18, False, False, "PowerPC"),
    MachoCpu("ppc64", 0x01000012, True, False, "PowerPC64"),
)
DYLIBS = ("/usr/lib/libSystem.B.dylib", "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation")
WEAK_DYLIB = "/System/Library/Frameworks/Security.framework/Security"


class MachoImage(Image):
    def __init__(self, cpu: MachoCpu) -> None:
        super().__init__(cpu.little)
        self.wide = cpu.wide
        self.ncmds = 0

    def command(
        self, cmd: int, body_fmt: str, body: tuple[int | bytes, ...], names: str = "", tail: bytes = b""
    ) -> int:
        """One load command: (cmd, cmdsize) + body + tail, padded to 8 bytes."""
        body_size = struct.calcsize(("<" if self.little else ">") + body_fmt)
        size = 8 + body_size + len(tail)
        size += -size % 8
        at = self.put(b"\x00" * size, 1)
        self.pack(at, "II" + body_fmt, (cmd, size, *body), f"- lc{self.ncmds}.cmdsize {names}")
        self.buf[at + 8 + body_size : at + 8 + body_size + len(tail)] = tail
        self.ncmds += 1
        return at

    def string_command(self, cmd: int, extra: str, values: tuple[int, ...], text: str) -> int:
        """A command whose body is (lc_str offset, *values) and then the string."""
        end = "<" if self.little else ">"
        rel = 8 + struct.calcsize(end + "I" + extra)
        return self.command(cmd, "I" + extra, (rel, *values), f"lc{self.ncmds}.stroff", text.encode() + b"\x00")


def macho_thin(cpu: MachoCpu) -> Image:
    """A thin Mach-O executable (its file offsets are relative to its own start, also in a universal file)."""
    img = MachoImage(cpu)
    hsize = 32 if cpu.wide else 28
    img.put(b"\x00" * hsize)
    seg = _macho_segments(img, cpu)
    img.string_command(0xE, "", (), "/usr/lib/dyld")
    for dylib in DYLIBS:
        img.string_command(0xC, "III", (2, 0x10000, 0x10000), dylib)
    img.string_command(0x80000018, "III", (2, 0x10000, 0x10000), WEAK_DYLIB)
    img.string_command(0x8000001C, "", (), "@executable_path/../Frameworks")
    if cpu.wide:
        img.command(0x32, "IIII", (1, 0x000B0000, 0x000E0000, 0))
    else:
        img.command(0x24, "II", (0x000A0600, 0x000A0600))
    img.command(0x2, "IIII", (0, 0, 0, 0), "symtab.symoff symtab.nsyms symtab.stroff symtab.strsize")
    img.command(0xB, "I" * 18, (0, 1) + (0,) * 16, "- dysymtab.nlocal")
    sizeofcmds = len(img.buf) - hsize
    text_off = img.put(b"\xc3" * 16, 16)
    bi_off = img.put(go_buildinfo(8 if cpu.wide else 4), 16)
    _macho_fix_sections(img, seg, text_off, bi_off)
    magic = 0xFEEDFACF if cpu.wide else 0xFEEDFACE  # in the slice's own byte order
    img.pack(0, "IiiIIII", (magic, cpu.cpu, 3, 2, img.ncmds, sizeofcmds, 0x00200085), "- - - - mh.ncmds mh.sizeofcmds")
    # Self-references: a command size that ends the list early or covers every other command.
    first = hsize + 4
    img.patch("lc0.cmdsize=8", first, 4, 8)
    img.patch("lc0.cmdsize=all", first, 4, sizeofcmds)
    img.patch("lc0.cmdsize=0", first, 4, 0)
    return img


def _macho_segments(img: MachoImage, cpu: MachoCpu) -> list[int]:
    """__TEXT (__text) and __DATA (__data, __go_buildinfo); returns each section header's offset."""
    seg_fmt = "16sQQQQiiII" if cpu.wide else "16sIIIIiiII"
    sect_fmt = "16s16sQQIIIIIIII" if cpu.wide else "16s16sIIIIIIIII"
    end = "<" if cpu.little else ">"
    out = []
    for segname, sects in ((b"__TEXT", (b"__text",)), (b"__DATA", (b"__data", b"__go_buildinfo"))):
        sect_size = struct.calcsize(end + sect_fmt)
        tail = b"\x00" * sect_size * len(sects)
        at = img.command(
            0x19 if cpu.wide else 0x1,
            seg_fmt,
            (segname, 0, 0, 0, 0, 7, 5, len(sects), 0),
            f"- - - seg{len(out)}.fileoff seg{len(out)}.filesize - - seg{len(out)}.nsects",
            tail,
        )
        first = at + 8 + struct.calcsize(end + seg_fmt)
        out += [first + i * sect_size for i in range(len(sects))]
    return out


def _macho_fix_sections(img: MachoImage, seg: list[int], text_off: int, bi_off: int) -> None:
    """Fill the section headers now that the data offsets are known."""
    fmt = "16s16sQQIIIIIIII" if img.wide else "16s16sIIIIIIIII"
    places = (
        (b"__text", b"__TEXT", text_off, 16),
        (b"__data", b"__DATA", bi_off, 0),
        (b"__go_buildinfo", b"__DATA", bi_off, len(go_buildinfo())),
    )
    for at, (sect, segname, off, size) in zip(seg, places, strict=True):
        n = len(_codes(fmt)) - 5
        img.pack(
            at,
            fmt,
            (sect, segname, 0x100000000 + off if img.wide else 0x1000 + off, size, off, 4, *(0,) * (n - 1)),
            f"- - - sect.{sect.decode()}.size sect.{sect.decode()}.offset",
        )
    img.patch("go_buildinfo.offset=header", seg[2] + 32 + (16 if img.wide else 8), 4, 0)


def macho_seed(cpu: MachoCpu) -> Seed:
    img = macho_thin(cpu)
    return img.seed(f"macho-{cpu.name}", "macho-thin", _macho_expect(cpu.label, cpu.wide))


def _macho_expect(label: str, wide: bool) -> dict[str, object]:
    return {
        "machine": label,
        "bits": 64 if wide else 32,
        "dylibs": [*DYLIBS, WEAK_DYLIB],
        "dylinker": "/usr/lib/dyld",
        "go_version": GO_VERSION,
    }


def fat_seed(name: str, cpus: tuple[MachoCpu, ...], wide: bool) -> Seed:
    """A universal binary (FAT_MAGIC or FAT_MAGIC_64, always big-endian) holding thin slices."""
    entry = 32 if wide else 20
    img = Image(little=False)
    img.put(b"\x00" * (8 + entry * len(cpus)))
    starts = []
    for i, cpu in enumerate(cpus):
        thin = macho_thin(cpu)
        start = img.put(bytes(thin.buf), 256)
        starts.append(start)
        img.fields += [Field(f"slice{i}.{f.name}", start + f.off, f.size, f.little) for f in thin.fields]
        img.patches += [Patch(f"slice{i}.{p.name}", start + p.off, p.size, p.little, p.value) for p in thin.patches]
        fmt, vals = (
            ("iiQQII", (cpu.cpu, 3, start, len(thin.buf), 8, 0))
            if wide
            else ("iiIII", (cpu.cpu, 3, start, len(thin.buf), 8))
        )
        img.pack(8 + entry * i, fmt, vals, f"- - arch{i}.offset arch{i}.size")
    img.pack(0, "II", (0xCAFEBABF if wide else 0xCAFEBABE, len(cpus)), "- fat.nfat_arch")
    # Loops and overlaps in the arch list: a slice at the fat header itself, two archs on one slice.
    asize = 8 if wide else 4
    img.patch("arch0.offset=fat-header", 16, asize, 0)
    img.patch("arch1.offset=arch0", 8 + entry + 8, asize, starts[0])
    img.patch("arch1.offset=arch-table", 8 + entry + 8, asize, 8)
    expect = _macho_expect(cpus[0].label, cpus[0].wide)
    expect["machine"] = f"universal ({', '.join(c.label for c in cpus)})"
    expect["universal_goarchs"] = [{"x86-64": "amd64", "AArch64": "arm64"}.get(c.label, c.label) for c in cpus]
    return img.seed(name, "macho-fat", expect)


# --- wasm ----------------------------------------------------------------------------
W = 5  # every count and size is a padded 5-byte LEB128 field


class WasmImage(Image):
    def __init__(self) -> None:
        super().__init__(little=True)
        self.put(b"\x00asm" + struct.pack("<I", 1), 1)

    def section(self, sid: int, body: list[tuple[bytes, str]]) -> None:
        """Section `sid` whose body is pieces (raw bytes, field name or "" for plain bytes)."""
        size = sum(len(raw) for raw, _ in body)
        at = self.put(bytes([sid]) + _uleb(size, W), 1)
        self.fields.append(Field(f"sec{len(self.fields)}.size", at + 1, W, True))
        self.patches.append(Patch(f"sec@{at:#x}.size=0", at + 1, W, True, 0))
        for raw, name in body:
            off = self.put(raw, 1)
            if name:
                self.fields.append(Field(name, off, W, True))


def _name(text: str) -> list[tuple[bytes, str]]:
    return [(_uleb(len(text), W), f"len:{text}"), (text.encode(), "")]


def wasm_seed(name: str, modules: tuple[str, ...]) -> Seed:
    img = WasmImage()
    img.section(1, [(_uleb(2, W), "types.count"), (b"\x60\x00\x00", ""), (b"\x60\x04\x7f\x7f\x7f\x7f\x01\x7f", "")])
    imports: list[tuple[bytes, str]] = [(_uleb(len(modules) + 3, W), "imports.count")]
    for i, module in enumerate(modules):
        imports += _name(module) + _name(f"fn{i}") + [(b"\x00" + _uleb(1, W), f"import{i}.type")]
    imports += _name("env") + _name("memory") + [(b"\x02\x01\x01\x10", "")]  # memory, min 1 max 16
    imports += _name("env") + _name("table") + [(b"\x01\x70\x00\x04", "")]  # funcref table
    imports += _name("env") + _name("sp") + [(b"\x03\x7f\x01", "")]  # mutable i32 global
    img.section(2, imports)
    img.section(3, [(_uleb(1, W), "funcs.count"), (b"\x00", "")])
    exports = (
        [(_uleb(2, W), "exports.count")] + _name("_start") + [(b"\x00\x01", "")] + _name("memory") + [(b"\x02\x00", "")]
    )
    img.section(7, exports)
    img.section(10, [(_uleb(1, W), "code.count"), (b"\x02\x00\x0b", "")])
    producers = [(_uleb(2, W), "producers.fields")]
    for fieldname, pname, pver in (("language", "Go", GO_VERSION), ("processed-by", "Go", f"cmd/compile {GO_VERSION}")):
        producers += _name(fieldname) + [(_uleb(1, W), f"{fieldname}.count")] + _name(pname) + _name(pver)
    img.section(0, _name("producers") + producers)
    img.section(0, _name("name") + [(b"\x00\x05\x04main", "")])
    expect: dict[str, object] = {
        "wasm_imports": [*dict.fromkeys((*modules, "env"))],
        "wasm_exports": ["_start", "memory"],
        "producers": [f"language: Go {GO_VERSION}", f"processed-by: Go cmd/compile {GO_VERSION}"],
    }
    return img.seed(name, "wasm", expect)


# --- the corpus ----------------------------------------------------------------------
def seeds() -> list[Seed]:
    out = [elf_seed(cpu, dynamic=True) for cpu in ELF_CPUS]
    out += [elf_seed(cpu, dynamic=False) for cpu in ELF_CPUS if cpu.name in ELF_STATIC]
    out += [pe_seed(cpu) for cpu in PE_CPUS]
    out += [macho_seed(cpu) for cpu in MACHO_CPUS]
    x86_64, arm64, _x86, ppc, _ppc64 = MACHO_CPUS
    out += [
        fat_seed("macho-fat-x86_64-arm64", (x86_64, arm64), wide=False),
        fat_seed("macho-fat64-x86_64-arm64", (x86_64, arm64), wide=True),
        fat_seed("macho-fat-arm64-ppc-x86_64", (arm64, ppc, x86_64), wide=False),
    ]
    out += [
        wasm_seed("wasm-wasip1", ("wasi_snapshot_preview1", "wasi_snapshot_preview1")),
        wasm_seed("wasm-js", ("gojs", "gojs", "gojs")),
        wasm_seed("wasm-mixed", ("wasi_snapshot_preview1", "gojs", "env")),
    ]
    return out


HUGE = (0xFFFFFFFF, 0x80000000, 2**63, 2**64 - 1, 0xFFFF, 0x7FFFFFFF)


def field_values(f: Field, size: int) -> list[int]:
    """What a crafted file puts in a count/offset/size: zero, huge, the file's end, itself."""
    bits = 35 if f.size == W else 8 * f.size
    values = [0, *HUGE, size, size - 1, f.off, f.off + f.size]
    return list(dict.fromkeys(v & ((1 << bits) - 1) for v in values))


def apply(data: bytes, p: Patch) -> bytes:
    out = bytearray(data)
    if p.size == W:
        out[p.off : p.off + W] = _uleb(p.value & ((1 << 35) - 1), W)
    else:
        value = p.value & ((1 << 8 * p.size) - 1)
        out[p.off : p.off + p.size] = value.to_bytes(p.size, "little" if p.little else "big")
    return bytes(out)


def damage(seed: Seed, per_seed: int = 60) -> list[Case]:
    """Truncations, bit flips, field patches and the seed's own self-references; seeded by name."""
    rng = random.Random(seed.name)
    data = seed.data
    cases: list[tuple[str, bytes]] = []
    cuts = {1, 3, 4, 8, 15, 16, 31, 52, 64, len(data) // 2, len(data) - 1}
    cuts |= {f.off + 1 for f in rng.sample(seed.fields, min(8, len(seed.fields)))}
    cuts |= {rng.randrange(1, len(data)) for _ in range(6)}
    cases += [(f"cut{c}", data[:c]) for c in sorted(cuts) if 0 < c < len(data)]
    for i in range(14):
        out = bytearray(data)
        for _ in range(rng.randint(1, 16)):
            pos = rng.randrange(4, len(out))  # keep the magic: the damage should reach a parser
            out[pos] ^= 1 << rng.randrange(8)
        cases.append((f"flip{i}", bytes(out)))
    cases += [(f"self:{p.name}", apply(data, p)) for p in seed.patches]
    patches = [Patch(f.name, f.off, f.size, f.little, v) for f in seed.fields for v in field_values(f, len(data))]
    rng.shuffle(patches)
    room = max(per_seed - len(cases), 20)
    cases += [(f"set:{p.name}={p.value:#x}", apply(data, p)) for p in patches[:room]]
    return [Case(f"{seed.name}/{n}", seed.group, seed.name, d) for n, d in cases if d != data]


def corpus() -> list[Case]:
    return [c for s in seeds() for c in damage(s)]


# --- crafted: few bytes that ask for a lot ---------------------------------------------------
LONG = b"\x00" + b"L" * 4000 + b"\x00"  # one long string every entry can point at
BLOB_AT = 0x100  # where elf_tables puts its blob


def elf_tables(name: str, entries: list[tuple[int, int]], blob: bytes, expect: str) -> Case:
    """A minimal x86-64 ELF: PT_LOAD over the whole file, PT_DYNAMIC holding `entries`; `blob`
    lies at BLOB_AT (address BASE + BLOB_AT) for the entries to point into."""
    dyn_at = BLOB_AT + len(blob) + (-len(blob) % 8)
    dynamic = b"".join(struct.pack("<qQ", tag, val) for tag, val in [*entries, (0, 0)])
    size = dyn_at + len(dynamic)
    ehdr = (
        b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, 64, 0, 0, 64, 56, 2, 64, 0, 0)
    )
    phdrs = struct.pack("<IIQQQQQQ", 1, 5, 0, BASE, BASE, size, size, 8) + struct.pack(
        "<IIQQQQQQ", 2, 6, dyn_at, BASE + dyn_at, BASE + dyn_at, len(dynamic), len(dynamic), 8
    )
    head = ehdr + phdrs
    data = head + b"\x00" * (BLOB_AT - len(head)) + blob + b"\x00" * (dyn_at - BLOB_AT - len(blob)) + dynamic
    return Case(f"crafted/{name}", "crafted", "", data, expect)


def elf_many_strings(tag: int, count: int, text: bytes, expect: str) -> Case:
    """`count` entries of one string tag (DT_NEEDED, DT_RUNPATH) all naming the same string."""
    blob = b"\x00" + text + b"\x00"
    entries = [(DT["STRTAB"], BASE + BLOB_AT)] + [(tag, 1)] * count
    return elf_tables(f"elf-{count}x-tag{tag}-{len(text)}B", entries, blob, expect)


def elf_verneed_fanout(outer: int, inner: int) -> Case:
    """`outer` Verneed entries that all share one chain of `inner` Vernaux entries, each naming
    the long string: outer * inner version needs from (outer + inner) * 16 bytes."""
    vn_at = len(LONG) + (-len(LONG) % 16)
    aux_at = vn_at + 16 * outer
    vn = b"".join(
        struct.pack("<HHIII", 1, 0xFFFF, 1, aux_at - (vn_at + 16 * k), 16 if k + 1 < outer else 0) for k in range(outer)
    )
    aux = b"".join(struct.pack("<IHHII", 0, 0, 2, 1, 16 if k + 1 < inner else 0) for k in range(inner))
    blob = LONG + b"\x00" * (vn_at - len(LONG)) + vn + aux
    entries = [(DT["STRTAB"], BASE + BLOB_AT), (DT["VERNEED"], BASE + BLOB_AT + vn_at), (DT["VERNEEDNUM"], outer)]
    return elf_tables(f"elf-verneed-{outer}x{inner}", entries, blob, "MiB of strings")


def elf_symbol_fanout(count: int) -> Case:
    """`count` dynamic symbols, each bound to its own GLIBC_2.99 need and named by the long string:
    the audit asks for the names of every index that carries the highest glibc."""
    strs = LONG + b"GLIBC_2.99\x00"
    ver_name = len(LONG)
    vn_at = len(strs) + (-len(strs) % 16)
    vn = struct.pack("<HHIII", 1, count, 1, 16, 0)
    aux = b"".join(struct.pack("<IHHII", 0, 0, 2 + k, ver_name, 16 if k + 1 < count else 0) for k in range(count))
    versym_at = vn_at + len(vn) + len(aux)
    versym = b"".join(struct.pack("<H", 2 + k) for k in range(count))
    sym_at = versym_at + len(versym) + (-len(versym) % 8)
    syms = b"".join(struct.pack("<IBBHQQ", 1, 0x12, 0, 0, 0, 0) for _ in range(count))
    hash_at = sym_at + len(syms)
    blob = (
        strs
        + b"\x00" * (vn_at - len(strs))
        + vn
        + aux
        + versym
        + b"\x00" * (sym_at - versym_at - len(versym))
        + syms
        + struct.pack("<II", 1, count)
        + b"\x00" * 4 * (1 + count)
    )
    a = BASE + BLOB_AT
    entries = [
        (DT["STRTAB"], a),
        (DT["VERNEED"], a + vn_at),
        (DT["VERNEEDNUM"], 1),
        (DT["VERSYM"], a + versym_at),
        (DT["SYMTAB"], a + sym_at),
        (DT["HASH"], a + hash_at),
    ]
    return elf_tables(f"elf-symbols-{count}", entries, blob, "MiB of strings")


def wasm_many_modules(count: int, expect: str) -> Case:
    """`count` imports from `count` distinct two-byte modules."""
    body = bytearray(_uleb(count))
    for i in range(count):
        body += b"\x02" + i.to_bytes(2, "little") + b"\x00" + b"\x00\x00"  # module, empty name, func type 0
    data = b"\x00asm\x01\x00\x00\x00\x02" + _uleb(len(body)) + body
    return Case(f"crafted/wasm-{count}-modules", "crafted", "", data, expect)


def pe_many_imports(count: int) -> Case:
    """An import table of `count` descriptors that all name the same 511-byte DLL name."""
    seed = pe_seed(PE_CPUS[0])
    data = bytearray(seed.data)
    table = PE_AT + 24 + 240
    rva = 5 * SECT_ALIGN
    names = b"D" * 511 + b"\x00"
    raw = struct.pack("<IIIII", 0, 0, 0, rva, 0) * count + b"\x00" * 20
    raw = names + raw
    off = len(data)
    data += raw + b"\x00" * (-len(raw) % FILE_ALIGN)
    struct.pack_into("<H", data, PE_AT + 6, 5)
    struct.pack_into(
        "<8sIIIIIIHHI", data, table + 4 * 40, b".idata2", len(raw), rva, len(data) - off, off, 0, 0, 0, 0, 0x40000040
    )
    struct.pack_into("<II", data, PE_AT + 24 + 112 + 8, rva + len(names), 20 * count)
    return Case(f"crafted/pe-{count}-imports", "crafted", "", bytes(data), "more than 512 entries")


def go_magic_everywhere(size: int) -> Case:
    """An ELF whose .go.buildinfo region is `size` bytes of the build-info magic at unaligned offsets."""
    unit = b"\x00" + MAGIC + b"\x00"  # 16 bytes, the magic always 1 byte past the boundary
    region = unit * (size // len(unit))
    seed = elf_seed(ELF_CPUS[0], dynamic=False)
    data = bytearray(seed.data)
    sh = next(f for f in seed.fields if f.name == "sh3.offset")  # .go.buildinfo
    start = len(data) + (-len(data) % 16)
    data += b"\x00" * (start - len(data)) + region
    struct.pack_into("<QQ", data, sh.off, start, size)
    return Case(f"crafted/go-magic-{size}", "crafted", "", bytes(data), "misaligned Go build info magics")


def macho_many_dylibs(count: int, archs: int) -> Case:
    """A universal file whose `archs` arch entries all point at one slice of `count` LC_LOAD_DYLIB."""
    img = MachoImage(MACHO_CPUS[0])
    img.put(b"\x00" * 32)
    for i in range(count):
        img.string_command(0xC, "III", (2, 0x10000, 0x10000), f"/usr/lib/lib{i}.dylib")
    img.pack(0, "IiiIIII", (0xFEEDFACF, MACHO_CPUS[0].cpu, 3, 2, img.ncmds, len(img.buf) - 32, 0))
    arch = struct.pack(">iiIII", MACHO_CPUS[0].cpu, 3, 4096, len(img.buf), 12)
    head = struct.pack(">II", 0xCAFEBABE, archs) + arch * archs
    data = head + b"\x00" * (4096 - len(head)) + bytes(img.buf)
    return Case(f"crafted/macho-{archs}x-{count}-dylibs", "crafted", "", data, "overlaps")


def crafted() -> list[Case]:
    """Each asks for far more than its size; `expect` says how the reader must turn it down."""
    return [
        elf_many_strings(DT["NEEDED"], 90_000, b"L" * 4000, "DT_NEEDED entries"),
        elf_many_strings(DT["NEEDED"], 90_000, b"L", "DT_NEEDED entries"),
        elf_many_strings(DT["RUNPATH"], 20_000, b"ab:" * 1300, "MiB of strings"),
        elf_many_strings(DT["RUNPATH"], 260, b"ab:" * 1300, ""),  # just inside the string budget
        elf_verneed_fanout(100, 1000),
        elf_symbol_fanout(4000),
        wasm_many_modules(65_536, "more than the 10000"),
        wasm_many_modules(10_000, ""),
        pe_many_imports(90_000),
        macho_many_dylibs(4096, 32),
        elf_many_headers(99_999, 0),  # big but legal: read in time
        elf_many_headers(1, 99_999),
        go_magic_everywhere(64 * 1024 * 1024),
    ]


def elf_many_headers(sections: int, dynamic: int) -> Case:
    """`sections` section headers and a PT_DYNAMIC of `dynamic` DT_DEBUG entries, all in range."""
    case = elf_tables("x", [(21, 0)] * dynamic, b"", "")
    data = bytearray(case.data)
    shoff = len(data)
    data += b"\x00" * 64 * sections
    struct.pack_into("<QIHHHHHH", data, 40, shoff, 0, 64, 56, 2, 64, 0, 0)  # e_shoff .. e_shstrndx
    struct.pack_into("<Q", data, shoff + 32, sections)  # extended numbering: the count in section 0
    return Case(f"crafted/elf-{sections}-sections-{dynamic}-dynamic", "crafted", "", bytes(data), "")
