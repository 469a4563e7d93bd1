"""What the audit, smoke and image stages recorded for one target, as release needs it.

Reads the typed fields of dist/manifest.json: `TargetRecord.audit` (audit_report.AuditResult,
verdict pass|warn|fail), `TargetRecord.smoke` (runners.base.SmokeRecord, status
passed|failed|skipped), `TargetRecord.image` (imagerecord.ImageRecord, digest) and
`Manifest.image` (imagerecord.ImageIndexRecord, the multi-arch index). A stage that did not
run reads as "not-run" (None for images): nothing is invented.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from gobuildx.model.manifest import Manifest, TargetRecord
from gobuildx.model.release import Verdict

SMOKE: dict[str, Verdict] = {"passed": "pass", "failed": "fail", "skipped": "skipped"}


class StageView(BaseModel):
    model_config = ConfigDict(frozen=True)

    audit: Verdict = "not-run"
    audit_detail: str | None = None
    smoke: Verdict = "not-run"
    smoke_detail: str | None = None
    image: str | None = None  # the image manifest digest of this target's platform


def view(record: TargetRecord) -> StageView:
    audit, smoke, image = record.audit, record.smoke, record.image
    return StageView(
        audit=audit.verdict if audit else "not-run",
        audit_detail="; ".join(audit.problems) or None if audit else None,
        smoke=SMOKE[smoke.status] if smoke else "not-run",
        smoke_detail="; ".join(f"{r.runner}: {r.reason}" for r in smoke.results if r.status == "failed") or None
        if smoke
        else None,
        image=image.digest if image else None,
    )


def stages_run(m: Manifest) -> dict[str, bool]:
    """Which of audit, image and smoke recorded anything for any target (and package, named only
    when it ran: a project without [package] keeps the release manifest it had)."""
    ran = {
        "audit": any(t.audit for t in m.targets),
        "image": any(t.image for t in m.targets) or m.image is not None,
        "smoke": any(t.smoke for t in m.targets),
    }
    if any(t.packages for t in m.targets):
        ran["package"] = True
    return ran


def index_digest(m: Manifest) -> str | None:
    """The multi-arch image index digest, when the image stage recorded one."""
    return m.image.digest if m.image else None
