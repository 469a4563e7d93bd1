"""The registry client's own rules, with the network stubbed: which requests carry the
Authorization header, which are sent again, what a download is checked against, where the
CAs come from, how --mount-from is read. The real registries are tests/integration/image/."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from gobuildx.errors import ConfigError
from gobuildx.image import auth, registry, transport
from gobuildx.image import stage as image_stage
from gobuildx.image.credentials import Credential


class _Stub:
    """Stands in for Transport.send: records each request, answers with `answer`."""

    def __init__(self, answer: transport.Response) -> None:
        self.answer = answer
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def send(
        self, method: str, url: str, data: bytes | None, headers: dict[str, str], idempotent: bool | None = None
    ) -> transport.Response:
        self.sent.append((method, url, dict(headers)))
        return self.answer


def _client(domain: str = "127.0.0.1:5000") -> tuple[registry.Client, _Stub]:
    cred = Credential(kind="basic", username="u", secret=SecretStr("pw"), source="test")
    client = registry.Client(domain, credentials=lambda: cred)
    client.auth.challenge = auth.parse_challenge('Basic realm="r"')
    stub = _Stub(transport.Response(status=202, headers={}, body=b""))
    client.http.send = stub.send  # type: ignore[method-assign]
    return client, stub


@pytest.mark.parametrize(
    ("domain", "url", "authorized"),
    [
        ("127.0.0.1:5000", "/v2/a/blobs/uploads/x", True),
        ("127.0.0.1:5000", "http://127.0.0.1:5000/v2/a/blobs/uploads/x?_state=s", True),
        ("127.0.0.1:5000", "http://127.0.0.1:5001/v2/a/blobs/uploads/x", False),  # another port
        ("127.0.0.1:5000", "https://127.0.0.1:5000/v2/a/blobs/uploads/x", False),  # another scheme
        ("127.0.0.1:5000", "http://localhost:5000/v2/a/blobs/uploads/x", False),  # another host name
        ("registry.corp", "https://registry.corp:443/v2/a/blobs/uploads/x", True),  # the default port
        ("registry.corp", "https://storage.corp/upload/x", False),
    ],
)
def test_the_authorization_goes_only_to_the_registry_s_own_origin(domain: str, url: str, authorized: bool) -> None:
    client, stub = _client(domain)
    client.request("PATCH", url, ("repository:a:pull,push",), b"x")
    assert ("Authorization" in stub.sent[0][2]) is authorized, stub.sent


def test_a_401_from_another_origin_teaches_the_authorizer_nothing() -> None:
    client, stub = _client()
    stub.answer = transport.Response(status=401, headers={"www-authenticate": 'Bearer realm="http://evil/t"'}, body=b"")
    resp = client.request("PUT", "http://127.0.0.1:6000/upload", ("s",), b"x")
    assert resp.status == 401 and len(stub.sent) == 1
    assert client.auth.challenge is not None and client.auth.challenge.scheme == "basic"


def _transport(attempts: int = 3) -> transport.Transport:
    policy = transport.RetryPolicy(attempts=attempts, base_s=0.0)
    return transport.Transport("r.corp", "https://r.corp", transport.ssl_context([], {}), 5, policy, lambda s: None)


def test_a_request_that_may_have_landed_is_not_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    t = _transport()
    calls: list[str] = []

    def broken(method: str, *args: object) -> transport.Response:
        calls.append(method)
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(t, "_once", broken)
    with pytest.raises(transport.Unanswered, match="broke off PATCH https://r.corp/v2/a/blobs/uploads/x: .*not sent"):
        t.send("PATCH", "/v2/a/blobs/uploads/x?_state=s", b"chunk", {})
    with pytest.raises(transport.Unanswered):
        t.send("POST", "https://r.corp/token", b"grant_type=refresh_token", {})
    assert calls == ["PATCH", "POST"]
    with pytest.raises(transport.TransportError) as retried:  # PUT, GET: idempotent, tried 3 times
        t.send("PUT", "/v2/a/blobs/uploads/x", b"", {})
    assert not isinstance(retried.value, transport.Unanswered) and calls[2:] == ["PUT"] * 3


@pytest.mark.parametrize(("status", "tries"), [(500, 1), (502, 1), (504, 1), (503, 3), (429, 3), (408, 3)])
def test_a_patch_is_tried_again_only_after_an_answer_that_says_it_was_not_taken(
    monkeypatch: pytest.MonkeyPatch, status: int, tries: int
) -> None:
    t = _transport()
    calls: list[str] = []

    def answer(method: str, *args: object) -> transport.Response:
        calls.append(method)
        return transport.Response(status=status, headers={}, body=b"")

    monkeypatch.setattr(t, "_once", answer)
    assert t.send("PATCH", "/v2/a/blobs/uploads/x", b"chunk", {}).status == status
    assert len(calls) == tries
    assert t.policy.retryable(500) and not t.policy.retryable(500, idempotent=False)


def test_a_downloaded_blob_is_checked_against_its_digest() -> None:
    client, stub = _client()
    data = b"the real layer"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    stub.answer = transport.Response(status=200, headers={}, body=data)
    assert client.get_blob("a", digest) == data
    stub.answer = transport.Response(status=200, headers={}, body=b"something else")
    with pytest.raises(registry.RegistryError) as wrong:
        client.get_blob("a", digest)
    other = hashlib.sha256(b"something else").hexdigest()
    assert str(wrong.value) == (
        f"get blob 127.0.0.1:5000/a@{digest}: the registry sent 14 bytes of digest sha256:{other}, expected {digest}"
    )
    with pytest.raises(registry.RegistryError, match="cannot check a sha512 digest"):
        client.get_blob("a", "sha512:" + "0" * 128)


def _ca(path: Path, name: str) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _subjects(context: object) -> set[str]:
    certs = context.get_ca_certs()  # type: ignore[attr-defined]
    return {v for c in certs for rdn in c["subject"] for k, v in rdn if k == "commonName"}


def test_ssl_cert_file_is_read_from_the_project_s_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    project_ca = _ca(tmp_path / "project.pem", "the project's CA")
    process_ca = _ca(tmp_path / "process.pem", "this process's CA")
    monkeypatch.setenv("SSL_CERT_FILE", str(process_ca))
    shown = _subjects(transport.ssl_context([], {"SSL_CERT_FILE": str(project_ca)}))
    assert "the project's CA" in shown and "this process's CA" not in shown
    assert "this process's CA" not in _subjects(transport.ssl_context([], {}))
    client = registry.Client("127.0.0.1:5443", insecure=False, environ={"SSL_CERT_FILE": str(project_ca)})
    assert client.base == "https://127.0.0.1:5443"


@pytest.mark.parametrize(
    ("given", "path"),
    [
        ("team/base", "team/base"),
        ("localhost:5000/team/base", "team/base"),
        ("localhost:5000/base", "base"),
    ],
)
def test_mount_from_reads_a_registry_host_like_a_repository_does(given: str, path: str) -> None:
    repo = registry.parse_repository("localhost:5000/team/app")
    assert image_stage.mount_source(repo, given) == path


@pytest.mark.parametrize(
    ("repo", "given"),
    [
        ("127.0.0.1:5000/team/app", "localhost/base"),  # localhost without a port is a host
        ("127.0.0.1:5000/team/app", "127.0.0.1:5001/base"),
        ("ghcr.io/you/app", "quay.io/you/base"),
    ],
)
def test_mount_from_another_registry_is_refused(repo: str, given: str) -> None:
    with pytest.raises(ConfigError, match="a blob mounts only within one registry"):
        image_stage.mount_source(registry.parse_repository(repo), given)
