"""Runners that prove a target's image works, not just its artifact.

* `container`: runs the image in the Docker engine through the Docker SDK
  (`gobuildx.project.engine`, as the image stage builds): no network, a read-only root file
  system, the image's own non-root user; a foreign CPU runs with its qemu-<arch>-static
  bind-mounted read-only as the entrypoint (there is no binfmt_misc), so the loader and
  libraries come from the image itself. The image is found locally (docker path), loaded
  from its tarball (daemonless path), or pulled by digest (pushed). The container is removed
  after every run, a timed-out one killed first.
* `image-rootfs`: the daemonless check: unpacks the image's layers from its OCI layout
  (or tarball) into the cache and runs the entrypoint with `qemu-<arch>-static -L <rootfs>`,
  after checking the entrypoint's sha256 equals the artifact's.
"""

from __future__ import annotations

import copy
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

from gobuildx.formats import oci
from gobuildx.model.image import ImageRecord
from gobuildx.project import engine
from gobuildx.smoke.runners.base import Availability, Job, Runner, SmokeResult
from gobuildx.smoke.runners.process import (
    Invocation,
    Outcome,
    base_env,
    execute,
    limits_of,
    log_path,
    open_log,
    verdict,
)
from gobuildx.smoke.runners.qemu import QEMU_ARCH
from gobuildx.smoke.runners.tools import version, which
from gobuildx.util import sandbox

NATIVE = {"amd64": ("amd64", "386"), "arm64": ("arm64",)}  # host arch -> arches its kernel runs itself
ABANDONED_S = 3600.0  # a half-unpacked rootfs this old belongs to a run that was killed


def _image(job: Job) -> ImageRecord | None:
    return job.record.image if job.record is not None else None


def _host_runs(job: Job) -> bool:
    return job.target.goarch in NATIVE.get(job.host.goarch, (job.host.goarch,))


class ContainerRunner(Runner):
    name = "container"
    kind = "image"
    install = "apt-get install docker.io, and start the engine (systemctl start docker, or dockerd)"

    def applies(self, job: Job) -> bool:
        return job.target.goos == "linux" and _image(job) is not None

    def availability(self, environ: dict[str, str]) -> Availability:
        """Usable when an engine answers through the SDK where `environ` points (no CLI needed)."""
        try:
            with engine.session(environ) as api:
                server = engine.version(api)
        except engine.EngineError as exc:
            why = f"at {exc.where}: {exc.reason}" if isinstance(exc, engine.EngineDown) else f"({exc})"
            return Availability(
                runner=self.name, available=False, detail=f"no Docker engine answers {why}"[:300], install=self.install
            )
        return Availability(
            runner=self.name,
            available=True,
            version=f"engine {server}",
            detail=engine.address(environ),
            install=self.install,
        )

    def run(self, job: Job) -> SmokeResult:
        image = _image(job)
        assert image is not None
        if job.check.server:
            return self.skipped(job, "server checks need a network; the container runs with --network none")
        qemu = None
        if not _host_runs(job):
            qemu = which(f"qemu-{QEMU_ARCH.get(job.target.goarch, job.target.goarch)}-static", job.environ)
            if qemu is None:
                return self.skipped(job, f"no qemu for {job.target.goarch}: apt-get install qemu-user-static")
        try:
            with engine.session(job.environ) as api:
                ref, why = _locate(api, image)
                if ref is None:
                    return SmokeResult(runner=self.name, binary=job.binary, status="failed", reason=why)
                spec = container(job, image, ref, qemu)
                ran = engine.run(api, spec, job.check.timeout_s)  # removes the container, whatever happens
        except engine.EngineError as exc:
            return SmokeResult(runner=self.name, binary=job.binary, status="failed", reason=str(exc))
        log = log_path(self.name, job)
        with open_log(log) as out:  # the work dir may hold what a sandboxed run left there
            out.write(ran.output.encode("utf-8"))
        outcome = Outcome(
            exit_code=ran.exit_code, timed_out=ran.timed_out, output=ran.output, duration_s=ran.duration_s
        )
        notes = [f"image {ref} ({image.platform})"] + ([f"qemu entrypoint {qemu}"] if qemu else [])
        notes.append(
            f"limits: memory {spec.memory_mib} MiB, {spec.processes} processes and threads, "
            f"files up to {spec.file_size_mib} MiB (the engine's cgroups and RLIMIT_FSIZE)"
        )
        limit = sandbox.limit_hit(
            limits_of(job),
            ran.exit_code,
            ran.output,
            oom=ran.oom_killed,
            pids_max=None,  # the engine does not say; a fork that failed says it
            uncounted=("the engine's memory cgroup", "the engine's pids cgroup"),
        )
        return verdict(self.name, job, spec.argv(), outcome, log, notes, limit)


def container(job: Job, image: ImageRecord, ref: str, qemu: str | None) -> engine.Container:
    """The contained run of one check: no network, read-only, as the image's user; a foreign
    CPU's image runs its own entrypoint under qemu, mounted read-only at /qemu."""
    name = f"gobuildx-smoke-{job.target.id}-{uuid.uuid4().hex[:8]}"
    entrypoint, command, mounts = None, list(job.check.args), {}
    if qemu:
        entrypoint, command = ["/qemu"], [*image.entrypoint, *job.check.args]
        mounts = {os.path.realpath(qemu): "/qemu"}
    return engine.Container(
        image=ref,
        name=name,
        platform=image.platform,
        command=command,
        entrypoint=entrypoint,
        environment=dict(job.check.env),
        mounts=mounts,
        memory_mib=job.check.memory_mib,  # [smoke] memory, processes, file_size: as for every runner
        processes=job.check.processes,
        file_size_mib=job.check.file_size_mib,
    )


def _locate(api: object, image: ImageRecord) -> tuple[str | None, str]:
    """A reference the engine can run: local tag, else load the tarball, else repository@digest."""
    for tag in image.local_tags:
        try:
            if engine.image_id(api, tag) == image.config_digest:
                return tag, ""
        except engine.EngineError:
            continue
    if image.tarball and Path(image.tarball).is_file():
        try:
            engine.load(api, Path(image.tarball))
        except engine.EngineError as exc:
            return None, str(exc)[:300]
        return image.config_digest, ""
    if image.pushed:
        return f"{image.repository}@{image.digest}", ""
    return None, (
        "the image is not in the engine, has no tarball and was not pushed; "
        "rerun `gobuildx image` (or with --tarballs DIR / --push)"
    )


class ImageRootfsRunner(Runner):
    name = "image-rootfs"
    kind = "image"
    install = "apt-get install qemu-user-static"

    def applies(self, job: Job) -> bool:
        image = _image(job)
        return job.target.goos == "linux" and image is not None and bool(image.oci_layout or image.tarball)

    def availability(self, environ: dict[str, str]) -> Availability:
        qemu = which("qemu-x86_64-static", environ) or which("qemu-aarch64-static", environ)
        if qemu is None:
            return Availability(
                runner=self.name, available=False, detail="no qemu-*-static on PATH", install=self.install
            )
        return Availability(
            runner=self.name,
            available=True,
            detail=qemu,
            install=self.install,
            version=version([qemu, "--version"], environ),
        )

    def run(self, job: Job) -> SmokeResult:
        image = _image(job)
        assert image is not None
        if job.check.server:
            return self.skipped(job, "server checks are left to the artifact runners")
        try:
            root = unpack(image, job.cache_dir / "image-rootfs")
        except (OSError, ValueError, KeyError, tarfile.TarError, oci.OciError) as exc:
            return SmokeResult(
                runner=self.name,
                binary=job.binary,
                status="failed",
                reason=f"cannot unpack the image {image.digest}: {exc}",
            )
        entry = root / image.entrypoint[0].lstrip("/")
        got = hashlib.sha256(entry.read_bytes()).hexdigest() if entry.is_file() else "missing"
        if got != image.artifact_sha256:
            return SmokeResult(
                runner=self.name,
                binary=job.binary,
                status="failed",
                reason=f"{image.entrypoint[0]} in the image is {got[:12]}, "
                f"not the artifact {image.artifact_sha256[:12]}",
            )
        if job.target.goarch == "386":
            if image.dynamic:
                return self.skipped(
                    job,
                    "qemu-i386 cannot run Go's 386 runtime and a dynamic 386 "
                    "binary needs its image's loader; the container runner covers it",
                )
            argv = [str(entry), *job.check.args]
        else:
            qemu = which(f"qemu-{QEMU_ARCH.get(job.target.goarch, job.target.goarch)}-static", job.environ)
            if qemu is None:
                return self.skipped(job, f"no qemu for {job.target.goarch}: {self.install}")
            argv = [qemu, "-L", str(root), str(entry), *job.check.args]
        return execute(
            self.name,
            job,
            Invocation(
                argv=argv,
                env=base_env(job),
                cwd=job.work_dir,
                notes=[f"rootfs of {image.digest} at {root}"],
                contained=True,  # as a native or QEMU run: the image's own binary, on the host's kernel
                readable=[root],
            ),
        )


def unpack(image: ImageRecord, cache: Path) -> Path:
    """The image's layers extracted (once) under cache/<digest>/rootfs; symlinks stay inside."""
    dest = cache / image.digest.split(":", 1)[1]
    if (dest / "rootfs").is_dir():
        return dest / "rootfs"
    cache.mkdir(parents=True, exist_ok=True)
    _forget_abandoned(cache)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=cache))  # unique per process and thread
    try:
        tmp.chmod(0o755)  # dest gets this mode, as a plain mkdir would give it
        extract(image, tmp)
        return publish(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already once published


def _forget_abandoned(cache: Path, older_than_s: float = ABANDONED_S) -> None:
    """Remove half-unpacked trees of runs that were killed (a live unpack takes seconds)."""
    cutoff = time.time() - older_than_s
    for tmp in cache.glob(".*.tmp-*"):
        try:
            if tmp.stat().st_mtime < cutoff:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            continue


def extract(image: ImageRecord, tmp: Path) -> None:
    """Every layer of the image, in order, into tmp/rootfs."""
    read = oci.blob_reader(image.oci_layout, image.tarball)
    (tmp / "rootfs").mkdir(parents=True)
    for layer in oci.layers(read, image.digest):
        with tarfile.open(fileobj=io.BytesIO(layer), mode="r:*") as tar:
            extract_within(tar, tmp / "rootfs")


def extract_within(tar: tarfile.TarFile, dest: Path) -> None:
    """Extract with tarfile's "tar" filter (Python 3.11.4+): no member may land outside dest,
    even through a symlink an earlier member made; setuid/setgid/sticky and group/other write
    bits are cleared. Debian 12's Python 3.11.2 has no filter argument, so there the same checks
    run by hand, member by member, as the filter does (a symlink is followed once it exists)."""
    if hasattr(tarfile, "tar_filter"):
        tar.extractall(dest, filter="tar")
        return
    root = os.path.realpath(dest)
    for original in tar.getmembers():
        member = copy.copy(original)
        member.name = original.name.lstrip("/")
        target = os.path.realpath(os.path.join(root, member.name))
        if os.path.commonpath([root, target]) != root:
            raise tarfile.TarError(f"{original.name!r} would be extracted outside {dest}")
        member.mode &= ~0o7022
        tar.extract(member, root)


def publish(tmp: Path, dest: Path) -> Path:
    """Rename the unpacked tmp to dest; if another process or job got there first, use theirs."""
    try:
        os.replace(tmp, dest)
    except OSError:
        if not (dest / "rootfs").is_dir():  # not a lost race: a real failure
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return dest / "rootfs"


def runners() -> list[Runner]:
    return [ContainerRunner(), ImageRootfsRunner()]
