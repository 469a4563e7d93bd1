"""dist/release/manifest.json: what a release holds, for its consumers and `gobuildx verify`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from gobuildx.model.manifest import TargetIdentity
from gobuildx.model.package import ReleasePackage

ArchiveFormat = Literal["tar.gz", "zip"]
# A stage's verdict on one target as a release states it ("not-run": the stage recorded nothing).
Verdict = Literal["pass", "warn", "fail", "skipped", "not-run"]

RELEASE_DIR = "release"
SUMS = "SHA256SUMS"
MANIFEST = "manifest.json"
RELEASE_SCHEMA = 1


class ReleaseBinary(BaseModel):
    binary: str
    path: str  # inside the archive
    size: int
    sha256: str
    sbom: str | None = None
    sbom_sha256: str | None = None


class ReleaseArchive(BaseModel):
    name: str
    format: ArchiveFormat
    wrap: str | None = None  # the directory every member is in ([release].wrap); None: the top
    size: int
    sha256: str


class ReleaseTarget(TargetIdentity):
    c_toolchain: str | None = None
    archive: ReleaseArchive
    binaries: list[ReleaseBinary]
    audit: Verdict
    smoke: Verdict
    image: str | None = None
    packages: list[ReleasePackage] = []  # its Linux packages (docs/package.md)

    def files(self) -> list[tuple[str, str]]:
        """(name, sha256) of every file of this target in the release folder: its archive, its
        SBOMs and its packages. What signing, provenance and verify treat as release files."""
        out = [(self.archive.name, self.archive.sha256)]
        out += [(b.sbom, b.sbom_sha256) for b in self.binaries if b.sbom and b.sbom_sha256]
        out += [(p.name, p.sha256) for p in self.packages]
        return out


class Omitted(BaseModel):
    id: str
    reason: str


class ReleaseManifest(BaseModel):
    """dist/release/manifest.json: everything a consumer needs, nothing that varies by machine."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = RELEASE_SCHEMA
    gobuildx: str
    project: str
    version: str
    commit: str
    date: str
    epoch: int
    go: str
    sbom: str
    files: list[str]
    stages: dict[str, str]
    image_index: str | None = None  # the multi-arch index digest: pull <image_repository>@<image_index>
    image_repository: str | None = None
    targets: list[ReleaseTarget]
    omitted: list[Omitted] = []
