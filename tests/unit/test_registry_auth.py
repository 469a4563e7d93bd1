"""The pure halves of registry login: challenge parsing, config.json lookup, token reuse, retry
policy, scheme and CA choice. The real registries are tests/integration/image/test_registry_login.py."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from gobuildx.image import auth, credentials, transport
from gobuildx.image.credentials import Credential, CredentialError
from gobuildx.project.context import ProjectContext


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
    assert two is not None and two.params["scope"] == "repository:a:pull repository:b:pull,push"
    assert auth.parse_challenge("") is None and auth.parse_challenge("realm=x") is None


def test_every_challenge_of_every_header_is_read_and_bearer_preferred() -> None:
    both = auth.parse_challenges('Basic realm="Registry Realm", Bearer realm="https://r/token",service="s"')
    assert [(c.scheme, c.realm) for c in both] == [("basic", "Registry Realm"), ("bearer", "https://r/token")]
    # two WWW-Authenticate headers: both kept, the bearer one taken (a dict of headers kept only the last)
    resp = transport._response(
        401,
        [("WWW-Authenticate", 'Bearer realm="https://r/token",service="s"'), ("WWW-Authenticate", 'Basic realm="x"')],
        b"",
    )
    assert resp.header_values("www-authenticate") == ('Bearer realm="https://r/token",service="s"', 'Basic realm="x"')
    a = auth.Authorizer("r.example", lambda: None)
    assert a.refused(resp, ()) and a.challenge is not None and a.challenge.scheme == "bearer"
    other = auth.choose_challenge(["Negotiate abc", 'Basic realm="x"'])
    assert other is not None and other.scheme == "basic"


def test_token_answers() -> None:
    token = auth.parse_token(b'{"token": "t1", "expires_in": 300}', now=1000.0)
    assert token.value.get_secret_value() == "t1" and token.expires_at == 1300.0
    default = auth.parse_token(b'{"access_token": "t2"}', now=0.0)
    assert default.expires_at == auth.DEFAULT_EXPIRES_S  # absent: the token spec's 60 s
    for body, why in (
        (b"not json", "not JSON"),
        (b'{"token": ""}', "no token"),
        (b'{"token": "t", "expires_in": "300"}', 'expires_in "300", not a positive whole number'),
        (b'{"token": "t", "expires_in": 2.5}', "expires_in 2.5, not"),
        (b'{"token": "t", "expires_in": 0}', "expires_in 0, not"),
        (b'{"token": "t", "expires_in": true}', "expires_in true, not"),
    ):
        with pytest.raises(auth.TokenAnswerError, match=why):
            auth.parse_token(body, 0.0)
    assert "t1" not in repr(token) and "t1" not in token.model_dump_json()


def test_a_bad_expires_in_and_a_403_are_errors_that_say_so() -> None:
    a = auth.Authorizer("r.example", lambda: Credential(kind="basic", username="u", secret=SecretStr("pw"), source="t"))
    a.challenge = auth.parse_challenge('Bearer realm="https://r.example/token?x=1",service="svc"')
    odd = transport.Response(status=200, headers={}, body=b'{"token": "tokX", "expires_in": "soon"}')
    with pytest.raises(auth.AuthError) as bad:
        a.header(("repository:a:pull",), _Recorder(odd))  # type: ignore[arg-type]
    assert str(bad.value) == (
        "the token server https://r.example/token of r.example gave no usable token: "
        'expires_in "soon", not a positive whole number of seconds (HTTP 200)'
    )
    with pytest.raises(auth.AuthError) as refused:
        a.header(("repository:a:pull",), _Recorder(transport.Response(status=403, headers={}, body=b"")))  # type: ignore[arg-type]
    assert str(refused.value) == (
        "the token server https://r.example/token of r.example refused a token as u (t) "
        "for scope repository:a:pull (HTTP 403)"
    )
    assert "wrong" not in str(refused.value)


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
    parsed = credentials.parse_config(config, "config.json")
    found = credentials.from_config(parsed, "registry.corp:5443", path, {})
    assert found is not None and (found.kind, found.username, found.secret.get_secret_value()) == (
        "basic",
        "alice",
        "pa:ss",
    )
    hub = credentials.from_config(parsed, credentials.lookup_key("docker.io"), path, {})
    assert hub is not None and hub.username == "bob"
    ghcr = credentials.from_config(parsed, "ghcr.io", path, {})
    assert ghcr is not None and ghcr.kind == "identitytoken"
    quay = credentials.from_config(parsed, "quay.io", path, {})
    assert quay is not None and quay.kind == "registrytoken"
    assert credentials.from_config(parsed, "other.io", path, {}) is None
    assert "pa:ss" not in repr(found) and "pa:ss" not in found.model_dump_json()
    assert _b64("alice:pa:ss") not in repr(parsed) and "bearer-me" not in repr(parsed)


def test_config_json_is_a_typed_model_and_its_errors_name_places_not_values(tmp_path: Path) -> None:
    parsed = credentials.parse_config(
        {"auths": {"a.corp": {"auth": _b64("u:p"), "email": "x@y"}}, "credsStore": "desktop", "psFormat": "t"},
        "c.json",
    )
    assert parsed.creds_store == "desktop" and parsed.cred_helpers == {} and set(parsed.auths) == {"a.corp"}
    with pytest.raises(CredentialError) as wrong:
        credentials.parse_config({"auths": {"a.corp": "SECRET-not-an-object"}, "credHelpers": {"b": 7}}, "c.json")
    assert str(wrong.value).startswith("c.json: not a docker config.json (auths.a.corp: ")
    assert "credHelpers.b: " in str(wrong.value) and "SECRET" not in str(wrong.value)
    (tmp_path / "config.json").write_text('{"auths": []}')
    with pytest.raises(CredentialError, match=r"config.json: not a docker config.json \(auths: "):
        credentials.read_config(tmp_path / "config.json")


def test_a_broken_auth_entry_names_where_not_what() -> None:
    with pytest.raises(CredentialError, match=r"auths\['x'\]: `auth` is not base64 of user:password") as err:
        credentials.from_auth_entry(credentials.AuthEntry(auth=SecretStr("%%%not-base64")), "config.json auths['x']")
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
    parsed = credentials.parse_config(config, "c.json")
    a = credentials.from_config(parsed, "a.corp", tmp_path / "c.json", env)
    assert a is not None and (a.username, a.secret.get_secret_value()) == ("u1", "s1-a.corp")
    b = credentials.from_config(parsed, "b.corp", tmp_path / "c.json", env)  # the store has none: auths
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
        credentials.from_config(
            credentials.DockerConfig(credsStore="desktop"), "a.corp", tmp_path / "c.json", {"PATH": str(tmp_path)}
        )


def test_explicit_login_comes_first_and_goes_in_pairs(tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path), credentials.ENV_USER: "ci", credentials.ENV_PASSWORD: "pw"}
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"a.corp": {"auth": _b64("file:pw")}}}))
    found = credentials.find("a.corp", env)
    assert found is not None and found.username == "ci" and found.source == credentials.ENV_USER
    login = credentials.find("a.corp", env, "me", SecretStr("stdin-pw"))
    assert login is not None and login.username == "me" and login.source == "--login"
    assert credentials.find("a.corp", {"DOCKER_CONFIG": str(tmp_path)}) is not None
    with pytest.raises(CredentialError, match="GOBUILDX_REGISTRY_PASSWORD is not set"):
        credentials.explicit({credentials.ENV_USER: "ci"}, None, None)
    with pytest.raises(CredentialError, match="--login me: no password on stdin"):
        credentials.explicit({}, "me", SecretStr(""))
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


# --- the review of issue 18: each security fix has its test here (the real registries are the
# integration tier's)

PLANTED = "PLANTED-secret-3b9f0c2e"


class _Recorder:
    """A transport that records every request and answers each with the next of `answers`
    (a token answer when they run out)."""

    def __init__(self, *answers: transport.Response) -> None:
        self.sent: list[tuple[str, str, bytes | None, dict[str, str]]] = []
        self.answers = list(answers)

    def send(
        self, method: str, url: str, data: bytes | None, headers: dict[str, str], idempotent: bool | None = None
    ) -> transport.Response:
        self.sent.append((method, url, data, dict(headers)))
        if self.answers:
            return self.answers.pop(0)
        body = json.dumps({"token": f"tok{len(self.sent)}", "expires_in": 60}).encode()
        return transport.Response(status=200, headers={}, body=body)


def _basic(user: str = "u", secret: str = "pw") -> Credential:
    return Credential(kind="basic", username=user, secret=SecretStr(secret), source="test")


@pytest.mark.parametrize(
    ("domain", "realm"),
    [
        ("registry.corp", "http://auth.corp/token"),  # a remote registry with a plain-HTTP realm
        ("127.0.0.1:5443", "http://auth.corp/token"),  # a loopback registry whose realm is elsewhere
    ],
)
def test_a_plain_http_token_realm_is_refused_before_any_password_is_sent(domain: str, realm: str) -> None:
    a = auth.Authorizer(domain, lambda: _basic(secret=PLANTED))
    a.challenge = auth.parse_challenge(f'Bearer realm="{realm}",service="svc"')
    server = _Recorder()
    with pytest.raises(auth.AuthError, match="plain HTTP") as refused:
        a.header((auth.push_scope("team/app"),), server)  # type: ignore[arg-type]
    assert server.sent == [] and PLANTED not in str(refused.value)
    assert f"the registry {domain} names the token realm http://auth.corp/token" in str(refused.value)


def test_a_plain_http_realm_is_taken_on_loopback_or_when_the_registry_is_insecure() -> None:
    for domain, realm, insecure in (
        ("127.0.0.1:5443", "http://127.0.0.1:9999/token", False),  # nothing leaves this machine
        ("registry.lan:5000", "http://auth.lan/token", True),  # the user said plain HTTP is fine here
    ):
        a = auth.Authorizer(domain, lambda: _basic(), insecure=insecure)
        a.challenge = auth.parse_challenge(f'Bearer realm="{realm}",service="svc"')
        server = _Recorder()
        assert a.header((auth.push_scope("team/app"),), server) == "Bearer tok1"  # type: ignore[arg-type]
        assert server.sent[0][1].startswith(realm + "?")


def test_the_refresh_token_post_sends_one_space_separated_scope() -> None:
    import urllib.parse

    cred = Credential(kind="identitytoken", secret=SecretStr("refresh"), source="test")
    a = auth.Authorizer("r.example", lambda: cred)
    a.challenge = auth.parse_challenge('Bearer realm="https://r.example/token",service="svc"')
    server = _Recorder()
    scopes = (auth.push_scope("team/app"), auth.pull_scope("team/base"))
    assert a.header(scopes, server) == "Bearer tok1"  # type: ignore[arg-type]
    method, _, data, _ = server.sent[0]
    assert method == "POST" and data is not None
    form = urllib.parse.parse_qs(data.decode())
    assert form["scope"] == ["repository:team/app:pull,push repository:team/base:pull"]
    assert form["grant_type"] == ["refresh_token"] and form["service"] == ["svc"]


def test_a_refused_token_stays_in_the_scrub_set() -> None:
    a = auth.Authorizer("r.example", lambda: _basic())
    a.challenge = auth.parse_challenge('Bearer realm="https://r.example/token",service="svc"')
    server = _Recorder()
    push = (auth.push_scope("team/app"),)
    assert a.header(push, server) == "Bearer tok1"  # type: ignore[arg-type]
    again = transport.Response(
        status=401, headers={"www-authenticate": 'Bearer realm="https://r.example/token",service="svc"'}, body=b""
    )
    assert a.refused(again, push)  # the token is dropped: the next request asks for a new one
    assert a.header(push, server) == "Bearer tok2"  # type: ignore[arg-type]
    assert {"tok1", "tok2"} <= set(a.secrets())


def _walk(root: object, seen: set[int] | None = None) -> Iterator[object]:
    """Every object reachable from root: attributes, pydantic fields, a partial's arguments, a
    closure's cells, container items. Containers are walked into, not yielded (a dict of the
    environment holds the environment's password, as the environment does)."""
    import functools

    seen = set() if seen is None else seen
    if id(root) in seen or isinstance(root, (str, bytes, int, float, bool, type(None), Path, type)):
        return
    seen.add(id(root))
    children: list[object] = []
    if isinstance(root, dict):
        children = [*root.keys(), *root.values()]
    elif isinstance(root, (list, tuple, set, frozenset)):
        children = list(root)
    else:
        yield root
        if isinstance(root, functools.partial):
            children = [root.func, *root.args, *root.keywords.values()]
        elif callable(root) and getattr(root, "__closure__", None):
            children = [c.cell_contents for c in root.__closure__ or ()]
        children += list(getattr(root, "__dict__", {}).values())
        if hasattr(type(root), "__slots__"):
            children += [getattr(root, s) for s in type(root).__slots__ if hasattr(root, s)]
    for child in children:
        yield from _walk(child, seen)


def test_no_object_built_from_a_planted_password_shows_it(
    context: Callable[[str], ProjectContext], tmp_path: Path
) -> None:
    """--login's stdin password (a SecretStr from the CLI) and the environment's password stay
    SecretStr until the Credential is built: repr() of every object the image stage builds
    from them (options, context, client, authorizer, the lookup, credential, token) hides them."""
    from gobuildx.image import registry
    from gobuildx.image import stage as image_stage

    login_pw, env_pw = PLANTED + "-login", PLANTED + "-env"
    ctx = context(HELLO_IMAGE)
    ctx = ctx.model_copy(
        update={"environ": {**ctx.environ, credentials.ENV_USER: "ci", credentials.ENV_PASSWORD: env_pw}}
    )
    table = image_stage.table_of(ctx)
    repo = registry.parse_repository(table.repository)
    built: list[object] = [ctx]
    for opts in (
        image_stage.Options(push=True, login="me", password=SecretStr(login_pw)),
        image_stage.Options(push=True),  # the environment's password
    ):
        client = image_stage.client_for(ctx, table, repo, opts)
        client.auth.challenge = auth.parse_challenge('Bearer realm="https://registry.corp/token",service="s"')
        assert client.auth.header((auth.push_scope(repo.path),), _Recorder())  # type: ignore[arg-type]
        assert client.auth.credential is not None
        built += [opts, client, client.auth.credential]
    for obj in (o for root in built for o in _walk(root)):
        shown = repr(obj)
        assert login_pw not in shown and env_pw not in shown, (type(obj), shown)


HELLO_IMAGE = """
[project]
name = "hello"
dir = "hello"
version = "1.2.3"

[matrix.linux]
goos = ["linux"]
goarch = ["amd64"]

[image]
repository = "registry.corp/team/app"
"""


def test_urls_in_messages_lose_their_query_and_userinfo() -> None:
    url = "https://user:pw@registry.corp:5443/v2/team/app/blobs/uploads/abc?_state=STATE&digest=sha256%3Aff#frag"
    assert transport.redact(url) == "https://registry.corp:5443/v2/team/app/blobs/uploads/abc"
    assert transport.redact("/v2/team/app/blobs/uploads/abc?_state=STATE") == "/v2/team/app/blobs/uploads/abc"
    assert transport.redact("https://[::1]:5000/v2/?x=1") == "https://[::1]:5000/v2/"


def test_a_broken_connection_message_names_no_query(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = transport.RetryPolicy(attempts=2)
    context = transport.ssl_context([], {})
    t = transport.Transport("registry.corp", "https://registry.corp", context, 5, policy, sleep=lambda s: None)

    def broken(*args: object) -> transport.Response:
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(t, "_once", broken)
    with pytest.raises(transport.TransportError) as raised:
        t.send("PUT", "https://u:SECRET@registry.corp/v2/a/blobs/uploads/x?_state=STATE&digest=d", b"", {})
    assert str(raised.value) == (
        "the registry registry.corp broke off PUT https://registry.corp/v2/a/blobs/uploads/x: "
        "[Errno 104] Connection reset by peer (2 tries)"
    )


def test_a_refusal_names_the_request_without_its_query() -> None:
    from gobuildx.image import registry

    client = registry.Client("127.0.0.1:5000", credentials=lambda: _basic())
    challenge = {"www-authenticate": 'Basic realm="r"'}
    client.http.send = _Recorder(*[transport.Response(status=401, headers=challenge, body=b"")] * 3).send  # type: ignore[method-assign]
    with pytest.raises(registry.RegistryError) as raised:
        client.request("PATCH", "/v2/team/app/blobs/uploads/abc?_state=STATE", ("scope",))
    assert "STATE" not in str(raised.value)
    assert str(raised.value).startswith("PATCH /v2/team/app/blobs/uploads/abc: the registry 127.0.0.1:5000 refused")
