"""dist/manifest.json: the record of every target, updated by each stage under a lock."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from gobuildx.audit.render import AuditResult
from gobuildx.errors import GobuildxError
from gobuildx.model.image import ImageIndexRecord, ImageRecord
from gobuildx.smoke.runners.base import SmokeRecord

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
    audit: AuditResult | None = None  # the linkage audit (gobuildx.audit.render; keys in docs/audit.md)
    smoke: SmokeRecord | None = None  # the smoke verdicts (gobuildx.smoke.runners.base; docs/smoke.md)


class StageTiming(BaseModel):
    """How long one stage (build, audit, image, smoke, release) took; see report.timed."""

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

    def target(self, target_id: str) -> TargetRecord | None:
        return next((t for t in self.targets if t.id == target_id), None)

    def upsert(self, record: TargetRecord) -> None:
        self.targets = [t for t in self.targets if t.id != record.id] + [record]
        self.targets.sort(key=lambda t: t.id)


def path_in(dist: Path) -> Path:
    return dist / MANIFEST


def read(dist: Path) -> Manifest | None:
    return _parse(path_in(dist), _read_bytes(path_in(dist)))


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _parse(path: Path, data: bytes | None) -> Manifest | None:
    if data is None:
        return None
    try:
        return Manifest.model_validate_json(data)
    except (ValidationError, ValueError) as exc:
        raise GobuildxError(f"{path}: not a gobuildx manifest ({exc.__class__.__name__}); "
                            "delete it or run `gobuildx build --force`") from None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write to a temporary sibling, then rename: readers see old or new, never half.

    `durable` also fsyncs before the rename, so a power loss cannot leave an empty file
    under the new name; files derived from others (stamps, the report page) skip it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextmanager
def locked(dist: Path) -> Iterator[None]:
    dist.mkdir(parents=True, exist_ok=True)
    with open(dist / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def update(dist: Path, change: Callable[[Manifest | None], Manifest], durable: bool = True) -> Manifest:
    """Read, change and rewrite the manifest while holding its lock.

    An unchanged manifest is not rewritten: a stage with nothing to do costs no fsync,
    and the file's mtime says when something last changed. `durable=False` is for a
    progress flush that a later durable write of the same stage supersedes.
    """
    path = path_in(dist)
    with locked(dist):
        before = _read_bytes(path)
        new = change(_parse(path, before))
        payload = (json.dumps(new.model_dump(mode="json"), indent=2, sort_keys=False) + "\n").encode()
        if payload != before:
            write_atomic(path, payload, durable=durable)
        return new
