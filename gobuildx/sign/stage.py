"""sign: signatures and SLSA provenance, written into the release's staging folder after
SHA256SUMS and before the folder is renamed into place (release.stage.assemble's `finish`),
so dist/release/ is never half-signed. Composed by pipeline.release_only."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from gobuildx.formats import ocirefs
from gobuildx.model.release import MANIFEST, RELEASE_DIR, SUMS, ReleaseManifest
from gobuildx.model.trust import attestations_name, provenance_name
from gobuildx.project import manifest_file
from gobuildx.project.config import SignTable
from gobuildx.project.context import ProjectContext
from gobuildx.sign import attest, formats, provenance
from gobuildx.sign.signers import Signer, close_all, open_signers
from gobuildx.util.files import write_atomic


@dataclass(frozen=True)
class Plan:
    """The [sign] table, its keys opened (signers hold them; a Protocol, so no pydantic here)."""

    table: SignTable
    signers: list[Signer]
    facts: provenance.Facts


def plan(ctx: ProjectContext, ids: list[str], environ: Mapping[str, str]) -> Plan | None:
    """The keys opened and the provenance facts gathered, or None without a [sign] table.
    Called before any stage runs: a missing secret stops the release at once."""
    table = ctx.loaded.config.sign
    if table is None:
        return None
    signers = open_signers(table, ctx.loaded.root, environ)
    return Plan(table=table, signers=signers, facts=facts(ctx, ids, environ))


def facts(ctx: ProjectContext, ids: list[str], environ: Mapping[str, str]) -> provenance.Facts:
    go_sum = ctx.loaded.module_dir / "go.sum"
    modules = provenance.read_go_sum(go_sum.read_text()) if go_sum.is_file() else []
    builder, invocation = provenance.builder_id(environ)
    project = ctx.loaded.config.project
    return provenance.Facts(
        config_sha256=hashlib.sha256(ctx.loaded.path.read_bytes()).hexdigest(),
        selection=sorted(ids),
        go_env=dict(sorted(project.env.items())),
        flags=list(project.flags),
        zig=_zig_version(),
        modules=modules,
        builder_id=builder,
        invocation_id=invocation,
    )


def _zig_version() -> str | None:
    try:
        return metadata.version("ziglang")
    except metadata.PackageNotFoundError:
        return None


def signed_names(table: SignTable, rm: ReleaseManifest) -> list[str]:
    names = [SUMS]
    if table.files == "archives":  # every release file of each target: archive, SBOMs, packages
        for t in rm.targets:
            names += [name for name, _ in t.files()]
    return sorted(names)


def run(p: Plan, dist: Path, staging: Path, rm: ReleaseManifest) -> list[str]:
    """Write the provenance, the attestations and every signature into staging (the release of
    dist); returns the names written."""
    written = []
    if p.table.provenance:
        key = next(k for k in (s.dsse_key() for s in sorted(p.signers, key=_dsse_order)) if k is not None)
        files = {provenance_name(rm.project, rm.version): [provenance.statement(rm, p.facts)]}
        files.update(attest.per_target(dist, manifest_file.require(dist), rm))
        for name, statements in files.items():
            lines = [_envelope_line(key, st) for st in statements]
            write_atomic(staging / name, "".join(lines).encode())
            written.append(name)
    for name in signed_names(p.table, rm):
        data = (staging / name).read_bytes()
        for s in p.signers:
            write_atomic(staging / (name + s.suffix), s.sign(name, data, rm.epoch))
            written.append(name + s.suffix)
    return sorted(written)


def _envelope_line(key: formats.PrivateKey, statement: dict[str, Any]) -> str:
    envelope = formats.envelope(key, provenance.canonical(statement))
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")) + "\n"


def _dsse_order(s: Signer) -> int:
    return 0 if s.method == "cosign" else 1  # cosign's ECDSA key first, as docs/trust.md says


def image_signer(p: Plan | None) -> ocirefs.Signer | None:
    """What signs a pushed image (cosign's ECDSA P-256 over SHA-256, DER), when [sign] asks for
    images; the image stage calls it, so it never sees a key."""
    if p is None or not p.table.images:
        return None
    key = next((s.dsse_key() for s in p.signers if s.method == "cosign"), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None  # checks.sign_problems: images needs [sign.cosign]
    return ocirefs.Signer(sign=functools.partial(formats.sign_raw, key), hint=formats.key_hint(key.public_key()))


def image_attachments(dist: Path) -> list[ocirefs.Attachment]:
    """dist/release/'s SBOMs and attestations of each target, and its provenance for every
    image and the index, to attach as referrers. None when there is no release, or when it is
    of other binaries than dist holds now (a stale release would describe other bytes)."""
    folder = dist / RELEASE_DIR
    try:
        rm = ReleaseManifest.model_validate_json((folder / MANIFEST).read_bytes())
    except (OSError, ValueError):
        return []
    built = manifest_file.require(dist)
    out: list[ocirefs.Attachment] = []
    for t in rm.targets:
        rec = built.target(t.id)
        now = {a.sha256 for a in rec.artifacts} if rec is not None else set()
        if not {b.sha256 for b in t.binaries} <= now:
            continue
        for b in t.binaries:
            if b.sbom and (folder / b.sbom).is_file():
                mt = ocirefs.MT_SPDX if b.sbom.endswith(".spdx.json") else ocirefs.MT_CYCLONEDX
                out.append(
                    ocirefs.Attachment(
                        target=t.id, artifact_type=mt, media_type=mt, name=b.sbom, data=(folder / b.sbom).read_bytes()
                    )
                )
        out += _attestation(folder, attestations_name(t.archive.name), [t.id])
        out += _attestation(folder, provenance_name(rm.project, rm.version), [t.id])
    if out:
        out += _attestation(folder, provenance_name(rm.project, rm.version), [None])
    return out


def _attestation(folder: Path, name: str, targets: list[str | None]) -> list[ocirefs.Attachment]:
    path = folder / name
    if not path.is_file():
        return []
    data = path.read_bytes()
    return [
        ocirefs.Attachment(
            target=t, artifact_type=ocirefs.MT_IN_TOTO, media_type=ocirefs.MT_DSSE_LINES, name=name, data=data
        )
        for t in targets
    ]


def close(p: Plan | None) -> None:
    if p is not None:
        close_all(p.signers)
