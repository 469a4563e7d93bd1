"""Verdicts: each artifact's linkage facts against what its target declares.

`judge(declaration, facts)` is pure; `audit_targets` reads the built matrix from
dist/manifest.json and records each `AuditResult` back into it; `audit_paths`
audits any files (ours or not) against an optional `--expect`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from gobuildx.audit import linkage
from gobuildx.audit.linkage import Facts, glibc_key
from gobuildx.audit.render import (
    ANY_LINUX,
    FORMATS,
    AuditReport,
    AuditResult,
    Finding,
    Verdict,
    worst,
)
from gobuildx.errors import AuditFailed, ConfigError, GobuildxError
from gobuildx.model.manifest import Manifest
from gobuildx.project import manifest_file
from gobuildx.project.config import AuditPolicy
from gobuildx.project.matrix import Target

DYNAMIC_BY_DESIGN = {"darwin", "ios", "openbsd", "solaris", "illumos"}
GLIBC_LIBS = [
    "libc.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "libm.so.6",
    "librt.so.1",
    "libresolv.so.2",
    "libutil.so.1",
    "ld-linux*.so.*",
    "ld64.so.*",
    "ld.so.1",
]
MUSL_LIBS = ["libc.musl-*.so.1", "ld-musl-*.so.1", "libc.so"]  # libc.so: musl's name outside Alpine (zig, musl-gcc)
# DLLs every Windows install has (compared case-insensitively): the API sets, the kernel and
# Win32 libraries, the C runtimes Windows itself ships. A MinGW runtime such as
# libwinpthread-1.dll or libgcc_s_seh-1.dll, or a VC++ redistributable, is not among them.
WINDOWS_DLLS = [
    "api-ms-win-*",
    "ext-ms-*",
    "kernel32.dll",
    "kernelbase.dll",
    "ntdll.dll",
    "advapi32.dll",
    "user32.dll",
    "gdi32.dll",
    "shell32.dll",
    "shlwapi.dll",
    "ole32.dll",
    "oleaut32.dll",
    "comctl32.dll",
    "comdlg32.dll",
    "ws2_32.dll",
    "mswsock.dll",
    "wsock32.dll",
    "winmm.dll",
    "msvcrt.dll",
    "ucrtbase.dll",
    "crypt32.dll",
    "bcrypt.dll",
    "bcryptprimitives.dll",
    "ncrypt.dll",
    "secur32.dll",
    "sspicli.dll",
    "iphlpapi.dll",
    "dnsapi.dll",
    "netapi32.dll",
    "userenv.dll",
    "version.dll",
    "powrprof.dll",
    "psapi.dll",
    "dbghelp.dll",
    "setupapi.dll",
    "cfgmgr32.dll",
    "wintrust.dll",
    "rpcrt4.dll",
    "winhttp.dll",
    "wininet.dll",
    "imm32.dll",
    "uxtheme.dll",
    "dwmapi.dll",
    "opengl32.dll",
    "d3d*.dll",
    "dxgi.dll",
    "winspool.drv",
    "mpr.dll",
    "wtsapi32.dll",
    "synchronization.dll",
    "normaliz.dll",
    "authz.dll",
    "wevtapi.dll",
    "pdh.dll",
    "hid.dll",
]
CXX_LIBS = ["libstdc++.so.*", "libgcc_s.so.*"]
MACOS_LIBS = [
    "/usr/lib/libSystem.B.dylib",
    "/usr/lib/libresolv.9.dylib",
    "/usr/lib/libc++*.dylib",
    "/System/Library/Frameworks/*",
]
WASM_IMPORTS = {"wasip1": "wasi_snapshot_preview1", "js": "gojs"}
GLIBC_DISTROS = {"glibc-2.17": (2, 17), "glibc-2.28": (2, 28), "glibc-2.31": (2, 31), "glibc-2.36": (2, 36)}
STATIC_BASES = ANY_LINUX


class Declaration(BaseModel):
    """What a target (or `audit --expect`) promises about its artifacts; None = not declared."""

    id: str
    goos: str | None = None
    goarch: str | None = None
    goarm: str | None = None
    cgo: bool | None = None
    libc: str | None = None
    min_glibc: str | None = None
    link: str | None = None
    policy: AuditPolicy = AuditPolicy()

    @classmethod
    def of(cls, target: Target) -> Declaration:
        return cls(
            id=target.id,
            goos=target.goos,
            goarch=target.goarch,
            goarm=target.goarm,
            cgo=target.cgo,
            libc=target.libc,
            min_glibc=target.min_glibc,
            link=target.link,
            policy=target.audit,
        )

    def describe(self) -> str:
        if self.libc is None:
            return "nothing declared"
        parts = [self.libc]
        if self.libc == "glibc" and (self.min_glibc or self.policy.max_glibc):
            parts = [f"glibc >= {self.min_glibc or self.policy.max_glibc}"]
        if self.libc == "musl":
            parts.append(self.link or "static")
        if self.cgo is not None:
            parts.append(f"cgo {'on' if self.cgo else 'off'}")
        if self.goos and self.goarch:
            parts.insert(0, f"{self.goos}/{self.goarch}")
        return ", ".join(parts)


# ---------------------------------------------------------------- runs on
def runs_on(f: Facts) -> list[str]:
    """The common bases this artifact can run on, or what is known for non-Linux systems."""
    if f.error:
        return []
    if f.format == "wasm":
        return {"wasip1": ["WASI runtimes (wasmtime, wazero)"], "js": ["Node.js / browsers (wasm_exec.js)"]}.get(
            f.os_abi or "", ["a wasm host"]
        )
    if f.format == "pe":
        return [f"Windows ({f.machine})"]
    if f.format == "macho":
        return [f"macOS >= {f.min_os}" if f.min_os else "macOS"]
    goos = facts_goos(f)
    if goos != "linux":
        return [goos or "unknown OS"]
    if f.static:
        return list(STATIC_BASES)
    if f.libc == "musl":
        return ["alpine"]
    if f.libc == "glibc" and not f.glibc_private:
        need = glibc_key("GLIBC_" + f.max_glibc) if f.max_glibc else (0,)
        return [name for name, ver in GLIBC_DISTROS.items() if (need or (0,)) <= ver]
    return []


def linkage_summary(f: Facts) -> str:
    if f.error:
        return "unreadable"
    if f.format == "wasm":
        return f"wasm, imports {', '.join(f.wasm_imports) or 'nothing'}"
    if f.format == "pe":
        return f"PE, DLLs {', '.join(f.dlls + f.delay_dlls) or 'none'}"
    if f.format == "macho":
        libs = ", ".join(Path(d).name for d in f.dylibs) or "none"
        return f"Mach-O, dylibs {libs}" + (f" (macOS >= {f.min_os})" if f.min_os else "")
    if f.static:
        kind = "static-pie" if f.pie else "static"
        return f"{kind}, glibc linked in" if f.static_glibc else kind
    if f.libc == "glibc":
        return f"dynamic glibc >= {f.max_glibc}" if f.max_glibc else "dynamic glibc"
    if f.libc == "musl":
        return "dynamic musl"
    return f"dynamic ({', '.join(f.needed) or f.interpreter})"


# ---------------------------------------------------------------- checks
def _matches(name: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, g) or fnmatch.fnmatchcase(Path(name).name, g) for g in globs)


ELF_OSABI_GOOS = {"FreeBSD": "freebsd", "OpenBSD": "openbsd", "NetBSD": "netbsd", "Solaris": "solaris"}
INTERP_GOOS = {
    "/usr/libexec/ld.so": "openbsd",
    "/libexec/ld-elf.so.1": "freebsd",
    "/usr/libexec/ld.elf_so": "netbsd",
    "/usr/lib/amd64/ld.so.1": "solaris",
    "/lib/amd64/ld.so.1": "solaris",
}


def facts_goos(f: Facts) -> str | None:
    """The OS a file is for: Go's GOOS when recorded, else the ELF OS ABI or interpreter."""
    if f.go and f.go.settings.get("GOOS"):
        return f.go.settings["GOOS"]
    if f.format == "elf":
        return ELF_OSABI_GOOS.get(f.os_abi or "") or INTERP_GOOS.get(f.interpreter or "") or "linux"
    return {"pe": "windows", "macho": "darwin"}.get(f.format or "")


def expected_format(goos: str, goarch: str) -> str:
    if goarch == "wasm":
        return "wasm"
    return {"windows": "pe", "darwin": "macho", "ios": "macho"}.get(goos, "elf")


def check(d: Declaration, f: Facts) -> list[Finding]:
    """Every finding for one artifact against its declaration."""
    name = Path(f.path).name
    if f.error:
        return [Finding(level="fail", code="unreadable", message=f"{name}: {f.error}")]
    out: list[Finding] = []
    out += _check_platform(d, f, name)
    out += _check_go(d, f, name)
    goos = d.goos or facts_goos(f)
    if f.format == "elf" and goos == "linux":
        out += _check_linux(d, f, name)
    elif f.format == "macho":
        extra = [x for x in f.dylibs if not _matches(x, MACOS_LIBS + (d.policy.allow_needed or []))]
        out.append(
            Finding(
                level="note",
                code="dynamic-by-design",
                message=f"{name}: macOS binaries always link libSystem (dynamic by design, not a defect)",
            )
        )
        if extra:
            out.append(Finding(level="warn", code="extra-dylibs", message=f"{name}: links {', '.join(extra)}"))
    elif f.format == "elf" and goos in DYNAMIC_BY_DESIGN:
        out.append(
            Finding(
                level="note",
                code="dynamic-by-design",
                message=f"{name}: {goos} binaries link the system libc even with cgo off "
                "(dynamic by design, not a defect)",
            )
        )
    elif f.format == "pe" and (f.dlls or f.delay_dlls):
        out += _check_windows(d, f, name)
    elif f.format == "wasm":
        out += _check_wasm(d, f, name)
    out += _check_required(d, f, name)
    return out


def _check_windows(d: Declaration, f: Facts, name: str) -> list[Finding]:
    listed = f.dlls + [f"{x} (delay-loaded)" for x in f.delay_dlls]
    out = [
        Finding(level="note", code="dlls", message=f"{name}: imports {', '.join(listed)} (other DLLs load at run time)")
    ]
    known = [g.lower() for g in WINDOWS_DLLS + (d.policy.allow_needed or [])]
    extra = [x for x in [*f.dlls, *f.delay_dlls] if not _matches(x.lower(), known)]
    if extra:
        out.append(
            Finding(
                level="warn",
                code="extra-dlls",
                message=f"{name}: needs {', '.join(extra)}, which a clean Windows does not have: "
                "ship it beside the .exe, link it statically, or list it in "
                "audit.allow_needed",
            )
        )
    return out


def _check_platform(d: Declaration, f: Facts, name: str) -> list[Finding]:
    out = []
    if d.goos and d.goarch and f.format != expected_format(d.goos, d.goarch):
        out.append(
            Finding(
                level="fail",
                code="wrong-format",
                message=f"{name}: is {f.format}, but {d.goos}/{d.goarch} needs {expected_format(d.goos, d.goarch)}",
            )
        )
    if d.goarch and f.goarch and f.goarch != d.goarch:
        out.append(
            Finding(
                level="fail",
                code="wrong-arch",
                message=f"{name}: is {f.machine} ({f.goarch}), declared goarch {d.goarch}",
            )
        )
    if d.goarch and f.universal_goarchs and d.goarch not in f.universal_goarchs:
        out.append(
            Finding(
                level="fail",
                code="wrong-arch",
                message=f"{name}: is {f.machine}, with no slice for declared goarch {d.goarch}",
            )
        )
    return out


def _check_go(d: Declaration, f: Facts, name: str) -> list[Finding]:
    if f.go is None:
        if f.format == "wasm" or d.libc is None:
            return []
        return [Finding(level="warn", code="no-go-buildinfo", message=f"{name}: {f.go_note}")]
    out = []
    s = f.go.settings
    for key, want in (("GOOS", d.goos), ("GOARCH", d.goarch)):
        if want and s.get(key) and s[key] != want:
            out.append(
                Finding(
                    level="fail", code="wrong-platform", message=f"{name}: built with {key}={s[key]}, declared {want}"
                )
            )
    if d.goarm and s.get("GOARM") and s["GOARM"].split(",")[0] != d.goarm:
        out.append(
            Finding(
                level="fail",
                code="wrong-goarm",
                message=f"{name}: built with GOARM={s['GOARM']}, declared goarm {d.goarm}",
            )
        )
    cgo = f.go.cgo_enabled
    if d.cgo is False and cgo:
        out.append(
            Finding(
                level="fail",
                code="cgo-enabled",
                message=f"{name}: built with CGO_ENABLED=1 but the target declares cgo = false",
            )
        )
    elif d.cgo is True and cgo is False:
        out.append(
            Finding(
                level="fail",
                code="cgo-disabled",
                message=f"{name}: built with CGO_ENABLED=0 but the target declares cgo = true",
            )
        )
    return out


def _check_linux(d: Declaration, f: Facts, name: str) -> list[Finding]:
    out = _check_c_runtime(d, f, name)
    if d.libc == "static":
        if f.interpreter:
            out.append(
                Finding(
                    level="fail",
                    code="static-has-interpreter",
                    message=f'{name}: declared libc = "static" but it has interpreter {f.interpreter}',
                )
            )
        if f.needed:
            out.append(
                Finding(
                    level="fail",
                    code="static-has-needed",
                    message=f'{name}: declared libc = "static" but it needs {", ".join(f.needed)}',
                )
            )
    elif d.libc == "musl":
        out += _check_musl(d, f, name)
    elif d.libc == "glibc":
        out += _check_glibc(d, f, name)
    return out


def _check_c_runtime(d: Declaration, f: Facts, name: str) -> list[Finding]:
    """Findings that hold whatever was declared: static glibc, private ABI, C++ runtime, odd libs."""
    out = []
    if f.static_glibc:
        level = "warn" if d.libc is None else "fail"
        nss = (
            (
                " and its NSS code dlopens libnss_*.so at run time for user and host lookups (getpwnam, "
                "getaddrinfo): on a system without that exact glibc they fail or crash"
            )
            if f.nss
            else ""
        )
        out.append(
            Finding(
                level=level,
                code="static-glibc",
                message=f'{name}: glibc is linked in statically{nss}; use musl (libc = "musl") '
                "or cgo off for a portable static binary",
            )
        )
    if f.glibc_private:
        out.append(
            Finding(
                level="fail" if d.libc else "warn",
                code="glibc-private",
                message=f"{name}: uses GLIBC_PRIVATE symbols ({', '.join(f.glibc_private[:6])}): "
                "runs only with the exact glibc build it was linked against",
            )
        )
    cxx = f.cxx_versions + f.gcc_versions
    if cxx:
        level = "note" if d.policy.allow_cxx else "warn"
        out.append(
            Finding(
                level=level,
                code="cxx-runtime",
                message=f"{name}: needs the C++/GCC runtime ({', '.join(cxx[:6])}"
                f"{', ...' if len(cxx) > 6 else ''}): install libstdc++/libgcc_s on the target "
                "or set [audit] allow_cxx = true",
            )
        )
    known = GLIBC_LIBS + MUSL_LIBS + (d.policy.allow_needed or []) + (CXX_LIBS if d.policy.allow_cxx else [])
    extra = [n for n in f.needed if not _matches(n, known)]
    if extra:
        out.append(
            Finding(
                level="warn",
                code="extra-needed",
                message=f"{name}: needs {', '.join(extra)} beyond the C library; the base image "
                "must provide them (or list them in [audit] allow_needed)",
            )
        )
    return out


def _check_musl(d: Declaration, f: Facts, name: str) -> list[Finding]:
    out = []
    if f.glibc_versions or (f.libc == "glibc" and not f.static):
        out.append(
            Finding(
                level="fail",
                code="musl-needs-glibc",
                message=f'{name}: declared libc = "musl" but it needs glibc '
                f"({', '.join(f.glibc_versions[-3:]) or f.interpreter})",
            )
        )
    if d.link == "dynamic":
        if not f.interpreter or "ld-musl" not in f.interpreter:
            out.append(
                Finding(
                    level="fail",
                    code="musl-interpreter",
                    message=f"{name}: declared dynamic musl but the interpreter is "
                    f"{f.interpreter or 'absent (static)'}",
                )
            )
    elif f.interpreter or f.needed:
        out.append(
            Finding(
                level="fail",
                code="musl-not-static",
                message=f"{name}: declared static musl but it has interpreter {f.interpreter} "
                f"and needs {', '.join(f.needed) or 'nothing'}",
            )
        )
    return out


def _check_glibc(d: Declaration, f: Facts, name: str) -> list[Finding]:
    out = []
    if f.libc == "musl":
        return [
            Finding(
                level="fail",
                code="glibc-is-musl",
                message=f'{name}: declared libc = "glibc" but it is linked against musl ({f.interpreter})',
            )
        ]
    if f.static:
        out.append(
            Finding(
                level="note", code="glibc-static", message=f"{name}: declared dynamic glibc, but the binary is static"
            )
        )
    floor = d.min_glibc or d.policy.max_glibc
    if floor and f.max_glibc and (glibc_key("GLIBC_" + f.max_glibc) or ()) > (glibc_key("GLIBC_" + floor) or ()):
        syms = ", ".join(f.max_glibc_symbols[:8])
        more = f" and {f.max_glibc_symbol_count - 8} more" if f.max_glibc_symbol_count > 8 else ""
        key = "min_glibc" if d.min_glibc else "[audit] max_glibc"
        out.append(
            Finding(
                level="fail",
                code="glibc-above-floor",
                message=f"{name}: needs GLIBC_{f.max_glibc} (forced by {syms}{more}), above "
                f"{key} = {floor}: it will not start on glibc {floor}",
            )
        )
    return out


def _check_wasm(d: Declaration, f: Facts, name: str) -> list[Finding]:
    out = [
        Finding(
            level="note",
            code="wasm-producers",
            message=f"{name}: no Go build info in wasm; producers: {'; '.join(f.producers) or 'none'}",
        )
    ]
    want = WASM_IMPORTS.get(d.goos or "")
    if want and want not in f.wasm_imports:
        out.append(
            Finding(
                level="fail",
                code="wasm-imports",
                message=f"{name}: {d.goos}/wasm should import {want}, imports {', '.join(f.wasm_imports) or 'nothing'}",
            )
        )
    return out


def _check_required(d: Declaration, f: Facts, name: str) -> list[Finding]:
    missing = [b for b in d.policy.require or [] if b not in runs_on(f)]
    if not missing:
        return []
    return [
        Finding(
            level="fail",
            code="required-base",
            message=f"{name}: [audit] require lists {', '.join(missing)}, but it runs only on "
            f"{', '.join(runs_on(f)) or 'none of the known bases'} ({linkage_summary(f)})",
        )
    ]


# ---------------------------------------------------------------- judging
def judge(d: Declaration, artifacts: Sequence[Facts]) -> AuditResult:
    """One target's verdict over all of its artifacts."""
    findings = [x for f in artifacts for x in check(d, f)]
    if not artifacts:
        findings.append(Finding(level="fail", code="no-artifacts", message="no artifacts recorded"))
    verdict: Verdict = worst([{"fail": "fail", "warn": "warn", "note": "pass"}[x.level] for x in findings])  # type: ignore[misc]
    readable = [f for f in artifacts if not f.error]
    first = readable[0] if readable else None
    bases = [set(runs_on(f)) for f in readable]
    common = [b for b in runs_on(first)] if first else []
    common = [b for b in common if all(b in s for s in bases)]
    highest = max(
        (f.max_glibc for f in readable if f.max_glibc), key=lambda v: glibc_key("GLIBC_" + v) or (), default=None
    )
    return AuditResult(
        id=d.id,
        declared=d.describe(),
        verdict=verdict,
        findings=findings,
        problems=[x.message for x in findings if x.level == "fail"],
        warnings=[x.message for x in findings if x.level == "warn"],
        linkage="; ".join(dict.fromkeys(linkage_summary(f) for f in artifacts)),
        static=all(f.static for f in readable) if readable and all(f.static is not None for f in readable) else None,
        interpreter=first.interpreter if first else None,
        needed=list(dict.fromkeys(n for f in readable for n in f.needed + f.dlls + f.dylibs)),
        libc=first.libc if first else None,
        highest_glibc=highest,
        floor_symbols=sorted({s for f in readable if f.max_glibc == highest for s in f.max_glibc_symbols}),
        glibc_private=sorted({s for f in readable for s in f.glibc_private}),
        cxx=sorted({s for f in readable for s in f.cxx_versions}),
        gcc=sorted({s for f in readable for s in f.gcc_versions}),
        runs_on=common,
        cgo=first.go.cgo_enabled if first and first.go else None,
        go_version=(first.go.go_version if first and first.go else _producer_go(first)),
        file=artifacts[0].file if artifacts else None,
        artifacts=list(artifacts),
    )


def _producer_go(f: Facts | None) -> str | None:
    if f is None:
        return None
    for p in f.producers:
        if p.startswith("language: Go "):
            return p.removeprefix("language: Go ")
    return None


def report_of(results: list[AuditResult], gating: dict[str, bool], warn_only: bool) -> AuditReport:
    """The overall verdict counts only failures of targets whose policy is not warn_only."""
    counted: list[Verdict] = [r.verdict if gating.get(r.id, True) or r.verdict != "fail" else "warn" for r in results]
    return AuditReport(verdict=worst(counted), warn_only=warn_only, results=results)


# ---------------------------------------------------------------- the two modes
class Options(BaseModel):
    evidence: bool = True  # run `file` (and `ldd` on host-CPU ELF) for every artifact
    jobs: int = 0
    warn_only: bool = False


def audit_targets(dist: Path, targets: Sequence[Target], opts: Options) -> tuple[AuditReport, list[str]]:
    """Audit every selected, built target from dist/manifest.json; record results in it.

    Returns the report and the ids that were skipped (not built, or failed to build).
    """
    man = manifest_file.require(dist)
    built, skipped = [], []
    for t in targets:
        rec = man.target(t.id)
        (built if rec is not None and rec.status == "ok" and rec.artifacts else skipped).append(t)
    paths = {t.id: [dist / a.path for a in man.target(t.id).artifacts] for t in built}  # type: ignore[union-attr]
    facts = _known_facts(man, built, paths, opts)
    flat = [p for t in built for p in paths[t.id] if str(p) not in facts]
    facts.update(zip(map(str, flat), linkage.read_many(flat, opts.evidence, opts.jobs, built=True), strict=True))
    results = [judge(Declaration.of(t), [facts[str(p)] for p in paths[t.id]]) for t in built]
    _record(dist, results)
    gating = {t.id: not t.audit.warn_only for t in built}
    return report_of(results, gating, opts.warn_only), [t.id for t in skipped]


def _known_facts(
    man: Manifest, built: Sequence[Target], paths: dict[str, list[Path]], opts: Options
) -> dict[str, linkage.Facts]:
    """Facts already recorded for these exact bytes (the build keeps an audit only while the
    artifact's sha256 is unchanged), so a no-op build re-judges without re-reading files."""
    known: dict[str, linkage.Facts] = {}
    for t in built:
        rec = man.target(t.id)
        old = rec.audit if rec else None
        if old is None or [a.path for a in old.artifacts] != [str(p) for p in paths[t.id]]:
            continue
        if opts.evidence and any(a.file is None and a.error is None for a in old.artifacts):
            continue  # recorded without `file`/`ldd` evidence, which is wanted now
        known.update((a.path, a) for a in old.artifacts)
    return known


def _record(dist: Path, results: list[AuditResult]) -> None:
    by_id = {r.id: r for r in results}

    def change(old: Manifest | None) -> Manifest:
        if old is None:
            raise GobuildxError(f"{dist}: manifest.json disappeared during the audit")
        for rec in old.targets:
            if rec.id in by_id:
                rec.audit = by_id[rec.id]
        return old

    manifest_file.update(dist, change)


def audit_paths(paths: Sequence[Path], expect: Declaration | None, opts: Options) -> AuditReport:
    """Audit arbitrary files; without `expect` only intrinsic problems (unreadable, static glibc) fail."""
    paths = linkage.unique(paths)
    facts = linkage.read_many(paths, opts.evidence, opts.jobs)
    results = []
    for p, f in zip(paths, facts, strict=True):
        d = (expect or Declaration(id=str(p))).model_copy(update={"id": str(p)})
        results.append(judge(d, [f]))
    return report_of(results, {}, opts.warn_only)


# ---------------------------------------------------------------- command glue
def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError([f"--format {fmt!r}: allowed: {', '.join(FORMATS)}"])


def enforce(report: AuditReport, warn_only: bool) -> None:
    """AuditFailed (exit 1) naming every failed target and its first cause, unless warn-only."""
    failed = [r for r in report.results if r.verdict == "fail"]
    if report.verdict != "fail" or warn_only:
        return
    lines = [f"audit failed for {len(failed)} of {len(report.results)}:"]
    lines += [f"  {r.id}: {r.problems[0] if r.problems else 'failed'}" for r in failed]
    raise AuditFailed("\n".join(lines))


def expectation(expect: str | None, min_glibc: str | None, cgo: str | None) -> Declaration | None:
    """The declaration `audit --path` checks against (--expect/--min-glibc/--cgo), or None."""
    problems = []
    if expect not in (None, "static", "musl", "glibc"):
        problems.append(f"--expect {expect!r}: allowed: static, musl, glibc")
    if min_glibc and expect != "glibc":
        problems.append("--min-glibc needs --expect glibc")
    if min_glibc and glibc_key("GLIBC_" + min_glibc) is None:
        problems.append(f"--min-glibc {min_glibc!r}: expected a version such as 2.17")
    if cgo not in (None, "on", "off"):
        problems.append(f"--cgo {cgo!r}: allowed: on, off")
    if problems:
        raise ConfigError(problems)
    if expect is None and cgo is None:
        return None
    return Declaration(
        id="",
        goos="linux" if expect else None,
        libc=expect,
        min_glibc=min_glibc,
        cgo=None if cgo is None else cgo == "on",
    )
