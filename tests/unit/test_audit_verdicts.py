"""Audit verdicts on recorded facts: what a target declares against what its file says."""

from __future__ import annotations

from gobuildx.audit.stage import Declaration, judge
from gobuildx.model.audit import Facts, GoBuildInfo


def go(cgo: bool) -> GoBuildInfo:
    return GoBuildInfo(
        go_version="go1.26.8",
        path="example.com/hello",
        main="example.com/hello@(devel)",
        settings={"CGO_ENABLED": "1" if cgo else "0", "GOOS": "linux", "GOARCH": "amd64"},
    )


def static_elf(**kw: object) -> Facts:
    base = dict(
        path="dist/linux-amd64/hello",
        size=1000,
        format="elf",
        os_abi="SYSV",
        machine="x86-64",
        goarch="amd64",
        bits=64,
        endian="little",
        elf_type="EXEC",
        static=True,
        libc="none",
        go=go(False),
    )
    return Facts(**{**base, **kw})  # type: ignore[arg-type]


def dynamic_glibc(max_glibc: str) -> Facts:
    return static_elf(
        static=False,
        interpreter="/lib64/ld-linux-x86-64.so.2",
        needed=["libc.so.6"],
        libc="glibc",
        glibc_versions=["GLIBC_2.2.5", f"GLIBC_{max_glibc}"],
        max_glibc=max_glibc,
        max_glibc_symbols=["__libc_start_main"],
        max_glibc_symbol_count=1,
        go=go(True),
    )


def test_a_static_pure_go_binary_passes_its_static_declaration() -> None:
    d = Declaration(id="linux-amd64", goos="linux", goarch="amd64", cgo=False, libc="static", link="static")
    r = judge(d, [static_elf()])
    assert r.verdict == "pass", r.findings
    assert r.static is True and r.cgo is False


def test_a_glibc_floor_is_held_to_the_declared_minimum() -> None:
    d = Declaration(
        id="linux-amd64-glibc2.17",
        goos="linux",
        goarch="amd64",
        cgo=True,
        libc="glibc",
        min_glibc="2.17",
        link="dynamic",
    )
    assert judge(d, [dynamic_glibc("2.17")]).verdict == "pass"
    above = judge(d, [dynamic_glibc("2.34")])
    assert above.verdict == "fail" and any("2.34" in p for p in above.problems), above.problems
    assert above.highest_glibc == "2.34"


def test_a_dynamic_binary_declared_static_fails() -> None:
    d = Declaration(id="linux-amd64", goos="linux", goarch="amd64", cgo=False, libc="static", link="static")
    r = judge(d, [dynamic_glibc("2.17")])
    assert r.verdict == "fail" and r.problems


def test_no_artifacts_is_a_failure_of_its_own() -> None:
    r = judge(Declaration(id="x"), [])
    assert r.verdict == "fail" and [f.code for f in r.findings] == ["no-artifacts"]


def test_an_unreadable_file_fails() -> None:
    r = judge(Declaration(id="x"), [Facts(path="x", error="empty file (0 bytes)")])
    assert r.verdict == "fail"
