"""What the image stage records in dist/manifest.json (imported by manifest.py; imports nothing of it)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Builder = Literal["docker", "oci"]


class ImageRecord(BaseModel):
    """`TargetRecord.image`: the single-platform image of one target."""

    repository: str
    platform: str  # os/arch[/variant], as in the index
    binary: str
    entrypoint: list[str]
    artifact_sha256: str  # the bytes at the entrypoint, equal to the artifact's sha256
    digest: str  # the image manifest's digest (what the index and the registry hold)
    config_digest: str  # on the docker path this is the engine's image id
    size: int  # bytes of manifest + config + compressed layers
    builder: Builder
    local_tags: list[str] = []  # tags in the Docker engine (docker path)
    dynamic: bool = False
    linkage_from: str | None = None  # "audit" or "elf": where the dynamic decision came from
    libraries: list[str] = []  # loader and libraries copied from the sysroot (dynamic targets)
    tarball: str | None = None  # a `docker load`-able tarball of this image, if written
    oci_layout: str | None = None  # the OCI image layout holding this image, if written
    pushed: bool = False
    signed: bool = False  # a cosign signature (tag sha256-<hex>.sig) was pushed for it
    referrers: list[str] = []  # artifact types of the OCI 1.1 referrers pushed for it (SBOM, provenance)


class PlatformDigest(BaseModel):
    target: str
    platform: str
    digest: str


class ImageIndexRecord(BaseModel):
    """`Manifest.image`: the multi-arch index that joins every target's image under the tags."""

    repository: str
    tags: list[str]  # full references, e.g. 127.0.0.1:5000/hello:1.2.3
    digest: str  # the OCI image index digest (pull by repository@digest)
    media_type: str
    platforms: list[PlatformDigest]
    builder: Builder
    created: str
    pushed: bool = False
    oci_layout: str | None = None
    signed: bool = False
    referrers: list[str] = []
    referrers_api: bool | None = None  # False: listed under the fallback tag sha256-<hex> (no referrers API)
