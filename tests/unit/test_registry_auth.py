"""The pure halves of registry login: challenge parsing, config.json lookup, token reuse, retry
policy, scheme and CA choice. The real registries are tests/integration/image/test_registry_login.py."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from gobuildx.image import auth, credentials, transport
from gobuildx.image.credentials import Credential, CredentialError


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:samalba/my-app:pull,push"',
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:samalba/my-app:pull,push",
            },
        ),
        ('Basic realm="Registry Realm"', "basic", {"realm": "Registry Realm"}),
        ("basic realm=simple", "basic", {"realm": "simple"}),
        (
            'Bearer realm="https://ghcr.io/token", service="ghcr.io", '
            'scope="repository:a/b:pull", error="invalid_token"',
            "bearer",
            {
                "realm": "https://ghcr.io/token",
                "service": "ghcr.io",
                "scope": "repository:a/b:pull",
                "error": "invalid_token",
            },
        ),
        ('Bearer realm="a \\"quoted\\" realm"', "bearer", {"realm": 'a "quoted" realm'}),
    ],
)
def test_challenges_are_parsed(header: str, scheme: str, params: dict[str, str]) -> None:
    challenge = auth.parse_challenge(header)
    assert challenge is not None and challenge.scheme == scheme and challenge.params == params


def test_a_challenge_with_two_scopes_and_none() -> None:
    two = auth.parse_challenge('Bearer realm="r",scope="repository:a:pull repository:b:pull,push"')
    assert two is not None and two.scopes == ("repository:a:pull", "repository:b:pull,push")
    assert auth.parse_challenge("") is None and auth.parse_challenge("realm=x") is None


def test_token_answers() -> None:
    token = auth.parse_token(b'{"token": "t1", "expires_in": 300}', now=1000.0)
    assert token is not None and token.value.get_secret_value() == "t1" and token.expires_at == 1300.0
    default = auth.parse_token(b'{"access_token": "t2"}', now=0.0)
    assert default is not None and default.expires_at == auth.DEFAULT_EXPIRES_S
    assert auth.parse_token(b"not json", 0.0) is None and auth.parse_token(b'{"token": ""}', 0.0) is None
    assert "t1" not in repr(token) and "t1" not in token.model_dump_json()


class _TokenServer:
    """Stands in for the transport to a token server: counts the tokens it hands out."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def send(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> transport.Response:
        self.asked.append(url)
        body = json.dumps({"token": f"tok{len(self.asked)}", "expires_in": 60}).encode()
        return transport.Response(status=200, headers={}, body=body)


def test_a_token_is_reused_until_it_expires_and_kept_per_scope() -> None:
    now = [1000.0]
    cred = Credential(kind="basic", username="u", secret=SecretStr("pw"), source="test")
    a = auth.Authorizer("r.example", lambda: cred, clock=lambda: now[0])
    a.challenge = auth.parse_challenge('Bearer realm="https://r.example/token",service="svc"')
    server = _TokenServer()
    push = (auth.push_scope("team/app"),)
    assert a.header(push, server) == "Bearer tok1"  # type: ignore[arg-type]
    assert a.header(push, server) == "Bearer tok1"  # type: ignore[arg-type]
    now[0] += 60 - auth.EARLY_S  # about to expire: renewed
    assert a.header(push, server) == "Bearer tok2"  # type: ignore[arg-type]
    mount = (auth.push_scope("team/app"), auth.pull_scope("team/base"))
    assert a.header(mount, server) == "Bearer tok3"  # type: ignore[arg-type]
    assert "scope=repository%3Ateam%2Fapp%3Apull%2Cpush&scope=repository%3Ateam%2Fbase%3Apull" in server.asked[-1]
    assert "service=svc" in server.asked[-1]
    assert set(a.secrets()) >= {"tok2", "tok3", "pw"}


def test_a_basic_challenge_without_credentials_says_how_to_log_in() -> None:
    a = auth.Authorizer("r.example", lambda: None)
    a.challenge = auth.parse_challenge('Basic realm="x"')
    with pytest.raises(auth.AuthError, match="docker login r.example.*GOBUILDX_REGISTRY_USERNAME.*--login USER"):
        a.header((), _TokenServer())  # type: ignore[arg-type]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_config_auths_by_host_url_and_hub_key(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    config = {
        "auths": {
            "https://registry.corp:5443/v2/": {"auth": _b64("alice:pa:ss")},
            credentials.HUB_KEY: {"auth": _b64("bob:hub")},
            "ghcr.io": {"identitytoken": "refresh-me"},
            "quay.io": {"registrytoken": "bearer-me"},
        }
    }
    found = credentials.from_config(config, "registry.corp:5443", path, {})
    assert found is not None and (found.kind, found.username, found.secret.get_secret_value()) == (
        "basic",
        "alice",
        "pa:ss",
    )
    hub = credentials.from_config(config, credentials.lookup_key("docker.io"), path, {})
    assert hub is not None and hub.username == "bob"
    ghcr = credentials.from_config(config, "ghcr.io", path, {})
    assert ghcr is not None and ghcr.kind == "identitytoken"
    quay = credentials.from_config(config, "quay.io", path, {})
    assert quay is not None and quay.kind == "registrytoken"
    assert credentials.from_config(config, "other.io", path, {}) is None
    assert "pa:ss" not in repr(found) and "pa:ss" not in found.model_dump_json()


def test_a_broken_auth_entry_names_where_not_what() -> None:
    with pytest.raises(CredentialError, match=r"auths\['x'\]: `auth` is not base64 of user:password") as err:
        credentials.from_auth_entry({"auth": "%%%not-base64"}, "config.json auths['x']")
    assert "%%%" not in str(err.value)


def _helper(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / f"docker-credential-{name}"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_cred_helpers_win_over_creds_store_and_auths(tmp_path: Path) -> None:
    bins = tmp_path / "bin"
    _helper(bins, "one", 'read host; echo "{\\"Username\\": \\"u1\\", \\"Secret\\": \\"s1-$host\\"}"\n')
    _helper(bins, "store", 'read host; echo "credentials not found in native keychain"; exit 1\n')
    env = {"PATH": str(bins)}
    config = {
        "credHelpers": {"a.corp": "one"},
        "credsStore": "store",
        "auths": {"a.corp": {"auth": _b64("x:y")}, "b.corp": {"auth": _b64("b:file")}},
    }
    a = credentials.from_config(config, "a.corp", tmp_path / "c.json", env)
    assert a is not None and (a.username, a.secret.get_secret_value()) == ("u1", "s1-a.corp")
    b = credentials.from_config(config, "b.corp", tmp_path / "c.json", env)  # the store has none: auths
    assert b is not None and b.username == "b"


def test_helper_answers() -> None:
    ok = credentials.parse_helper_answer("docker-credential-x", "h", 0, b'{"Username": "<token>", "Secret": "idt"}')
    assert ok is not None and ok.kind == "identitytoken"
    with pytest.raises(CredentialError, match="exited with 3 for h") as err:
        credentials.parse_helper_answer("docker-credential-x", "h", 3, b"leaked-secret-text")
    assert "leaked" not in str(err.value)
    with pytest.raises(CredentialError, match="gave no JSON Username/Secret"):
        credentials.parse_helper_answer("docker-credential-x", "h", 0, b'{"Secret": "s"}')


def test_a_missing_helper_is_named(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match="docker-credential-desktop .* is not on PATH"):
        credentials.from_config({"credsStore": "desktop"}, "a.corp", tmp_path / "c.json", {"PATH": str(tmp_path)})


def test_explicit_login_comes_first_and_goes_in_pairs(tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path), credentials.ENV_USER: "ci", credentials.ENV_PASSWORD: "pw"}
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"a.corp": {"auth": _b64("file:pw")}}}))
    found = credentials.find("a.corp", env)
    assert found is not None and found.username == "ci" and found.source == credentials.ENV_USER
    login = credentials.find("a.corp", env, "me", "stdin-pw")
    assert login is not None and login.username == "me" and login.source == "--login"
    assert credentials.find("a.corp", {"DOCKER_CONFIG": str(tmp_path)}) is not None
    with pytest.raises(CredentialError, match="GOBUILDX_REGISTRY_PASSWORD is not set"):
        credentials.explicit({credentials.ENV_USER: "ci"}, None, None)
    with pytest.raises(CredentialError, match="--login me: no password on stdin"):
        credentials.explicit({}, "me", "")
    assert credentials.config_path({"HOME": "/home/x"}) == Path("/home/x/.docker/config.json")


def test_retry_policy() -> None:
    policy = transport.RetryPolicy(attempts=5, base_s=0.5, max_backoff_s=4.0, max_retry_after_s=30.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert policy.wait(1, "3", now) == 3.0
    assert policy.wait(2, "Wed, 01 Jan 2025 12:00:10 GMT", now) == 10.0
    assert policy.wait(2, "Wed, 01 Jan 2025 11:00:00 GMT", now) == 0.0  # a date already past
    assert policy.wait(3, "soon", now) == 2.0  # unreadable: the backoff
    assert policy.wait(1, "120", now) is None  # longer than gobuildx waits
    assert [s for s in (408, 429, 500, 501, 502, 503, 504, 505, 400, 401, 404) if policy.retryable(s)] == [
        408,
        429,
        500,
        502,
        503,
        504,
    ]


@pytest.mark.parametrize(
    ("domain", "insecure", "has_ca", "scheme"),
    [
        ("127.0.0.1:5000", None, False, "http"),
        ("127.0.0.1:5443", None, True, "https"),  # a CA for a loopback registry: it speaks TLS
        ("localhost:5000", False, False, "https"),
        ("registry.corp", None, False, "https"),
        ("registry.corp", True, False, "http"),  # only when the user says so
    ],
)
def test_scheme(domain: str, insecure: bool | None, has_ca: bool, scheme: str) -> None:
    assert transport.scheme(domain, insecure, [Path("ca.pem")] if has_ca else []) == scheme


def test_ca_files_from_the_setting_and_certs_d(tmp_path: Path) -> None:
    (tmp_path / "r.corp:5443").mkdir()
    (tmp_path / "r.corp:5443" / "ca.crt").write_text("x")
    (tmp_path / "r.corp:5443" / "client.cert").write_text("x")
    assert transport.ca_files("r.corp:5443", Path("/my/ca.pem"), tmp_path) == [
        Path("/my/ca.pem"),
        tmp_path / "r.corp:5443" / "ca.crt",
    ]
    assert transport.ca_files("other", None, tmp_path) == []
