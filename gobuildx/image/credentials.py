"""Registry credentials, found the way the docker CLI finds them.

Order, first hit wins: an explicit login (`--login USER` with the password on stdin, or
GOBUILDX_REGISTRY_USERNAME / GOBUILDX_REGISTRY_PASSWORD), then `$DOCKER_CONFIG/config.json`
(default ~/.docker/config.json): its `credHelpers` entry for the host, else its `credsStore`,
else its `auths` entry (base64 `auth` = user:password, `identitytoken`, `registrytoken`).
A helper is the real `docker-credential-<name>` program and its `get` protocol: the host
on stdin, `{"Username": ..., "Secret": ...}` on stdout.

Every secret is a pydantic SecretStr: its repr, str and JSON are `**********`, so a record
that reaches a log or an error message by accident shows no secret.
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

from pydantic import BaseModel, ConfigDict, SecretStr

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


def explicit(environ: Mapping[str, str], login_user: str | None, password: str | None) -> Credential | None:
    """The --login user with its stdin password, else the two environment variables (both or neither)."""
    if login_user:
        if not password:
            raise CredentialError(f"--login {login_user}: no password on stdin")
        return Credential(kind="basic", username=login_user, secret=SecretStr(password), source="--login")
    user, secret = environ.get(ENV_USER, ""), environ.get(ENV_PASSWORD, "")
    if bool(user) != bool(secret):
        missing = ENV_PASSWORD if user else ENV_USER
        raise CredentialError(f"{ENV_USER} and {ENV_PASSWORD} go together; {missing} is not set")
    if user:
        return Credential(kind="basic", username=user, secret=SecretStr(secret), source=ENV_USER)
    return None


def find(
    domain: str, environ: Mapping[str, str], login_user: str | None = None, password: str | None = None
) -> Credential | None:
    """The credential for one registry host, or None (then gobuildx asks anonymously)."""
    given = explicit(environ, login_user, password)
    if given is not None:
        return given
    path = config_path(environ)
    if not path.is_file():
        return None
    return from_config(read_config(path), lookup_key(domain), path, environ)


def read_config(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CredentialError(f"{path}: not a readable docker config.json ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise CredentialError(f"{path}: not a docker config.json (expected a JSON object)")
    return data


def from_config(config: Mapping[str, object], key: str, path: Path, environ: Mapping[str, str]) -> Credential | None:
    """docker's own order: credHelpers[host], then credsStore, then auths[host]."""
    helpers = config.get("credHelpers")
    if isinstance(helpers, dict) and isinstance(helpers.get(key), str):
        return run_helper(str(helpers[key]), key, environ)
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        found = run_helper(store, key, environ)
        if found is not None:
            return found
    auths = config.get("auths")
    if not isinstance(auths, dict):
        return None
    entry = next((v for k, v in auths.items() if normalize_key(str(k)) == key), None)
    return from_auth_entry(entry, f"{path} auths[{key!r}]") if isinstance(entry, dict) else None


def from_auth_entry(entry: Mapping[str, object], where: str) -> Credential | None:
    """One `auths` entry: registrytoken, identitytoken, base64 `auth`, or username + password."""
    kinds: tuple[Kind, ...] = ("registrytoken", "identitytoken")
    for kind in kinds:
        value = entry.get(kind)
        if isinstance(value, str) and value:
            return Credential(kind=kind, secret=SecretStr(value), source=where)
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            user, sep, password = base64.b64decode(auth, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise CredentialError(f"{where}: `auth` is not base64 of user:password") from None
        if not sep:
            raise CredentialError(f"{where}: `auth` is not base64 of user:password (no colon)")
        return Credential(kind="basic", username=user, secret=SecretStr(password), source=where)
    name, plain = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(plain, str) and name:
        return Credential(kind="basic", username=name, secret=SecretStr(plain), source=where)
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
