"""dist/release/manifest.json: what a release holds, for its consumers and `gobuildx verify`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from gobuildx.model.manifest import TargetIdentity
from gobuildx.model.package import ReleasePackage

# "binary": no archive, the target's one binary itself is the release file (GoReleaser's `binary`)
ArchiveFormat = Literal["tar.gz", "tar.xz", "tar.zst", "zip", "binary"]
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


class RebuiltBinary(BaseModel):
    target: str
    binary: str
    sha256: str  # what the fresh build made ("" when it made none)
    identical: bool


class Rebuild(BaseModel):
    """`release --rebuild`: every released binary built again from `commit` in a fresh clone
    with an empty Go cache and the same build date, before the release was signed."""

    commit: str
    binaries: list[RebuiltBinary]

    def reproduced(self, target: str) -> bool | None:
        mine = [b.identical for b in self.binaries if b.target == target]
        return all(mine) if mine else None


class ReleaseTarget(TargetIdentity):
    c_toolchain: str | None = None
    archive: ReleaseArchive
    binaries: list[ReleaseBinary]
    audit: Verdict
    smoke: Verdict
    image: str | None = None
    reproduced: bool | None = None  # `release --rebuild`: every binary rebuilt identical; None: not rebuilt
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
    rebuild: Rebuild | None = None
