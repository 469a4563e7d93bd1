"""OCI images written straight from Python: layer tar, config, manifest, index, layout, tarball;
and read back from a layout or a tarball (the smoke stage unpacks an image's layers with it).

Nothing here talks to a daemon or a registry. Every byte is a function of the inputs
(file contents, modes, the `created` time): tar entries are sorted, owned by numeric
ids with no user names, stamped with one mtime, and gzipped with a zero header time,
so the same inputs always give the same digests (as ko does).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from gobuildx.util.files import sibling, swap_dir

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
ANNOTATION_REF = "org.opencontainers.image.ref.name"
DOCKER_ANNOTATION_NAME = "io.containerd.image.name"
GZIP_LEVEL = 6


class OciError(Exception):
    """An input that cannot become an image (bad path, missing file, unusable layout dir)."""


class Entry(BaseModel):
    """One file system entry of a layer; `path` is relative to / (no leading slash)."""

    model_config = ConfigDict(frozen=True)

    path: str
    kind: Literal["file", "dir", "symlink"] = "file"
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    source: Path | None = None  # file contents from disk
    data: bytes | None = None  # or given inline
    link: str | None = None  # symlink target

    def content(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.source is None:
            raise OciError(f"/{self.path}: a file entry needs `source` or `data`")
        try:
            return self.source.read_bytes()
        except OSError as exc:
            raise OciError(f"/{self.path}: cannot read {self.source}: {exc.strerror}") from None


class Blob(BaseModel):
    """Content-addressed bytes with their media type."""

    model_config = ConfigDict(frozen=True)

    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


class Platform(BaseModel):
    model_config = ConfigDict(frozen=True)

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def as_json(self) -> dict[str, str]:
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out


class ImageSpec(BaseModel):
    """Everything that defines one single-platform image."""

    model_config = ConfigDict(frozen=True)

    platform: Platform
    entries: list[Entry]
    entrypoint: list[str]
    user: str
    env: list[str] = []
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    created: str  # RFC 3339, from SOURCE_DATE_EPOCH or the commit time
    mtime: int  # the tar mtime of every entry, seconds since the epoch
    history: str = "gobuildx"


class Image(BaseModel):
    """A built single-platform image: its blobs and the manifest that ties them."""

    model_config = ConfigDict(frozen=True)

    platform: Platform
    config: Blob
    layers: list[Blob]
    manifest: Blob

    @property
    def digest(self) -> str:
        return self.manifest.digest

    def blobs(self) -> list[Blob]:
        return [*self.layers, self.config, self.manifest]


def normalize(path: str) -> str:
    """`/usr/bin/x` -> `usr/bin/x`; refuses `..` and empty paths."""
    pure = PurePosixPath("/" + path.lstrip("/"))
    parts = [p for p in pure.parts[1:] if p not in ("", ".")]
    if not parts or ".." in parts:
        raise OciError(f"{path!r} is not a usable path inside an image (empty or contains '..')")
    return "/".join(parts)


def complete(entries: Iterable[Entry]) -> list[Entry]:
    """Entries plus every missing parent directory (0755, root), sorted, last one per path wins."""
    by_path: dict[str, Entry] = {}
    for entry in entries:
        path = normalize(entry.path)
        by_path[path] = entry.model_copy(update={"path": path})
    for path in list(by_path):
        parent = PurePosixPath(path).parent
        while str(parent) not in (".", ""):
            by_path.setdefault(str(parent), Entry(path=str(parent), kind="dir", mode=0o755))
            parent = parent.parent
    return [by_path[p] for p in sorted(by_path)]


def layer_tar(entries: Sequence[Entry], mtime: int) -> bytes:
    """An uncompressed, reproducible layer tarball (PAX-free USTAR/GNU headers, numeric ids)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for entry in complete(entries):
            info = tarfile.TarInfo(entry.path + ("/" if entry.kind == "dir" else ""))
            info.mode, info.uid, info.gid, info.mtime = entry.mode, entry.uid, entry.gid, mtime
            info.uname = info.gname = ""
            if entry.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif entry.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, entry.link or ""
                tar.addfile(info)
            else:
                data = entry.content()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    """gzip with no file name and a zero mtime: the same input gives the same bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=GZIP_LEVEL) as gz:
        gz.write(data)
    return buf.getvalue()


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def build(spec: ImageSpec) -> Image:
    """Build the layer, config and manifest blobs of one image."""
    raw = layer_tar(spec.entries, spec.mtime)
    layer = Blob(media_type=MT_LAYER_GZIP, data=gzip_bytes(raw))
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    config = Blob(media_type=MT_CONFIG, data=canonical_json(_config_json(spec, diff_id)))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
        **({"annotations": spec.annotations} if spec.annotations else {}),
    }
    return Image(
        platform=spec.platform,
        config=config,
        layers=[layer],
        manifest=Blob(media_type=MT_MANIFEST, data=canonical_json(manifest)),
    )


def _config_json(spec: ImageSpec, diff_id: str) -> dict[str, Any]:
    cfg: dict[str, Any] = {"Entrypoint": spec.entrypoint, "User": spec.user, "WorkingDir": "/"}
    if spec.env:
        cfg["Env"] = spec.env
    if spec.labels:
        cfg["Labels"] = spec.labels
    return {
        **spec.platform.as_json(),
        "created": spec.created,
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": spec.created, "created_by": spec.history}],
    }


def index(images: Sequence[Image], annotations: dict[str, str] | None = None) -> Blob:
    """An OCI image index over single-platform images, in the given order."""
    body: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MT_INDEX,
        "manifests": [img.manifest.descriptor(platform=img.platform.as_json()) for img in images],
    }
    if annotations:
        body["annotations"] = annotations
    return Blob(media_type=MT_INDEX, data=canonical_json(body))


def write_layout(dest: Path, images: Sequence[Image], image_index: Blob, ref_names: Sequence[str]) -> None:
    """Write an OCI image layout at `dest`: blobs of every image, the index among them, and a
    top-level index.json naming it once per ref (tag). Written beside `dest` and renamed into
    place, so `dest` is either the old layout or the complete new one."""
    if dest.exists() and not _replaceable(dest):
        raise OciError(f"{dest}: exists and is not an OCI image layout; choose an empty or new directory")
    tmp = sibling(dest)
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _fill_layout(tmp, [b for img in images for b in img.blobs()] + [image_index], image_index, ref_names)
        swap_dir(tmp, dest)
    except OSError as exc:
        if exc.filename is None:  # a failed write() names no file: say which layout it was
            exc.filename = str(dest)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _replaceable(dest: Path) -> bool:
    return dest.is_dir() and (not any(dest.iterdir()) or (dest / "oci-layout").is_file())


def _fill_layout(root: Path, blobs: Sequence[Blob], top: Blob, ref_names: Sequence[str]) -> None:
    (root / "blobs" / "sha256").mkdir(parents=True)
    for blob in blobs:
        (root / "blobs" / "sha256" / blob.digest.split(":", 1)[1]).write_bytes(blob.data)
    (root / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))
    refs = list(ref_names) or [""]
    manifests = [top.descriptor(**({"annotations": {ANNOTATION_REF: r}} if r else {})) for r in refs]
    (root / "index.json").write_bytes(
        canonical_json({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests})
    )


def docker_tarball(image: Image, repo_tags: Sequence[str], mtime: int) -> bytes:
    """One image as a tarball that `docker load` accepts (manifest.json, Docker 1.10+) and that
    is also an OCI image layout (oci-layout, index.json), like `docker save` of Docker 25+."""
    files: dict[str, bytes] = {}
    for blob in image.blobs():
        files["blobs/sha256/" + blob.digest.split(":", 1)[1]] = blob.data
    files["oci-layout"] = canonical_json({"imageLayoutVersion": "1.0.0"})
    refs = [
        image.manifest.descriptor(
            platform=image.platform.as_json(),
            annotations={DOCKER_ANNOTATION_NAME: t, ANNOTATION_REF: t.rsplit(":", 1)[-1]},
        )
        for t in repo_tags
    ] or [image.manifest.descriptor(platform=image.platform.as_json())]
    files["index.json"] = canonical_json({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": refs})
    files["manifest.json"] = canonical_json(
        [
            {
                "Config": "blobs/sha256/" + image.config.digest.split(":", 1)[1],
                "RepoTags": list(repo_tags),
                "Layers": ["blobs/sha256/" + layer.digest.split(":", 1)[1] for layer in image.layers],
            }
        ]
    )
    entries = [Entry(path=name, data=data) for name, data in files.items()]
    return layer_tar(entries, mtime)


def blob_reader(oci_layout: str | None, tarball: str | None) -> Callable[[str], bytes]:
    """blob digest -> bytes, from an OCI layout directory, else from a tarball holding one
    (a `docker load`-able tarball written by docker_tarball is also a layout)."""
    if oci_layout and Path(oci_layout).is_dir():
        base = Path(oci_layout) / "blobs" / "sha256"
        return lambda digest: (base / digest.split(":", 1)[1]).read_bytes()
    if not tarball:
        raise OciError("no OCI layout and no tarball to read the image from")
    with tarfile.open(tarball) as tar:
        blobs = {
            m.name: _member_bytes(tar, m) for m in tar.getmembers() if m.isfile() and m.name.startswith("blobs/sha256/")
        }
    return lambda digest: blobs["blobs/sha256/" + digest.split(":", 1)[1]]


def layers(read: Callable[[str], bytes], manifest_digest: str) -> list[bytes]:
    """The layer blobs of one image manifest, in order (as they are unpacked)."""
    manifest = json.loads(read(manifest_digest))
    return [read(layer["digest"]) for layer in manifest["layers"]]


def _member_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)  # None only for what is not a regular file, filtered out above
    if handle is None:
        raise OciError(f"{member.name} in the image tarball is not a regular file")
    return handle.read()
