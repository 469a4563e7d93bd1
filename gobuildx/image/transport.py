"""HTTP to one registry: which scheme, which CAs, and bounded retries.

* Scheme: HTTPS for every registry, except that a loopback host (this machine) is spoken
  to over plain HTTP unless it has a CA (then it speaks TLS); `insecure = true` in
  targets.toml allows plain HTTP for any host, `insecure = false` forces HTTPS on loopback.
* CAs: the system's (or SSL_CERT_FILE's, through OpenSSL's default paths), plus the
  registry's `ca` from targets.toml, plus docker's convention /etc/docker/certs.d/<host>/*.crt.
* Retries: 408, 429 and 5xx (but 501/505, which never change), and a connection reset or
  a response broken off, up to `attempts` tries with exponential backoff, or after the
  `Retry-After` the registry asks for (up to a bound; longer is an error that says so).
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

from pydantic import BaseModel, ConfigDict

CERTS_D = Path("/etc/docker/certs.d")
# Raised for a connection that broke: worth another try. A refused connection is not (nothing listens).
BROKEN = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, http.client.HTTPException)


class TransportError(Exception):
    """The registry could not be reached or broke off; the message says how and after how many tries."""


class Response(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: int
    headers: dict[str, str]
    """Names lowercased."""
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class RetryPolicy(BaseModel):
    """How often and how long to try again; pure, so its arithmetic is unit-tested."""

    model_config = ConfigDict(frozen=True)

    attempts: int = 5
    base_s: float = 0.5
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 60.0

    def retryable(self, status: int) -> bool:
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


def ssl_context(cas: Sequence[Path]) -> ssl.SSLContext:
    """The default context (system CAs; SSL_CERT_FILE / SSL_CERT_DIR when set) plus `cas`."""
    context = ssl.create_default_context()
    for path in cas:
        try:
            context.load_verify_locations(cafile=str(path))
        except (OSError, ssl.SSLError) as exc:
            raise TransportError(f"cannot load the CA file {path}: {exc}") from None
    return context


class _SameHostAuth(urllib.request.HTTPRedirectHandler):
    """Follows a redirect (a blob GET sent to storage) without the Authorization header when
    the host changes, as docker does: a storage backend must not see the registry's token."""

    def redirect_request(
        self, req: urllib.request.Request, fp: object, code: int, msg: str, headers: object, newurl: str
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)  # type: ignore[arg-type]
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
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
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _SameHostAuth())

    def send(self, method: str, url: str, data: bytes | None, headers: Mapping[str, str]) -> Response:
        """One request, tried up to policy.attempts times; the last answer, whatever its status."""
        full = url if url.startswith(("http://", "https://")) else self.base + url
        for attempt in range(1, self.policy.attempts + 1):
            last = attempt == self.policy.attempts
            try:
                resp = self._once(method, full, data, headers)
            except BROKEN as exc:
                if last:
                    raise TransportError(self._broken(method, full, exc, attempt)) from None
                self.sleep(self.policy.backoff(attempt))
                continue
            if last or not self.policy.retryable(resp.status):
                return resp
            wait = self.policy.wait(attempt, resp.header("Retry-After"), datetime.now(UTC))
            if wait is None:
                raise TransportError(
                    f"the registry {self.domain} answered {method} {full} with HTTP {resp.status} and "
                    f"Retry-After {resp.header('Retry-After')}, longer than gobuildx waits "
                    f"({self.policy.max_retry_after_s:g} s)"
                )
            self.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _broken(self, method: str, full: str, exc: Exception, attempts: int) -> str:
        tries = f" ({attempts} tries)" if attempts > 1 else ""
        if isinstance(exc, http.client.HTTPException):
            return f"the registry {self.domain} sent a broken HTTP response to {method} {full}: {exc!r}{tries}"
        return f"the registry {self.domain} broke off {method} {full}: {exc}{tries}"

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
    return Response(status=status, headers={k.lower(): v for k, v in pairs}, body=body)
