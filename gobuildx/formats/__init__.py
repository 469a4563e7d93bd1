"""Readers for the binary formats gobuildx audits: one module per format.

Every reader works on a `Blob` (bytes or a read-only mmap) and never executes
the file. Every offset and count is checked against the file size and against
fixed caps, so a truncated or crafted file ends in a `FormatError`, never in a
hang or an unbounded allocation.
"""

from __future__ import annotations

import struct
from typing import Any

from gobuildx.model.audit import (
    Kind,  # the formats gobuildx reads, as Facts.format records them
)

MAX_CSTR = 4096  # longest NUL-terminated string we read (paths, sonames, symbol names)
MAX_ITEMS = 100_000  # cap on any table walk (dynamic entries, imports, load commands)


class FormatError(Exception):
    """The file claims a format but its structure is broken (truncated, corrupt, crafted)."""


def sniff(head: bytes) -> Kind | None:
    """The format from the first bytes of a file, or None for anything else."""
    if head[:4] == b"\x7fELF":
        return "elf"
    if head[:2] == b"MZ":
        return "pe"
    if head[:4] in (
        b"\xcf\xfa\xed\xfe",
        b"\xce\xfa\xed\xfe",
        b"\xfe\xed\xfa\xcf",
        b"\xfe\xed\xfa\xce",
        b"\xca\xfe\xba\xbe",
        b"\xca\xfe\xba\xbf",
    ):
        return "macho"
    if head[:4] == b"\x00asm":
        return "wasm"
    return None


class Blob:
    """Bounds-checked, endian-aware reads from a bytes-like object."""

    def __init__(self, data: bytes | memoryview | object, little: bool = True) -> None:
        self.data = data
        self.size = len(data)  # type: ignore[arg-type]  # bytes or mmap
        self.little = little

    def check(self, off: int, n: int, what: str) -> None:
        if off < 0 or n < 0 or off + n > self.size:
            raise FormatError(f"{what} at offset {off:#x} (+{n}) lies outside the file ({self.size} bytes)")

    def read(self, off: int, n: int, what: str = "data") -> bytes:
        self.check(off, n, what)
        return bytes(self.data[off : off + n])  # type: ignore[index]  # bytes or mmap

    def unpack(self, fmt: str, off: int, what: str = "header") -> tuple[Any, ...]:  # ints, and bytes for 's'
        full = ("<" if self.little else ">") + fmt
        size = struct.calcsize(full)
        self.check(off, size, what)
        return struct.unpack_from(full, self.data, off)  # type: ignore[arg-type]  # bytes or mmap

    def u8(self, off: int, what: str = "byte") -> int:
        self.check(off, 1, what)
        return int(self.data[off])  # type: ignore[index]  # bytes or mmap

    def u16(self, off: int, what: str = "u16") -> int:
        return int(self.unpack("H", off, what)[0])

    def u32(self, off: int, what: str = "u32") -> int:
        return int(self.unpack("I", off, what)[0])

    def u64(self, off: int, what: str = "u64") -> int:
        return int(self.unpack("Q", off, what)[0])

    def cstr(self, off: int, what: str = "string", limit: int = MAX_CSTR) -> str:
        """A NUL-terminated string starting at off (at most `limit` bytes)."""
        self.check(off, 1, what)
        end = self.data.find(b"\x00", off, min(self.size, off + limit))  # type: ignore[union-attr]  # bytes or mmap
        if end < 0:
            raise FormatError(f"{what} at offset {off:#x} is not NUL-terminated within {limit} bytes")
        return bytes(self.data[off:end]).decode("utf-8", "replace")  # type: ignore[index]  # bytes or mmap

    def find(self, needle: bytes, start: int = 0, end: int | None = None) -> int:
        return self.data.find(needle, start, self.size if end is None else end)  # type: ignore[union-attr]  # bytes or mmap


def uleb(blob: Blob, off: int, what: str = "LEB128") -> tuple[int, int]:
    """An unsigned LEB128 (at most 10 bytes) -> (value, next offset)."""
    value, shift = 0, 0
    for i in range(10):
        byte = blob.u8(off + i, what)
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, off + i + 1
        shift += 7
    raise FormatError(f"{what} at offset {off:#x} is longer than 10 bytes")
