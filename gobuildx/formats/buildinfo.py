"""Go build info (what `go version -m` prints), read from a binary's data, never by running Go.

Layout (Go >= 1.18, `debug/buildinfo`): a 32-byte header starting with the magic
`\\xff Go buildinf:` at a 16-byte aligned offset, pointer size, flags (bit 2 =
inline strings), then two uvarint-prefixed strings: the Go version and the
module info, the latter wrapped in 16-byte sentinels. The container formats say
where to look: `.go.buildinfo` (ELF), `__go_buildinfo` (Mach-O), the first
writable data section (PE). wasm modules carry none (golang/go#73741).
"""

from __future__ import annotations

import json
import mmap
from pathlib import Path

from gobuildx.formats import Blob, FormatError, elf, macho, pe, sniff, uleb
from gobuildx.model.audit import (
    GoBuildInfo,  # a contract of dist/manifest.json (Facts.go)
)

MAGIC = b"\xff Go buildinf:"
HEADER = 32
FLAG_INLINE = 0x2
MAX_SEARCH = 64 * 1024 * 1024  # bytes of a data region scanned for the magic
MAX_MISALIGNED = 4096  # magics off the 16-byte grid skipped before giving up


def elf_region(reader: elf.ElfReader) -> tuple[int, int] | None:
    """`.go.buildinfo`, or (section headers stripped) the first writable PT_LOAD segment."""
    section = reader.section(".go.buildinfo")
    if section:
        return section.offset, section.size
    seg = next((s for s in reader.segments if s.type == elf.PT_LOAD and s.flags & 0x2), None)
    return (seg.offset, seg.filesz) if seg else None


def pe_region(info: pe.PeInfo) -> tuple[int, int] | None:
    section = info.data_section()
    return (section.offset, section.rawsize) if section else None


def macho_region(info: macho.MachoInfo) -> tuple[int, int] | None:
    section = info.section("__go_buildinfo")
    return (section.offset, section.size) if section else None


def read_file(path: Path) -> GoBuildInfo | None:
    """The build info of any binary gobuildx reads, or None when it holds none (wasm modules,
    a program not written in Go, an empty file). FormatError for a broken header or structure."""
    with open(path, "rb") as fh:
        if fh.seek(0, 2) == 0:
            return None
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            kind = sniff(bytes(data[:4]))
            region = (
                elf_region(elf.ElfReader(data))
                if kind == "elf"
                else pe_region(pe.read(data))
                if kind == "pe"
                else macho_region(macho.read(data))
                if kind == "macho"
                else None
            )
            return find(data, *region) if region else None


def find(data: object, start: int, size: int) -> GoBuildInfo | None:
    """Build info inside data[start:start+size], or None when the region holds no header."""
    blob = Blob(data)
    # A damaged header can place the region anywhere (2**63): find() on an mmap overflows there.
    if not 0 <= start < blob.size:
        raise FormatError(f"the build info region at offset {start:#x} lies outside the file ({blob.size} bytes)")
    end = min(blob.size, start + min(size, MAX_SEARCH))
    off = blob.find(MAGIC, start, end)
    skipped = 0
    while off >= 0 and (off - start) % 16:
        # A crafted region can hold the magic every 16 bytes, all misaligned: millions of finds.
        skipped += 1
        if skipped > MAX_MISALIGNED:
            raise FormatError(f"more than {MAX_MISALIGNED} misaligned Go build info magics; not a Go binary's data")
        off = blob.find(MAGIC, off + 1, end)
    if off < 0:
        return None
    return parse(blob, off)


def parse(blob: Blob, off: int) -> GoBuildInfo:
    header = blob.read(off, HEADER, "Go build info header")
    flags = header[15]
    if not flags & FLAG_INLINE:
        raise FormatError("Go build info in the pre-1.18 pointer format (Go < 1.18) is not read by gobuildx")
    version, nxt = _string(blob, off + HEADER)
    modinfo, _ = _string(blob, nxt)
    if len(modinfo) >= 33 and modinfo[-17] == "\n":
        modinfo = modinfo[16:-16]
    info = GoBuildInfo(go_version=version)
    _parse_modinfo(info, modinfo)
    return info


def _string(blob: Blob, off: int) -> tuple[str, int]:
    length, start = uleb(blob, off, "Go build info string length")
    raw = blob.read(start, length, "Go build info string")
    return raw.decode("utf-8", "replace"), start + length


def _parse_modinfo(info: GoBuildInfo, text: str) -> None:
    for line in text.splitlines():
        kind, _, rest = line.partition("\t")
        fields = rest.split("\t")
        if kind == "path":
            info.path = rest
        elif kind == "mod" and len(fields) >= 2:
            info.main = f"{fields[0]}@{fields[1]}"
        elif kind == "dep" and len(fields) >= 2:
            info.deps.append(f"{fields[0]}@{fields[1]}")
        elif kind == "=>" and len(fields) >= 1 and info.deps:
            repl = fields[0] + (f"@{fields[1]}" if len(fields) > 1 and fields[1] else "")
            info.deps[-1] = f"{info.deps[-1]} => {repl}"
        elif kind == "build":
            key, value = _setting(rest)
            info.settings[key] = value


def _setting(text: str) -> tuple[str, str]:
    """`K=V`, where Go quotes a key or value holding spaces, quotes or `=` (strconv.Quote)."""
    if text.startswith('"'):
        key, rest = _unquote_prefix(text)
        value = rest[1:] if rest.startswith("=") else rest
    else:
        key, _, value = text.partition("=")
    if value.startswith('"'):
        value, _ = _unquote_prefix(value)
    return key, value


def _unquote_prefix(text: str) -> tuple[str, str]:
    i, escaped = 1, False
    while i < len(text):
        if escaped:
            escaped = False
        elif text[i] == "\\":
            escaped = True
        elif text[i] == '"':
            break
        i += 1
    quoted, rest = text[: i + 1], text[i + 1 :]
    try:
        return str(json.loads(quoted)), rest
    except ValueError:
        return quoted.strip('"'), rest
