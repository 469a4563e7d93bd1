"""HTTP to one registry: which scheme, which CAs, and bounded retries.

* Scheme: HTTPS for every registry, except that a loopback host (this machine) is spoken
  to over plain HTTP unless it has a CA (then it speaks TLS); `insecure = true` in
  targets.toml allows plain HTTP for any host, `insecure = false` forces HTTPS on loopback.
* CAs: the system's, or SSL_CERT_FILE's / SSL_CERT_DIR's when the project's environment sets
  them, plus the registry's `ca` from targets.toml, plus docker's convention
  /etc/docker/certs.d/<host>/*.crt.
* Retries: 408, 429 and 5xx (but 501/505, which never change), and a connection reset or
  a response broken off, up to `attempts` tries with exponential backoff, or after the
  `Retry-After` the registry asks for (up to a bound; longer is an error that says so).
  A request that is not idempotent (PATCH, a POST with a body) is tried again only when
  the answer says it was not taken (408, 429, 503): after a broken connection or another
  5xx it may have landed, and the caller finds out where it stands instead (`Unanswered`).
* Redirects: followed with the Authorization header only to the same origin (scheme, host,
  port); one from HTTPS to plain HTTP is refused.
* Messages name URLs without their query or user info (`redact`).
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

CERTS_D = Path("/etc/docker/certs.d")
# Raised for a connection that broke: worth another try. A refused connection is not (nothing listens).
BROKEN = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, http.client.HTTPException)


IDEMPOTENT = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
NOT_TAKEN = (408, 429, 503)
"""The answers that say a request was not acted on: even a PATCH is sent again after them."""


class TransportError(Exception):
    """The registry could not be reached or broke off; the message says how and after how many tries."""


class Unanswered(TransportError):
    """A request that is not idempotent broke off after it was sent: it may have landed, so it
    was not sent again; the caller asks the registry where things stand."""


class Response(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: int
    headers: dict[str, tuple[str, ...]]
    """Names lowercased; every value of a header sent more than once (WWW-Authenticate may be)."""
    body: bytes

    @field_validator("headers", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k.lower(): (v,) if isinstance(v, str) else v for k, v in value.items()}
        return value

    def header(self, name: str) -> str:
        """The first value of a header, or ''."""
        return next(iter(self.headers.get(name.lower(), ())), "")

    def header_values(self, name: str) -> tuple[str, ...]:
        return self.headers.get(name.lower(), ())


class RetryPolicy(BaseModel):
    """How often and how long to try again; pure, so its arithmetic is unit-tested."""

    model_config = ConfigDict(frozen=True)

    attempts: int = 5
    base_s: float = 0.5
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 60.0

    def retryable(self, status: int, idempotent: bool = True) -> bool:
        if not idempotent:
            return status in NOT_TAKEN
        return status in (408, 429) or (500 <= status <= 599 and status not in (501, 505))

    def backoff(self, attempt: int) -> float:
        """The wait after failed try number `attempt` (1-based) without a Retry-After."""
        return float(min(self.max_backoff_s, self.base_s * 2 ** (attempt - 1)))

    def wait(self, attempt: int, retry_after: str, now: datetime) -> float | None:
        """Seconds to wait before the next try, or None when the registry asks for longer than
        max_retry_after_s. Retry-After is seconds or an HTTP date; one that cannot be read is ignored."""
        asked = retry_after_seconds(retry_after, now)
        if asked is None:
            return self.backoff(attempt)
        return asked if asked <= self.max_retry_after_s else None


def retry_after_seconds(value: str, now: datetime) -> float | None:
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def redact(url: str) -> str:
    """A URL as messages show it: without its query (an upload's `_state`, a token request's
    parameters), fragment or user info."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of an absolute URL, the port filled in for http and https: what must
    match for a request to carry a registry's Authorization."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port if port is not None else default


def loopback(domain: str) -> bool:
    """Whether a registry's host (`localhost:5000`, `127.0.0.1`, `[::1]:5000`) is this machine.
    `localhost.example.com` or `127.0.0.1.nip.io` are not."""
    host = domain[1 : domain.index("]")] if domain.startswith("[") and "]" in domain else domain.rsplit(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ca_files(domain: str, ca: Path | None, certs_d: Path = CERTS_D) -> list[Path]:
    """The extra CA files for one registry: its `ca` setting, then docker's certs.d/<host>/*.crt."""
    found = [ca] if ca else []
    host_dir = certs_d / domain
    if host_dir.is_dir():
        found += sorted(host_dir.glob("*.crt"))
    return found


def scheme(domain: str, insecure: bool | None, cas: Sequence[Path]) -> str:
    if insecure is None:
        return "http" if loopback(domain) and not cas else "https"
    return "http" if insecure else "https"


def ssl_context(cas: Sequence[Path], environ: Mapping[str, str]) -> ssl.SSLContext:
    """A verifying client context: SSL_CERT_FILE and SSL_CERT_DIR of `environ` (the project's
    environment, not this process's) when set, else the system's CAs, in the way OpenSSL reads
    them; plus `cas`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates and host names
    defaults = ssl.get_default_verify_paths()
    cafile = environ.get("SSL_CERT_FILE") or defaults.openssl_cafile
    capath = environ.get("SSL_CERT_DIR") or defaults.openssl_capath
    if cafile and Path(cafile).is_file():
        _load(context, Path(cafile), None)
    if capath and Path(capath).is_dir():
        _load(context, None, Path(capath))
    for path in cas:
        try:
            context.load_verify_locations(cafile=str(path))
        except (OSError, ssl.SSLError) as exc:
            raise TransportError(f"cannot load the CA file {path}: {exc}") from None
    return context


def _load(context: ssl.SSLContext, cafile: Path | None, capath: Path | None) -> None:
    try:
        context.load_verify_locations(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        raise TransportError(f"cannot load the CAs of {cafile or capath}: {exc}") from None


class _SameOriginAuth(urllib.request.HTTPRedirectHandler):
    """Follows a redirect (a blob GET sent to storage) with the Authorization header only when
    scheme, host and port stay the same, as docker does: a storage backend must not see the
    registry's token. A redirect from HTTPS to plain HTTP is refused outright."""

    def redirect_request(
        self, req: urllib.request.Request, fp: object, code: int, msg: str, headers: object, newurl: str
    ) -> urllib.request.Request | None:
        old, new_origin = origin(req.full_url), origin(urllib.parse.urljoin(req.full_url, newurl))
        if old[0] == "https" and new_origin[0] != "https":
            raise TransportError(
                f"refused a redirect of {req.get_method()} {redact(req.full_url)} from HTTPS to "
                f"{redact(urllib.parse.urljoin(req.full_url, newurl))}, which is not HTTPS"
            )
        new = super().redirect_request(req, fp, code, msg, headers, newurl)  # type: ignore[arg-type]
        if new is not None and new_origin != old:
            new.remove_header("Authorization")
        return new


class Transport:
    """Sends requests to one registry (and its token server), retrying what is worth retrying."""

    def __init__(
        self,
        domain: str,
        base: str,
        context: ssl.SSLContext,
        timeout_s: float,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.domain, self.base, self.timeout_s, self.policy, self.sleep = domain, base, timeout_s, policy, sleep
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _SameOriginAuth())

    def absolute(self, url: str) -> str:
        """A path of this registry (`/v2/...`) or a URL it handed out (an upload Location), in full."""
        return url if url.startswith(("http://", "https://")) else urllib.parse.urljoin(self.base + "/", url)

    def send(
        self,
        method: str,
        url: str,
        data: bytes | None,
        headers: Mapping[str, str],
        idempotent: bool | None = None,
    ) -> Response:
        """One request, tried up to policy.attempts times; the last answer, whatever its status.
        `idempotent` (default: by method) says whether sending it twice does no harm; one that is
        not is sent again only after an answer that says it was not taken (NOT_TAKEN), and a
        broken connection after it was sent raises Unanswered at once."""
        full = self.absolute(url)
        again = method.upper() in IDEMPOTENT if idempotent is None else idempotent
        for attempt in range(1, self.policy.attempts + 1):
            last = attempt == self.policy.attempts
            try:
                resp = self._once(method, full, data, headers)
            except BROKEN as exc:
                if not again:
                    raise Unanswered(
                        self._broken(method, full, exc, attempt) + "; not sent again (it may have landed)"
                    ) from None
                if last:
                    raise TransportError(self._broken(method, full, exc, attempt)) from None
                self.sleep(self.policy.backoff(attempt))
                continue
            if last or not self.policy.retryable(resp.status, again):
                return resp
            wait = self.policy.wait(attempt, resp.header("Retry-After"), datetime.now(UTC))
            if wait is None:
                raise TransportError(
                    f"the registry {self.domain} answered {method} {redact(full)} with HTTP {resp.status} and "
                    f"Retry-After {resp.header('Retry-After')}, longer than gobuildx waits "
                    f"({self.policy.max_retry_after_s:g} s)"
                )
            self.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _broken(self, method: str, full: str, exc: Exception, attempts: int) -> str:
        tries = f" ({attempts} tries)" if attempts > 1 else ""
        if isinstance(exc, http.client.HTTPException):
            return f"the registry {self.domain} sent a broken HTTP response to {method} {redact(full)}: {exc!r}{tries}"
        return f"the registry {self.domain} broke off {method} {redact(full)}: {exc}{tries}"

    def _untrusted(self, exc: ssl.SSLCertVerificationError) -> str:
        return (
            f"cannot verify the TLS certificate of {self.domain} ({exc.verify_message}); give its CA as "
            f'image.registries."{self.domain}".ca in targets.toml, in {CERTS_D}/{self.domain}/ca.crt '
            "or in SSL_CERT_FILE"
        )

    def _once(self, method: str, full: str, data: bytes | None, headers: Mapping[str, str]) -> Response:
        req = urllib.request.Request(full, data=data, method=method, headers=dict(headers))
        try:
            try:
                with self._opener.open(req, timeout=self.timeout_s) as resp:
                    return _response(resp.status, resp.headers.items(), resp.read())
            except urllib.error.HTTPError as exc:
                return _response(exc.code, exc.headers.items(), exc.read())  # this body can break off too
        except ssl.SSLCertVerificationError as exc:
            raise TransportError(self._untrusted(exc)) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, BROKEN):
                raise exc.reason from None
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                raise TransportError(self._untrusted(exc.reason)) from None
            raise TransportError(f"cannot reach the registry {self.domain} ({self.base}): {exc.reason}") from None
        except BROKEN:
            raise
        except OSError as exc:
            raise TransportError(f"cannot reach the registry {self.domain} ({self.base}): {exc}") from None


def _response(status: int, items: object, body: bytes) -> Response:
    pairs: list[tuple[str, str]] = list(items)  # type: ignore[call-overload]
    headers: dict[str, tuple[str, ...]] = {}
    for key, value in pairs:
        headers[key.lower()] = (*headers.get(key.lower(), ()), value)
    return Response(status=status, headers=headers, body=body)
