"""dist/release/: one archive per target, SBOMs, manifest.json and SHA256SUMS, all reproducible.

The release is assembled in a hidden staging directory and renamed into place, so
dist/release/ is always a complete release (the previous one, or the new one); a
refused release never touches it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict

from gobuildx import __version__
from gobuildx.errors import ConfigError, ReleaseRefused
from gobuildx.model.manifest import Manifest, TargetRecord
from gobuildx.model.package import ReleasePackage
from gobuildx.model.release import (
    MANIFEST,
    RELEASE_DIR,
    SUMS,
    Omitted,
    Rebuild,
    ReleaseArchive,
    ReleaseBinary,
    ReleaseManifest,
    ReleaseTarget,
)
from gobuildx.project import checks as configcheck
from gobuildx.project.config import Release
from gobuildx.project.context import ProjectContext
from gobuildx.project.manifest_file import require as manifest_require
from gobuildx.release import archive, sbom, stageview
from gobuildx.release.stageview import StageView
from gobuildx.util.files import copy_atomic, sha256_file, sibling, swap_dir, write_atomic


class Inputs(BaseModel):
    """What a release is made from: a dist manifest and the project's [release] table."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    dist: Path
    manifest: Manifest
    settings: Release
    root: Path  # paths in settings.files are relative to it (the directory of targets.toml)
    config_path: Path
    ids: list[str]  # the selected targets
    allow_failures: bool = False
    jobs: int = 0
    rebuild: Rebuild | None = None  # `release --rebuild`: recorded in the manifest (and so the provenance)


class Blocker(BaseModel):
    id: str
    reason: str


def blockers(m: Manifest, ids: Sequence[str]) -> list[Blocker]:
    """Every selected target that must not be released, with the stage that blocked it."""
    out = []
    for tid in ids:
        rec = m.target(tid)
        if rec is None:
            out.append(Blocker(id=tid, reason="not built (absent from dist/manifest.json)"))
            continue
        if rec.status != "ok" or not rec.artifacts:
            out.append(Blocker(id=tid, reason=f"build {rec.status}"))
            continue
        v = stageview.view(rec)
        if v.audit == "fail":
            out.append(Blocker(id=tid, reason="audit failed" + (f": {v.audit_detail}" if v.audit_detail else "")))
        if v.smoke == "fail":
            out.append(Blocker(id=tid, reason="smoke test failed" + (f": {v.smoke_detail}" if v.smoke_detail else "")))
    return out


def refusal(found: Sequence[Blocker]) -> ReleaseRefused:
    lines = [f"  {b.id}: {b.reason}" for b in found]
    return ReleaseRefused(
        f"release refused: {len({b.id for b in found})} target(s) blocked it\n"
        + "\n".join(lines)
        + "\n(fix them, or pass --allow-failures to release the rest and record the failures)"
    )


def _values(m: Manifest, rec: TargetRecord) -> dict[str, str]:
    first = PurePosixPath(rec.artifacts[0].path).name if rec.artifacts else ""
    binary = first.removesuffix(archive.extension("binary", first)) if first else ""
    return configcheck.release_values(
        m.project, m.version, m.commit, rec.id, rec.goos, rec.goarch, rec.goarm, rec.goamd64, binary
    )


def archive_stem(settings: Release, m: Manifest, rec: TargetRecord, config_path: Path) -> str:
    values = _values(m, rec)
    template = settings.names.get(rec.id, settings.name)
    key = f'release.names."{rec.id}"' if rec.id in settings.names else "release.name"
    stem = configcheck.fill(template, values, key, config_path)
    if not stem or "/" in stem or stem.startswith("."):
        raise ConfigError([f"{config_path}: {key}: {template!r} gives {stem!r}, which is not a plain file name"])
    return stem


def wrap_dir(settings: Release, m: Manifest, rec: TargetRecord, stem: str, config_path: Path) -> str | None:
    """The directory release.wrap puts every member of this target's archive in (None: the top)."""
    if settings.wrap is None:
        return None
    values = _values(m, rec)
    return configcheck.fill(settings.wrap, {**values, "name": stem}, "release.wrap", config_path).strip("/") or None


def extra_files(settings: Release, root: Path, config_path: Path) -> list[archive.Entry]:
    # Checked when the project was opened; asked again because a file can go in between.
    problems = configcheck.release_file_problems(settings, root, config_path)
    if problems:
        raise ConfigError(problems)
    return [archive.Entry(name=str(PurePosixPath(name)), source=root / name) for name in settings.files]


def _check_artifacts(dist: Path, rec: TargetRecord) -> None:
    for art in rec.artifacts:
        path = dist / art.path
        if not path.is_file():
            raise ReleaseRefused(
                f"{rec.id}: {path} is missing (dist/manifest.json lists it); rebuild with `gobuildx build`"
            )
        if sha256_file(path) != art.sha256:
            raise ReleaseRefused(
                f"{rec.id}: {path} changed since it was built (sha256 differs from "
                "dist/manifest.json); rebuild with `gobuildx build --force`"
            )


def _one_target(
    inp: Inputs, rec: TargetRecord, extras: list[archive.Entry], staging: Path, epoch: int
) -> ReleaseTarget:
    _check_artifacts(inp.dist, rec)
    m, fmt = (
        inp.manifest,
        archive.format_for(rec.goos, inp.settings.format_overrides.get(rec.goos, inp.settings.format)),
    )
    stem = archive_stem(inp.settings, m, rec, inp.config_path)
    entries = [
        archive.Entry(name=PurePosixPath(a.path).name, source=inp.dist / a.path, executable=True) for a in rec.artifacts
    ]
    name = stem + archive.extension(fmt, entries[0].name)
    if fmt == "binary":
        # the binary itself is the release file, as GoReleaser's `binary` format: no extra files, no wrap
        if len(entries) != 1:
            raise ConfigError([f"{inp.config_path}: release.format: binary, but {rec.id} has {len(entries)} binaries"])
        entries, top = [entries[0].model_copy(update={"name": name})], None
    else:
        taken = {e.name for e in entries}
        entries += [e for e in extras if e.name not in taken]
        top = wrap_dir(inp.settings, m, rec, stem, inp.config_path)
    if top:
        entries = [e.model_copy(update={"name": f"{top}/{e.name}"}) for e in entries]
    data = archive.write(fmt, entries, epoch)
    write_atomic(staging / name, data)
    inner = {a.path: (name if fmt == "binary" else None) for a in rec.artifacts}
    binaries = [
        _binary(inp, rec, a.binary, a.path, a.size, a.sha256, stem, staging, top, inner[a.path]) for a in rec.artifacts
    ]
    packages = _packages(inp.dist, rec, staging)
    v: StageView = stageview.view(rec)
    return ReleaseTarget(
        id=rec.id,
        goos=rec.goos,
        goarch=rec.goarch,
        goarm=rec.goarm,
        goamd64=rec.goamd64,
        go386=rec.go386,
        goarm64=rec.goarm64,
        gomips=rec.gomips,
        cgo=rec.cgo,
        libc=rec.libc,
        min_glibc=rec.min_glibc,
        link=rec.link,
        c_toolchain=rec.c_toolchain,
        archive=ReleaseArchive(
            name=name, format=fmt, wrap=top, size=len(data), sha256=hashlib.sha256(data).hexdigest()
        ),
        binaries=binaries,
        audit=v.audit,
        smoke=v.smoke,
        image=v.image,
        packages=packages,
    )


def _packages(dist: Path, rec: TargetRecord, staging: Path) -> list[ReleasePackage]:
    """The target's Linux packages, copied into the release as the package stage wrote them
    (and refused if one changed since: its sha256 is the one dist/manifest.json records)."""
    out = []
    for p in rec.packages.written if rec.packages else []:
        path = dist / p.path
        if not path.is_file() or sha256_file(path) != p.sha256:
            raise ReleaseRefused(
                f"{rec.id}: {path} is missing or changed since it was packaged; run `gobuildx package` again"
            )
        copy_atomic(path, staging / p.name)
        out.append(ReleasePackage(**p.model_dump(exclude={"path", "bindir"})))
    return out


def _binary(
    inp: Inputs,
    rec: TargetRecord,
    binary: str,
    path: str,
    size: int,
    digest: str,
    stem: str,
    staging: Path,
    top: str | None,
    bare: str | None = None,
) -> ReleaseBinary:
    """`bare`: the release file that is this binary itself (format binary), its path in the manifest."""
    inner = bare or (f"{top}/{PurePosixPath(path).name}" if top else PurePosixPath(path).name)
    out = ReleaseBinary(binary=binary, path=inner, size=size, sha256=digest)
    if inp.settings.sbom == "none":
        return out
    m = inp.manifest
    info = sbom.read_buildinfo(inp.dist / path)
    subject = sbom.Subject(
        project=m.project, version=m.version, date=m.date, target=rec.id, binary=binary, path=inner, sha256=digest
    )
    doc = sbom.render(inp.settings.sbom, subject, info)
    name = sbom.file_name(inp.settings.sbom, stem, binary)
    write_atomic(staging / name, doc)
    return out.model_copy(update={"sbom": name, "sbom_sha256": hashlib.sha256(doc).hexdigest()})


def sums_text(files: dict[str, str]) -> str:
    """SHA256SUMS as `sha256sum -c` reads it: '<hex>  <name>', sorted by name."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(files.items()))


# Called in the staging folder once SHA256SUMS is written, before it is renamed into place:
# pipeline.py hands in the sign stage here, so a release is signed whole or not written.
Finish = Callable[[Path, ReleaseManifest], object]


def assemble(inp: Inputs, finish: Finish | None = None) -> ReleaseManifest:
    """Check, then write dist/release/ atomically; returns its manifest."""
    found = blockers(inp.manifest, inp.ids)
    if found and not inp.allow_failures:
        raise refusal(found)
    blocked_builds = {b.id: b.reason for b in found if b.reason.startswith(("not built", "build "))}
    extras = extra_files(inp.settings, inp.root, inp.config_path)
    records = [
        r for r in (inp.manifest.target(t) for t in sorted(inp.ids)) if r is not None and r.id not in blocked_builds
    ]
    _check_unique_names(inp, records)
    epoch = inp.manifest.epoch
    staging = sibling(inp.dist / RELEASE_DIR)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        targets = _all_targets(inp, records, extras, staging, epoch)
        rm = _release_manifest(inp, targets, epoch, blocked_builds)
        _write_index(staging, rm)
        if finish is not None:
            finish(staging, rm)
        swap_dir(staging, inp.dist / RELEASE_DIR)  # readers see the old or the new release
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return rm


def _check_unique_names(inp: Inputs, records: list[TargetRecord]) -> None:
    seen: dict[str, str] = {}
    for rec in records:
        stem = archive_stem(inp.settings, inp.manifest, rec, inp.config_path)
        if stem in seen:
            raise ConfigError(
                [
                    f"{inp.config_path}: release.name: {inp.settings.name!r} gives {stem!r} for both "
                    f"{seen[stem]} and {rec.id}; include {{id}} (or {{goos}} and {{goarch}} and "
                    "what else differs)"
                ]
            )
        seen[stem] = rec.id


def _all_targets(
    inp: Inputs, records: list[TargetRecord], extras: list[archive.Entry], staging: Path, epoch: int
) -> list[ReleaseTarget]:
    jobs = inp.jobs or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda r: _one_target(inp, r, extras, staging, epoch), records))


def _release_manifest(
    inp: Inputs, targets: list[ReleaseTarget], epoch: int, omitted: dict[str, str]
) -> ReleaseManifest:
    m = inp.manifest
    ran = stageview.stages_run(m)
    return ReleaseManifest(
        gobuildx=__version__,
        project=m.project,
        version=m.version,
        commit=m.commit,
        date=m.date,
        epoch=epoch,
        go=m.go,
        sbom=inp.settings.sbom,
        files=list(inp.settings.files),
        stages={"build": "ran", **{k: ("ran" if v else "not run") for k, v in ran.items()}},
        image_index=stageview.index_digest(m),
        image_repository=m.image.repository if m.image else None,
        targets=[t.model_copy(update={"reproduced": inp.rebuild.reproduced(t.id)}) for t in targets]
        if inp.rebuild
        else targets,
        omitted=[Omitted(id=k, reason=v) for k, v in sorted(omitted.items())],
        rebuild=inp.rebuild,
    )


def _write_index(staging: Path, rm: ReleaseManifest) -> None:
    data = rm.model_dump(mode="json")
    for t in data["targets"]:
        if not t["packages"]:  # a release without [package] keeps the manifest.json it had
            del t["packages"]
    body = json.dumps(data, indent=2) + "\n"
    write_atomic(staging / MANIFEST, body.encode())
    digests = {p.name: sha256_file(p) for p in staging.iterdir() if p.is_file() and p.name != SUMS}
    write_atomic(staging / SUMS, sums_text(digests).encode())


def version_warnings(rm: ReleaseManifest, version_source: str) -> list[str]:
    """What a release engineer should hear before publishing: a version that no commit names."""
    out = []
    if rm.commit == "none" and version_source == "git":
        out.append(
            f"warning: the release is stamped {rm.version} with commit none: the module is in no git "
            "repository with a commit; tag a commit, or set project.version"
        )
    elif rm.commit == "none":
        out.append(
            f"warning: the release is stamped {rm.version} with commit none: its binaries name no "
            "commit (the module is in no git repository with a commit)"
        )
    if rm.version.endswith("-dirty"):
        out.append(
            f"warning: the release is stamped {rm.version}: built from uncommitted changes "
            "(git describe --dirty); commit them, then release again"
        )
    return out


def not_run_notes(rm: ReleaseManifest) -> list[str]:
    return [
        f'note: the {name} stage did not run; its result is recorded as "not-run"'
        for name, state in rm.stages.items()
        if state != "ran"
    ]


def from_project(
    ctx: ProjectContext,
    ids: Sequence[str],
    allow_failures: bool = False,
    jobs: int = 0,
    dist: Path | None = None,
    rebuild: Rebuild | None = None,
) -> Inputs:
    """Release inputs for the selected ids of a project (dist: another dist folder, e.g. merged)."""
    where = dist or ctx.dist
    m = read_manifest(where)
    return Inputs(
        dist=where,
        manifest=m,
        settings=ctx.loaded.config.release,
        root=ctx.loaded.root,
        config_path=ctx.loaded.path,
        ids=list(ids),
        allow_failures=allow_failures,
        jobs=jobs,
        rebuild=rebuild,
    )


def read_manifest(dist: Path) -> Manifest:
    return manifest_require(dist)
