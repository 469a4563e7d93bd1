"""`gobuildx image --push` to real registries that want a login: Debian's docker-registry with
htpasswd Basic auth over TLS (a CA made here), and with token auth (a token server run here);
credentials from config.json, a credential helper, the environment and --login; pulled back
with `docker pull` and run. No secret reaches any output (the streams, every file under the
project, dist/report.html among them). The Authorization header reaches no other origin: not
an upload Location on another port, not a redirect from HTTPS to plain HTTP."""

from __future__ import annotations

import base64
import json
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from pydantic import SecretStr

from gobuildx.formats.oci import Blob
from gobuildx.image import registry
from gobuildx.image.credentials import Credential
from tests.conftest import run_gobuildx
from tests.integration.image.conftest import clone, hello_toml, run_in_image
from tests.integration.image.registries import FaultProxy, Pki, Registry, TokenIssuer, htpasswd, start_registry

USER = "alice"
PASSWORD = f"PLANTED-pw-{uuid.uuid4().hex}"  # searched for in every output
CERTS_D = Path("/etc/docker/certs.d")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.make(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Registry]:
    where = tmp_path_factory.mktemp("basic-registry")
    users = htpasswd(where / "htpasswd", {USER: PASSWORD})
    reg = start_registry(where, pki, {"htpasswd": {"realm": "gobuildx-test", "path": str(users)}})
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def issuer(pki: Pki) -> Iterator[TokenIssuer]:
    issuer = TokenIssuer(pki, {USER: PASSWORD}).start()
    yield issuer
    issuer.stop()


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory, pki: Pki, issuer: TokenIssuer) -> Iterator[Registry]:
    reg = start_registry(tmp_path_factory.mktemp("token-registry"), pki, issuer.registry_auth())
    yield reg
    reg.stop()


@pytest.fixture
def certs_d(basic_registry: Registry, pki: Pki) -> Iterator[Path]:
    """docker's /etc/docker/certs.d/<host>/ca.crt for the test registry (the engine's pull and
    gobuildx both read it); removed afterwards."""
    where = CERTS_D / basic_registry.addr
    where.mkdir(parents=True, exist_ok=True)
    shutil.copy(pki.ca, where / "ca.crt")
    yield where
    shutil.rmtree(where)


def project(hello_images: Path, dest: Path, addr: str, ca: Path | None) -> Path:
    """A copy of the built hello project whose targets.toml names the registry (and its CA)."""
    root = clone(hello_images, dest)
    table = f'[image]\nrepository = "{addr}/team/hello"\ntags = ["{{version}}", "latest"]\n'
    if ca:
        shutil.copy(ca, root / "registry-ca.pem")
        table += f'\n[image.registries."{addr}"]\nca = "registry-ca.pem"\n'
    (root / "targets.toml").write_text(hello_toml(table))
    return root


def docker_config(where: Path, config: dict[str, object]) -> dict[str, str]:
    where.mkdir(parents=True, exist_ok=True)
    (where / "config.json").write_text(json.dumps(config))
    return {"DOCKER_CONFIG": str(where)}


def helper(bin_dir: Path, name: str, user: str, secret: str) -> dict[str, str]:
    """A docker-credential-NAME program speaking the helper protocol's `get` (and nothing else)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / f"docker-credential-{name}"
    path.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 2\n'
        "read -r host\n"
        f'printf \'{{"ServerURL": "%s", "Username": "{user}", "Secret": "{secret}"}}\' "$host"\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)
    import os

    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


def push(root: Path, env: dict[str, str], *extra: str, stdin: str | None = None) -> tuple[int, str, str]:
    proc = run_gobuildx(
        ["image", "-t", "linux-amd64", "--oci-layout", "l", "--push", *extra], cwd=root, env=env, stdin=stdin
    )
    return proc.returncode, proc.stdout, proc.stderr


def outputs(root: Path, env: dict[str, str], *streams: str) -> str:
    """Everything gobuildx wrote: the streams, and every file under the project but its inputs,
    after `gobuildx report` wrote dist/report.html anew (searched with the rest)."""
    report = run_gobuildx(["report"], cwd=root, env=env)
    assert report.returncode == 0, report.stderr
    texts = [*streams, report.stdout, report.stderr]
    searched = set()
    for path in root.rglob("*"):
        if path.is_file() and path.name not in ("targets.toml", "registry-ca.pem") and "hello" not in path.parts[-2:-1]:
            texts.append(path.read_bytes().decode(errors="replace"))
            searched.add(path.relative_to(root))
    assert {Path("dist/report.html"), Path("dist/manifest.json")} <= searched, sorted(searched)
    return "\n".join(texts)


def pushed_lines(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if "pushed" in line]


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in (PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(), *secrets):
        assert secret not in text


def test_push_with_config_json_auths_then_docker_pull_and_run(
    hello_images: Path,
    services: dict[str, str],
    engine: docker.DockerClient,
    basic_registry: Registry,
    certs_d: Path,
    tmp_path: Path,
) -> None:
    """TLS trusted through /etc/docker/certs.d only (no ca in targets.toml), Basic auth from config.json."""
    root = project(hello_images, tmp_path / "p", basic_registry.addr, None)
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    env = {
        **services,
        **docker_config(tmp_path / "docker", {"auths": {f"https://{basic_registry.addr}": {"auth": auth}}}),
    }
    code, out, err = push(root, env)
    assert code == 0, err
    ref = f"{basic_registry.addr}/team/hello:1.2.3"
    assert pushed_lines(out) == [f"pushed: {ref}", f"pushed: {basic_registry.addr}/team/hello:latest"], out
    engine.images.pull(ref, auth_config={"username": USER, "password": PASSWORD}, platform="linux/amd64")
    try:
        assert "platform linux/amd64 " in run_in_image(engine, ref, "amd64", "/usr/local/bin/hello", "linux/amd64")
    finally:
        engine.images.remove(ref, force=True)
    assert_no_secret(outputs(root, env, out, err))


def test_push_with_a_credential_helper(
    hello_images: Path, services: dict[str, str], basic_registry: Registry, pki: Pki, tmp_path: Path
) -> None:
    root = project(hello_images, tmp_path / "p", basic_registry.addr, pki.ca)
    for name, config in (
        ("test", {"credHelpers": {basic_registry.addr: "test"}}),
        ("store", {"credsStore": "store"}),
    ):
        env = {
            **services,
            **docker_config(tmp_path / name, config),
            **helper(tmp_path / f"bin-{name}", name, USER, PASSWORD),
        }
        code, out, err = push(root, env)
        assert code == 0, (name, err)
        assert_no_secret(outputs(root, env, out, err))


def test_push_with_the_environment_and_with_login_on_stdin(
    hello_images: Path, services: dict[str, str], basic_registry: Registry, pki: Pki, tmp_path: Path
) -> None:
    root = project(hello_images, tmp_path / "p", basic_registry.addr, pki.ca)
    empty = docker_config(tmp_path / "docker", {})
    env = {**services, **empty, "GOBUILDX_REGISTRY_USERNAME": USER, "GOBUILDX_REGISTRY_PASSWORD": PASSWORD}
    code, out, err = push(root, env)
    assert code == 0, err
    code, out2, err2 = push(root, {**services, **empty}, "--login", USER, stdin=PASSWORD + "\n")
    assert code == 0, err2
    assert_no_secret(outputs(root, env, out, err, out2, err2))


def test_wrong_password_and_no_login_are_clear_errors(
    hello_images: Path, services: dict[str, str], basic_registry: Registry, pki: Pki, tmp_path: Path
) -> None:
    root = project(hello_images, tmp_path / "p", basic_registry.addr, pki.ca)
    empty = docker_config(tmp_path / "docker", {})
    wrong = f"PLANTED-wrong-{uuid.uuid4().hex}"
    env = {**services, **empty, "GOBUILDX_REGISTRY_USERNAME": USER, "GOBUILDX_REGISTRY_PASSWORD": wrong}
    code, out, err = push(root, env)
    assert code == 5, err
    assert (
        f"the registry {basic_registry.addr} refused the login as {USER} (GOBUILDX_REGISTRY_USERNAME): "
        "wrong user name, password or token (HTTP 401)" in err
    ), err
    assert "no tag was moved" in err and "Traceback" not in err
    assert_no_secret(outputs(root, env, out, err), wrong, base64.b64encode(f"{USER}:{wrong}".encode()).decode())
    code, _, err = push(root, {**services, **empty})
    assert code == 5 and f"the registry {basic_registry.addr} requires a login" in err, err
    assert f"docker login {basic_registry.addr}" in err


def test_an_untrusted_certificate_names_the_ways_to_trust_it(
    hello_images: Path, services: dict[str, str], basic_registry: Registry, tmp_path: Path
) -> None:
    root = project(hello_images, tmp_path / "p", basic_registry.addr, None)
    (root / "targets.toml").write_text(
        (root / "targets.toml").read_text() + f'\n[image.registries."{basic_registry.addr}"]\ninsecure = false\n'
    )
    code, _, err = push(root, {**services, **docker_config(tmp_path / "docker", {})})
    assert code == 5, err
    assert f"cannot verify the TLS certificate of {basic_registry.addr}" in err, err
    assert f'image.registries."{basic_registry.addr}".ca' in err and "SSL_CERT_FILE" in err
    env = {**services, **docker_config(tmp_path / "docker", {}), "SSL_CERT_FILE": str(tmp_path / "none.pem")}
    code, _, err = push(root, {**env, "GOBUILDX_REGISTRY_USERNAME": USER, "GOBUILDX_REGISTRY_PASSWORD": PASSWORD})
    assert code == 5 and "cannot verify the TLS certificate" in err


def test_ssl_cert_file_is_trusted(
    hello_images: Path, services: dict[str, str], basic_registry: Registry, pki: Pki, tmp_path: Path
) -> None:
    root = project(hello_images, tmp_path / "p", basic_registry.addr, None)
    (root / "targets.toml").write_text(
        (root / "targets.toml").read_text() + f'\n[image.registries."{basic_registry.addr}"]\ninsecure = false\n'
    )
    env = {
        **services,
        **docker_config(tmp_path / "docker", {}),
        "SSL_CERT_FILE": str(pki.ca),
        "GOBUILDX_REGISTRY_USERNAME": USER,
        "GOBUILDX_REGISTRY_PASSWORD": PASSWORD,
    }
    code, _, err = push(root, env)
    assert code == 0, err


def test_token_auth_push_scope_and_secrets(
    hello_images: Path,
    services: dict[str, str],
    token_registry: Registry,
    issuer: TokenIssuer,
    pki: Pki,
    tmp_path: Path,
) -> None:
    root = project(hello_images, tmp_path / "p", token_registry.addr, pki.ca)
    assert issuer.realm.startswith("https://127.0.0.1:")  # the login crosses TLS to the token server too
    before = len(issuer.issued)
    env = {
        **services,
        **docker_config(
            tmp_path / "docker",
            {"auths": {token_registry.addr: {"auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}},
        ),
    }
    code, out, err = push(root, env)
    assert code == 0, err
    issued = issuer.issued[before:]
    assert issued and {i.user for i in issued} == {USER}
    assert {tuple(i.scopes) for i in issued} == {("repository:team/hello:pull,push",)}, issued
    assert len(issued) == 1, "one token, reused for every request of the push"
    assert_no_secret(outputs(root, env, out, err), *(i.token for i in issued))

    # a scope the token server grants nothing for: an error naming registry and scope
    (root / "targets.toml").write_text(
        (root / "targets.toml")
        .read_text()
        .replace('"{token_registry.addr}/team/hello"', "")
        .replace(
            f'repository = "{token_registry.addr}/team/hello"', f'repository = "{token_registry.addr}/denied/hello"'
        )
    )
    code, out, err = push(root, env)
    assert code == 5, err
    assert (
        f"the registry {token_registry.addr} refused as {USER} (" in err
        and "for scope repository:denied/hello:pull,push (HTTP 401)" in err
        and "no tag was moved" in err
    ), err
    assert_no_secret(outputs(root, env, out, err), *(i.token for i in issuer.issued))


def test_an_expired_token_is_renewed(
    services: dict[str, str], token_registry: Registry, issuer: TokenIssuer, pki: Pki
) -> None:
    """The token server hands out a token the registry already considers expired: the client
    is refused once, asks for a new token for the same scope, and the request goes through."""
    before = len(issuer.issued)
    issuer.expire_first = before + 1
    cred = Credential(kind="basic", username=USER, secret=SecretStr(PASSWORD), source="test")
    client = registry.Client(token_registry.addr, 30, credentials=lambda: cred, ca=pki.ca)
    client.ping()
    blob = Blob(media_type="application/octet-stream", data=uuid.uuid4().bytes * 1000)
    assert client.push_blob("team/renew", blob) == "uploaded"
    issued = issuer.issued[before:]
    assert [i.expired for i in issued] == [True, False], issued
    assert issued[0].scopes == issued[1].scopes == ["repository:team/renew:pull,push"]
    assert client.get_blob("team/renew", blob.digest) == blob.data


def test_a_blob_mounts_across_repositories_with_its_own_scope(
    token_registry: Registry, issuer: TokenIssuer, pki: Pki
) -> None:
    cred = Credential(kind="basic", username=USER, secret=SecretStr(PASSWORD), source="test")
    client = registry.Client(token_registry.addr, 30, credentials=lambda: cred, ca=pki.ca)
    client.ping()
    blob = Blob(media_type="application/octet-stream", data=uuid.uuid4().bytes * 500)
    assert client.push_blob("team/base", blob) == "uploaded"
    before = len(issuer.issued)
    assert client.push_blob("team/app", blob, ["team/base"]) == "mounted"
    assert client.push_blob("team/app", blob, ["team/base"]) == "exists"
    scopes = [sorted(i.scopes) for i in issuer.issued[before:]]
    assert ["repository:team/app:pull,push", "repository:team/base:pull"] in scopes, scopes


def _authorized(proxy: FaultProxy) -> list[str]:
    return [f"{s.method} {s.path}" for s in proxy.seen if any(k.lower() == "authorization" for k in s.headers)]


def test_an_upload_location_on_another_port_gets_no_authorization(basic_registry: Registry, pki: Pki) -> None:
    """The registry (here: a proxy in front of the Basic-auth one) answers the upload POST with
    a Location on another loopback port (a second proxy that records what it gets): the upload
    goes there without the registry's Authorization, and fails there, cleanly."""
    elsewhere = FaultProxy(basic_registry.addr, lambda m, p, n: None, upstream_ca=pki)
    front = FaultProxy(basic_registry.addr, lambda m, p, n: None, upstream_ca=pki, relocate=elsewhere.base)
    try:
        cred = Credential(kind="basic", username=USER, secret=SecretStr(PASSWORD), source="test")
        client = registry.Client(front.addr, 30, credentials=lambda: cred)  # loopback without a CA: http
        client.ping()
        blob = Blob(media_type="application/octet-stream", data=uuid.uuid4().bytes * 100)
        with pytest.raises(registry.RegistryError) as failed:
            client.push_blob("team/elsewhere", blob)
        assert f"upload blob {blob.digest} ({blob.size} bytes) to {front.addr}/team/elsewhere: HTTP 401" in str(
            failed.value
        )
        assert [s.method for s in elsewhere.seen] == ["PUT"], elsewhere.seen
        assert _authorized(elsewhere) == []
        assert "POST /v2/team/elsewhere/blobs/uploads/" in _authorized(front)  # the registry itself did get it
    finally:
        front.stop()
        elsewhere.stop()


def test_a_redirect_from_https_to_plain_http_is_refused(basic_registry: Registry, pki: Pki) -> None:
    """A blob GET over HTTPS redirected to plain HTTP (another loopback port) is not followed at
    all; one redirected to HTTPS on another port is followed without the Authorization."""
    plain = FaultProxy(basic_registry.addr, lambda m, p, n: None, upstream_ca=pki)
    tls = FaultProxy(basic_registry.addr, lambda m, p, n: None, tls=pki, upstream_ca=pki)
    target = [plain.base]

    def redirect(method: str, path: str, size: int) -> str | None:
        return f"307 {target[0]}{path}" if method == "GET" and "/blobs/sha256:" in path else None

    front = FaultProxy(basic_registry.addr, redirect, tls=pki, upstream_ca=pki)
    try:
        cred = Credential(kind="basic", username=USER, secret=SecretStr(PASSWORD), source="test")
        client = registry.Client(front.addr, 30, credentials=lambda: cred, ca=pki.ca)
        assert client.base == f"https://{front.addr}"
        client.ping()
        blob = Blob(media_type="application/octet-stream", data=uuid.uuid4().bytes * 100)
        assert client.push_blob("team/redirect", blob) == "uploaded"
        with pytest.raises(registry.RegistryError) as refused:
            client.get_blob("team/redirect", blob.digest)
        assert str(refused.value) == (
            f"refused a redirect of GET https://{front.addr}/v2/team/redirect/blobs/{blob.digest} from HTTPS to "
            f"http://{plain.addr}/v2/team/redirect/blobs/{blob.digest}, which is not HTTPS"
        )
        assert plain.seen == []
        target[0] = tls.base  # HTTPS elsewhere: followed, without the registry's Authorization
        with pytest.raises(registry.RegistryError, match="HTTP 401"):
            client.get_blob("team/redirect", blob.digest)
        assert [s.method for s in tls.seen] == ["GET"] and _authorized(tls) == []
    finally:
        front.stop()
        plain.stop()
        tls.stop()
