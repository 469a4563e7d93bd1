"""`gobuildx image` through a real Docker engine, pushed to a real registry, pulled and run per platform."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import docker
import pytest

from gobuildx.image import engine as engine_mod
from tests.conftest import REPO, run_gobuildx
from tests.integration.image.conftest import clone, registry_get, run_in_image, unique_repo

EXPECTED = {  # target id -> (architecture, variant) in the index and the pulled image
    "linux-amd64": ("amd64", None),
    "linux-386": ("386", None),
    "linux-arm64": ("arm64", None),
    "linux-armv6": ("arm", "v6"),
    "linux-armv7": ("arm", "v7"),
    "linux-riscv64": ("riscv64", None),
    "linux-ppc64le": ("ppc64le", None),
    "linux-s390x": ("s390x", None),
}


def member_in_image(engine: docker.DockerClient, ref: str, path: str) -> tuple[tarfile.TarInfo, bytes | None]:
    """The tar header and contents (None for a directory) of one path of an image, via a container."""
    container = engine.containers.create(ref, network_mode="none")
    try:
        stream, _ = container.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            first = tar.getmembers()[0]
            member = tar.extractfile(first)
            return first, member.read() if member is not None else None
    finally:
        container.remove(force=True)


def file_in_image(engine: docker.DockerClient, ref: str, path: str) -> bytes:
    _, data = member_in_image(engine, ref, path)
    assert data is not None
    return data


def owner_in_image(engine: docker.DockerClient, ref: str, path: str) -> tuple[int, int]:
    info, _ = member_in_image(engine, ref, path)
    return info.uid, info.gid


def test_dockerfile_in_repo_is_the_one_gobuildx_builds() -> None:
    assert (REPO / "dockerfiles" / "scratch.Dockerfile").read_text() == engine_mod.SCRATCH_DOCKERFILE
    text = engine_mod.dockerfile_text("/usr/local/bin/hello")
    assert text.count("FROM scratch") == 2 and 'ENTRYPOINT ["/usr/local/bin/hello"]' in text


def test_engine_multiarch_push_pull_run(
    hello_images: Path, services: dict[str, str], engine: docker.DockerClient, tmp_path: Path
) -> None:
    root = clone(hello_images, tmp_path / "p")
    repo = unique_repo("hello")
    proc = run_gobuildx(["image", "--push", "--repository", repo], cwd=root, env=services, check=True)
    assert f"pushed: {repo}:1.2.3" in proc.stdout and f"pushed: {repo}:latest" in proc.stdout

    mani = json.loads((root / "dist" / "manifest.json").read_text())
    index = mani["image"]
    assert index["builder"] == "docker" and index["pushed"] and index["tags"] == [f"{repo}:1.2.3", f"{repo}:latest"]
    path = repo.split("/", 1)[1]
    status, headers, body = registry_get(f"/v2/{path}/manifests/1.2.3")
    assert status == 200 and headers["Docker-Content-Digest"] == index["digest"]
    pushed = json.loads(body)
    assert pushed["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert pushed["annotations"]["org.opencontainers.image.version"] == "1.2.3"
    assert pushed["annotations"]["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"
    assert pushed["annotations"]["org.opencontainers.image.source"] == "https://example.com/hello"
    by_digest = {m["digest"]: m["platform"] for m in pushed["manifests"]}
    assert len(by_digest) == len(EXPECTED)

    records = {t["id"]: t for t in mani["targets"]}
    for tid, (arch, variant) in EXPECTED.items():
        rec = records[tid]
        img = rec["image"]
        assert by_digest[img["digest"]] == {
            "os": "linux",
            "architecture": arch,
            **({"variant": variant} if variant else {}),
        }
        platform = "linux/" + arch + (f"/{variant}" if variant else "")
        ref = f"{repo}@{img['digest']}"
        for local in img["local_tags"]:  # run what the registry serves, not the local tags
            engine.images.remove(local, force=True)
        pulled = engine.images.pull(ref, platform=platform)
        attrs = pulled.attrs
        assert (attrs["Os"], attrs["Architecture"], attrs.get("Variant") or None) == ("linux", arch, variant)
        assert attrs["Id"] == img["config_digest"]
        assert attrs["Config"]["User"] == "65532:65532"
        assert attrs["Config"]["Labels"]["org.opencontainers.image.revision"] == mani["commit"]
        assert attrs["RootFS"]["Layers"] and len(attrs["RootFS"]["Layers"]) == 1
        binary = file_in_image(engine, ref, "/usr/local/bin/hello")
        assert hashlib.sha256(binary).hexdigest() == rec["artifacts"][0]["sha256"] == img["artifact_sha256"]
        out = run_in_image(engine, ref, arch, "/usr/local/bin/hello", platform, ["x"])
        assert f"platform linux/{arch} " in out and "hello 1.2.3" in out and "args [x]" in out, (tid, out)
    native = f"{repo}@{records['linux-amd64']['image']['digest']}"
    assert "nonroot:x:65532:65532:" in file_in_image(engine, native, "/etc/passwd").decode()
    assert len(file_in_image(engine, native, "/etc/ssl/certs/ca-certificates.crt")) > 10_000
    assert file_in_image(engine, native, "/usr/share/zoneinfo/Europe/Paris").startswith(b"TZif")
    assert owner_in_image(engine, native, "/home/nonroot") == (65532, 65532)  # a writable HOME, as in distroless
    assert owner_in_image(engine, native, "/etc/passwd") == (0, 0)


@pytest.mark.parametrize("arch,qemu", [("arm64", "aarch64")])
def test_runs_as_non_root_read_only(
    hello_images: Path, services: dict[str, str], engine: docker.DockerClient, tmp_path: Path, arch: str, qemu: str
) -> None:
    """The image's user is uid 65532: `id`-like evidence via /proc/self/status under qemu."""
    root = clone(hello_images, tmp_path / "p")
    repo = unique_repo("user")
    run_gobuildx(["image", "-t", f"linux-{arch}", "-r", repo], cwd=root, env=services, check=True)
    mani = json.loads((root / "dist" / "manifest.json").read_text())
    ref = next(t for t in mani["targets"] if t["id"] == f"linux-{arch}")["image"]["local_tags"][0]
    container = engine.containers.run(
        ref,
        ["/usr/local/bin/hello"],
        entrypoint=["/qemu"],
        detach=True,
        network_mode="none",
        read_only=True,
        volumes={f"/usr/bin/qemu-{qemu}-static": {"bind": "/qemu", "mode": "ro"}},
    )
    try:
        assert container.wait(timeout=60)["StatusCode"] == 0
        state = engine.api.inspect_container(container.id)
        assert state["Config"]["User"] == "65532:65532" and state["HostConfig"]["ReadonlyRootfs"]
    finally:
        container.remove(force=True)
