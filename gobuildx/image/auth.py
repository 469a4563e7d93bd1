"""Registry authentication: the WWW-Authenticate challenge, HTTP Basic, and the bearer token flow.

The token flow (distribution's token spec): a 401 names a realm (the token server), a
service and a scope; gobuildx asks the realm for a token for exactly the scopes it needs
(`repository:NAME:pull,push`, plus `repository:OTHER:pull` to mount a blob from OTHER), with
Basic credentials or an OAuth2 refresh token (identitytoken) when it has one, anonymously
otherwise, and reuses it until it expires. A 401 to a request carrying a fresh token is
the registry refusing that scope: an error that names registry and scope.
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
from gobuildx.image.transport import Response, Transport

DEFAULT_EXPIRES_S = 60  # the token spec: a token without expires_in lives 60 seconds
EARLY_S = 5  # renew a little before expiry, so no request is sent with a token about to lapse
CLIENT_ID = "gobuildx"
_PARAM = re.compile(r'\s*([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)')


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

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.params.get("scope", "").split())


def parse_challenge(header: str) -> Challenge | None:
    """The challenge of a WWW-Authenticate header, or None if there is none it can read."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme or "=" in scheme:
        return None
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if m is None or m.end() == pos:
            break
        quoted, bare = m.group(2), m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        pos = m.end()
    return Challenge(scheme=scheme.lower(), params=params)


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


def parse_token(body: bytes, now: float) -> Token | None:
    """A token server's answer: `token` (or `access_token`) and `expires_in` (default 60 s)."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    value = answer.get("token") or answer.get("access_token")
    if not isinstance(value, str) or not value:
        return None
    expires = answer.get("expires_in")
    lifetime = expires if isinstance(expires, int) and expires > 0 else DEFAULT_EXPIRES_S
    return Token(value=SecretStr(value), expires_at=now + lifetime)


def basic_header(username: str, secret: SecretStr) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret.get_secret_value()}".encode()).decode()


class Authorizer:
    """The Authorization header for each request to one registry, learnt from its challenges."""

    def __init__(
        self, domain: str, lookup: Callable[[], Credential | None], clock: Callable[[], float] = time.time
    ) -> None:
        self.domain, self.clock = domain, clock
        self.challenge: Challenge | None = None
        self._lookup = lookup
        self._credential: Credential | None = None
        self._looked = False
        self._tokens: dict[tuple[str, ...], Token] = {}

    @property
    def credential(self) -> Credential | None:
        """Looked up once, when a registry first asks for a login: a registry without
        authentication never runs a credential helper (nor fails on a broken one)."""
        if not self._looked:
            self._credential, self._looked = self._lookup(), True
        return self._credential

    def secrets(self) -> list[str]:
        """Every secret this authorizer holds, for scrubbing messages (belt and braces)."""
        out = [t.value.get_secret_value() for t in self._tokens.values()]
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
        challenge = parse_challenge(resp.header("WWW-Authenticate"))
        if challenge is None or challenge.scheme not in ("basic", "bearer"):
            raise AuthError(
                f"the registry {self.domain} requires authentication with a scheme gobuildx does not "
                f"speak (WWW-Authenticate: {resp.header('WWW-Authenticate') or 'none'})"
            )
        first = self.challenge is None or self.challenge.scheme != challenge.scheme
        self.challenge = challenge
        if challenge.scheme == "bearer":
            key = tuple(sorted(set(scopes)))
            return self._tokens.pop(key, None) is not None or first
        return first

    def denied(self, scopes: Sequence[str], what: str) -> str:
        who = (
            f"as {self.credential.username or 'token'} ({self.credential.source})" if self.credential else "anonymously"
        )
        scope = f" for scope {' '.join(scopes)}" if scopes else ""
        return f"{what}: the registry {self.domain} refused {who}{scope} (HTTP 401)"

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
            raise AuthError(f"the registry {self.domain} names no usable token realm ({realm or 'none'})")
        cred = self.credential
        params = [("service", service)] * bool(service) + [("scope", s) for s in scopes]
        if cred is not None and cred.kind == "identitytoken":
            # the OAuth2 refresh-token grant, as docker sends it for an identity token
            form = [("grant_type", "refresh_token"), ("refresh_token", cred.secret.get_secret_value())]
            data = urllib.parse.urlencode([*form, ("client_id", CLIENT_ID), *params]).encode()
            resp = transport.send(
                "POST", realm, data, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
            )
        else:
            headers = {"Authorization": basic_header(cred.username, cred.secret)} if cred else {}
            sep = "&" if "?" in realm else "?"
            resp = transport.send("GET", realm + sep + urllib.parse.urlencode(params), None, headers)
        if resp.status in (401, 403):
            raise AuthError(self.wrong_login(f"the token server {realm} of {self.domain}"))
        token = parse_token(resp.body, self.clock()) if resp.status == 200 else None
        if token is None:
            raise AuthError(f"the token server {realm} of {self.domain} gave no token (HTTP {resp.status})")
        return token
