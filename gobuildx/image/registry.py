"""Image references, and pushing OCI blobs and manifests with the registry HTTP API v2.

Pushing order is the safety rule: every blob, then every platform manifest by digest,
and only then the index under each tag. A failure anywhere before the tags leaves the
tags where they were: no tag ever points at an incomplete set of platforms.

Each blob: skipped when the registry has it (HEAD), else mounted from another repository of
the same registry when one is named, else uploaded in one PUT, or in PATCH chunks when the
registry (or a proxy) refuses a body that large (HTTP 413). Every digest the registry reports
is checked against ours. Login, TLS and retries are `auth.py`, `credentials.py` and
`transport.py`; every message leaving this module is scrubbed of the secrets it knows.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gobuildx.formats.oci import MT_INDEX, MT_MANIFEST, Blob, Image
from gobuildx.image import transport
from gobuildx.image.auth import AuthError, Authorizer, pull_scope, push_scope
from gobuildx.image.credentials import Credential, CredentialError

# Reference syntax lives in project.imageref (the load-time checks use it); re-exported here.
from gobuildx.project.imageref import DEFAULT_DOMAIN
from gobuildx.project.imageref import Repository as Repository
from gobuildx.project.imageref import check_tag as check_tag
from gobuildx.project.imageref import parse_repository as parse_repository

loopback = transport.loopback

ACCEPT = ", ".join(
    [
        MT_INDEX,
        MT_MANIFEST,
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
CHUNK_BYTES = 8 << 20  # the chunked fallback's PATCH size


class RegistryError(Exception):
    """A registry could not be reached or refused a request; the message says which and why."""


class Client:
    """A registry's HTTP API v2: HTTPS (plain HTTP for loopback hosts without a CA, or hosts
    marked insecure), logged in with what `credentials()` finds when the registry asks for a login."""

    def __init__(
        self,
        domain: str,
        timeout_s: float = 60.0,
        *,
        credentials: Callable[[], Credential | None] = lambda: None,
        insecure: bool | None = None,
        ca: Path | None = None,
        certs_d: Path = transport.CERTS_D,
        policy: transport.RetryPolicy | None = None,
        chunk_bytes: int = CHUNK_BYTES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.domain, self.chunk_bytes = domain, chunk_bytes
        cas = transport.ca_files(domain, ca, certs_d)
        host = "registry-1.docker.io" if domain == DEFAULT_DOMAIN else domain
        self.base = f"{transport.scheme(domain, insecure, cas)}://{host}"
        context = transport.ssl_context(cas) if self.base.startswith("https") else transport.ssl_context([])
        self.http = transport.Transport(domain, self.base, context, timeout_s, policy or transport.RetryPolicy(), sleep)
        self.auth = Authorizer(domain, credentials)

    def request(
        self,
        method: str,
        url: str,
        scopes: Sequence[str] = (),
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> transport.Response:
        """One request with the Authorization these scopes need; a 401 is learnt from and
        retried once (a first challenge, an expired token), a second 401 is an error."""
        try:
            for _ in range(2):
                sent = dict(headers or {})
                auth = self.auth.header(scopes, self.http)
                if auth:
                    sent["Authorization"] = auth
                resp = self.http.send(method, url, data, sent)
                if resp.status != 401:
                    return resp
                if not self.auth.refused(resp, scopes):
                    break
            if self.auth.challenge and self.auth.challenge.scheme == "basic" and self.auth.credential is None:
                raise AuthError(self.auth.needs_login())
            raise AuthError(self.auth.denied(scopes, f"{method} {url}"))
        except (transport.TransportError, AuthError, CredentialError) as exc:
            raise RegistryError(self.scrub(str(exc))) from None

    def scrub(self, text: str) -> str:
        for secret in self.auth.secrets():
            text = text.replace(secret, "***")
        return text

    def fail(self, what: str, resp: transport.Response) -> RegistryError:
        policy = self.http.policy
        tries = f" (after {policy.attempts} tries)" if policy.retryable(resp.status) and policy.attempts > 1 else ""
        return RegistryError(self.scrub(f"{what}: HTTP {resp.status}{tries}: {_short(resp.body)}"))

    def ping(self) -> None:
        """GET /v2/: learns how the registry wants to be logged in to; with Basic and
        credentials, checks them now, so a wrong password is the first error."""
        try:
            resp = self.http.send("GET", "/v2/", None, {})
            if resp.status == 401:
                self.auth.refused(resp, ())
                if self.auth.challenge is not None and self.auth.challenge.scheme == "basic":
                    resp = self.http.send("GET", "/v2/", None, {"Authorization": self.auth.header((), self.http) or ""})
                    if resp.status == 401:
                        raise AuthError(self.auth.wrong_login(f"the registry {self.domain}"))
        except (transport.TransportError, AuthError, CredentialError) as exc:
            raise RegistryError(self.scrub(str(exc))) from None
        if resp.status not in (200, 401):
            raise self.fail(f"registry {self.domain} answered /v2/", resp)

    def has_blob(self, repo: str, blob: Blob) -> bool:
        resp = self.request("HEAD", f"/v2/{repo}/blobs/{blob.digest}", (push_scope(repo),))
        if resp.status != 200:
            return False
        self._check_digest(resp, blob.digest, f"{self.domain}/{repo} has blob {blob.digest}")
        size = resp.header("Content-Length")
        if size and size != str(blob.size):
            raise RegistryError(f"{self.domain}/{repo} has blob {blob.digest} with {size} bytes, expected {blob.size}")
        return True

    def push_blob(self, repo: str, blob: Blob, mount_from: Sequence[str] = ()) -> str:
        """Returns how: 'exists', 'mounted' or 'uploaded'."""
        if self.has_blob(repo, blob):
            return "exists"
        location = ""
        for source in (s for s in mount_from if s != repo):
            scopes = (push_scope(repo), pull_scope(source))
            query = urllib.parse.urlencode({"mount": blob.digest, "from": source})
            resp = self.request("POST", f"/v2/{repo}/blobs/uploads/?{query}", scopes, b"")
            if resp.status == 201:
                self._check_digest(resp, blob.digest, f"mount {blob.digest} from {source} to {self.domain}/{repo}")
                return "mounted"
            if resp.status == 202:  # not mountable: the registry opened an ordinary upload instead
                location = resp.header("Location")
                break
        what = f"upload blob {blob.digest} ({blob.size} bytes) to {self.domain}/{repo}"
        resp = self._put(repo, location or self._start(repo, blob), blob, blob.data)
        if resp.status == 413:  # too large for one request: the chunked upload
            resp = self._chunked(repo, blob)
        if resp.status != 201 and not self.has_blob(repo, blob):  # a retried PUT may have landed the first time
            raise self.fail(what, resp)
        if resp.status == 201:
            self._check_digest(resp, blob.digest, what)
        return "uploaded"

    def _start(self, repo: str, blob: Blob) -> str:
        resp = self.request("POST", f"/v2/{repo}/blobs/uploads/", (push_scope(repo),), b"")
        if resp.status != 202 or not resp.header("Location"):
            raise self.fail(f"start upload of {blob.digest} to {self.domain}/{repo}", resp)
        return resp.header("Location")

    def _url(self, location: str, digest: str | None = None) -> str:
        url = urllib.parse.urljoin(self.base + "/", location)
        if digest is None:
            return url
        return url + ("&" if "?" in url else "?") + urllib.parse.urlencode({"digest": digest})

    def _put(self, repo: str, location: str, blob: Blob, data: bytes) -> transport.Response:
        headers = {"Content-Type": "application/octet-stream"}
        return self.request("PUT", self._url(location, blob.digest), (push_scope(repo),), data, headers)

    def _chunked(self, repo: str, blob: Blob) -> transport.Response:
        location = self._start(repo, blob)
        for start in range(0, blob.size, self.chunk_bytes):
            chunk = blob.data[start : start + self.chunk_bytes]
            headers = {
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{start}-{start + len(chunk) - 1}",
            }
            resp = self.request("PATCH", self._url(location), (push_scope(repo),), chunk, headers)
            if resp.status != 202 or not resp.header("Location"):
                raise self.fail(f"upload chunk {start} of blob {blob.digest} to {self.domain}/{repo}", resp)
            location = resp.header("Location")
        return self._put(repo, location, blob, b"")

    def _check_digest(self, resp: transport.Response, want: str, what: str) -> None:
        got = resp.header("Docker-Content-Digest")
        if got and got != want:
            raise RegistryError(f"{what}: the registry reports digest {got}, expected {want}")

    def put_manifest(self, repo: str, reference: str, manifest: Blob) -> str:
        resp = self.request(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            (push_scope(repo),),
            manifest.data,
            {"Content-Type": manifest.media_type},
        )
        what = f"put manifest {self.domain}/{repo}:{reference}"
        if resp.status != 201:
            raise self.fail(what, resp)
        self._check_digest(resp, manifest.digest, what)
        return manifest.digest

    def get_manifest(self, repo: str, reference: str) -> tuple[str, bytes]:
        resp = self.request("GET", f"/v2/{repo}/manifests/{reference}", (pull_scope(repo),), None, {"Accept": ACCEPT})
        if resp.status != 200:
            raise self.fail(f"get manifest {self.domain}/{repo}:{reference}", resp)
        return resp.header("Content-Type"), resp.body

    def get_blob(self, repo: str, digest: str) -> bytes:
        resp = self.request("GET", f"/v2/{repo}/blobs/{digest}", (pull_scope(repo),))
        if resp.status != 200:
            raise self.fail(f"get blob {self.domain}/{repo}@{digest}", resp)
        return resp.body


class PushError(RegistryError):
    """A push that stopped; the message says which tags (if any) were moved."""


def push(
    client: Client,
    repo: Repository,
    images: Sequence[Image],
    image_index: Blob,
    tags: Sequence[str],
    mount_from: Sequence[str] = (),
) -> str:
    """Push every image by digest, then the index under each tag (last). Returns the index digest."""
    try:
        client.ping()
        for image in images:
            for blob in image.layers + [image.config]:
                client.push_blob(repo.path, blob, mount_from)
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


def _short(body: bytes) -> str:
    try:
        errors: Any = json.loads(body).get("errors", [])
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or body[:200].decode(errors="replace")
    except (ValueError, AttributeError):
        return body[:200].decode(errors="replace").strip() or "(empty body)"
