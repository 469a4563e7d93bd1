"""What the package stage records in dist/manifest.json (`TargetRecord.packages`) and a release
lists per target (`ReleaseTarget.packages`): one Linux package (deb, rpm, apk, archlinux)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

PackageFormat = Literal["deb", "rpm", "apk", "archlinux"]
PACKAGES_DIR = "packages"  # dist/packages/: where the package stage writes


class PackageFile(BaseModel):
    """One package file: what it is for, and the dependencies it declares."""

    format: PackageFormat
    name: str  # the file name
    package: str  # the package's own name (Package:, Name:, pkgname)
    version: str
    arch: str  # the format's architecture name (amd64, x86_64, armv7h, ...)
    size: int
    sha256: str
    libc_depends: list[str] = []  # what the audited linkage needs: ["libc6 (>= 2.17)"], [] for static
    depends: list[str] = []  # every dependency declared: libc_depends, then [package].depends


class PackageRecord(PackageFile):
    """A package as the package stage wrote it into dist."""

    path: str  # relative to the dist directory (dist/packages/<name>)
    bindir: str = "/usr/bin"  # where the binaries are installed ([package].bindir)


class PackageSkip(BaseModel):
    """A format a target gets no package of, and why (e.g. Arch Linux has no riscv64 port)."""

    format: PackageFormat
    reason: str


class PackagesRecord(BaseModel):
    written: list[PackageRecord] = []
    skipped: list[PackageSkip] = []


class ReleasePackage(PackageFile):
    """A package as dist/release/manifest.json lists it: a file of the release folder (`name`)."""
