"""Real registries for the login, TLS and retry tests, all on 127.0.0.1 and free ports.

* `Pki`: a CA made here, a server certificate for 127.0.0.1 signed by it, and a token
  signing key whose certificate the CA signed (the registry's `rootcertbundle` is the CA).
* `Registry`: Debian's `docker-registry` (distribution v2) with a YAML config written here:
  htpasswd Basic auth (bcrypt) or token auth, over TLS.
* `TokenIssuer`: a token server (the distribution token spec) issuing RS256 JWTs with an
  x5c chain, over HTTPS (the Pki's server certificate) or plain HTTP; it records every
  request (user, scopes) and can issue already-expired tokens.
* `FaultProxy`: HTTP (or HTTPS) in front of a registry that drops connections, forwards a
  request and then drops its answer, answers 503 / 429 (Retry-After) / 413, redirects, or
  points upload Locations elsewhere, as a test's rule says; it logs every request it got
  (time, method, path, headers).
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import bcrypt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

SERVICE = "gobuildx-test-registry"
ISSUER = "gobuildx-test-issuer"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    ca: bool,
    ip: str | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0].subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    if ip:
        import ipaddress

        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
        )
    signer = issuer[1] if issuer else key
    return builder.sign(signer, hashes.SHA256())


@dataclass
class Pki:
    dir: Path
    ca: Path
    server_cert: Path
    server_key: Path
    signer_key: rsa.RSAPrivateKey
    signer_cert: x509.Certificate

    @classmethod
    def make(cls, where: Path) -> Pki:
        where.mkdir(parents=True, exist_ok=True)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _cert("gobuildx test CA", ca_key, None, ca=True)
        server_key = ec.generate_private_key(ec.SECP256R1())
        server_cert = _cert("127.0.0.1", server_key, (ca_cert, ca_key), ca=False, ip="127.0.0.1")
        signer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        signer_cert = _cert("gobuildx token signer", signer_key, (ca_cert, ca_key), ca=False)
        (where / "ca.pem").write_bytes(_pem(ca_cert))
        (where / "server.pem").write_bytes(_pem(server_cert))
        (where / "server.key").write_bytes(_key_pem(server_key))
        return cls(where, where / "ca.pem", where / "server.pem", where / "server.key", signer_key, signer_cert)

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_cert, self.server_key)
        return context


def htpasswd(path: Path, users: dict[str, str]) -> Path:
    lines = [f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=5)).decode()}" for u, p in users.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Registry:
    """A running docker-registry; stop() ends the process this started (by its own handle)."""

    addr: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def start_registry(
    where: Path, pki: Pki | None, auth: dict[str, object] | None, program: str = "docker-registry"
) -> Registry:
    """docker-registry on 127.0.0.1:<free port>, TLS when pki is given; waits until /v2/ answers.
    `program`: another build of distribution with the same `serve CONFIG` (v3's `registry`)."""
    where.mkdir(parents=True, exist_ok=True)
    port = free_port()
    http_conf: dict[str, object] = {"addr": f"127.0.0.1:{port}", "secret": uuid.uuid4().hex}
    if pki:
        http_conf["tls"] = {"certificate": str(pki.server_cert), "key": str(pki.server_key)}
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "info"},
        "storage": {"filesystem": {"rootdirectory": str(where / "data")}, "delete": {"enabled": True}},
        "http": http_conf,
    }
    if auth:
        config["auth"] = auth
    (where / "config.yml").write_text(json.dumps(config))  # JSON is YAML
    log = where / "registry.log"
    proc = subprocess.Popen(
        [program, "serve", str(where / "config.yml")],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        # distribution v3 exports OpenTelemetry traces unless told not to: nothing leaves this host
        env={
            **os.environ,
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_SDK_DISABLED": "true",
        },
    )
    reg = Registry(f"127.0.0.1:{port}", proc, log)
    context = pki.client_context() if pki else None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"docker-registry exited {proc.returncode}:\n{log.read_text()}")
        try:
            conn = (
                http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=2)
                if context
                else http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            )
            conn.request("GET", "/v2/")
            conn.getresponse().read()
            return reg
        except OSError:
            time.sleep(0.1)
    reg.stop()
    raise AssertionError(f"docker-registry did not answer within 30 s:\n{log.read_text()}")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Issued:
    user: str | None
    scopes: list[str]
    token: str
    expired: bool


@dataclass
class TokenIssuer:
    """The token server: users and passwords, and what each may do (default: anything,
    but nothing under `denied/`; anonymous: pull only). Records every token it issues."""

    pki: Pki
    users: dict[str, str]
    tls: bool = True
    """Serve HTTPS with the Pki's certificate for 127.0.0.1 (what a real realm is)."""
    expire_first: int = 0
    """Issue this many tokens already expired (past the registry's 60 s leeway) before good ones."""
    issued: list[Issued] = field(default_factory=list)
    refused: list[str | None] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def realm(self) -> str:
        assert self.server is not None
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.server.server_address[1]}/token"

    def registry_auth(self) -> dict[str, object]:
        return {
            "token": {
                "realm": self.realm,
                "service": SERVICE,
                "issuer": ISSUER,
                "rootcertbundle": str(self.pki.ca),
            }
        }

    def start(self) -> TokenIssuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                user = issuer.check(self.headers.get("Authorization", ""))
                if user is False:
                    issuer.refused.append(self.headers.get("Authorization"))
                    self._answer(401, b'{"details": "wrong user or password"}')
                    return
                scopes = [s for v in query.get("scope", []) for s in v.split()]
                token = issuer.token(user or None, scopes)
                self._answer(200, json.dumps({"token": token, "expires_in": 300}).encode())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls:
            self.server.socket = self.pki.server_context().wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def check(self, authorization: str) -> str | bool:
        """The user of a Basic header; '' when anonymous; False when the password is wrong."""
        if not authorization:
            return ""
        user, _, password = base64.b64decode(authorization.removeprefix("Basic ")).decode().partition(":")
        return user if self.users.get(user) == password else False

    def token(self, user: str | None, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = actions.split(",")
            allowed = [] if name.startswith("denied/") else wanted if user else [a for a in wanted if a == "pull"]
            access.append({"type": kind, "name": name, "actions": allowed})
        expired = len(self.issued) < self.expire_first
        now = int(time.time())
        exp = now - 600 if expired else now + 300
        claims = {
            "iss": ISSUER,
            "sub": user or "",
            "aud": SERVICE,
            "exp": exp,
            "nbf": now - 1200,
            "iat": now - 1200,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        der = self.pki.signer_cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        signing = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        signature = self.pki.signer_key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
        token = signing + "." + _b64url(signature)
        self.issued.append(Issued(user, scopes, token, expired))
        return token


Rule = Callable[[str, str, int], str | None]
"""(method, path, body length) -> None to forward, or a fault: 'drop' (close the connection
without forwarding), 'lose' (forward, then close without the answer: the request landed),
'503', '429' (with Retry-After), '413', ..., or '307 URL' (a redirect to URL)."""


@dataclass(frozen=True)
class Seen:
    """One request as the proxy got it; `at` is time.monotonic() when it arrived, and for a
    fault when the proxy answered it (or dropped it)."""

    at: float
    method: str
    path: str
    headers: dict[str, str]
    fault: str | None


class FaultProxy:
    """HTTP on 127.0.0.1 forwarding to `upstream`, except where `rule` says otherwise.

    `tls`: serve HTTPS with the Pki's certificate; `upstream_ca`: the upstream speaks TLS with
    a certificate of this CA; `relocate`: a Location of the upstream's points at this base URL
    (`http://127.0.0.1:PORT`) instead of at the proxy (an upload sent to another host)."""

    def __init__(
        self,
        upstream: str,
        rule: Rule,
        *,
        tls: Pki | None = None,
        upstream_ca: Pki | None = None,
        relocate: str | None = None,
        retry_after: str = "1",
    ) -> None:
        self.upstream, self.rule = upstream, rule
        self.faults: list[tuple[str, str, str]] = []
        self.requests: list[tuple[str, str]] = []
        self.seen: list[Seen] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                arrived = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.requests.append((self.command, self.path))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                fault = proxy.rule(self.command, self.path, len(body))
                if fault:
                    proxy.faults.append((fault, self.command, self.path))
                if fault == "drop":
                    proxy.seen.append(Seen(time.monotonic(), self.command, self.path, headers, fault))
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault and fault != "lose":
                    status, _, location = fault.partition(" ")
                    self.send_response(int(status))
                    if status == "429":
                        self.send_header("Retry-After", proxy.retry_after)
                    if location:
                        self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    proxy.seen.append(Seen(time.monotonic(), self.command, self.path, headers, fault))
                    return
                proxy.seen.append(Seen(arrived, self.command, self.path, headers, fault))
                conn = (
                    http.client.HTTPSConnection(proxy.upstream, timeout=60, context=upstream_ca.client_context())
                    if upstream_ca
                    else http.client.HTTPConnection(proxy.upstream, timeout=60)
                )
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if fault == "lose":  # the upstream took it; its answer never arrives
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        if key.lower() == "location":
                            value = proxy.located(value)
                        self.send_header(key, value)
                # a HEAD's Content-Length is the blob's size (gobuildx checks it), not the empty body's
                length = resp.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data))
                self.send_header("Content-Length", length)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.retry_after = retry_after
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            self.server.socket = tls.server_context().wrap_socket(self.server.socket, server_side=True)
        self.addr = f"127.0.0.1:{self.server.server_address[1]}"
        self.base = f"{'https' if tls else 'http'}://{self.addr}"
        self.relocate = relocate
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def located(self, location: str) -> str:
        """The upstream's Location as the client is to see it: on this proxy, or on `relocate`."""
        parts = urllib.parse.urlsplit(location)
        if parts.netloc and parts.netloc != self.upstream:
            return location
        base = urllib.parse.urlsplit(self.relocate or self.base)
        return urllib.parse.urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
