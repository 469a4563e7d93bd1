"""The dependencies a package declares because of how its binary is linked (read from the audit).

A glibc floor becomes the distribution's glibc package at that version (`libc6 (>= 2.17)`,
`glibc >= 2.17`), a dynamic musl binary needs musl, a static binary needs nothing. A library
the audit finds that is neither libc's nor the C++ runtime's must be covered by
[package].libraries (its package then in [package].depends): otherwise it is an error, found
before any package is written.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from gobuildx.model.audit import AuditResult, Facts
from gobuildx.model.package import PackageFormat


@dataclass(frozen=True)
class Providers:
    """One format's packages for the C runtime (None: the distribution has no such package)."""

    glibc: str | None  # the name; a floor is written in the format's own syntax (`versioned`)
    musl: str
    libgcc: str
    libstdcxx: str


PROVIDERS: dict[str, Providers] = {
    "deb": Providers(glibc="libc6", musl="musl", libgcc="libgcc-s1", libstdcxx="libstdc++6"),
    # rpm: the package name form (Fedora/RHEL `glibc`); rpm checks it against what a root has.
    "rpm": Providers(glibc="glibc", musl="musl-libc", libgcc="libgcc", libstdcxx="libstdc++"),
    "apk": Providers(glibc=None, musl="musl", libgcc="libgcc", libstdcxx="libstdc++"),
    "archlinux": Providers(glibc="glibc", musl="musl", libgcc="gcc-libs", libstdcxx="gcc-libs"),
}

# Sonames glibc itself ships (the loader has a name per CPU: ld-linux-x86-64.so.2, ld64.so.1, ...).
GLIBC_SONAMES = re.compile(
    r"^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1"
    r"|libanl\.so\.1|libcrypt\.so\.1|ld-linux[-\w.]*\.so\.\d|ld64\.so\.[12]|ld\.so\.1)$"
)
MUSL_SONAMES = re.compile(r"^(libc\.so|libc\.musl-[\w]+\.so\.1|ld-musl-[\w]+\.so\.1)$")


def versioned(fmt: PackageFormat, name: str, floor: str | None) -> str:
    if floor is None:
        return name
    if fmt == "deb":
        return f"{name} (>= {floor})"
    if fmt == "archlinux":
        return f"{name}>={floor}"
    return f"{name} >= {floor}"  # rpm and apk


@dataclass(frozen=True)
class Derived:
    depends: list[str]
    problems: list[str]


def derive(fmt: PackageFormat, audit: AuditResult, covered: list[str]) -> Derived:
    """The libc (and C++ runtime) dependencies of every artifact of one target, for one format."""
    deps: list[str] = []
    problems: list[str] = []
    p = PROVIDERS[fmt]
    for a in audit.artifacts:
        for dep, why in _one(fmt, p, a, covered):
            if why:
                problems.append(f"{audit.id}: {fmt}: {why}")
            elif dep not in deps:
                deps.append(dep)
    return Derived(depends=_highest_glibc(deps), problems=problems)


def _one(fmt: PackageFormat, p: Providers, a: Facts, covered: list[str]) -> list[tuple[str, str | None]]:
    name = a.path.rsplit("/", 1)[-1]
    if a.format != "elf":
        return [("", f"{name} is not an ELF file ({a.format}): no Linux package can hold it")]
    if a.static or a.libc in ("none", None) and not a.needed:
        return []  # static: needs no C library at all
    out: list[tuple[str, str | None]] = []
    if a.libc == "glibc":
        if p.glibc is None:
            return [("", f"{name} is linked against glibc, which Alpine does not have; build it with musl")]
        out.append((versioned(fmt, p.glibc, a.max_glibc), None))
    elif a.libc == "musl":
        out.append((p.musl, None))
    for lib in a.needed:
        if GLIBC_SONAMES.match(lib) and a.libc == "glibc" or MUSL_SONAMES.match(lib) and a.libc == "musl":
            continue
        if lib == "libgcc_s.so.1":
            out.append((p.libgcc, None))
        elif lib == "libstdc++.so.6":
            out.append((p.libstdcxx, None))
        elif not any(fnmatch.fnmatchcase(lib, g) for g in covered):
            out.append(
                (
                    "",
                    f"{name} needs {lib}, which no package is known to provide; name its package in "
                    f'package.depends and add "{lib}" to package.libraries',
                )
            )
    return out


def _highest_glibc(deps: list[str]) -> list[str]:
    """Several artifacts with different floors: one glibc dependency, the highest floor."""
    floors = [d for d in deps if re.match(r"^(libc6|glibc)\b", d)]
    if len(floors) < 2:
        return deps

    def key(d: str) -> tuple[int, ...]:
        m = re.search(r"(\d+)\.(\d+)", d)
        return (int(m.group(1)), int(m.group(2))) if m else (0, 0)

    best = max(floors, key=key)
    return [d for d in deps if d not in floors or d == best]
