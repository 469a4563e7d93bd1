"""Registry credentials, found the way the docker CLI finds them.

Order, first hit wins: an explicit login (`--login USER` with the password on stdin, or
GOBUILDX_REGISTRY_USERNAME / GOBUILDX_REGISTRY_PASSWORD), then `$DOCKER_CONFIG/config.json`
(default ~/.docker/config.json): its `credHelpers` entry for the host, else its `credsStore`,
else its `auths` entry (base64 `auth` = user:password, `identitytoken`, `registrytoken`).
A helper is the real `docker-credential-<name>` program and its `get` protocol: the host
on stdin, `{"Username": ..., "Secret": ...}` on stdout.

config.json is read into a typed model (`DockerConfig`: auths, credHelpers, credsStore; the
rest of the file is docker's business and ignored); a file docker itself could not read
(an `auths` entry that is not an object, a helper name that is not a string) is an error
that names the place, never the value.

Every secret is a pydantic SecretStr from where it is read to the Credential (the --login
password from stdin included): its repr, str and JSON are `**********`, so a record that
reaches a log or an error message by accident shows no secret.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from gobuildx.project.imageref import DEFAULT_DOMAIN

ENV_USER = "GOBUILDX_REGISTRY_USERNAME"
ENV_PASSWORD = "GOBUILDX_REGISTRY_PASSWORD"
HUB_KEY = "https://index.docker.io/v1/"  # the key docker uses for Docker Hub in config.json
HELPER_TIMEOUT_S = 30.0
# docker-credential-helpers: a helper whose Username is this returns an identity token as Secret
TOKEN_USERNAME = "<token>"

Kind = Literal["basic", "identitytoken", "registrytoken"]


class CredentialError(Exception):
    """A config.json or credential helper that cannot be used; the message names it (never a secret)."""


class Credential(BaseModel):
    """What to log in with: user + password (basic), an OAuth2 refresh token for the token
    server (identitytoken), or a bearer token sent as is (registrytoken)."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    username: str = ""
    secret: SecretStr
    source: str
    """Where it came from, for messages: 'GOBUILDX_REGISTRY_USERNAME', 'config.json auths', ..."""


class AuthEntry(BaseModel):
    """One `auths` entry of config.json (docker's AuthConfig; `email` and the rest are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    auth: SecretStr | None = None
    """base64 of user:password."""
    username: str | None = None
    password: SecretStr | None = None
    identitytoken: SecretStr | None = None
    registrytoken: SecretStr | None = None


class DockerConfig(BaseModel):
    """What gobuildx reads of a docker config.json."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    auths: dict[str, AuthEntry] = {}
    cred_helpers: dict[str, str] = Field(default={}, alias="credHelpers")
    creds_store: str | None = Field(default=None, alias="credsStore")


def parse_config(data: object, where: str) -> DockerConfig:
    """config.json's JSON as a DockerConfig; an error names each wrong place, never its value."""
    try:
        return DockerConfig.model_validate(data)
    except ValidationError as exc:
        wrong = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise CredentialError(f"{where}: not a docker config.json ({wrong})") from None


def config_path(environ: Mapping[str, str]) -> Path:
    root = environ.get("DOCKER_CONFIG") or str(Path(environ.get("HOME") or Path.home()) / ".docker")
    return Path(root) / "config.json"


def lookup_key(domain: str) -> str:
    return HUB_KEY if domain == DEFAULT_DOMAIN else domain


def normalize_key(key: str) -> str:
    """A config.json `auths` key as the host it names: docker accepts `https://host/v2/` and
    `host` alike (the legacy Hub key stays as it is)."""
    if key == HUB_KEY:
        return key
    return key.removeprefix("https://").removeprefix("http://").split("/", 1)[0]


def explicit(environ: Mapping[str, str], login_user: str | None, password: SecretStr | None) -> Credential | None:
    """The --login user with its stdin password, else the two environment variables (both or neither)."""
    if login_user:
        if password is None or not password.get_secret_value():
            raise CredentialError(f"--login {login_user}: no password on stdin")
        return Credential(kind="basic", username=login_user, secret=password, source="--login")
    user, secret = environ.get(ENV_USER, ""), SecretStr(environ.get(ENV_PASSWORD, ""))
    if bool(user) != bool(secret.get_secret_value()):
        missing = ENV_PASSWORD if user else ENV_USER
        raise CredentialError(f"{ENV_USER} and {ENV_PASSWORD} go together; {missing} is not set")
    if user:
        return Credential(kind="basic", username=user, secret=secret, source=ENV_USER)
    return None


def find(
    domain: str, environ: Mapping[str, str], login_user: str | None = None, password: SecretStr | None = None
) -> Credential | None:
    """The credential for one registry host, or None (then gobuildx asks anonymously)."""
    given = explicit(environ, login_user, password)
    if given is not None:
        return given
    path = config_path(environ)
    if not path.is_file():
        return None
    return from_config(read_config(path), lookup_key(domain), path, environ)


class Lookup:
    """find() for one registry, when the registry first asks for a login (the Client's
    `credentials`). Its repr names the host and the --login user only: the environment it
    holds has the environment's password in it."""

    def __init__(
        self, domain: str, environ: Mapping[str, str], login_user: str | None = None, password: SecretStr | None = None
    ) -> None:
        self.domain, self.login_user, self.password = domain, login_user, password
        self._environ = dict(environ)

    def __call__(self) -> Credential | None:
        return find(self.domain, self._environ, self.login_user, self.password)

    def check(self) -> None:
        """Half a login (--login without a password, one of the two variables) is an error now."""
        explicit(self._environ, self.login_user, self.password)

    def __repr__(self) -> str:
        return f"Lookup({self.domain!r}, login_user={self.login_user!r})"


def read_config(path: Path) -> DockerConfig:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CredentialError(f"{path}: not a readable docker config.json ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise CredentialError(f"{path}: not a docker config.json (expected a JSON object)")
    return parse_config(data, str(path))


def from_config(config: DockerConfig, key: str, path: Path, environ: Mapping[str, str]) -> Credential | None:
    """docker's own order: credHelpers[host], then credsStore, then auths[host]."""
    helper = config.cred_helpers.get(key)
    if helper:
        return run_helper(helper, key, environ)
    if config.creds_store:
        found = run_helper(config.creds_store, key, environ)
        if found is not None:
            return found
    entry = next((v for k, v in config.auths.items() if normalize_key(k) == key), None)
    return from_auth_entry(entry, f"{path} auths[{key!r}]") if entry is not None else None


def from_auth_entry(entry: AuthEntry, where: str) -> Credential | None:
    """One `auths` entry: registrytoken, identitytoken, base64 `auth`, or username + password."""
    tokens: tuple[tuple[Kind, SecretStr | None], ...] = (
        ("registrytoken", entry.registrytoken),
        ("identitytoken", entry.identitytoken),
    )
    for kind, value in tokens:
        if value is not None and value.get_secret_value():
            return Credential(kind=kind, secret=value, source=where)
    if entry.auth is not None and entry.auth.get_secret_value():
        try:
            decoded = base64.b64decode(entry.auth.get_secret_value(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise CredentialError(f"{where}: `auth` is not base64 of user:password") from None
        user, sep, password = decoded.partition(":")
        if not sep:
            raise CredentialError(f"{where}: `auth` is not base64 of user:password (no colon)")
        return Credential(kind="basic", username=user, secret=SecretStr(password), source=where)
    if entry.username and entry.password is not None:
        return Credential(kind="basic", username=entry.username, secret=entry.password, source=where)
    return None


def run_helper(name: str, key: str, environ: Mapping[str, str]) -> Credential | None:
    """`docker-credential-NAME get` with the host on stdin; None when it has no entry for it."""
    program = f"docker-credential-{name}"
    exe = shutil.which(program, path=environ.get("PATH", os.defpath))
    if exe is None:
        raise CredentialError(f"the credential helper {program} (config.json) is not on PATH")
    try:
        proc = subprocess.run(
            [exe, "get"],
            input=key.encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT_S,
            env=dict(environ),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CredentialError(f"the credential helper {program} failed: {type(exc).__name__}") from None
    return parse_helper_answer(program, key, proc.returncode, proc.stdout)


def parse_helper_answer(program: str, key: str, returncode: int, stdout: bytes) -> Credential | None:
    """A helper's answer. Its stdout may hold the secret, so no message quotes it, except
    docker's own 'credentials not found' text, which means: no entry."""
    if returncode != 0:
        if b"credentials not found" in stdout.lower():
            return None
        raise CredentialError(f"the credential helper {program} exited with {returncode} for {key}")
    try:
        answer = json.loads(stdout)
        user, secret = answer["Username"], answer["Secret"]
    except (ValueError, KeyError, TypeError):
        raise CredentialError(f"the credential helper {program} gave no JSON Username/Secret for {key}") from None
    if not isinstance(user, str) or not isinstance(secret, str):
        raise CredentialError(f"the credential helper {program} gave no JSON Username/Secret for {key}")
    where = f"{program} ({key})"
    if user == TOKEN_USERNAME:
        return Credential(kind="identitytoken", secret=SecretStr(secret), source=where)
    return Credential(kind="basic", username=user, secret=SecretStr(secret), source=where)
