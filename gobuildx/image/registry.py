"""Image references, and pushing OCI blobs and manifests with the registry HTTP API v2.

Pushing order is the safety rule: every blob, then every platform manifest by digest,
and only then the index under each tag. A failure anywhere before the tags leaves the
tags where they were: no tag ever points at an incomplete set of platforms.

Each blob: skipped when the registry has it (HEAD), else mounted from another repository of
the same registry when one is named, else uploaded in one PUT, or in PATCH chunks when the
registry (or a proxy) refuses a body that large (HTTP 413). A chunk that may have landed
without an answer (a broken connection, a 5xx) is never sent again as it was: the upload is
asked where it stands (GET on its Location: `Range: 0-N`) and resumed from there, or, when the
registry cannot say (distribution answers BLOB_UPLOAD_INVALID), started again from byte 0.
Every digest the registry reports is checked against ours, and so is every blob downloaded.

The Authorization header goes only to the registry's own origin (scheme, host, port): an
upload Location on another host is sent to without it. Login, TLS and retries are `auth.py`,
`credentials.py` and `transport.py`; every message leaving this module is scrubbed of the
secrets it knows, and names URLs without their query.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from gobuildx.formats.oci import MT_INDEX, MT_MANIFEST, Blob, Image
from gobuildx.formats.ocirefs import Artifact, Signature, fallback_index, fallback_tag, signature_manifest
from gobuildx.image import transport
from gobuildx.image.auth import AuthError, Authorizer, pull_scope, push_scope
from gobuildx.image.credentials import Credential, CredentialError

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
CHUNK_BYTES = 8 << 20  # the chunked fallback's PATCH size
_RANGE = re.compile(r"^(?:bytes=)?0-(\d+)$")

PushedHow = Literal["exists", "mounted", "uploaded"]


class RegistryError(Exception):
    """A registry could not be reached or refused a request; the message says which and why."""


class MaybeLanded(RegistryError):
    """A request that is not idempotent broke off after it was sent (transport.Unanswered)."""


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
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """`environ`: where SSL_CERT_FILE / SSL_CERT_DIR are read (the project's environment;
        this process's when None)."""
        self.domain, self.chunk_bytes = domain, chunk_bytes
        cas = transport.ca_files(domain, ca, certs_d)
        host = "registry-1.docker.io" if domain == DEFAULT_DOMAIN else domain
        self.base = f"{transport.scheme(domain, insecure, cas)}://{host}"
        env = os.environ if environ is None else environ
        context = transport.ssl_context(cas if self.base.startswith("https") else [], env)
        self.http = transport.Transport(domain, self.base, context, timeout_s, policy or transport.RetryPolicy(), sleep)
        self.auth = Authorizer(domain, credentials, insecure=insecure is True)

    def __repr__(self) -> str:
        return f"Client({self.base!r})"

    def request(
        self,
        method: str,
        url: str,
        scopes: Sequence[str] = (),
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> transport.Response:
        """One request with the Authorization these scopes need; a 401 is learnt from and
        retried once (a first challenge, an expired token), a second 401 is an error. A URL of
        another origin (an upload Location the registry handed out) is sent to without any
        Authorization, and its 401 teaches nothing."""
        try:
            if transport.origin(self.http.absolute(url)) != transport.origin(self.base):
                return self.http.send(method, url, data, dict(headers or {}), idempotent)
            for _ in range(2):
                sent = dict(headers or {})
                auth = self.auth.header(scopes, self.http)
                if auth:
                    sent["Authorization"] = auth
                resp = self.http.send(method, url, data, sent, idempotent)
                if resp.status != 401:
                    return resp
                if not self.auth.refused(resp, scopes):
                    break
            if self.auth.challenge and self.auth.challenge.scheme == "basic" and self.auth.credential is None:
                raise AuthError(self.auth.needs_login())
            raise AuthError(self.auth.denied(scopes, f"{method} {transport.redact(url)}"))
        except transport.Unanswered as exc:
            raise MaybeLanded(self.scrub(str(exc))) from None
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

    def push_blob(self, repo: str, blob: Blob, mount_from: Sequence[str] = ()) -> PushedHow:
        """Returns how: 'exists', 'mounted' or 'uploaded'."""
        if self.has_blob(repo, blob):
            return "exists"
        location = ""
        for source in (s for s in mount_from if s != repo):
            scopes = (push_scope(repo), pull_scope(source))
            query = urllib.parse.urlencode({"mount": blob.digest, "from": source})
            # no body: sent again, it mounts again or opens one more upload (the registry expires it)
            resp = self.request("POST", f"/v2/{repo}/blobs/uploads/?{query}", scopes, b"", idempotent=True)
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
        # no body: sent again, it opens one more upload session at worst (the registry expires it)
        resp = self.request("POST", f"/v2/{repo}/blobs/uploads/", (push_scope(repo),), b"", idempotent=True)
        if resp.status != 202 or not resp.header("Location"):
            raise self.fail(f"start upload of {blob.digest} to {self.domain}/{repo}", resp)
        return resp.header("Location")

    def _url(self, location: str, digest: str | None = None) -> str:
        url = self.http.absolute(location)
        if digest is None:
            return url
        return url + ("&" if "?" in url else "?") + urllib.parse.urlencode({"digest": digest})

    def _put(self, repo: str, location: str, blob: Blob, data: bytes) -> transport.Response:
        headers = {"Content-Type": "application/octet-stream"}
        return self.request("PUT", self._url(location, blob.digest), (push_scope(repo),), data, headers)

    def _chunked(self, repo: str, blob: Blob) -> transport.Response:
        """PATCH after PATCH, then the closing PUT. A chunk without an answer is not sent again
        as it was: the upload is asked where it stands, or started over (at most policy.attempts
        times in all)."""
        location, offset, recoveries = self._start(repo, blob), 0, 0
        while offset < blob.size:
            chunk = blob.data[offset : offset + self.chunk_bytes]
            what = f"upload chunk {offset} of blob {blob.digest} to {self.domain}/{repo}"
            headers = {
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
            }
            try:
                resp = self.request("PATCH", self._url(location), (push_scope(repo),), chunk, headers)
            except MaybeLanded as exc:
                why, restart = str(exc), False
            else:
                if resp.status == 202 and resp.header("Location"):
                    location, offset = resp.header("Location"), offset + len(chunk)
                    continue
                if resp.status != 416 and resp.status < 500:
                    raise self.fail(what, resp)
                # 416: the upload is not where we thought; a 5xx: the chunk may have landed
                why, restart = f"HTTP {resp.status}: {_short(resp.body)}", resp.status == 416
            recoveries += 1
            if recoveries > self.http.policy.attempts:
                raise RegistryError(self.scrub(f"{what}: {why} (gave up after {recoveries - 1} recoveries)"))
            found = None if restart else self._upload_status(repo, location, blob.size)
            location, offset = found or (self._start(repo, blob), 0)
        return self._put(repo, location, blob, b"")

    def _upload_status(self, repo: str, location: str, size: int) -> tuple[str, int] | None:
        """(Location, bytes the registry holds) of an upload in progress, or None when the
        registry cannot say (distribution: BLOB_UPLOAD_INVALID for a state it moved past).
        `Range: 0-0` is read as nothing held: distribution says so for 0 bytes and for 1."""
        try:
            resp = self.request("GET", self._url(location), (push_scope(repo),))
        except RegistryError:
            return None
        found = _RANGE.match(resp.header("Range"))
        if resp.status != 204 or found is None:
            return None
        held = int(found.group(1)) + 1 if found.group(1) != "0" else 0
        return (resp.header("Location") or location, held) if held <= size else None

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

    def put_referrer(self, repo: str, art: Artifact) -> bool:
        """Put a referrer by its digest; True when the registry says it indexed the subject
        (the `OCI-Subject` header of distribution spec 1.1)."""
        resp = self.request(
            "PUT",
            f"/v2/{repo}/manifests/{art.manifest.digest}",
            (push_scope(repo),),
            art.manifest.data,
            {"Content-Type": art.manifest.media_type},
        )
        what = f"put referrer {self.domain}/{repo}@{art.manifest.digest} ({art.artifact_type})"
        if resp.status != 201:
            raise self.fail(what, resp)
        self._check_digest(resp, art.manifest.digest, what)
        return resp.header("OCI-Subject") == art.subject

    def has_referrers_api(self, repo: str, digest: str) -> bool:
        """Whether GET /v2/<repo>/referrers/<digest> answers with an image index (distribution
        spec 1.1); a registry without the API answers 404 (or 400, 405)."""
        resp = self.request("GET", f"/v2/{repo}/referrers/{digest}", (pull_scope(repo),), None, {"Accept": MT_INDEX})
        if resp.status != 200:
            return False
        try:
            return isinstance(json.loads(resp.body).get("manifests"), list)
        except (ValueError, AttributeError):
            return False

    def find_manifest(self, repo: str, reference: str) -> bytes | None:
        """A manifest's bytes, or None when the registry has none at reference (404)."""
        resp = self.request("GET", f"/v2/{repo}/manifests/{reference}", (pull_scope(repo),), None, {"Accept": ACCEPT})
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise self.fail(f"get manifest {self.domain}/{repo}:{reference}", resp)
        return resp.body

    def get_manifest(self, repo: str, reference: str) -> tuple[str, bytes]:
        """A manifest's media type and bytes; asked for by digest, the bytes are checked against it."""
        resp = self.request("GET", f"/v2/{repo}/manifests/{reference}", (pull_scope(repo),), None, {"Accept": ACCEPT})
        what = f"get manifest {self.domain}/{repo}:{reference}"
        if resp.status != 200:
            raise self.fail(what, resp)
        if ":" in reference:
            _check_content(resp.body, reference, what)
        return resp.header("Content-Type"), resp.body

    def get_blob(self, repo: str, digest: str) -> bytes:
        """A blob's bytes, checked against its digest (a registry, proxy or storage redirect
        that sends other bytes is an error, never a layer with the wrong content)."""
        resp = self.request("GET", f"/v2/{repo}/blobs/{digest}", (pull_scope(repo),))
        what = f"get blob {self.domain}/{repo}@{digest}"
        if resp.status != 200:
            raise self.fail(what, resp)
        _check_content(resp.body, digest, what)
        return resp.body


def _check_content(data: bytes, digest: str, what: str) -> None:
    algorithm, _, want = digest.partition(":")
    if algorithm != "sha256":
        raise RegistryError(f"{what}: cannot check a {algorithm} digest (gobuildx checks sha256)")
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise RegistryError(f"{what}: the registry sent {len(data)} bytes of digest sha256:{got}, expected {digest}")


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


def attach(client: Client, repo: Repository, signatures: Sequence[Signature], referrers: Sequence[Artifact]) -> bool:
    """Push cosign signature manifests under their tags (each adding its layer to what the
    tag held: another signer's signature stays), then referrers by digest. A registry
    that answers a referrer's PUT without `OCI-Subject` has no referrers API: each subject's
    referrers are then also listed in the index at its fallback tag (merged with what the
    tag listed). Returns whether the registry has the referrers API. The images themselves
    are pushed already: nothing here moves an image tag."""
    try:
        client.ping()
        signed = [
            (s.tag, signature_manifest(s.payload, s.signature_b64, client.find_manifest(repo.path, s.tag)))
            for s in signatures
        ]
        seen: set[str] = set()
        for art in [*(a for _, a in signed), *referrers]:
            for blob in art.blobs:
                if blob.digest not in seen:
                    seen.add(blob.digest)
                    client.push_blob(repo.path, blob)
        for tag, art in signed:
            client.put_manifest(repo.path, tag, art.manifest)
        announced = bool(referrers)
        by_subject: dict[str, list[Artifact]] = {}
        for art in referrers:
            announced = client.put_referrer(repo.path, art) and announced
            by_subject.setdefault(art.subject, []).append(art)
        # not every registry with the API sends OCI-Subject (go-containerregistry's does not):
        # asking the endpoint is how oras and cosign decide too
        api = announced or (bool(referrers) and client.has_referrers_api(repo.path, referrers[0].subject))
        if not api:
            for subject, arts in by_subject.items():
                tag = fallback_tag(subject)
                client.put_manifest(repo.path, tag, fallback_index(client.find_manifest(repo.path, tag), arts))
        return api
    except RegistryError as exc:
        raise PushError(f"attaching signatures and referrers: {exc}") from None
