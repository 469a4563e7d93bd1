"""Bad input and faults: each a clear message and exit code, nothing half-written, no tag moved.

The pushes go to a docker-registry of this module's own on a free loopback port (`own_registry`),
never to the shared 127.0.0.1:5000; the repositories named below on 127.0.0.1:5000 are refused
or only built for, never pushed to."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gobuildx.errors import ImageFailed
from gobuildx.image import registry, transport
from gobuildx.image import stage as image
from gobuildx.project.context import open_project
from tests.conftest import run_gobuildx
from tests.integration.image.conftest import clone, hello_toml, registry_get, unique_name
from tests.integration.image.registries import FaultProxy


def test_no_image_table_says_so(hello_images: Path, services: dict[str, str], tmp_path: Path) -> None:
    root = clone(hello_images, tmp_path / "p")
    (root / "targets.toml").write_text(hello_toml(""))
    proc = run_gobuildx(["image"], cwd=root, env=services)
    assert proc.returncode == 5 and "no [image] table, so no images are configured" in proc.stderr


@pytest.mark.parametrize(
    "repo,why",
    [
        ("127.0.0.1:5000/Bad_Repo", "must be lowercase"),
        ("127.0.0.1:5000/hello:1.0", "leave out the tag"),
        ("bad host!/x", "not a valid image repository"),
    ],
)
def test_invalid_repository(hello_images: Path, services: dict[str, str], tmp_path: Path, repo: str, why: str) -> None:
    root = clone(hello_images, tmp_path / "p")
    proc = run_gobuildx(
        ["image", "-t", "linux-amd64", "--repository", repo, "--oci-layout", "l"], cwd=root, env=services
    )
    assert proc.returncode == 2 and "--repository" in proc.stderr and why in proc.stderr, proc.stderr
    assert not (root / "l").exists()


def test_invalid_tag_template(hello_images: Path, services: dict[str, str], tmp_path: Path) -> None:
    root = clone(hello_images, tmp_path / "p")
    (root / "targets.toml").write_text(
        hello_toml('[image]\nrepository = "127.0.0.1:5000/x"\ntags = ["{version}+build", "{nope}"]\n')
    )
    proc = run_gobuildx(["image", "-t", "linux-amd64", "--oci-layout", "l"], cwd=root, env=services)
    assert proc.returncode == 2, proc.stderr
    assert "image.tags[0]: '{version}+build' gives '1.2.3+build' is not a valid image tag" in proc.stderr
    assert "image.tags[1]: unknown placeholder {nope}" in proc.stderr
    assert not (root / "l").exists()
    (root / "targets.toml").write_text(
        hello_toml('[image]\nrepository = "127.0.0.1:5000/x"\ntags = ["v{version", "{verison}"]\n')
    )
    proc = run_gobuildx(["image", "-t", "linux-amd64", "--oci-layout", "l"], cwd=root, env=services)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr  # the same check as ldflags
    assert "image.tags[0]: " in proc.stderr and "write a literal brace as {{ or }}" in proc.stderr
    assert "image.tags[1]: unknown placeholder {verison}" in proc.stderr and "did you mean {version}?" in proc.stderr
    assert not (root / "l").exists()


def test_unreachable_engine(hello_images: Path, services: dict[str, str], tmp_path: Path) -> None:
    root = clone(hello_images, tmp_path / "p")
    proc = run_gobuildx(
        ["image", "-t", "linux-amd64"], cwd=root, env={**services, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    )
    assert proc.returncode == 5 and "cannot reach the Docker engine at unix:///nonexistent/docker.sock" in proc.stderr
    assert json.loads((root / "dist" / "manifest.json").read_text()).get("image") is None


def test_unreachable_registry(hello_images: Path, services: dict[str, str], tmp_path: Path) -> None:
    root = clone(hello_images, tmp_path / "p")
    proc = run_gobuildx(
        ["image", "-t", "linux-amd64", "-r", "127.0.0.1:9/x", "--oci-layout", "l", "--push"], cwd=root, env=services
    )
    assert proc.returncode == 5, proc.stderr
    assert "cannot reach the registry 127.0.0.1:9" in proc.stderr and "no tag was moved" in proc.stderr


def test_changed_artifact_is_refused(hello_images: Path, services: dict[str, str], tmp_path: Path) -> None:
    """Same size and mtime (so the build keeps it), different bytes: the image stage notices."""
    root = clone(hello_images, tmp_path / "p")
    run_gobuildx(["build", "-t", "linux-a*"], cwd=root, env=services, check=True)  # stamps for this copy
    art = root / "dist" / "linux-arm64" / "hello"
    st = art.stat()
    data = bytearray(art.read_bytes())
    data[-1] ^= 0xFF
    art.write_bytes(bytes(data))
    os.utime(art, ns=(st.st_atime_ns, st.st_mtime_ns))
    proc = run_gobuildx(["image", "-t", "linux-a*", "--oci-layout", "l"], cwd=root, env=services)
    assert proc.returncode == 5 and "linux-arm64:" in proc.stderr and "changed after the build" in proc.stderr
    assert "no image was built" in proc.stderr and not (root / "l").exists()


def test_missing_artifact_is_named(hello_images: Path, services: dict[str, str], tmp_path: Path) -> None:
    root = clone(hello_images, tmp_path / "p")
    (root / "dist" / "linux-riscv64" / "hello").unlink()
    ctx = open_project(root / "targets.toml")
    with pytest.raises(ImageFailed, match=r"linux-riscv64: .*linux-riscv64/hello: missing; run `gobuildx build`"):
        image.run(ctx, ctx.select("all", ["linux-riscv64", "linux-amd64"]), image.Options(oci_layout=root / "l"))
    assert not (root / "l").exists()


@pytest.fixture
def faulty_registry(own_registry: str) -> Iterator[str]:
    """The module's registry behind a proxy that answers 500 to the third manifest PUT and every
    later one (a registry that stays broken: retrying does not help)."""
    puts = [0]

    def rule(method: str, path: str, size: int) -> str | None:
        if method == "PUT" and "/manifests/" in path:
            puts[0] += 1
            return "500" if puts[0] >= 3 else None
        return None

    proxy = FaultProxy(own_registry, rule)
    yield proxy.addr
    proxy.stop()


def test_push_failing_halfway_moves_no_tag(
    hello_images: Path, services: dict[str, str], tmp_path: Path, faulty_registry: str, own_registry: str
) -> None:
    root = clone(hello_images, tmp_path / "p")
    name = unique_name("halfway")
    run_gobuildx(
        ["image", "-t", "linux-amd64", "-t", "linux-arm64", "-r", f"{own_registry}/{name}", "--oci-layout", "l"]
        + ["--push"],
        cwd=root,
        env=services,
        check=True,
    )
    before = json.loads((root / "dist" / "manifest.json").read_text())["image"]["digest"]

    # now three platforms through a proxy whose third manifest PUT fails (the riscv64 image)
    proc = run_gobuildx(
        [
            "image",
            "-t",
            "linux-amd64",
            "-t",
            "linux-arm64",
            "-t",
            "linux-riscv64",
            "-r",
            f"{faulty_registry}/{name}",
            "--oci-layout",
            "l",
            "--push",
        ],
        cwd=root,
        env=services,
    )
    assert proc.returncode == 5, proc.stderr
    assert "push to" in proc.stderr and "HTTP 500 (after 5 tries)" in proc.stderr, proc.stderr
    assert "no tag was moved" in proc.stderr
    for tag in ("1.2.3", "latest"):
        status, headers, _ = registry_get(f"/v2/{name}/manifests/{tag}", at=own_registry)
        assert status == 200 and headers["Docker-Content-Digest"] == before
    recorded = json.loads((root / "dist" / "manifest.json").read_text())["image"]
    assert recorded is None or recorded["digest"] == before  # the failed push recorded nothing (the build
    # that runs first may drop the previous record; it never records the three-platform index)


class _TruncatingRegistry(BaseHTTPRequestHandler):
    """Promises a longer body (Content-Length) than it sends, then closes the connection."""

    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "4096")
        self.end_headers()
        self.wfile.write(b'{"errors": [')
        self.wfile.flush()
        self.close_connection = True

    do_HEAD = do_PUT = do_POST = do_PATCH = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def truncating_registry(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Handler", (_TruncatingRegistry,), {"status": getattr(request, "param", 200)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("truncating_registry", [200, 500], indirect=True)
def test_a_truncated_registry_answer_is_a_registry_error(truncating_registry: str) -> None:
    policy = transport.RetryPolicy(attempts=3, base_s=0.01)
    client = registry.Client(domain=truncating_registry, timeout_s=10, policy=policy)
    with pytest.raises(registry.RegistryError) as raised:
        client.ping()
    assert str(raised.value) == (
        f"the registry {truncating_registry} sent a broken HTTP response to GET "
        f"http://{truncating_registry}/v2/: IncompleteRead(12 bytes read, 4084 more expected) (3 tries)"
    )


def test_push_to_a_truncating_registry_says_so(
    hello_images: Path, services: dict[str, str], tmp_path: Path, truncating_registry: str
) -> None:
    root = clone(hello_images, tmp_path / "p")
    proc = run_gobuildx(
        ["image", "-t", "linux-amd64", "-r", f"{truncating_registry}/x", "--oci-layout", "l", "--push"],
        cwd=root,
        env=services,
    )
    assert proc.returncode == 5, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert (
        f"push to {truncating_registry}/x failed: the registry {truncating_registry} sent a broken HTTP "
        f"response to GET http://{truncating_registry}/v2/: IncompleteRead(" in proc.stderr
    ), proc.stderr
    assert "no tag was moved" in proc.stderr


def test_two_targets_of_one_platform_are_refused(tmp_path: Path) -> None:
    """linux-amd64 and linux-amd64-musl are both linux/amd64: one index cannot hold both (a pull
    would get whichever comes first), so the plan names them, before any work."""
    from gobuildx.model.manifest import Manifest
    from tests.conftest import copy_example

    copy_example("hello", tmp_path)
    (tmp_path / "targets.toml").write_text(
        '[project]\nname = "hello"\ndir = "hello"\n[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64", "arm64"]\n'
        'include = [{ goos = "linux", goarch = "amd64", cgo = true, libc = "musl" }]\n'
        '[image]\nrepository = "127.0.0.1:5000/x"\n'
    )
    ctx = open_project(tmp_path / "targets.toml")
    table = image.table_of(ctx)
    targets = image.select(ctx, table, ctx.targets)
    with pytest.raises(ImageFailed) as refused:
        image.plan(
            ctx, table, targets, Manifest(gobuildx="0", project="hello", version="1", commit="c", date="d", go="go1")
        )
    message = str(refused.value)
    assert "linux-amd64, linux-amd64-musl are all the linux/amd64 image of one multi-arch index" in message
    assert "linux-arm64, " not in message


@pytest.mark.parametrize(
    ("domain", "scheme"),
    [
        ("127.0.0.1:5000", "http"),
        ("localhost:5000", "http"),
        ("[::1]:5000", "http"),
        ("localhost", "http"),
        ("localhost.example.com", "https"),
        ("127.0.0.1.nip.io:5000", "https"),
        ("localhostregistry:5000", "https"),
        ("ghcr.io", "https"),
    ],
)
def test_only_this_machine_is_spoken_to_over_plain_http(domain: str, scheme: str) -> None:
    assert transport.loopback(domain) is (scheme == "http")
    assert registry.parse_repository(f"{domain}/team/app").domain == domain
    assert registry.Client(domain=domain).base == f"{scheme}://{domain}"
