"""WebAssembly: import modules (`wasi_snapshot_preview1`, `gojs`), exports, the `producers` section.

Go writes no build info into wasm modules (golang/go#73741); the `producers`
custom section ("language: Go go1.x", "processed-by: Go cmd/compile ...") is
the record of what built it.
"""

from __future__ import annotations

from pydantic import BaseModel

from gobuildx.formats import MAX_ITEMS, Blob, FormatError, uleb

SEC_CUSTOM, SEC_IMPORT, SEC_EXPORT = 0, 2, 7
MAX_ENTRIES = 10_000  # imports or exports: a Go module has tens; the cap bounds what a crafted count costs


class WasmInfo(BaseModel):
    version: int
    import_modules: list[str] = []  # distinct, in first-seen order
    imports: int = 0
    exports: list[str] = []
    custom_sections: list[str] = []
    producers: dict[str, list[str]] = {}  # field -> ["name version", ...]


def read(data: object) -> WasmInfo:
    b = Blob(data, little=True)
    if b.read(0, 4, "wasm magic") != b"\x00asm":
        raise FormatError("no \\0asm magic")
    info = WasmInfo(version=b.u32(4, "wasm version"))
    off = 8
    for _ in range(MAX_ITEMS):
        if off >= b.size:
            return info
        sid = b.u8(off, "section id")
        size, body = uleb(b, off + 1, "section size")
        b.check(body, size, f"section {sid}")
        if sid == SEC_IMPORT:
            _imports(b, body, info)
        elif sid == SEC_EXPORT:
            _exports(b, body, info)
        elif sid == SEC_CUSTOM:
            _custom(b, body, body + size, info)
        off = body + size
    raise FormatError(f"more than {MAX_ITEMS} sections")


def _name(b: Blob, off: int, what: str) -> tuple[str, int]:
    n, start = uleb(b, off, what)
    return b.read(start, n, what).decode("utf-8", "replace"), start + n


def _imports(b: Blob, off: int, info: WasmInfo) -> None:
    count, off = uleb(b, off, "import count")
    if count > MAX_ENTRIES:
        raise FormatError(f"import section claims {count} imports, more than the {MAX_ENTRIES} this reader accepts")
    seen: set[str] = set()  # a list lookup per import is quadratic: 65536 modules took 13 s
    for i in range(count):
        module, off = _name(b, off, f"import {i} module")
        _field, off = _name(b, off, f"import {i} name")
        kind = b.u8(off, f"import {i} kind")
        off = _skip_desc(b, off + 1, kind, i)
        if module not in seen:
            seen.add(module)
            info.import_modules.append(module)
    info.imports = count


def _skip_desc(b: Blob, off: int, kind: int, i: int) -> int:
    if kind == 0:  # function: type index
        return uleb(b, off, "type index")[1]
    if kind == 1:  # table: reftype + limits
        return _skip_limits(b, off + 1)
    if kind == 2:  # memory: limits
        return _skip_limits(b, off)
    if kind == 3:  # global: valtype + mutability
        return off + 2
    if kind == 4:  # tag: attribute + type index
        return uleb(b, off + 1, "tag type")[1]
    raise FormatError(f"import {i} has unknown kind {kind}")


def _skip_limits(b: Blob, off: int) -> int:
    flags = b.u8(off, "limits flags")
    off = uleb(b, off + 1, "limits min")[1]
    return uleb(b, off, "limits max")[1] if flags & 1 else off


def _exports(b: Blob, off: int, info: WasmInfo) -> None:
    count, off = uleb(b, off, "export count")
    if count > MAX_ENTRIES:
        raise FormatError(f"export section claims {count} exports, more than the {MAX_ENTRIES} this reader accepts")
    for i in range(count):
        name, off = _name(b, off, f"export {i} name")
        off = uleb(b, off + 1, f"export {i} index")[1]
        info.exports.append(name)


def _custom(b: Blob, off: int, end: int, info: WasmInfo) -> None:
    name, off = _name(b, off, "custom section name")
    info.custom_sections.append(name)
    if name != "producers":
        return
    fields, off = uleb(b, off, "producers field count")
    for _ in range(min(fields, 64)):
        field, off = _name(b, off, "producers field")
        values, off = uleb(b, off, "producers value count")
        out = []
        for _ in range(min(values, 256)):
            pname, off = _name(b, off, "producer name")
            pver, off = _name(b, off, "producer version")
            out.append(f"{pname} {pver}".strip())
        if off > end:
            raise FormatError("producers section overruns its size")
        info.producers[field] = out
