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

from pydantic import BaseModel

from gobuildx.formats import Blob, FormatError, uleb

MAGIC = b"\xff Go buildinf:"
HEADER = 32
FLAG_INLINE = 0x2
MAX_SEARCH = 64 * 1024 * 1024   # bytes of a data region scanned for the magic
MAX_MISALIGNED = 4096           # magics off the 16-byte grid skipped before giving up


class GoBuildInfo(BaseModel):
    """The embedded build info; `settings` keeps every `build K=V` line verbatim."""

    go_version: str
    path: str | None = None
    main: str | None = None                 # "module@version"
    deps: list[str] = []                    # "module@version", or "... => replacement@version"
    settings: dict[str, str] = {}

    @property
    def cgo_enabled(self) -> bool | None:
        value = self.settings.get("CGO_ENABLED")
        return None if value is None else value == "1"


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
    quoted, rest = text[: i + 1], text[i + 1:]
    try:
        return str(json.loads(quoted)), rest
    except ValueError:
        return quoted.strip('"'), rest
