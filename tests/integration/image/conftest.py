"""Session fixtures for the image tests: a real Docker engine, a real registry, real builds.

`ci/services.sh` starts dockerd (vfs, no bridge) and Debian's docker-registry on
127.0.0.1:5000 if they are not running; the tests talk to those real services. The login
and fault tests start registries of their own on free loopback ports instead (`own_registry`,
and tests/integration/image/registries.py), so they share no state with any other user of
127.0.0.1:5000.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from tests.conftest import EXAMPLES, run_gobuildx

REGISTRY = "127.0.0.1:5000"
LINUX_ARCHES = ["amd64", "386", "arm64", "arm", "riscv64", "ppc64le", "s390x"]
NATIVE = ("amd64", "386")  # an amd64 kernel runs 386 binaries itself (qemu-i386 crashes Go's runtime)
QEMU = {"arm64": "aarch64", "arm": "arm", "riscv64": "riscv64", "ppc64le": "ppc64le", "s390x": "s390x"}
ACCEPT_INDEX = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(scope="session")
def engine(services: dict[str, str]) -> docker.DockerClient:
    return docker.DockerClient(base_url=services["DOCKER_HOST"], timeout=300)


def hello_toml(image_table: str, arches: list[str] = LINUX_ARCHES) -> str:
    return f"""
[project]
name = "hello"
dir = "hello"
version = "1.2.3"

[matrix.linux]
goos = ["linux"]
goarch = {json.dumps(arches)}
goarm = ["6", "7"]

{image_table}
"""


@pytest.fixture(scope="session")
def hello_images(tmp_path_factory: pytest.TempPathFactory, services: dict[str, str]) -> Path:
    """examples/hello for every Linux CPU of the repo's matrix, built once, with an [image] table."""
    root = tmp_path_factory.mktemp("hello-images")
    shutil.copytree(EXAMPLES / "hello", root / "hello")
    (root / "targets.toml").write_text(
        hello_toml(
            '[image]\nrepository = "127.0.0.1:5000/test/hello"\ntags = ["{version}", "latest"]\n'
            'source = "https://example.com/hello"\n'
        )
    )
    run_gobuildx(["build"], cwd=root, env=services, check=True)
    return root


def clone(src: Path, dest: Path) -> Path:
    """A copy of a built project (sources, targets.toml, dist) to change without touching others."""
    shutil.copytree(src, dest, symlinks=True)
    return dest


def unique_repo(name: str) -> str:
    return f"{REGISTRY}/{unique_name(name)}"


def unique_name(name: str) -> str:
    """A repository path no other test uses: test/NAME-<random>."""
    return f"test/{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def own_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A plain docker-registry of the test module's own on a free loopback port; its host:port."""
    from tests.integration.image.registries import start_registry

    reg = start_registry(tmp_path_factory.mktemp("own-registry"), None, None)
    yield reg.addr
    reg.stop()


def registry_get(path: str, accept: str = ACCEPT_INDEX, at: str = REGISTRY) -> tuple[int, dict[str, str], bytes]:
    """GET http://AT/PATH of a plain registry (default: the shared one)."""
    req = urllib.request.Request(f"http://{at}{path}", headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


def run_in_image(
    engine: docker.DockerClient, ref: str, goarch: str, binary: str, platform: str, args: list[str] | None = None
) -> str:
    """Run the image's binary: natively for amd64, else with qemu-<arch>-static bind-mounted as
    the entrypoint (no binfmt_misc here). --network none, read-only rootfs, the image's user."""
    args = args or []
    kwargs: dict[str, object] = {"network_mode": "none", "read_only": True, "remove": True, "platform": platform}
    if goarch in NATIVE:
        out = engine.containers.run(ref, args, **kwargs)
    else:
        qemu = f"/usr/bin/qemu-{QEMU[goarch]}-static"
        out = engine.containers.run(
            ref, [binary, *args], entrypoint=["/qemu"], volumes={qemu: {"bind": "/qemu", "mode": "ro"}}, **kwargs
        )
    return out.decode() if isinstance(out, bytes) else str(out)


Runner = Callable[..., str]
