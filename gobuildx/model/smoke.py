"""What the smoke stage records in dist/manifest.json: one verdict per runner and artifact."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Verdict = Literal["passed", "failed", "skipped"]


class SmokeResult(BaseModel):
    """The verdict of one runner on one artifact."""

    runner: str
    binary: str = ""
    status: Verdict
    reason: str  # one line: what passed, or exactly what went wrong / why it was skipped
    command: list[str] = []
    exit_code: int | None = None
    duration_s: float = 0.0
    output: str = ""  # the tail of stdout+stderr
    log: str | None = None  # full output, relative to dist
    notes: list[str] = []  # e.g. "supplied ProcessPrng shim in the Wine prefix"


class SmokeRecord(BaseModel):
    """`TargetRecord.smoke` in dist/manifest.json: the overall verdict and every result."""

    status: Verdict
    results: list[SmokeResult]
    duration_s: float = 0.0
