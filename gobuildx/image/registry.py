"""Image references, and pushing OCI blobs and manifests with the registry HTTP API v2.

Pushing order is the safety rule: every blob, then every platform manifest by digest,
and only then the index under each tag. A failure anywhere before the tags leaves the
tags where they were: no tag ever points at an incomplete set of platforms.

Only registries without authentication are supported (a local or CI registry, or one
behind a pull-through proxy); a 401 says so plainly.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from gobuildx.formats.oci import MT_INDEX, MT_MANIFEST, Blob, Image

# Reference syntax lives in project.imageref (the load-time checks use it); re-exported here.
from gobuildx.project.imageref import DEFAULT_DOMAIN
from gobuildx.project.imageref import Repository as Repository
from gobuildx.project.imageref import check_tag as check_tag
from gobuildx.project.imageref import parse_repository as parse_repository

ACCEPT = ", ".join(
    [
        MT_INDEX,
        MT_MANIFEST,
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def loopback(domain: str) -> bool:
    """Whether a registry's host (`localhost:5000`, `127.0.0.1`, `[::1]:5000`) is this machine:
    only those are spoken to over plain HTTP. `localhost.example.com` or `127.0.0.1.nip.io` are not."""
    host = domain[1 : domain.index("]")] if domain.startswith("[") and "]" in domain else domain.rsplit(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RegistryError(Exception):
    """A registry could not be reached or refused a request; the message says which and why."""


class Client(BaseModel):
    """A registry's HTTP API v2 (plain HTTP for loopback hosts, HTTPS otherwise)."""

    model_config = ConfigDict(frozen=True)

    domain: str
    timeout_s: float = 60.0

    @property
    def base(self) -> str:
        scheme = "http" if loopback(self.domain) else "https"
        host = "registry-1.docker.io" if self.domain == DEFAULT_DOMAIN else self.domain
        return f"{scheme}://{host}"

    def request(
        self, method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        full = url if url.startswith("http") else self.base + url
        req = urllib.request.Request(full, data=data, method=method, headers=headers or {})
        try:
            return _send(req, self.timeout_s)
        except http.client.HTTPException as exc:  # IncompleteRead, BadStatusLine, ...: not OSErrors
            raise RegistryError(
                f"the registry {self.domain} sent a broken HTTP response to {method} {full}: {exc!r}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryError(f"cannot reach the registry {self.domain} ({self.base}): {reason}") from None

    def ping(self) -> None:
        status, _, body = self.request("GET", "/v2/")
        if status == 401:
            raise RegistryError(
                f"registry {self.domain} requires authentication; gobuildx pushes only "
                "to registries without it (use a local registry or `docker push`)"
            )
        if status != 200:
            raise RegistryError(f"registry {self.domain} answered /v2/ with HTTP {status}: {_short(body)}")

    def has_blob(self, repo: str, digest: str) -> bool:
        status, _, _ = self.request("HEAD", f"/v2/{repo}/blobs/{digest}")
        return status == 200

    def push_blob(self, repo: str, blob: Blob) -> None:
        if self.has_blob(repo, blob.digest):
            return
        status, headers, body = self.request("POST", f"/v2/{repo}/blobs/uploads/", data=b"")
        _expect(status, 202, f"start upload of {blob.digest} to {self.domain}/{repo}", body)
        location = _header(headers, "Location")
        sep = "&" if "?" in location else "?"
        url = urllib.parse.urljoin(self.base + "/", location) + f"{sep}digest={blob.digest}"
        status, _, body = self.request("PUT", url, data=blob.data, headers={"Content-Type": "application/octet-stream"})
        _expect(status, 201, f"upload blob {blob.digest} ({blob.size} bytes) to {self.domain}/{repo}", body)

    def put_manifest(self, repo: str, reference: str, manifest: Blob) -> str:
        status, headers, body = self.request(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            data=manifest.data,
            headers={"Content-Type": manifest.media_type},
        )
        _expect(status, 201, f"put manifest {self.domain}/{repo}:{reference}", body)
        digest = _header(headers, "Docker-Content-Digest") or manifest.digest
        if digest != manifest.digest:
            raise RegistryError(
                f"{self.domain}/{repo}:{reference}: the registry stored digest {digest}, expected {manifest.digest}"
            )
        return digest

    def get_manifest(self, repo: str, reference: str) -> tuple[str, bytes]:
        status, headers, body = self.request("GET", f"/v2/{repo}/manifests/{reference}", headers={"Accept": ACCEPT})
        _expect(status, 200, f"get manifest {self.domain}/{repo}:{reference}", body)
        return _header(headers, "Content-Type"), body

    def get_blob(self, repo: str, digest: str) -> bytes:
        status, _, body = self.request("GET", f"/v2/{repo}/blobs/{digest}")
        _expect(status, 200, f"get blob {self.domain}/{repo}@{digest}", body)
        return body


class PushError(RegistryError):
    """A push that stopped; the message says which tags (if any) were moved."""


def push(
    repo: Repository, images: Sequence[Image], image_index: Blob, tags: Sequence[str], timeout_s: float = 60.0
) -> str:
    """Push every image by digest, then the index under each tag (last). Returns the index digest."""
    client = Client(domain=repo.domain, timeout_s=timeout_s)
    try:
        client.ping()
        for image in images:
            for blob in image.layers + [image.config]:
                client.push_blob(repo.path, blob)
            client.put_manifest(repo.path, image.digest, image.manifest)
        client.put_manifest(repo.path, image_index.digest, image_index)
    except RegistryError as exc:
        raise PushError(f"{exc}; no tag was moved") from None
    moved: list[str] = []
    for tag in tags:
        try:
            client.put_manifest(repo.path, tag, image_index)
        except RegistryError as exc:
            raise PushError(
                f"{exc}; tags already moved to the complete index {image_index.digest}: "
                f"{', '.join(moved) or 'none'}; not moved: {', '.join(tags[len(moved) :])}"
            ) from None
        moved.append(tag)
    return image_index.digest


def _send(req: urllib.request.Request, timeout_s: float) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and whole body of the answer, an HTTP error status included."""
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()  # this body can break off too


def _expect(status: int, want: int, what: str, body: bytes) -> None:
    if status == 401:
        raise RegistryError(f"{what}: the registry requires authentication (HTTP 401); not supported")
    if status != want:
        raise RegistryError(f"{what}: HTTP {status}: {_short(body)}")


def _header(headers: dict[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")


def _short(body: bytes) -> str:
    try:
        errors: Any = json.loads(body).get("errors", [])
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or body[:200].decode(errors="replace")
    except (ValueError, AttributeError):
        return body[:200].decode(errors="replace").strip() or "(empty body)"
