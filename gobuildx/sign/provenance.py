"""SLSA v1 provenance of a release: one in-toto Statement naming every archive, SBOM and
binary by sha256. Everything in it comes from the manifest, targets.toml, go.sum and the
CI's environment: no clock, so the same inputs give the same bytes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from gobuildx.model.release import ReleaseManifest, ReleaseTarget
from gobuildx.model.trust import BUILD_TYPE, SLSA_PROVENANCE, STATEMENT_TYPE


class Facts(BaseModel):
    """What the provenance states beyond the release manifest (sign.stage.facts collects it)."""

    model_config = ConfigDict(frozen=True)

    config_sha256: str
    selection: list[str]
    go_env: dict[str, str]  # the environment targets.toml gives every go build
    flags: list[str]
    zig: str | None
    modules: list[tuple[str, str, str]]  # (module path, version, go.sum h1: hash)
    builder_id: str
    invocation_id: str | None = None


def subjects(rm: ReleaseManifest) -> list[dict[str, Any]]:
    """Archives, SBOMs and packages by their file names; binaries as <archive>/<path inside it>."""
    out = []
    for t in rm.targets:
        files = t.files()  # the archive, the SBOMs, the packages
        out.append(_subject(*files[0]))
        out += binary_subjects(t)
        out += [_subject(name, digest) for name, digest in files[1:]]
    return sorted(out, key=lambda s: s["name"])


def binary_subjects(t: ReleaseTarget) -> list[dict[str, Any]]:
    return [_subject(f"{t.archive.name}/{b.path}", b.sha256) for b in t.binaries]


def _subject(name: str, sha256: str) -> dict[str, Any]:
    return {"name": name, "digest": {"sha256": sha256}}


def builder_id(environ: Mapping[str, str]) -> tuple[str, str | None]:
    """GitHub Actions' run URL when gobuildx runs there, else this host (builder, invocation)."""
    server, repo, run = (environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repo and run:
        attempt = environ.get("GITHUB_RUN_ATTEMPT", "1")
        return f"{server}/{repo}/actions/runs/{run}", f"{server}/{repo}/actions/runs/{run}/attempts/{attempt}"
    import socket

    return f"gobuildx://local/{socket.gethostname()}", None


def statement(rm: ReleaseManifest, facts: Facts) -> dict[str, Any]:
    deps: list[dict[str, Any]] = [{"uri": f"pkg:golang/toolchain@{rm.go}", "name": "go"}]
    if facts.zig:
        deps.append({"uri": f"pkg:pypi/ziglang@{facts.zig}", "name": "zig"})
    deps += [
        {"uri": f"pkg:golang/{path}@{version}", "digest": {"goModuleH1": h1}} for path, version, h1 in facts.modules
    ]
    metadata: dict[str, Any] = {"startedOn": rm.date, "finishedOn": rm.date}
    if facts.invocation_id:
        metadata["invocationId"] = facts.invocation_id
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects(rm),
        "predicateType": SLSA_PROVENANCE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "targets_toml": {"sha256": facts.config_sha256},
                    "selection": facts.selection,
                    "commit": rm.commit,
                    "version": rm.version,
                },
                "internalParameters": {"go": rm.go, "zig": facts.zig, "env": facts.go_env, "flags": facts.flags},
                "resolvedDependencies": deps,
            },
            "runDetails": {
                "builder": {"id": facts.builder_id, "version": {"gobuildx": rm.gobuildx}},
                "metadata": metadata,
                **({"byproducts": rebuilt(rm)} if rm.rebuild else {}),
            },
        },
    }


def rebuilt(rm: ReleaseManifest) -> list[dict[str, Any]]:
    """`release --rebuild`'s result: each binary as the fresh build made it (named like its
    subject, under rebuild/), with whether it is identical to the released one."""
    assert rm.rebuild is not None
    paths = {(t.id, b.binary): f"{t.archive.name}/{b.path}" for t in rm.targets for b in t.binaries}
    return [
        {
            "name": f"rebuild/{paths.get((b.target, b.binary), b.target + '/' + b.binary)}",
            "digest": {"sha256": b.sha256} if b.sha256 else {},
            "annotations": {"commit": rm.rebuild.commit, "identical": b.identical},
        }
        for b in rm.rebuild.binaries
    ]


def canonical(doc: dict[str, Any]) -> bytes:
    """A Statement's bytes as signed: sorted keys, no spaces, so the same facts sign the same."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def read_go_sum(text: str) -> list[tuple[str, str, str]]:
    """Every module of go.sum with its h1: hash (the /go.mod-only lines are left out: they
    hash a go.mod, not the code that was compiled)."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and not parts[1].endswith("/go.mod") and parts[2].startswith("h1:"):
            out.append((parts[0], parts[1], parts[2]))
    return sorted(set(out))
