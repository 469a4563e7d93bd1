"""dist/manifest.json: the record of every target, the contract between stages, processes and CI runners.

Models only; `gobuildx.project.manifest_file` reads it and updates it under its lock."""

from __future__ import annotations

import calendar
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict

from gobuildx.model.audit import AuditResult
from gobuildx.model.image import ImageIndexRecord, ImageRecord
from gobuildx.model.package import PackagesRecord
from gobuildx.model.smoke import SmokeRecord

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"

Status = Literal["ok", "failed", "skipped"]


class ArtifactRecord(BaseModel):
    binary: str
    path: str  # relative to the dist directory, with forward slashes
    size: int
    sha256: str


class TargetIdentity(BaseModel):
    """What a target is (its id and declaration), as every record of it repeats it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    goos: str
    goarch: str
    goarm: str | None = None
    goamd64: str | None = None
    go386: str | None = None
    goarm64: str | None = None
    gomips: str | None = None
    cgo: bool
    libc: str
    min_glibc: str | None = None
    link: str


class TargetRecord(TargetIdentity):
    status: Status
    cached: bool = False
    artifacts: list[ArtifactRecord] = []
    c_toolchain: str | None = None
    log: str | None = None
    duration_s: float = 0.0
    error: str | None = None
    inputs: str | None = None
    image: ImageRecord | None = None
    audit: AuditResult | None = None  # the linkage audit (gobuildx.model.audit; keys in docs/audit.md)
    smoke: SmokeRecord | None = None  # the smoke verdicts (gobuildx.model.smoke; docs/smoke.md)
    packages: PackagesRecord | None = None  # the Linux packages (gobuildx.model.package; docs/package.md)


class StageTiming(BaseModel):
    """How long one stage (build, audit, image, package, smoke, release) took; see report.timed."""

    name: str
    started: str  # UTC, ISO 8601
    duration_s: float


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    gobuildx: str
    project: str
    version: str
    commit: str
    date: str
    go: str
    targets: list[TargetRecord] = []
    image: ImageIndexRecord | None = None
    stages: list[StageTiming] = []

    @property
    def epoch(self) -> int:
        """The build date as seconds: SOURCE_DATE_EPOCH or the commit time, as the build used
        (what every reproducible timestamp of a release and its packages is)."""
        return calendar.timegm(time.strptime(self.date, "%Y-%m-%dT%H:%M:%SZ"))

    def target(self, target_id: str) -> TargetRecord | None:
        return next((t for t in self.targets if t.id == target_id), None)

    def upsert(self, record: TargetRecord) -> None:
        self.targets = [t for t in self.targets if t.id != record.id] + [record]
        self.targets.sort(key=lambda t: t.id)
