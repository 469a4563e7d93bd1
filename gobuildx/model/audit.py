"""What the audit stage records in dist/manifest.json (`TargetRecord.audit`), and the facts behind it.

`AuditResult` is flat and its keys are stable (documented in docs/audit.md); `Facts` holds
everything read from one file and `GoBuildInfo` its embedded Go build info. The pure
summaries every rendering of a report starts from (`worst`, `glibc_callouts`,
`runs_on_text`) live here too, so the report page reads them without the audit stage.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel

Kind = Literal["elf", "pe", "macho", "wasm"]  # the binary formats gobuildx.formats reads


class GoBuildInfo(BaseModel):
    """The embedded build info; `settings` keeps every `build K=V` line verbatim."""

    go_version: str
    path: str | None = None
    main: str | None = None  # "module@version"
    deps: list[str] = []  # "module@version", or "... => replacement@version"
    settings: dict[str, str] = {}

    @property
    def cgo_enabled(self) -> bool | None:
        value = self.settings.get("CGO_ENABLED")
        return None if value is None else value == "1"


FoundLibc = Literal[
    "glibc", "musl", "none", "system", "unknown"
]  # what a file binds to (config.Libc is what a target declares)


class Facts(BaseModel):
    """Everything gobuildx knows about one file. Flat; keys are documented in docs/audit.md."""

    path: str
    size: int = 0
    format: Kind | None = None
    error: str | None = None  # why the file could not be read (then most keys are empty)
    os_abi: str | None = None
    machine: str | None = None
    goarch: str | None = None  # the GOARCH this machine/bitness/endianness means
    bits: int | None = None
    endian: str | None = None
    stripped: bool | None = None
    debug_info: bool | None = None
    # ELF
    elf_type: str | None = None
    static: bool | None = None  # no interpreter and no needed libraries
    pie: bool | None = None
    interpreter: str | None = None
    needed: list[str] = []
    rpath: list[str] = []
    runpath: list[str] = []
    libc: FoundLibc | None = None  # the C library it binds to (ELF only)
    versions: dict[str, list[str]] = {}  # library -> every required symbol version
    glibc_versions: list[str] = []  # GLIBC_x.y needed, numerically sorted
    max_glibc: str | None = None  # "2.34": the oldest glibc it can run on
    max_glibc_symbols: list[str] = []  # the symbols (or ABI tags) that force max_glibc
    max_glibc_symbol_count: int = 0
    glibc_private: list[str] = []  # symbols bound to GLIBC_PRIVATE
    cxx_versions: list[str] = []  # "libstdc++.so.6: GLIBCXX_3.4.29" (and CXXABI_)
    gcc_versions: list[str] = []  # "libgcc_s.so.1: GCC_3.0"
    other_versions: list[str] = []  # any other library's version needs
    static_glibc: bool = False  # glibc linked in statically
    nss: bool = False  # static glibc that dlopens libnss_* for user/host lookups
    # PE
    dlls: list[str] = []
    delay_dlls: list[str] = []
    subsystem: str | None = None
    # Mach-O
    dylibs: list[str] = []
    dylinker: str | None = None
    min_os: str | None = None
    universal_goarchs: list[str] = []  # a universal binary: the goarch of each slice
    # wasm
    wasm_imports: list[str] = []
    wasm_exports: list[str] = []
    producers: list[str] = []  # "language: Go go1.26.1", from the producers section
    # Go
    go: GoBuildInfo | None = None
    go_note: str | None = None  # why there is no Go build info
    # evidence from the classic tools
    file: str | None = None  # `file -b` output
    ldd: str | None = None  # `ldd` output, or "not applicable: <why>"


SCHEMA = "gobuildx.audit/1"
Verdict = Literal["pass", "warn", "fail"]
Level = Literal["fail", "warn", "note"]
Format = Literal["table", "json", "markdown", "junit"]
FORMATS: tuple[str, ...] = ("table", "json", "markdown", "junit")


class Finding(BaseModel):
    """One observation: `fail` breaks the declaration, `warn` deserves a look, `note` is context."""

    level: Level
    code: str  # stable identifier, e.g. "glibc-above-floor", "static-has-interpreter"
    message: str


class AuditResult(BaseModel):
    """The verdict on one target (or one path given on the command line)."""

    id: str  # target id, or the path for `audit --path`
    declared: str  # the declaration checked, e.g. "glibc >= 2.17, cgo on"
    verdict: Verdict
    problems: list[str] = []  # messages of `fail` findings
    warnings: list[str] = []  # messages of `warn` findings
    findings: list[Finding] = []  # all of them, with codes and notes
    linkage: str = ""  # one-line summary: "static", "dynamic glibc >= 2.34", ...
    static: bool | None = None
    interpreter: str | None = None
    needed: list[str] = []  # DT_NEEDED / imported DLLs / dylibs, union over artifacts
    libc: str | None = None
    highest_glibc: str | None = None
    floor_symbols: list[str] = []  # symbols forcing highest_glibc
    glibc_private: list[str] = []
    cxx: list[str] = []  # GLIBCXX_/CXXABI_ needs ("libstdc++.so.6: GLIBCXX_3.4.29")
    gcc: list[str] = []  # GCC_ needs (libgcc_s)
    runs_on: list[str] = []
    cgo: bool | None = None  # CGO_ENABLED from the Go build info
    go_version: str | None = None
    file: str | None = None  # `file` line of the first artifact
    artifacts: list[Facts] = []  # full facts per artifact

    @property
    def dynamic_glibc(self) -> bool:
        return any(a.format == "elf" and a.libc == "glibc" and not a.static for a in self.artifacts)


class AuditReport(BaseModel):
    schema_: str = SCHEMA
    verdict: Verdict
    warn_only: bool = False
    results: list[AuditResult]

    def dynamic_glibc(self) -> list[AuditResult]:
        return [r for r in self.results if r.dynamic_glibc or any(a.static_glibc for a in r.artifacts)]

    def to_json(self) -> str:
        data = self.model_dump(mode="json", by_alias=True)
        data = {"schema": data.pop("schema_"), **data}
        data["dynamic_glibc"] = [r.id for r in self.dynamic_glibc()]
        return json.dumps(data, indent=2) + "\n"


def worst(verdicts: list[Verdict]) -> Verdict:
    return "fail" if "fail" in verdicts else "warn" if "warn" in verdicts else "pass"


def glibc_callouts(report: AuditReport) -> list[str]:
    """The lines that go at the top of every rendering: each glibc dependency and its cause."""
    out = []
    for r in report.dynamic_glibc():
        for a in r.artifacts:
            if a.static_glibc:
                nss = " and dlopens libnss_* at run time for user/host lookups" if a.nss else ""
                out.append(f"{r.id}: glibc linked STATICALLY{nss}: not portable across glibc versions")
            elif a.libc == "glibc" and not a.static:
                syms = ", ".join(a.max_glibc_symbols[:8]) or "no versioned symbols"
                more = f" (+{a.max_glibc_symbol_count - 8} more)" if a.max_glibc_symbol_count > 8 else ""
                floor = f"GLIBC_{a.max_glibc}" if a.max_glibc else "glibc (unversioned)"
                out.append(f"{r.id}: dynamic glibc, needs {floor} ({syms}{more}); libs: {', '.join(a.needed)}")
    return out


ANY_LINUX = ["scratch", "distroless-static", "alpine", "glibc-2.17", "glibc-2.28", "glibc-2.31", "glibc-2.36"]


def runs_on_text(bases: list[str]) -> str:
    if bases == ANY_LINUX:
        return "any Linux (scratch, alpine, glibc)"
    return ", ".join(bases) or "-"
