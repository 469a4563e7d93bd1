"""Attestations of what gobuildx checked, per target (no other release tool can write them):
its smoke runs as an in-toto test-result, its linkage audit under gobuildx's own predicate.
Subjects: the target's binaries and packages, named and digested as in the provenance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gobuildx.model.manifest import Manifest, TargetRecord
from gobuildx.model.release import ReleaseManifest, ReleaseTarget
from gobuildx.model.trust import LINKAGE, STATEMENT_TYPE, TEST_RESULT, attestations_name
from gobuildx.sign.provenance import binary_subjects

RESULTS = {"passed": "PASSED", "failed": "FAILED", "skipped": "WARNED"}


def per_target(dist: Path, m: Manifest, rm: ReleaseManifest) -> dict[str, list[dict[str, Any]]]:
    """File name -> the statements in it, for every released target that was smoked or audited.
    Paths inside dist are written relative to it: the same release from another folder (or
    machine) attests the same bytes."""
    out = {}
    for t in rm.targets:
        rec = m.target(t.id)
        if rec is None:
            continue
        statements = [_relative(s, dist) for s in (test_result(t, rec), linkage(t, rec)) if s is not None]
        if statements:
            out[attestations_name(t.archive.name)] = statements
    return out


def _relative(statement: dict[str, Any], dist: Path) -> dict[str, Any]:
    text = json.dumps(statement)
    for prefix in {str(dist) + "/", str(dist.resolve()) + "/"}:
        text = text.replace(json.dumps(prefix)[1:-1], "")
    result: dict[str, Any] = json.loads(text)
    return result


def _statement(t: ReleaseTarget, predicate_type: str, predicate: dict[str, Any]) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        # the packages too: the smoke's package level installed them, and they hold the binaries
        "subject": binary_subjects(t) + [{"name": p.name, "digest": {"sha256": p.sha256}} for p in t.packages],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def test_result(t: ReleaseTarget, rec: TargetRecord) -> dict[str, Any] | None:
    """The smoke verdicts. Durations and output tails are left out: they change from run to
    run, and the attestation must not (docs/trust.md, reproducible)."""
    if rec.smoke is None:
        return None
    by_status: dict[str, list[str]] = {"passed": [], "failed": [], "skipped": []}
    for r in rec.smoke.results:
        by_status[r.status].append(f"{r.runner} {r.binary or '-'}: {r.reason}")
    return _statement(
        t,
        TEST_RESULT,
        {
            "result": RESULTS[rec.smoke.status],
            "configuration": [
                {"name": f"smoke/{r.runner}", "annotations": {"command": r.command, "exit_code": r.exit_code}}
                for r in rec.smoke.results
            ],
            "passedTests": by_status["passed"],
            "failedTests": by_status["failed"],
            "warnedTests": [f"skipped: {x}" for x in by_status["skipped"]],
        },
    )


def linkage(t: ReleaseTarget, rec: TargetRecord) -> dict[str, Any] | None:
    if rec.audit is None:
        return None
    return _statement(t, LINKAGE, rec.audit.model_dump(mode="json"))
