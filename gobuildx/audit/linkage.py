"""The linkage facts of one artifact, read by parsing the file (never by running it).

`read_facts(path)` sniffs the format, runs the one reader for it
(`gobuildx.formats.*`), reads the Go build info, and condenses everything into a
flat `Facts` model: the C library it binds to, the GLIBC floor and the symbols
that raise it, C++/libgcc needs, DLLs, dylibs, wasm imports. `add_evidence`
attaches what the classic tools say (`file`, and `ldd` for host-CPU ELF only; `ldd` runs the
host loader on the file, so a file gobuildx did not build gets it only inside the sandbox of
`gobuildx.util.sandbox`, or not at all).
"""

from __future__ import annotations

import mmap
import os
import platform
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gobuildx.formats import FormatError, buildinfo, elf, macho, pe, sniff, wasm
from gobuildx.model.audit import Facts, FoundLibc
from gobuildx.project import platforms
from gobuildx.util import sandbox

EVIDENCE_TIMEOUT_S = 30.0
# ldd on a file gobuildx did not build: only in the sandbox ("required"), never without it.
LDD_SPEC = sandbox.Spec(
    limits=sandbox.Limits(memory_mib=256, processes=32, file_size_mib=16), mode="required", label="ldd"
)
GLIBC_ABI_TAGS = {"GLIBC_ABI_DT_RELR": "2.36"}  # version tags that name a feature, not a release
CXX_PREFIXES = ("GLIBCXX_", "CXXABI_")
GCC_PREFIX = "GCC_"
STATIC_GLIBC_MARK = b"GLIBC_TUNABLES"  # read by every statically linked glibc's startup
NSS_MARK = b"libnss_"  # glibc's NSS loader dlopens libnss_<service>.so
MUSL_INTERP = re.compile(r"ld-musl-[^/]*\.so")
GLIBC_INTERP = re.compile(r"ld-linux[^/]*\.so|ld64\.so|ld\.so\.1$")
# Go's CPUs of the Mach-O and PE worlds: a machine outside them reads as no GOARCH.
DARWIN_WINDOWS_GOARCHES = ("amd64", "arm64", "386", "arm")


def read_facts(path: Path) -> Facts:
    """Facts of one path; a path that cannot be read gives Facts with `error` set."""
    facts = Facts(path=str(path))
    try:
        if path.is_dir():
            raise FormatError("is a directory")
        if path.exists() and not path.is_file():
            raise FormatError("not a regular file (device, FIFO or socket)")
        facts.size = path.stat().st_size
        if facts.size == 0:
            raise FormatError("empty file (0 bytes)")
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            _read_into(facts, data)
    except FileNotFoundError:
        facts.error = "no such file"
    except PermissionError:
        facts.error = "permission denied"
    except FormatError as exc:
        facts.error = str(exc) if facts.format is None else f"corrupt {facts.format.upper()}: {exc}"
    except (struct.error, ValueError, IndexError, OverflowError, OSError) as exc:
        facts.error = f"unreadable {facts.format or 'file'}: {exc.__class__.__name__}: {exc}"
    return facts


def _read_into(facts: Facts, data: mmap.mmap) -> None:
    head = data[:64]
    kind = sniff(head)
    if kind is None:
        raise FormatError(_not_binary(head))
    facts.format = kind
    if kind == "elf":
        _elf(facts, data)
    elif kind == "pe":
        _pe(facts, data)
    elif kind == "macho":
        _macho(facts, data)
    else:
        _wasm(facts, data)


def _not_binary(head: bytes) -> str:
    if head.startswith(b"#!"):
        first = head.split(b"\n", 1)[0].decode("utf-8", "replace")
        return f"not a binary: a script ({first})"
    return "not a binary gobuildx reads (ELF, PE, Mach-O or wasm)"


# --- ELF -----------------------------------------------------------------------
def _elf(facts: Facts, data: mmap.mmap) -> None:
    reader = elf.ElfReader(data)
    info = reader.info
    facts.os_abi, facts.machine, facts.bits, facts.endian = info.osabi, info.machine, info.bits, info.endian
    facts.goarch = elf_goarch(info.machine, info.bits, info.endian)
    facts.stripped, facts.debug_info, facts.elf_type = info.stripped, info.debug_info, info.elf_type
    facts.interpreter, facts.needed, facts.pie = info.interpreter, info.needed, info.pie
    facts.rpath, facts.runpath = info.rpath, info.runpath
    facts.static = info.interpreter is None and not info.needed
    _versions(facts, reader)
    _go(facts, data, buildinfo.elf_region(reader))
    if facts.static:
        start, end = _rodata(reader, len(data))
        facts.static_glibc = data.find(STATIC_GLIBC_MARK, start, end) >= 0
        facts.nss = facts.static_glibc and data.find(NSS_MARK, start, end) >= 0
    facts.libc = _libc(facts)


def _rodata(reader: elf.ElfReader, size: int) -> tuple[int, int]:
    """Where glibc's strings live: .rodata when the section headers say so, else the whole file."""
    sec = reader.section(".rodata")
    if sec is None or sec.offset >= size:
        return 0, size
    return sec.offset, min(size, sec.offset + sec.size)


def elf_goarch(machine: str, bits: int, endian: str) -> str | None:
    return platforms.goarch_of_machine(machine, bits, little_endian=endian == "little")


def _dw_goarch(machine: str | None, bits: int | None) -> str | None:
    goarch = platforms.goarch_of_machine(machine, bits)
    return goarch if goarch in DARWIN_WINDOWS_GOARCHES else None


def host_machine() -> tuple[str | None, int] | None:
    """This host's CPU as the binary readers name it, with its bits."""
    goarch = platforms.goarch_of_uname(platform.machine())
    arch = platforms.ARCHES[goarch] if goarch else None
    return (arch.machine, arch.bits) if arch else None


def glibc_key(version: str) -> tuple[int, ...] | None:
    """GLIBC_2.2.5 -> (2, 2, 5); GLIBC_ABI_DT_RELR -> (2, 36); anything else -> None."""
    if version in GLIBC_ABI_TAGS:
        version = "GLIBC_" + GLIBC_ABI_TAGS[version]
    m = re.fullmatch(r"GLIBC_(\d+(?:\.\d+)*)", version)
    return tuple(int(p) for p in m.group(1).split(".")) if m else None


def _versions(facts: Facts, reader: elf.ElfReader) -> None:
    needs = reader.info.version_needs
    for n in needs:
        facts.versions.setdefault(n.library, [])
        if n.version not in facts.versions[n.library]:
            facts.versions[n.library].append(n.version)
    glibc = {n.version: glibc_key(n.version) for n in needs if glibc_key(n.version)}
    facts.glibc_versions = sorted(glibc, key=lambda v: glibc[v] or ())
    for n in needs:
        label = f"{n.library}: {n.version}"
        if n.version in glibc or n.version == "GLIBC_PRIVATE":
            continue
        if n.version.startswith(CXX_PREFIXES):
            facts.cxx_versions.append(label)
        elif n.version.startswith(GCC_PREFIX):
            facts.gcc_versions.append(label)
        else:
            facts.other_versions.append(label)
    if not glibc:
        return
    top = max(glibc.values(), key=lambda k: k or ())
    facts.max_glibc = ".".join(str(p) for p in top or ())
    top_indices = {n.index for n in needs if glibc.get(n.version) == top}
    private = {n.index for n in needs if n.version == "GLIBC_PRIVATE"}
    found = reader.symbols_for(top_indices | private)
    facts.max_glibc_symbol_count = sum(found.get(i, (0, []))[0] for i in top_indices)
    facts.max_glibc_symbols = sorted({s for i in top_indices for s in found.get(i, (0, []))[1]})
    tags = sorted({n.version for n in needs if n.version in GLIBC_ABI_TAGS and glibc[n.version] == top})
    facts.max_glibc_symbols += [f"{t} (ABI tag, no symbol)" for t in tags]
    facts.glibc_private = sorted({s for i in private for s in found.get(i, (0, []))[1]})


def _libc(facts: Facts) -> FoundLibc:
    interp = facts.interpreter or ""
    if MUSL_INTERP.search(interp) or any(n.startswith("libc.musl-") for n in facts.needed):
        return "musl"
    if GLIBC_INTERP.search(interp) or "libc.so.6" in facts.needed or facts.glibc_versions or facts.static_glibc:
        return "glibc"
    if facts.static:
        cgo = facts.go.cgo_enabled if facts.go else None
        return "none" if cgo is False else "unknown"
    return "system"


# --- PE, Mach-O, wasm --------------------------------------------------------------
def _pe(facts: Facts, data: mmap.mmap) -> None:
    info = pe.read(data)
    facts.os_abi, facts.machine, facts.bits, facts.endian = "windows", info.machine, info.bits, "little"
    facts.goarch = _dw_goarch(info.machine, info.bits)
    facts.stripped, facts.subsystem = info.stripped, info.subsystem
    facts.dlls, facts.delay_dlls = info.imports, info.delay_imports
    _go(facts, data, buildinfo.pe_region(info))


def _macho(facts: Facts, data: mmap.mmap) -> None:
    info = macho.read(data)
    facts.os_abi = info.platform or "darwin"
    facts.machine, facts.bits, facts.endian = info.machine, info.bits, info.endian
    facts.goarch = _dw_goarch(info.machine, info.bits)
    if info.slices:  # universal: one goarch per slice, and the dylibs of all of them
        facts.machine = "universal (" + ", ".join(info.universal_archs) + ")"
        facts.goarch = None
        facts.universal_goarchs = [_dw_goarch(s.machine, s.bits) or s.machine for s in info.slices]
    facts.stripped, facts.pie = info.stripped, info.pie
    slices = info.slices or [info]
    facts.dylibs = list(dict.fromkeys(d for s in slices for d in s.dylibs + s.weak_dylibs))
    facts.dylinker, facts.min_os, facts.rpath = info.dylinker, info.min_os, info.rpaths
    facts.static = not facts.dylibs and info.dylinker is None
    _go(facts, data, buildinfo.macho_region(info))


def _wasm(facts: Facts, data: mmap.mmap) -> None:
    info = wasm.read(data)
    facts.machine, facts.goarch, facts.bits, facts.endian = "wasm", "wasm", 32, "little"
    facts.wasm_imports, facts.wasm_exports = info.import_modules, info.exports
    facts.producers = [f"{field}: {v}" for field, values in info.producers.items() for v in values]
    facts.os_abi = (
        "wasip1"
        if "wasi_snapshot_preview1" in info.import_modules
        else "js"
        if "gojs" in info.import_modules
        else "wasm"
    )
    facts.go_note = "wasm modules carry no Go build info (golang/go#73741); see `producers`"


def _go(facts: Facts, data: mmap.mmap, region: tuple[int, int] | None) -> None:
    if region is None:
        facts.go_note = "no data section to hold Go build info"
        return
    try:
        facts.go = buildinfo.find(data, *region)
    except FormatError as exc:
        facts.go_note = str(exc)
        return
    if facts.go is None:
        facts.go_note = "no Go build info (not a Go binary)"


# --- evidence ----------------------------------------------------------------------
def tool_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}


def file_line(path: Path) -> str:
    exe = shutil.which("file", path=tool_env()["PATH"])
    if exe is None:
        return "not available: the `file` program is not installed"
    proc = subprocess.run(
        [exe, "-bL", str(path)], env=tool_env(), capture_output=True, text=True, timeout=EVIDENCE_TIMEOUT_S, check=False
    )
    return (proc.stdout or proc.stderr).strip()


def ldd_applicable(facts: Facts) -> str | None:
    """None when ldd can describe this file on this host, else why not."""
    host = host_machine()
    if facts.format != "elf" or facts.error:
        return f"not applicable: ldd reads only ELF files (this is {facts.format or 'not a binary'})"
    if facts.os_abi not in ("SYSV", "GNU/Linux") or (facts.go and facts.go.settings.get("GOOS", "linux") != "linux"):
        return "not applicable: not a Linux ELF"
    if host is None or (facts.machine, facts.bits) != host:
        return f"not applicable: {facts.machine} {facts.bits}-bit is not the host CPU ({platform.machine()})"
    return None


def ldd_output(path: Path, built: bool = False) -> str:
    """ldd's answer. `built`: gobuildx built this file in this dist; anything else runs in the sandbox."""
    exe = shutil.which("ldd", path=tool_env()["PATH"])
    if exe is None:
        return "not available: the `ldd` program is not installed"
    if not built:
        return contained_ldd(exe, path)
    proc = subprocess.run(
        [exe, str(path)], env=tool_env(), capture_output=True, text=True, timeout=EVIDENCE_TIMEOUT_S, check=False
    )
    return ((proc.stdout or "") + (proc.stderr or "")).strip()


def contained_ldd(exe: str, path: Path) -> str:
    """ldd in the sandbox (no network, read-only file system, limits), or why it was not run."""
    with tempfile.TemporaryDirectory(prefix="gobuildx-ldd-") as scratch:
        try:
            box = sandbox.contain([exe, str(path)], tool_env(), Path(scratch), LDD_SPEC, dict(os.environ))
        except sandbox.Uncontained as exc:
            return (
                "not run: gobuildx did not build this file, ldd would run the host loader on it, "
                f"and this host cannot sandbox it: {exc}"
            )
        try:
            proc = subprocess.run(
                box.argv,
                env=box.env,
                cwd=scratch,
                capture_output=True,
                text=True,
                timeout=EVIDENCE_TIMEOUT_S,
                check=False,
                preexec_fn=box.preexec,
                pass_fds=box.pass_fds,
            )
            limit = box.exceeded(proc.returncode, proc.stdout + proc.stderr)
        finally:
            box.close()
    text = ((proc.stdout or "") + (proc.stderr or "")).strip()
    return f"{text}\n(ldd stopped: {limit})" if limit else text


def add_evidence(facts: Facts, built: bool = False) -> Facts:
    """The `file` line always; `ldd` only for a Linux ELF of the host's CPU (it runs the host loader),
    and in the sandbox unless gobuildx built the file."""
    path = Path(facts.path)
    if not path.is_file():
        facts.file, facts.ldd = "not applicable: not a file", "not applicable: not a file"
        return facts
    try:
        facts.file = file_line(path)
        why_not = ldd_applicable(facts)
        facts.ldd = why_not if why_not else ldd_output(path, built)
    except subprocess.TimeoutExpired as exc:
        facts.file = facts.file or f"timed out after {exc.timeout:.0f}s"
        facts.ldd = facts.ldd or f"timed out after {exc.timeout:.0f}s"
    return facts


def read_many(paths: Sequence[Path], evidence: bool = True, jobs: int = 0, built: bool = False) -> list[Facts]:
    """Facts of every path, in order; evidence tools run in parallel threads. `built`: gobuildx
    built every path in this dist (then ldd runs directly; else only in the sandbox)."""
    workers = jobs or min(8, (os.cpu_count() or 2) * 2)

    def one(p: Path) -> Facts:
        facts = read_facts(p)
        return add_evidence(facts, built) if evidence else facts

    if len(paths) <= 1:
        return [one(p) for p in paths]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, paths))


def unique(paths: Iterable[Path]) -> list[Path]:
    seen: dict[str, Path] = {}
    for p in paths:
        seen.setdefault(str(p), p)
    return list(seen.values())
