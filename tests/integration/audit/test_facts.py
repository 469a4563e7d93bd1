"""Parsed facts of real binaries agree with `file`, `readelf`, `ldd` and `go version -m`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gobuildx.audit import linkage
from gobuildx.audit.linkage import Facts, glibc_key
from gobuildx.formats import FormatError, elf
from tests.conftest import go_program, need
from tests.integration.audit.conftest import run_tool

ELF_NAMES = ["pure", "pure-arm64", "cgo-glibc", "cgo-glibc-static", "zig-glibc2.17", "zig-musl", "cxx", "ls"]


def facts_of(path: Path) -> Facts:
    f = linkage.add_evidence(linkage.read_facts(path))
    assert f.error is None, f.error
    return f


def readelf_needed(path: Path) -> list[str]:
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run_tool(["readelf", "-dW", str(path)]))


def readelf_versions(path: Path) -> dict[str, set[str]]:
    """library -> versions, from `readelf -V` (the .gnu.version_r listing)."""
    out: dict[str, set[str]] = {}
    lib = None
    for line in run_tool(["readelf", "-VW", str(path)]).splitlines():
        m = re.search(r"File: (\S+)\s+Cnt:", line)
        if m:
            lib = m.group(1)
            out.setdefault(lib, set())
        m = re.search(r"Name: (\S+)\s+Flags:", line)
        if m and lib:
            out[lib].add(m.group(1))
    return out


def readelf_symbols_of(path: Path, version: str) -> set[str]:
    """Undefined dynamic symbols bound to exactly `version` (readelf --dyn-syms)."""
    names = set()
    for line in run_tool(["readelf", "--dyn-syms", "-W", str(path)]).splitlines():
        m = re.search(r"\sUND\s+(\S+?)@" + re.escape(version) + r"(\s|$|\s\()", line + " ")
        if m:
            names.add(m.group(1))
    return names


@pytest.mark.parametrize("name", ELF_NAMES)
def test_elf_facts_agree_with_readelf_and_file(bins: dict[str, Path], name: str) -> None:
    path = bins[name]
    f = facts_of(path)
    line = f.file or ""
    assert f.format == "elf" and line.startswith("ELF")
    assert f"{f.bits}-bit" in line
    assert ("statically linked" in line or "static-pie" in line) == bool(f.static), line
    assert (f"interpreter {f.interpreter}" in line) if f.interpreter else "interpreter" not in line
    assert ("not stripped" in line) == (not f.stripped), line
    assert f.needed == readelf_needed(path)
    parsed = {lib: set(vs) for lib, vs in f.versions.items()}
    assert parsed == readelf_versions(path)
    machine = {"x86-64": "x86-64", "AArch64": "aarch64"}[f.machine or ""]
    assert machine in line


@pytest.mark.parametrize("name", ["cgo-glibc", "zig-musl", "pure-arm64", "ls"])
def test_read_file_gives_the_loader_view_readelf_gives(bins: dict[str, Path], name: str) -> None:
    """elf.read_file (what the image closure and the smoke runners use) against `readelf -lW`/`-dW`."""
    info = elf.read_file(bins[name])
    program_headers = run_tool(["readelf", "-lW", str(bins[name])])
    m = re.search(r"\[Requesting program interpreter: ([^\]]+)\]", program_headers)
    assert info.interpreter == (m.group(1) if m else None)
    assert info.needed == readelf_needed(bins[name])


def test_read_file_refuses_what_is_not_elf(bins: dict[str, Path], tmp_path: Path) -> None:
    for path in (bins["windows.exe"], bins["wasip1.wasm"]):
        with pytest.raises(FormatError, match="not an ELF file"):
            elf.read_file(path)
    cut = tmp_path / "cut"
    cut.write_bytes(bins["pure"].read_bytes()[:40])  # the ELF magic, then the header breaks off
    with pytest.raises(FormatError):
        elf.read_file(cut)


@pytest.mark.parametrize("name", ["cgo-glibc", "zig-glibc2.17", "cxx", "ls"])
def test_dynamic_facts_agree_with_ldd(bins: dict[str, Path], name: str) -> None:
    f = facts_of(bins[name])
    assert f.ldd and not f.ldd.startswith("not applicable")
    for lib in f.needed:
        assert lib in f.ldd, (lib, f.ldd)
    assert f.interpreter and f.interpreter in f.ldd


@pytest.mark.parametrize("name", ["pure", "zig-musl", "cgo-glibc-static"])
def test_static_facts_agree_with_ldd(bins: dict[str, Path], name: str) -> None:
    f = facts_of(bins[name])
    assert f.static and f.interpreter is None and f.needed == []
    assert f.ldd and ("not a dynamic executable" in f.ldd or "statically linked" in f.ldd)


def test_ldd_is_marked_not_applicable_for_foreign_files(bins: dict[str, Path]) -> None:
    for name in ("pure-arm64", "windows.exe", "darwin", "wasip1.wasm"):
        f = facts_of(bins[name])
        assert f.ldd and f.ldd.startswith("not applicable"), (name, f.ldd)
        assert f.file and not f.file.startswith("not applicable")


@pytest.mark.parametrize("name", ["ls", "cgo-glibc", "zig-glibc2.17", "cxx"])
def test_symbols_forcing_the_floor_match_readelf(bins: dict[str, Path], name: str) -> None:
    path = bins[name]
    f = facts_of(path)
    assert f.max_glibc
    versions = readelf_versions(path)
    every = [v for vs in versions.values() for v in vs if glibc_key(v)]
    assert f"GLIBC_{f.max_glibc}" == max(every, key=lambda v: glibc_key(v) or ())
    assert set(f.max_glibc_symbols) == readelf_symbols_of(path, f"GLIBC_{f.max_glibc}")
    assert f.max_glibc_symbol_count == len(f.max_glibc_symbols) > 0


def test_glibc_versions_compare_numerically() -> None:
    assert glibc_key("GLIBC_2.7") < glibc_key("GLIBC_2.34")  # type: ignore[operator]
    assert glibc_key("GLIBC_2.2.5") < glibc_key("GLIBC_2.3") < glibc_key("GLIBC_2.3.4")  # type: ignore[operator]
    assert glibc_key("GLIBC_ABI_DT_RELR") == (2, 36)
    assert glibc_key("GLIBC_PRIVATE") is None and glibc_key("GLIBCXX_3.4.29") is None


def test_zig_217_floor_and_host_gcc_floor(bins: dict[str, Path]) -> None:
    old = facts_of(bins["zig-glibc2.17"])
    host = facts_of(bins["cgo-glibc"])
    assert old.libc == host.libc == "glibc"
    assert glibc_key("GLIBC_" + (old.max_glibc or "")) <= (2, 17)  # type: ignore[operator]
    assert glibc_key("GLIBC_" + (host.max_glibc or "")) > (2, 17)  # type: ignore[operator]


def test_static_glibc_and_its_nss_are_detected(bins: dict[str, Path]) -> None:
    glibc_static = facts_of(bins["cgo-glibc-static"])
    assert glibc_static.static and glibc_static.static_glibc and glibc_static.nss
    assert glibc_static.libc == "glibc"
    for name in ("zig-musl", "pure"):
        f = facts_of(bins[name])
        assert f.static and not f.static_glibc and not f.nss, name
    assert facts_of(bins["pure"]).libc == "none"


def test_cxx_needs_are_reported_separately(bins: dict[str, Path]) -> None:
    f = facts_of(bins["cxx"])
    assert any("libstdc++.so.6: GLIBCXX_" in v for v in f.cxx_versions)
    assert not any("GLIBCXX" in v for v in f.glibc_versions)
    assert "libstdc++.so.6" in f.needed


def test_go_build_info_matches_go_version_m(bins: dict[str, Path]) -> None:
    for name in ("pure", "cgo-glibc", "zig-musl", "windows.exe", "darwin"):
        f = facts_of(bins[name])
        assert f.go is not None, name
        listing = run_tool([go_program(), "version", "-m", str(bins[name])])
        assert listing.split(":", 1)[1].split()[0] == f.go.go_version
        for key, value in f.go.settings.items():
            if " " not in value and '"' not in value:
                assert f"build\t{key}={value}" in listing, (name, key)
        assert f"path\t{f.go.path}" in listing


def test_pe_macho_wasm_facts(bins: dict[str, Path]) -> None:
    win = facts_of(bins["windows.exe"])
    assert win.format == "pe" and win.dlls == ["kernel32.dll"] and win.file and "PE32+" in win.file
    assert win.go and win.go.settings["GOOS"] == "windows" and win.go.cgo_enabled is False
    mac = facts_of(bins["darwin"])
    assert mac.format == "macho" and "/usr/lib/libSystem.B.dylib" in mac.dylibs and mac.min_os
    assert mac.file and "Mach-O 64-bit arm64" in mac.file
    wasi = facts_of(bins["wasip1.wasm"])
    js = facts_of(bins["js.wasm"])
    assert wasi.wasm_imports == ["wasi_snapshot_preview1"] and js.wasm_imports == ["gojs"]
    assert wasi.go is None and any(p.startswith("language: Go go1.") for p in wasi.producers)
    assert wasi.file and "WebAssembly" in wasi.file


def test_dt_relr_abi_tag_means_glibc_236(tmp_path: Path) -> None:
    """`ld -z pack-relative-relocs` adds a GLIBC_ABI_DT_RELR need: the floor becomes glibc 2.36."""
    import subprocess

    src = tmp_path / "relr.c"
    src.write_text('#include <stdio.h>\nstatic const char *t[] = {"a", "b"};\nint main(void) { puts(t[0]); }\n')
    exe = tmp_path / "relr"
    proc = subprocess.run(
        ["gcc", "-O1", "-fPIE", "-pie", "-Wl,-z,pack-relative-relocs", "-o", str(exe), str(src)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    need(proc.returncode == 0, f"this linker cannot pack relative relocations: {proc.stderr.strip()[:200]}")
    assert "GLIBC_ABI_DT_RELR" in readelf_versions(exe)["libc.so.6"]
    f = facts_of(exe)
    assert f.max_glibc == "2.36"
    assert f.max_glibc_symbols == ["GLIBC_ABI_DT_RELR (ABI tag, no symbol)"]
    assert f.glibc_versions[-1] == "GLIBC_ABI_DT_RELR"


def test_glibc_private_symbols_match_readelf() -> None:
    """glibc's own libraries bind to GLIBC_PRIVATE: reported separately, symbol by symbol."""
    lib = next(
        (
            p
            for p in (Path("/lib/x86_64-linux-gnu/libresolv.so.2"), Path("/lib/aarch64-linux-gnu/libresolv.so.2"))
            if p.exists()
        ),
        None,
    )
    need(lib, "no libresolv.so.2 at the Debian multiarch path")
    assert lib is not None
    f = facts_of(lib)
    assert f.glibc_private and set(f.glibc_private) == readelf_symbols_of(lib, "GLIBC_PRIVATE")
    assert "GLIBC_PRIVATE" not in f.glibc_versions
    from gobuildx.audit.stage import Declaration, judge

    r = judge(Declaration(id="libresolv", goos="linux", libc="glibc"), [f])
    assert any(x.code == "glibc-private" and x.level == "fail" for x in r.findings)
