"""Registry authentication: the WWW-Authenticate challenge, HTTP Basic, and the bearer token flow.

The token flow (distribution's token spec): a 401 names a realm (the token server) and a
service; gobuildx asks the realm for a token for exactly the scopes it needs
(`repository:NAME:pull,push`, plus `repository:OTHER:pull` to mount a blob from OTHER), as
docker does (the challenge's own `scope` is not used), with Basic credentials or an OAuth2
refresh token (identitytoken) when it has one, anonymously otherwise, and reuses it until it
expires. A 401 to a request carrying a fresh token is the registry refusing that scope: an
error that names registry and scope.

A realm on plain HTTP would carry the password (or refresh token) in clear: it is refused,
unless the registry is marked insecure or both the registry and the realm are on this machine.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict, SecretStr

from gobuildx.image.credentials import ENV_PASSWORD, ENV_USER, Credential
from gobuildx.image.transport import Response, Transport, loopback, redact

DEFAULT_EXPIRES_S = 60  # the token spec: a token without expires_in lives 60 seconds
EARLY_S = 5  # renew a little before expiry, so no request is sent with a token about to lapse
CLIENT_ID = "gobuildx"
_PARAM = re.compile(r'\s*([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)')
_SCHEME = re.compile(r"\s*([A-Za-z][\w!#$%&'*+.^`|~-]*)(?:\s+|$)")
SPOKEN = ("bearer", "basic")
"""The schemes gobuildx speaks, the one it prefers first (as docker does)."""


class AuthError(Exception):
    """Authentication failed; the message names registry, user (never a secret) and scope."""


class Challenge(BaseModel):
    """One WWW-Authenticate challenge: `Basic realm="..."` or `Bearer realm=..,service=..,scope=..`."""

    model_config = ConfigDict(frozen=True)

    scheme: str
    """Lowercased: basic or bearer."""
    params: dict[str, str]

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge of one WWW-Authenticate header (`Basic realm="a", Bearer realm="b"`)."""
    found: list[Challenge] = []
    pos, text = 0, header.strip()
    while pos < len(text):
        scheme = _SCHEME.match(text, pos)
        if scheme is None or "=" in scheme.group(1):
            break
        pos = scheme.end()
        params: dict[str, str] = {}
        while pos < len(text):
            m = _PARAM.match(text, pos)
            if m is None or m.end() == pos:
                break
            quoted, bare = m.group(2), m.group(3)
            params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
            pos = m.end()
        found.append(Challenge(scheme=scheme.group(1).lower(), params=params))
        while pos < len(text) and text[pos] in ", ":
            pos += 1
    return found


def parse_challenge(header: str) -> Challenge | None:
    """The first challenge of a WWW-Authenticate header, or None if there is none it can read."""
    found = parse_challenges(header)
    return found[0] if found else None


def choose_challenge(headers: Sequence[str]) -> Challenge | None:
    """Of every challenge of every WWW-Authenticate header, the one gobuildx speaks and
    prefers (bearer, then basic); else the first, to name in a message; None if there is none."""
    found = [c for h in headers for c in parse_challenges(h)]
    spoken = sorted((c for c in found if c.scheme in SPOKEN), key=lambda c: SPOKEN.index(c.scheme))
    return spoken[0] if spoken else (found[0] if found else None)


def push_scope(repo: str) -> str:
    return f"repository:{repo}:pull,push"


def pull_scope(repo: str) -> str:
    return f"repository:{repo}:pull"


class Token(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: SecretStr
    expires_at: float

    def fresh(self, now: float) -> bool:
        return now < self.expires_at - EARLY_S


class TokenAnswerError(ValueError):
    """A token server's answer that holds no usable token; the message says why (never the token)."""


def parse_token(body: bytes, now: float) -> Token:
    """A token server's answer: `token` (or `access_token`) and `expires_in`, a positive whole
    number of seconds; 60 s when it is absent (the token spec's default). One that is there but
    is not such a number is an error: guessing a lifetime would reuse a token it should not."""
    try:
        answer = json.loads(body)
    except ValueError:
        raise TokenAnswerError("an answer that is not JSON") from None
    if not isinstance(answer, dict):
        raise TokenAnswerError("an answer that is not a JSON object")
    value = answer.get("token") or answer.get("access_token")
    if not isinstance(value, str) or not value:
        raise TokenAnswerError("no token")
    expires = answer.get("expires_in", DEFAULT_EXPIRES_S)
    if isinstance(expires, bool) or not isinstance(expires, int) or expires <= 0:
        raise TokenAnswerError(f"expires_in {json.dumps(expires)}, not a positive whole number of seconds")
    return Token(value=SecretStr(value), expires_at=now + expires)


def basic_header(username: str, secret: SecretStr) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret.get_secret_value()}".encode()).decode()


class Authorizer:
    """The Authorization header for each request to one registry, learnt from its challenges."""

    def __init__(
        self,
        domain: str,
        lookup: Callable[[], Credential | None],
        clock: Callable[[], float] = time.time,
        insecure: bool = False,
    ) -> None:
        """`insecure`: the user marked this registry insecure (plain HTTP), so a plain-HTTP realm is taken."""
        self.domain, self.clock, self.insecure = domain, clock, insecure
        self.challenge: Challenge | None = None
        self._lookup = lookup
        self._credential: Credential | None = None
        self._looked = False
        self._tokens: dict[tuple[str, ...], Token] = {}
        self._issued: list[SecretStr] = []
        """Every token ever issued, also those dropped since: a message may still quote one."""

    def __repr__(self) -> str:
        return f"Authorizer({self.domain!r}, challenge={self.challenge.scheme if self.challenge else None})"

    @property
    def credential(self) -> Credential | None:
        """Looked up once, when a registry first asks for a login: a registry without
        authentication never runs a credential helper (nor fails on a broken one)."""
        if not self._looked:
            self._credential, self._looked = self._lookup(), True
        return self._credential

    def secrets(self) -> list[str]:
        """Every secret this authorizer holds, for scrubbing messages (belt and braces)."""
        out = [t.get_secret_value() for t in self._issued]
        cred = self._credential
        if cred is not None:
            secret = cred.secret.get_secret_value()
            out += [secret, base64.b64encode(f"{cred.username}:{secret}".encode()).decode()]
        return [s for s in out if s]

    def header(self, scopes: Sequence[str], transport: Transport) -> str | None:
        """The header to send for these scopes now (a cached token, or one asked for), or None."""
        if self.challenge is None:
            return None
        cred = self.credential
        if cred is not None and cred.kind == "registrytoken":
            return "Bearer " + cred.secret.get_secret_value()
        if self.challenge.scheme == "basic":
            if cred is None or cred.kind != "basic":
                raise AuthError(self.needs_login())
            return basic_header(cred.username, cred.secret)
        key = tuple(sorted(set(scopes)))
        token = self._tokens.get(key)
        if token is None or not token.fresh(self.clock()):
            token = self._fetch(key, transport)
            self._tokens[key] = token
        return "Bearer " + token.value.get_secret_value()

    def refused(self, resp: Response, scopes: Sequence[str]) -> bool:
        """Learn from a 401. True when a retry may succeed (a new challenge, or a token the
        registry no longer takes: expired early, revoked); False when it would only repeat."""
        challenge = choose_challenge(resp.header_values("WWW-Authenticate"))
        if challenge is None or challenge.scheme not in SPOKEN:
            raise AuthError(
                f"the registry {self.domain} requires authentication with a scheme gobuildx does not "
                f"speak (WWW-Authenticate: {' / '.join(resp.header_values('WWW-Authenticate')) or 'none'})"
            )
        first = self.challenge is None or self.challenge.scheme != challenge.scheme
        self.challenge = challenge
        if challenge.scheme == "bearer":
            key = tuple(sorted(set(scopes)))
            return self._tokens.pop(key, None) is not None or first
        return first

    def denied(self, scopes: Sequence[str], what: str) -> str:
        scope = f" for scope {' '.join(scopes)}" if scopes else ""
        return f"{what}: the registry {self.domain} refused {self._who()}{scope} (HTTP 401)"

    def _who(self) -> str:
        cred = self._credential
        return f"as {cred.username or 'token'} ({cred.source})" if cred else "anonymously"

    def wrong_login(self, who: str) -> str:
        """`who` (the registry or its token server) refused the credential itself."""
        cred = self._credential
        user = f"as {cred.username or 'a token'} ({cred.source})" if cred else "anonymously"
        return f"{who} refused the login {user}: wrong user name, password or token (HTTP 401)"

    def needs_login(self) -> str:
        return (
            f"the registry {self.domain} requires a login and gobuildx has no credentials for it; "
            f"log in with `docker login {self.domain}`, set {ENV_USER} and {ENV_PASSWORD}, "
            "or pass --login USER with the password on stdin"
        )

    def _fetch(self, scopes: tuple[str, ...], transport: Transport) -> Token:
        assert self.challenge is not None
        realm, service = self.challenge.realm, self.challenge.service
        if not realm.startswith(("http://", "https://")):
            raise AuthError(f"the registry {self.domain} names no usable token realm ({redact(realm) or 'none'})")
        if realm.startswith("http://") and not self.plain_realm_ok(realm):
            raise AuthError(
                f"the registry {self.domain} names the token realm {redact(realm)}, on plain HTTP: gobuildx "
                "sends no login over it (the password or token would cross the network in clear); "
                f'mark the registry insecure (image.registries."{self.domain}".insecure = true) only if that is meant'
            )
        cred = self.credential
        server = f"the token server {redact(realm)} of {self.domain}"
        if cred is not None and cred.kind == "identitytoken":
            # the OAuth2 refresh-token grant, as docker sends it for an identity token: one
            # space-separated `scope` (RFC 6749 3.3); not sent again after a broken connection
            form = [("grant_type", "refresh_token"), ("refresh_token", cred.secret.get_secret_value())]
            form += [("client_id", CLIENT_ID)] + [("service", service)] * bool(service)
            form += [("scope", " ".join(scopes))] * bool(scopes)
            resp = transport.send(
                "POST",
                realm,
                urllib.parse.urlencode(form).encode(),
                {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                idempotent=False,
            )
        else:
            params = [("service", service)] * bool(service) + [("scope", s) for s in scopes]
            headers = {"Authorization": basic_header(cred.username, cred.secret)} if cred else {}
            sep = "&" if "?" in realm else "?"
            resp = transport.send("GET", realm + sep + urllib.parse.urlencode(params), None, headers)
        if resp.status == 401:
            raise AuthError(self.wrong_login(server))
        if resp.status == 403:
            scope = f" for scope {' '.join(scopes)}" if scopes else ""
            raise AuthError(f"{server} refused a token {self._who()}{scope} (HTTP 403)")
        if resp.status != 200:
            raise AuthError(f"{server} gave no token (HTTP {resp.status})")
        try:
            token = parse_token(resp.body, self.clock())
        except TokenAnswerError as exc:
            raise AuthError(f"{server} gave no usable token: {exc} (HTTP 200)") from None
        self._issued.append(token.value)
        return token

    def plain_realm_ok(self, realm: str) -> bool:
        """A plain-HTTP realm may be sent a login: the registry is marked insecure, or both it
        and the realm are on this machine (nothing crosses the network)."""
        host = urllib.parse.urlsplit(realm).netloc.rpartition("@")[2]
        return self.insecure or (loopback(self.domain) and loopback(host))
