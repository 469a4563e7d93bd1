"""Building images and reading them back through a Docker engine with the Docker SDK.

The client comes from `gobuildx.project.engine` (the one way gobuildx talks to an engine:
found like the docker CLI finds it, its errors, image lookup and load). Builds use the
low-level API with `platform`, `pull=False` and the two-stage scratch Dockerfile, so nothing
is pulled.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors
import requests.exceptions

from gobuildx.formats.oci import (
    MT_CONFIG,
    MT_LAYER_GZIP,
    MT_MANIFEST,
    Blob,
    Image,
    Platform,
    canonical_json,
    gzip_bytes,
)
from gobuildx.project.engine import EngineError, first_line

DEFAULT_ENTRYPOINT = '["/usr/local/bin/app"]'
# Kept identical to dockerfiles/scratch.Dockerfile (a test checks it).
SCRATCH_DOCKERFILE = """\
# The image gobuildx builds for every Linux target: two stages, nothing pulled.
#
# Build context (gobuildx stages it; by hand, make it yourself):
#   rootfs/usr/local/bin/app                      the binary, exactly as built (static,
#                                                 or with its loader and libs under rootfs/lib/)
#   rootfs/etc/ssl/certs/ca-certificates.crt      CA certificates
#   rootfs/usr/share/zoneinfo/...                 time zones
#   rootfs/etc/passwd, rootfs/etc/group           root + one non-root user (uid 65532)
#   rootfs/tmp/                                   empty, mode 1777
#   rootfs/home/nonroot/                          the user's home (owned by UID)
#
# By hand, one platform per build (no base image, so no emulation is needed):
#   docker build --platform linux/arm64 -f dockerfiles/scratch.Dockerfile -t app:arm64 ctx/
#
# gobuildx replaces the ENTRYPOINT path with /usr/local/bin/<binary> and passes
# UID, labels and --platform itself.

# Stage 1: assemble the root file system from the staged context; the user's home is theirs.
FROM scratch AS rootfs
COPY rootfs/ /
ARG UID=65532
COPY --chown=${UID}:${UID} rootfs/home/ /home/

# Stage 2: the image: scratch plus exactly that file system, run as the non-root user.
FROM scratch
COPY --from=rootfs / /
ARG UID=65532
USER ${UID}:${UID}
ENTRYPOINT ["/usr/local/bin/app"]
"""


def dockerfile_text(binary_path: str) -> str:
    """The scratch Dockerfile with the entrypoint of this image."""
    return SCRATCH_DOCKERFILE.replace(DEFAULT_ENTRYPOINT, json.dumps([binary_path]))


def build(api: docker.APIClient, context: bytes, platform: Platform, tag: str, labels: dict[str, str], uid: int) -> str:
    """Build a context (a tar with Dockerfile) for one platform; returns the image id (sha256:...)."""
    image_id = ""
    log: list[str] = []
    try:
        stream = api.build(
            fileobj=io.BytesIO(context),
            custom_context=True,
            dockerfile="Dockerfile",
            tag=tag,
            platform=str(platform),
            labels=labels,
            buildargs={"UID": str(uid)},
            pull=False,
            rm=True,
            forcerm=True,
            decode=True,
        )
        for chunk in stream:
            if "error" in chunk:
                raise EngineError(
                    f"docker build for {platform} failed: {chunk['error'].strip()}\n" + "".join(log[-10:])
                )
            log.append(chunk.get("stream", ""))
            image_id = chunk.get("aux", {}).get("ID", image_id)
    except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
        raise EngineError(f"docker build for {platform} failed: {first_line(exc)}") from None
    if not image_id:
        raise EngineError(f"docker build for {platform} reported no image id:\n{''.join(log[-10:])}")
    return image_id


def tag(api: docker.APIClient, image_id: str, ref: str) -> None:
    name, _, tag_ = ref.rpartition(":")
    try:
        api.tag(image_id, name, tag_)
    except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
        raise EngineError(f"docker tag {ref} failed: {first_line(exc)}") from None


def to_oci(api: docker.APIClient, image_id: str, platform: Platform, annotations: dict[str, str]) -> Image:
    """Read a built image back (`docker save`) as OCI blobs: its config unchanged (so the digest
    of the config is the engine's image id), each layer gzipped reproducibly."""
    try:
        data = b"".join(_chunks(api.get_image(image_id)))
    except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
        raise EngineError(f"docker save {image_id} failed: {first_line(exc)}") from None
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        meta = json.loads(_member(tar, "manifest.json"))[0]
        config = Blob(media_type=MT_CONFIG, data=_member(tar, meta["Config"]))
        raw_layers = [_member(tar, name) for name in meta["Layers"]]
    if config.digest != image_id:
        raise EngineError(f"docker save {image_id}: config digest {config.digest} does not match")
    layers = [Blob(media_type=MT_LAYER_GZIP, data=gzip_bytes(raw)) for raw in raw_layers]
    diff_ids = json.loads(config.data)["rootfs"]["diff_ids"]
    if diff_ids != ["sha256:" + hashlib.sha256(raw).hexdigest() for raw in raw_layers]:
        raise EngineError(f"docker save {image_id}: layers do not match the config's diff_ids")
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor() for layer in layers],
        **({"annotations": annotations} if annotations else {}),
    }
    return Image(
        platform=platform,
        config=config,
        layers=layers,
        manifest=Blob(media_type=MT_MANIFEST, data=canonical_json(manifest)),
    )


def _chunks(stream: Any) -> Iterator[bytes]:
    yield from stream


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    fh = tar.extractfile(name)
    if fh is None:
        raise EngineError(f"docker save output lacks {name}")
    data = fh.read()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
