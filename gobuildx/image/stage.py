"""The image stage: one FROM-scratch image per selected Linux target, joined by one OCI index.

Two ways to build, one result shape:
* docker (default): the two-stage dockerfiles/scratch.Dockerfile, built per platform by
  a Docker engine through the Docker SDK from a staged context (nothing is pulled);
* oci (--oci-layout / --tarballs): the same root file system written straight from
  Python into an OCI image layout, reproducibly (no daemon at all).
Either way, --push sends every platform image by digest and then the index under each
tag, so a tag never points at an incomplete set. Every input is checked before anything
is built or written: a missing or changed artifact, a dynamic binary whose loader and
libraries cannot be supplied, a bad repository or tag, each named in one error.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

from gobuildx.errors import ConfigError, ImageFailed
from gobuildx.formats import oci, ocirefs
from gobuildx.image import closure, credentials, engine, registry, rootfs, transport
from gobuildx.model.image import Builder, ImageIndexRecord, ImageRecord, PlatformDigest
from gobuildx.model.manifest import Manifest
from gobuildx.project import checks as configcheck
from gobuildx.project import manifest_file
from gobuildx.project.config import ImageTable
from gobuildx.project.context import ProjectContext
from gobuildx.project.engine import EngineDown, EngineError, connect
from gobuildx.project.imageref import explicit_domain
from gobuildx.project.matrix import Target
from gobuildx.util.files import describe, write_atomic

TAG_FIELDS = configcheck.TAG_FIELDS


class Options(BaseModel):
    repository: str | None = None
    push: bool = False
    oci_layout: Path | None = None
    tarballs: Path | None = None
    timeout_s: float = 300.0
    login: str | None = None
    """--login USER: log in to the registry as USER with `password` (read from stdin by the CLI)."""
    password: SecretStr | None = None
    mount_from: list[str] = []
    """Repositories of the same registry to mount blobs from instead of uploading them."""

    @property
    def builder(self) -> Builder:
        return "oci" if (self.oci_layout or self.tarballs) else "docker"


class Plan(BaseModel):
    """One target's image, fully decided before anything is built."""

    model_config = ConfigDict(frozen=True)

    target: Target
    binary: str
    artifact: Path
    sha256: str
    spec: oci.ImageSpec
    linkage: closure.Linkage
    libraries: list[str]


@dataclass(frozen=True)
class Extras:
    """What a push adds beside the images (the pipeline composes it: this stage signs nothing
    itself). `signer`: signs with the caller's key, which this stage never sees."""

    signer: ocirefs.Signer | None = None
    attachments: Sequence[ocirefs.Attachment] = field(default_factory=tuple)


class Result(BaseModel):
    records: dict[str, ImageRecord]
    index: ImageIndexRecord


def platform_of(target: Target) -> oci.Platform:
    """The OCI platform: GOARM -> variant v6/v7, GOAMD64 v2+ -> variant v2.. (per the image spec)."""
    variant = None
    if target.goarch == "arm":
        variant = f"v{target.goarm or '7'}"
    elif target.goarch == "amd64" and target.goamd64 not in (None, "v1"):
        variant = target.goamd64
    return oci.Platform(os=target.goos, architecture=target.goarch, variant=variant)


def table_of(ctx: ProjectContext) -> ImageTable:
    table = ctx.loaded.config.image
    if table is None:
        raise ImageFailed(
            f"{ctx.loaded.path}: no [image] table, so no images are configured; add one, e.g.\n"
            '  [image]\n  repository = "ghcr.io/you/app"\n  tags = ["{version}", "latest"]'
        )
    return table


def repository_of(ctx: ProjectContext, table: ImageTable, override: str | None) -> registry.Repository:
    where = "--repository" if override else f"{ctx.loaded.path}: image.repository"
    try:
        return registry.parse_repository(override or table.repository)
    except ValueError as exc:
        raise ConfigError([f"{where}: {exc}"]) from None


def render_tags(ctx: ProjectContext, table: ImageTable, mani: Manifest) -> list[str]:
    """Tags with {version}, {commit}, {short_commit}, {project} filled in, each a valid tag."""
    values = {"version": mani.version, "commit": mani.commit, "short_commit": mani.commit[:7], "project": mani.project}
    problems, out = [], []
    for i, template in enumerate(table.tags):
        where = f"{ctx.loaded.path}: image.tags[{i}]"
        wrong = configcheck.template_errors(template, TAG_FIELDS)
        if wrong:
            problems += [f"{where}: {why}" for why in wrong]
            continue
        tag = template.format(**values)
        try:
            out.append(registry.check_tag(tag))
        except ValueError as exc:
            problems.append(f"{where}: {template!r} gives {exc}")
    if not table.tags:
        problems.append(f'{ctx.loaded.path}: image.tags is empty; give at least one, e.g. ["{{version}}"]')
    if problems:
        raise ConfigError(problems)
    return list(dict.fromkeys(out))


def select(ctx: ProjectContext, table: ImageTable, targets: Sequence[Target]) -> list[Target]:
    chosen = [
        t
        for t in targets
        if t.goos == "linux" and t.goarch != "wasm" and any(fnmatch.fnmatchcase(t.id, p) for p in table.targets)
    ]
    if not chosen:
        ids = ", ".join(t.id for t in targets) or "(none)"
        raise ImageFailed(
            f"no selected target is a Linux target matching image.targets {table.targets}; selected: {ids}"
        )
    return chosen


def annotations_of(table: ImageTable, mani: Manifest) -> dict[str, str]:
    out = {
        "org.opencontainers.image.created": mani.date,
        "org.opencontainers.image.revision": mani.commit,
        "org.opencontainers.image.version": mani.version,
        "org.opencontainers.image.title": mani.project,
    }
    if table.source:
        out["org.opencontainers.image.source"] = table.source
    return out


HOST_FILES = rootfs.HostFiles()  # the CA bundle and zoneinfo of this machine (frozen)


def plan(
    ctx: ProjectContext,
    table: ImageTable,
    targets: Sequence[Target],
    mani: Manifest,
    host: rootfs.HostFiles = HOST_FILES,
) -> list[Plan]:
    """Every image decided and checked; one ImageFailed listing every problem, before any work."""
    binary = table.binary or ctx.loaded.config.project.binary_list()[0].name
    annotations = annotations_of(table, mani)
    plans, problems = [], []
    for target in targets:
        try:
            plans.append(_plan_one(ctx, table, target, mani, binary, annotations, host))
        except (_Refused, closure.ClosureError, oci.OciError) as exc:
            problems.append(f"{target.id}: {exc}")
    problems += _same_platform(targets)
    if problems:
        raise ImageFailed("no image was built:\n  " + "\n  ".join(problems))
    return plans


def _same_platform(targets: Sequence[Target]) -> list[str]:
    """Targets that would share one platform entry of the multi-arch index (a pull would get
    whichever comes first, e.g. linux-amd64 and linux-amd64-musl): one problem per platform."""
    by_platform: dict[str, list[str]] = {}
    for target in targets:
        p = platform_of(target)
        by_platform.setdefault("/".join(x for x in (p.os, p.architecture, p.variant) if x), []).append(target.id)
    return [
        f"{', '.join(ids)} are all the {platform} image of one multi-arch index, so a pull would get "
        f"whichever comes first; narrow image.targets to one of them (e.g. image.targets = "
        f'["{ids[0]}", ...]) or select one with --target'
        for platform, ids in by_platform.items()
        if len(ids) > 1
    ]


class _Refused(Exception):
    pass


def _plan_one(
    ctx: ProjectContext,
    table: ImageTable,
    target: Target,
    mani: Manifest,
    binary: str,
    annotations: dict[str, str],
    host: rootfs.HostFiles,
) -> Plan:
    record = mani.target(target.id)
    if record is None or record.status != "ok":
        raise _Refused(f"not built (status {record.status if record else 'missing'}); run `gobuildx build`")
    art = next((a for a in record.artifacts if a.binary == binary), None)
    if art is None:
        names = ", ".join(a.binary for a in record.artifacts)
        raise _Refused(f"no artifact for binary {binary!r} (built: {names}); set image.binary")
    path = ctx.dist / art.path
    if not path.is_file():
        raise _Refused(f"{path}: missing; run `gobuildx build`")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != art.sha256:
        raise _Refused(
            f"{path}: sha256 {digest[:12]}… differs from the manifest's {art.sha256[:12]}… "
            "(changed after the build); run `gobuildx build --force`"
        )
    link = closure.linkage(path, record.audit)
    placed: list[closure.Placed] = []
    if link.dynamic:
        reason = (
            f"dynamically linked (interpreter {link.interpreter or 'none'}, needs "
            f"{', '.join(link.needed) or 'nothing'}; per the {link.source})"
        )
        if table.dynamic == "refuse":
            raise _Refused(
                f'{reason}: refused by image.dynamic = "refuse"; build it static '
                '(libc = "static" or "musl") or set image.dynamic = "copy"'
            )
        sysroot, package = closure.sysroot_for(target, ctx.go.hostarch)
        try:
            placed = closure.resolve(path, link, sysroot, package)
        except closure.ClosureError as exc:
            raise _Refused(f"{reason}, and its loader/libraries cannot be supplied: {exc}") from None
    entries = rootfs.assemble(path, binary, table, ctx.loaded.root, placed, host)
    labels = {**annotations, **table.labels}
    spec = oci.ImageSpec(
        platform=platform_of(target),
        entries=entries,
        entrypoint=rootfs.entrypoint(binary),
        user=f"{table.uid}:{table.uid}",
        labels=labels,
        annotations=annotations,
        created=mani.date,
        mtime=mani.epoch,
    )
    return Plan(
        target=target,
        binary=binary,
        artifact=path,
        sha256=art.sha256,
        spec=spec,
        linkage=link,
        libraries=[p.path for p in placed],
    )


def build_docker(
    ctx: ProjectContext, plans: Sequence[Plan], repo: registry.Repository, tags: Sequence[str], opts: Options
) -> tuple[list[oci.Image], dict[str, list[str]]]:
    """Build each plan with the engine; returns the images read back as OCI, and local tags."""
    try:
        api = connect(ctx.environ, opts.timeout_s)
    except EngineDown as exc:
        raise ImageFailed(f"{exc}, or build without a daemon with --oci-layout DIR") from None
    images, local = [], {}
    for p in plans:
        local_tags = [f"{repo}:{_local_tag(t, p.target.id)}" for t in tags]
        try:
            image_id = engine.build(
                api, build_context(p), p.spec.platform, local_tags[0], p.spec.labels, int(p.spec.user.split(":")[0])
            )
            for ref in local_tags[1:]:
                engine.tag(api, image_id, ref)
            images.append(engine.to_oci(api, image_id, p.spec.platform, p.spec.annotations))
        except EngineError as exc:
            raise ImageFailed(f"{p.target.id}: {exc}") from None
        local[p.target.id] = local_tags
    return images, local


def build_context(p: Plan) -> bytes:
    """The Docker build context as a tar made in memory: Dockerfile + rootfs/<every entry>
    (no staging on disk, and the same modes and mtimes as the daemonless layer)."""
    entries = [e.model_copy(update={"path": "rootfs/" + oci.normalize(e.path)}) for e in p.spec.entries]
    dockerfile = engine.dockerfile_text(p.spec.entrypoint[0]).encode()
    return oci.layer_tar([*entries, oci.Entry(path="Dockerfile", data=dockerfile)], p.spec.mtime)


def _local_tag(tag: str, target_id: str) -> str:
    full = f"{tag}-{target_id}"
    return full if len(full) <= 128 else f"{tag[: 127 - len(target_id)]}-{target_id}"


def write_outputs(
    plans: Sequence[Plan],
    images: Sequence[oci.Image],
    top: oci.Blob,
    repo: registry.Repository,
    tags: Sequence[str],
    opts: Options,
) -> dict[str, str]:
    """The OCI layout and/or per-target tarballs; returns target id -> tarball path."""
    try:
        if opts.oci_layout:
            oci.write_layout(opts.oci_layout.resolve(), images, top, tags)
        out = {}
        if opts.tarballs:
            opts.tarballs.mkdir(parents=True, exist_ok=True)
            for p, img in zip(plans, images, strict=True):
                path = opts.tarballs.resolve() / f"{p.target.id}.tar"
                data = oci.docker_tarball(img, [f"{repo}:{_local_tag(t, p.target.id)}" for t in tags], p.spec.mtime)
                write_atomic(path, data)
                out[p.target.id] = str(path)
        return out
    except oci.OciError as exc:
        raise ImageFailed(f"writing the images failed: {exc}") from None
    except OSError as exc:
        raise ImageFailed(f"writing the images failed: {describe(exc)}") from None


def client_for(ctx: ProjectContext, table: ImageTable, repo: registry.Repository, opts: Options) -> registry.Client:
    """The registry client: its [image.registries] settings, the credential docker would use."""
    settings = table.registries.get(repo.domain)
    lookup = credentials.Lookup(repo.domain, ctx.environ, opts.login, opts.password)  # the password stays SecretStr
    try:
        lookup.check()  # half a login is an error before any work
        return registry.Client(
            repo.domain,
            opts.timeout_s,
            credentials=lookup,
            insecure=settings.insecure if settings else None,
            ca=ctx.loaded.root / settings.ca if settings and settings.ca else None,
            environ=ctx.environ,
        )
    except (credentials.CredentialError, transport.TransportError) as exc:
        raise ImageFailed(f"push to {repo} failed: {exc}; no tag was moved") from None


def mount_source(repo: registry.Repository, given: str) -> str:
    """A --mount-from repository (full, or a path in repo's registry) as its path in that registry.
    Whether it names a registry is the reference rule of project/imageref (`localhost/x`,
    `host:5000/x` and `registry.corp/x` do; `team/base` does not)."""
    try:
        source = registry.parse_repository(given if explicit_domain(given) else f"{repo.domain}/{given}")
    except ValueError as exc:
        raise ConfigError([f"--mount-from {given}: {exc}"]) from None
    if source.domain != repo.domain:
        raise ConfigError([f"--mount-from {given}: a blob mounts only within one registry ({repo.domain})"])
    return source.path


def push(
    client: registry.Client,
    repo: registry.Repository,
    images: Sequence[oci.Image],
    top: oci.Blob,
    tags: Sequence[str],
    mount_from: Sequence[str],
) -> None:
    try:
        registry.push(client, repo, images, top, tags, mount_from)
    except registry.PushError as exc:
        raise ImageFailed(f"push to {repo} failed: {exc}") from None


def run(ctx: ProjectContext, targets: Sequence[Target], opts: Options, extras: Extras | None = None) -> Result:
    """Plan, build (docker or oci), write, push (with `extras` attached), and record in dist/manifest.json."""
    table = table_of(ctx)
    repo = repository_of(ctx, table, opts.repository)
    mani = manifest_file.require(ctx.dist)
    tags = render_tags(ctx, table, mani)
    plans = plan(ctx, table, select(ctx, table, targets), mani)
    mount_from = [mount_source(repo, m) for m in opts.mount_from]
    client = client_for(ctx, table, repo, opts) if opts.push else None  # half a login: an error before any work
    if opts.builder == "oci":
        images, local = [oci.build(p.spec) for p in plans], {}
    else:
        images, local = build_docker(ctx, plans, repo, tags, opts)
    top = oci.index(images, annotations_of(table, mani))
    tarballs = write_outputs(plans, images, top, repo, tags, opts)
    attached = None
    if client is not None:
        push(client, repo, images, top, tags, mount_from)
        if extras is not None:
            attached = attach(client, repo, plans, images, top, extras, mani.date)
    result = _result(plans, images, top, repo, tags, opts, local, tarballs, mani.date, attached)
    _record(ctx.dist, result)
    return result


@dataclass(frozen=True)
class Attached:
    """What attach() pushed: the manifests signed, the referrers per subject, the API used."""

    signed: frozenset[str]
    referrers: dict[str, list[str]]  # subject digest -> artifact types
    referrers_api: bool


def attach(
    client: registry.Client,
    repo: registry.Repository,
    plans: Sequence[Plan],
    images: Sequence[oci.Image],
    top: oci.Blob,
    extras: Extras,
    created: str,
) -> Attached:
    """Sign the index and every platform manifest (cosign's signature tags) and attach each
    file as a referrer of its target's image (or the index)."""
    subjects = {p.target.id: img.manifest for p, img in zip(plans, images, strict=True)}
    signatures, referrers = [], []
    if extras.signer is not None:
        for subject in [top, *subjects.values()]:
            # both forms cosign v3 reads: the `.sig` tag (older verifiers, and cosign's fallback)
            # and the Sigstore bundle referrer (what `cosign sign` writes by default since v3)
            payload = ocirefs.simple_signing(str(repo), subject.digest)
            sig = base64.b64encode(extras.signer.sign(payload)).decode()
            signatures.append(ocirefs.Signature(ocirefs.signature_tag(subject.digest), payload, sig))
            referrers.append(ocirefs.bundle_referrer(subject, extras.signer, created))
    for a in extras.attachments:
        subject = top if a.target is None else subjects.get(a.target)
        if subject is not None:
            content = oci.Blob(media_type=a.media_type, data=a.data)
            referrers.append(ocirefs.referrer(subject, a.artifact_type, content, a.name, created))
    try:
        api = registry.attach(client, repo, signatures, referrers)
    except registry.PushError as exc:
        raise ImageFailed(f"push to {repo} failed: {exc} (the image tags were moved already)") from None
    by_subject: dict[str, list[str]] = {}
    for r in referrers:
        by_subject.setdefault(r.subject, []).append(r.artifact_type)
    return Attached(
        signed=frozenset(s.digest for s in [top, *subjects.values()]) if signatures else frozenset(),
        referrers=by_subject,
        referrers_api=api,
    )


def _result(
    plans: Sequence[Plan],
    images: Sequence[oci.Image],
    top: oci.Blob,
    repo: registry.Repository,
    tags: Sequence[str],
    opts: Options,
    local: dict[str, list[str]],
    tarballs: dict[str, str],
    created: str,
    attached: Attached | None = None,
) -> Result:
    signed = attached.signed if attached else frozenset()
    referrers = attached.referrers if attached else {}
    records = {}
    for p, img in zip(plans, images, strict=True):
        records[p.target.id] = ImageRecord(
            repository=str(repo),
            platform=str(img.platform),
            binary=p.binary,
            entrypoint=p.spec.entrypoint,
            artifact_sha256=p.sha256,
            digest=img.digest,
            config_digest=img.config.digest,
            size=sum(b.size for b in img.blobs()),
            builder=opts.builder,
            local_tags=local.get(p.target.id, []),
            dynamic=p.linkage.dynamic,
            linkage_from=p.linkage.source if p.linkage.dynamic else None,
            libraries=p.libraries,
            tarball=tarballs.get(p.target.id),
            pushed=opts.push,
            oci_layout=str(opts.oci_layout.resolve()) if opts.oci_layout else None,
            signed=img.digest in signed,
            referrers=referrers.get(img.digest, []),
        )
    index = ImageIndexRecord(
        repository=str(repo),
        tags=[repo.ref(t) for t in tags],
        digest=top.digest,
        media_type=top.media_type,
        platforms=[
            PlatformDigest(target=p.target.id, platform=str(img.platform), digest=img.digest)
            for p, img in zip(plans, images, strict=True)
        ],
        builder=opts.builder,
        created=created,
        pushed=opts.push,
        oci_layout=str(opts.oci_layout.resolve()) if opts.oci_layout else None,
        signed=top.digest in signed,
        referrers=referrers.get(top.digest, []),
        referrers_api=attached.referrers_api if attached and attached.referrers else None,
    )
    return Result(records=records, index=index)


def _record(dist: Path, result: Result) -> None:
    def change(current: Manifest | None) -> Manifest:
        if current is None:
            raise ImageFailed(f"{manifest_file.path_in(dist)} disappeared during the image stage")
        for tid, rec in result.records.items():
            target = current.target(tid)
            if target is not None:
                current.upsert(target.model_copy(update={"image": rec}))
        current.image = result.index
        return current

    manifest_file.update(dist, change)
