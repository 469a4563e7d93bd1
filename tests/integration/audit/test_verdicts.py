"""Verdicts of real binaries against right and deliberately wrong declarations."""

from __future__ import annotations

from pathlib import Path

from gobuildx.audit import linkage
from gobuildx.audit.stage import Declaration, judge, runs_on
from gobuildx.model.audit import ANY_LINUX, AuditResult
from gobuildx.project.config import AuditPolicy


def verdict(path: Path, **declared: object) -> AuditResult:
    d = Declaration(id=path.name, **declared)  # type: ignore[arg-type]
    return judge(d, [linkage.read_facts(path)])


def codes(r: AuditResult, level: str = "fail") -> set[str]:
    return {f.code for f in r.findings if f.level == level}


def test_right_declarations_pass(bins: dict[str, Path]) -> None:
    linux = {"goos": "linux", "goarch": "amd64"}
    assert verdict(bins["pure"], **linux, cgo=False, libc="static").verdict == "pass"
    assert verdict(bins["zig-glibc2.17"], **linux, cgo=True, libc="glibc", min_glibc="2.17").verdict == "pass"
    assert verdict(bins["zig-musl"], **linux, cgo=True, libc="musl", link="static").verdict == "pass"
    assert verdict(bins["zig-musl"], **linux, cgo=True, libc="static").verdict == "pass"
    assert verdict(bins["windows.exe"], goos="windows", goarch="amd64", cgo=False, libc="system").verdict == "pass"
    assert verdict(bins["wasip1.wasm"], goos="wasip1", goarch="wasm", cgo=False, libc="wasm").verdict == "pass"
    assert verdict(bins["js.wasm"], goos="js", goarch="wasm", cgo=False, libc="wasm").verdict == "pass"


def test_darwin_is_dynamic_by_design_not_a_defect(bins: dict[str, Path]) -> None:
    r = verdict(bins["darwin"], goos="darwin", goarch="arm64", cgo=False, libc="system")
    assert r.verdict == "pass" and "dynamic-by-design" in codes(r, "note")
    assert r.runs_on and r.runs_on[0].startswith("macOS >= ")


def test_openbsd_is_dynamic_by_design_even_with_cgo_off(bins: dict[str, Path]) -> None:
    f = linkage.read_facts(bins["openbsd"])
    assert f.format == "elf" and not f.static and f.go and f.go.cgo_enabled is False
    declared = verdict(bins["openbsd"], goos="openbsd", goarch="amd64", cgo=False, libc="system")
    undeclared = verdict(bins["openbsd"])
    for r in (declared, undeclared):
        assert r.verdict == "pass" and "dynamic-by-design" in codes(r, "note"), r.findings
        assert r.runs_on == ["openbsd"]


def test_static_declared_on_cgo_glibc_fails_naming_the_interpreter(bins: dict[str, Path]) -> None:
    r = verdict(bins["cgo-glibc"], goos="linux", goarch="amd64", cgo=True, libc="static")
    assert r.verdict == "fail"
    assert {"static-has-interpreter", "static-has-needed"} <= codes(r)
    assert any("/lib64/ld-linux-x86-64.so.2" in p for p in r.problems)
    assert any("libc.so.6" in p for p in r.problems)


def test_glibc_floor_breach_names_the_symbols(bins: dict[str, Path]) -> None:
    f = linkage.read_facts(bins["cgo-glibc"])
    r = verdict(bins["cgo-glibc"], goos="linux", goarch="amd64", cgo=True, libc="glibc", min_glibc="2.17")
    assert codes(r) == {"glibc-above-floor"}
    message = r.problems[0]
    assert f"GLIBC_{f.max_glibc}" in message and "min_glibc = 2.17" in message
    assert f.max_glibc_symbols[0] in message
    assert r.floor_symbols == f.max_glibc_symbols


def test_project_wide_max_glibc_applies_without_min_glibc(bins: dict[str, Path]) -> None:
    r = verdict(
        bins["cgo-glibc"], goos="linux", goarch="amd64", cgo=True, libc="glibc", policy=AuditPolicy(max_glibc="2.28")
    )
    assert codes(r) == {"glibc-above-floor"} and "[audit] max_glibc = 2.28" in r.problems[0]


def test_musl_declared_on_glibc_fails(bins: dict[str, Path]) -> None:
    r = verdict(bins["cgo-glibc"], goos="linux", goarch="amd64", cgo=True, libc="musl", link="static")
    assert "musl-needs-glibc" in codes(r)


def test_static_glibc_is_flagged_with_nss(bins: dict[str, Path]) -> None:
    r = verdict(bins["cgo-glibc-static"], goos="linux", goarch="amd64", cgo=True, libc="static")
    assert codes(r) == {"static-glibc"}
    assert "libnss_" in r.problems[0] and "getaddrinfo" in r.problems[0]
    undeclared = verdict(bins["cgo-glibc-static"])
    assert undeclared.verdict == "warn" and "static-glibc" in codes(undeclared, "warn")


def test_cgo_declaration_is_checked_against_build_info(bins: dict[str, Path]) -> None:
    r = verdict(bins["zig-musl"], goos="linux", goarch="amd64", cgo=False, libc="static")
    assert codes(r) == {"cgo-enabled"}
    r = verdict(bins["pure"], goos="linux", goarch="amd64", cgo=True, libc="static")
    assert codes(r) == {"cgo-disabled"}


def test_wrong_platform_is_caught(bins: dict[str, Path]) -> None:
    r = verdict(bins["pure-arm64"], goos="linux", goarch="amd64", cgo=False, libc="static")
    assert {"wrong-arch", "wrong-platform"} <= codes(r)
    r = verdict(bins["windows.exe"], goos="linux", goarch="amd64", cgo=False, libc="static")
    assert "wrong-format" in codes(r)
    r = verdict(bins["js.wasm"], goos="wasip1", goarch="wasm", cgo=False, libc="wasm")
    assert codes(r) == {"wasm-imports"}


def test_cxx_needs_warn_unless_allowed(bins: dict[str, Path]) -> None:
    r = verdict(bins["cxx"], goos="linux", libc="glibc")
    assert r.verdict == "warn" and "cxx-runtime" in codes(r, "warn") and r.cxx
    ok = verdict(bins["cxx"], goos="linux", libc="glibc", policy=AuditPolicy(allow_cxx=True))
    assert "cxx-runtime" in codes(ok, "note")
    assert codes(ok, "warn") == {"no-go-buildinfo"}  # a C++ program has no Go build info


def test_runs_on(bins: dict[str, Path]) -> None:
    facts = {
        n: linkage.read_facts(bins[n])
        for n in ("pure", "zig-musl", "zig-glibc2.17", "cgo-glibc", "windows.exe", "wasip1.wasm", "pure-arm64")
    }
    assert runs_on(facts["pure"]) == ANY_LINUX == runs_on(facts["zig-musl"]) == runs_on(facts["pure-arm64"])
    assert runs_on(facts["zig-glibc2.17"]) == ["glibc-2.17", "glibc-2.28", "glibc-2.31", "glibc-2.36"]
    host = runs_on(facts["cgo-glibc"])
    assert "alpine" not in host and "scratch" not in host and "glibc-2.36" in host and "glibc-2.17" not in host
    assert runs_on(facts["windows.exe"]) == ["Windows (x86-64)"]
    assert runs_on(facts["wasip1.wasm"])[0].startswith("WASI")


def test_required_base_fails_when_missing(bins: dict[str, Path]) -> None:
    r = verdict(
        bins["zig-glibc2.17"],
        goos="linux",
        goarch="amd64",
        cgo=True,
        libc="glibc",
        min_glibc="2.17",
        policy=AuditPolicy(require=["scratch", "glibc-2.17"]),
    )
    assert (
        codes(r) == {"required-base"}
        and "scratch" in r.problems[0]
        and "glibc-2.17" not in r.problems[0].split("require lists")[1].split(",")[0]
    )
    ok = verdict(
        bins["pure"],
        goos="linux",
        goarch="amd64",
        cgo=False,
        libc="static",
        policy=AuditPolicy(require=["scratch", "alpine"]),
    )
    assert ok.verdict == "pass"


def test_warn_only_policy_reports_but_does_not_gate(bins: dict[str, Path]) -> None:
    from gobuildx.audit.stage import report_of

    r = verdict(bins["cgo-glibc"], goos="linux", goarch="amd64", cgo=True, libc="static")
    assert r.verdict == "fail"
    assert report_of([r], {r.id: False}, warn_only=False).verdict == "warn"
    assert report_of([r], {r.id: True}, warn_only=False).verdict == "fail"


def _fat_binary(tmp_path: Path) -> Path:
    """Go's own test file of a universal (386 + amd64) macOS executable, from the toolchain."""
    import base64
    import subprocess

    from tests.conftest import go_program

    goroot = subprocess.run(
        [go_program(), "env", "GOROOT"], capture_output=True, text=True, timeout=60, check=True
    ).stdout.strip()
    src = Path(goroot) / "src" / "debug" / "macho" / "testdata" / "fat-gcc-386-amd64-darwin-exec.base64"
    out = tmp_path / "fat"
    out.write_bytes(base64.b64decode(src.read_text()))
    return out


def test_universal_macho_is_judged_by_all_of_its_slices(tmp_path: Path) -> None:
    import struct

    fat = _fat_binary(tmp_path)
    facts = linkage.read_facts(fat)
    assert facts.machine == "universal (x86, x86-64)" and facts.universal_goarchs == ["386", "amd64"]
    assert "wrong-arch" not in codes(verdict(fat, goos="darwin", goarch="amd64"))
    assert "wrong-arch" not in codes(verdict(fat, goos="darwin", goarch="386"))
    assert "wrong-arch" in codes(verdict(fat, goos="darwin", goarch="arm64"))

    raw = fat.read_bytes()
    count = struct.unpack(">I", raw[4:8])[0]
    entries = [struct.unpack(">iiIII", raw[8 + 20 * i : 28 + 20 * i]) for i in range(count)]
    wide = struct.pack(">II", 0xCAFEBABF, count) + b"".join(
        struct.pack(">iiQQII", cpu, sub, off, size, align, 0) for cpu, sub, off, size, align in entries
    )
    assert len(wide) <= min(e[2] for e in entries)  # the 64-bit header still ends before the first slice
    fat64 = tmp_path / "fat64"
    fat64.write_bytes(wide + raw[len(wide) :])
    assert linkage.read_facts(fat64).universal_goarchs == ["386", "amd64"]  # FAT_MAGIC_64

    first = entries[0][2]
    broken = tmp_path / "broken"
    broken.write_bytes(raw[:first] + b"\0\0\0\0" + raw[first + 4 :])
    assert (linkage.read_facts(broken).error or "").startswith(f"corrupt MACHO: no Mach-O header at offset {first}")
