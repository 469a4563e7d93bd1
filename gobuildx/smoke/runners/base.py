"""The one interface every smoke runner implements, and the models passed between them.

A runner is asked three things about a `Job` (one artifact of one target):

* `applies(job)`      — is this the right way to run this target on this host?  Pure: no
                        probing of installed tools, so a missing tool becomes a SKIPPED
                        verdict naming the package, never a silent fall-through.
* `availability(env)` — is the tool installed (found through the explicit `env["PATH"]`),
                        which version, and which package provides it.
* `run(job)`          — run the check and return a `SmokeResult`; never raises for a
                        failing artifact (that is a "failed" result).

`kind = "artifact"` runners (native, qemu, wine, wasmtime, node) are exclusive: smoke uses
the first one that applies.  `kind = "image"` runners (container, image-rootfs) run in
addition, for every target whose manifest record has an image (`job.record.image`), and
`kind = "package"` runners (deb, lintian, rpm, pacman, apk) for every package it lists.

This module imports nothing from gobuildx but the config and matrix models, so
`gobuildx.model.manifest` can import `SmokeRecord` from here without a cycle.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from gobuildx.model.manifest import TargetRecord
from gobuildx.model.smoke import SmokeRecord, SmokeResult, Verdict
from gobuildx.project.matrix import Target
from gobuildx.util.sandbox import Limits, Mode

RunnerKind = Literal["artifact", "image", "package"]


class Check(BaseModel):
    """What to run and what to expect, with placeholders ({port}, {goos}, ...) already filled."""

    model_config = ConfigDict(frozen=True)

    args: list[str] = []
    env: dict[str, str] = {}
    exit_code: int = 0
    expect: str | None = None  # a regex searched in stdout+stderr (server mode: in the HTTP body)
    timeout_s: float = 60.0
    port: int | None = None  # server mode when set: start, wait for HTTP on 127.0.0.1:port, stop
    http_path: str = "/"
    http_status: int = 200
    sandbox: Mode = "auto"  # gobuildx.util.sandbox: auto, required or off
    memory_mib: int = Limits.memory_mib
    processes: int = Limits.processes
    file_size_mib: int = Limits.file_size_mib

    @property
    def server(self) -> bool:
        return self.port is not None


class Host(BaseModel):
    model_config = ConfigDict(frozen=True)

    goos: str
    goarch: str


class Job(BaseModel):
    """One artifact of one target to smoke, with everything a runner may need."""

    model_config = ConfigDict(frozen=True)

    target: Target
    binary: str
    artifact: Path  # absolute path of the built file
    check: Check
    host: Host
    goroot: Path
    cache_dir: Path  # ~/.cache/gobuildx: wine prefix, shim DLL, unpacked image rootfs
    work_dir: Path  # a scratch directory for this job (logs, temporary files)
    environ: dict[str, str]  # the explicit environment tools are found in (PATH) and run with
    record: TargetRecord | None = None  # the target's manifest record (audit, image, packages, ...)
    dist: Path | None = None  # the dist directory its record's paths are relative to (packages)


class Availability(BaseModel):
    """Whether a runner's tool is installed, which version, and how to get it."""

    runner: str
    available: bool
    version: str | None = None
    detail: str = ""  # the tool's path, or why it is unusable
    install: str = ""  # e.g. "apt-get install qemu-user-static"


class Runner(abc.ABC):
    """A way to run artifacts. Implementations keep no state between jobs but caches on disk."""

    name: ClassVar[str]
    kind: ClassVar[RunnerKind] = "artifact"
    install: ClassVar[str] = ""  # the package that provides the tool

    @abc.abstractmethod
    def applies(self, job: Job) -> bool:
        """True if this runner is the way to run `job` on its host (installed or not)."""

    @abc.abstractmethod
    def availability(self, environ: dict[str, str]) -> Availability:
        """Is the tool usable with this environment's PATH; its version; what to install."""

    @abc.abstractmethod
    def run(self, job: Job) -> SmokeResult:
        """Run the check; return a result (a failing artifact is a result, not an exception)."""

    def skipped(self, job: Job, reason: str) -> SmokeResult:
        return SmokeResult(runner=self.name, binary=job.binary, status="skipped", reason=reason)


__all__ = ["Availability", "Check", "Host", "Job", "Runner", "RunnerKind", "SmokeRecord", "SmokeResult", "Verdict"]
