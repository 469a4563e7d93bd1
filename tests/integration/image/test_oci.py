"""The daemonless path: OCI layout and `docker load` tarballs written from Python, reproducibly."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import docker

from tests.conftest import run_gobuildx
from tests.integration.image.conftest import clone, hello_toml, registry_get, run_in_image, unique_repo


def tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


def test_layout_is_byte_for_byte_reproducible(hello_images: Path, services: dict[str, str], tmp_path: Path) -> None:
    root = clone(hello_images, tmp_path / "p")
    env = {**services, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}  # proves no daemon is used
    run_gobuildx(["image", "--oci-layout", "out/a", "--tarballs", "out/ta"], cwd=root, env=env, check=True)
    first = json.loads((root / "dist" / "manifest.json").read_text())["image"]
    run_gobuildx(["image", "--oci-layout", "out/b", "--tarballs", "out/tb"], cwd=root, env=env, check=True)
    second = json.loads((root / "dist" / "manifest.json").read_text())["image"]
    assert first["digest"] == second["digest"] and first["platforms"] == second["platforms"]
    assert first["builder"] == "oci" and len(first["platforms"]) == 8
    assert tree(root / "out" / "a") == tree(root / "out" / "b")
    assert tree(root / "out" / "ta") == tree(root / "out" / "tb")

    layout = root / "out" / "a"
    top = json.loads((layout / "index.json").read_text())
    assert {m["annotations"]["org.opencontainers.image.ref.name"] for m in top["manifests"]} == {"1.2.3", "latest"}
    assert {m["digest"] for m in top["manifests"]} == {first["digest"]}
    index = json.loads(blob(layout, first["digest"]))
    platforms = sorted(json.dumps(m["platform"], sort_keys=True) for m in index["manifests"])
    assert platforms == sorted(
        json.dumps({"os": "linux", "architecture": a, **({"variant": v} if v else {})}, sort_keys=True)
        for a, v in [
            ("amd64", None),
            ("386", None),
            ("arm64", None),
            ("arm", "v6"),
            ("arm", "v7"),
            ("riscv64", None),
            ("ppc64le", None),
            ("s390x", None),
        ]
    )


def test_layer_holds_exactly_the_artifact_and_scratch_needs(
    hello_images: Path, services: dict[str, str], tmp_path: Path
) -> None:
    root = clone(hello_images, tmp_path / "p")
    (root / "extra.yaml").write_text("greeting: hi\n")
    (root / "targets.toml").write_text(
        hello_toml(
            '[image]\nrepository = "127.0.0.1:5000/test/hello"\nlabels = { team = "release" }\n'
            'files = [{ src = "extra.yaml", dst = "/etc/hello/extra.yaml", mode = "0640" }]\n'
        )
    )
    run_gobuildx(["image", "-t", "linux-arm64", "--oci-layout", "layout"], cwd=root, env=services, check=True)
    mani = json.loads((root / "dist" / "manifest.json").read_text())
    rec = next(t for t in mani["targets"] if t["id"] == "linux-arm64")
    manifest = json.loads(blob(root / "layout", rec["image"]["digest"]))
    config = json.loads(blob(root / "layout", manifest["config"]["digest"]))
    assert config["architecture"] == "arm64" and config["config"]["User"] == "65532:65532"
    assert config["created"] == "2023-11-14T22:13:20Z"
    assert config["config"]["Entrypoint"] == ["/usr/local/bin/hello"]
    assert config["config"]["Labels"]["team"] == "release"
    assert manifest["annotations"]["org.opencontainers.image.revision"] == mani["commit"]
    raw = gzip.decompress(blob(root / "layout", manifest["layers"][0]["digest"]))
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == config["rootfs"]["diff_ids"][0]
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = {m.name.rstrip("/"): m for m in tar.getmembers()}
        binary = tar.extractfile(members["usr/local/bin/hello"]).read()  # type: ignore[union-attr]
        passwd = tar.extractfile(members["etc/passwd"]).read().decode()  # type: ignore[union-attr]
    assert hashlib.sha256(binary).hexdigest() == rec["artifacts"][0]["sha256"]
    assert members["usr/local/bin/hello"].mode == 0o755 and members["tmp"].mode == 0o1777
    assert members["etc/hello/extra.yaml"].mode == 0o640
    assert {n: (m.uid, m.gid) for n, m in members.items() if m.uid or m.gid} == {"home/nonroot": (65532, 65532)}
    assert {m.mtime for m in members.values()} == {1700000000}  # the user owns its HOME, root all else
    assert "nonroot:x:65532:65532:" in passwd
    tops = {n.split("/")[0] for n in members}
    assert tops == {"etc", "home", "tmp", "usr"}, tops
    assert not any(n.startswith(("usr/share/zoneinfo/right", "lib")) for n in members)


def test_tarballs_load_and_run_in_the_engine(
    hello_images: Path, services: dict[str, str], engine: docker.DockerClient, tmp_path: Path
) -> None:
    root = clone(hello_images, tmp_path / "p")
    repo = unique_repo("loaded")
    run_gobuildx(
        ["image", "-t", "linux-amd64", "-t", "linux-riscv64", "-r", repo, "--tarballs", "tars"],
        cwd=root,
        env=services,
        check=True,
    )
    mani = json.loads((root / "dist" / "manifest.json").read_text())
    for tid, arch in (("linux-amd64", "amd64"), ("linux-riscv64", "riscv64")):
        rec = next(t for t in mani["targets"] if t["id"] == tid)["image"]
        loaded = engine.images.load((root / "tars" / f"{tid}.tar").read_bytes())
        assert loaded[0].id == rec["config_digest"]
        out = run_in_image(engine, f"{repo}:1.2.3-{tid}", arch, "/usr/local/bin/hello", f"linux/{arch}")
        assert f"platform linux/{arch} " in out, out


def test_daemonless_push_is_pullable_by_digest(
    hello_images: Path, services: dict[str, str], engine: docker.DockerClient, tmp_path: Path
) -> None:
    root = clone(hello_images, tmp_path / "p")
    repo = unique_repo("oci-push")
    proc = run_gobuildx(
        ["image", "-t", "linux-amd64", "-t", "linux-s390x", "-r", repo, "--oci-layout", "l", "--push"],
        cwd=root,
        env={**services, "DOCKER_HOST": "unix:///nonexistent.sock"},
        check=True,
    )
    assert f"pushed: {repo}:latest" in proc.stdout
    index = json.loads((root / "dist" / "manifest.json").read_text())["image"]
    status, headers, _ = registry_get(f"/v2/{repo.split('/', 1)[1]}/manifests/latest")
    assert status == 200 and headers["Docker-Content-Digest"] == index["digest"]
    s390x = next(p for p in index["platforms"] if p["target"] == "linux-s390x")
    engine.images.pull(f"{repo}@{s390x['digest']}", platform="linux/s390x")
    out = run_in_image(engine, f"{repo}@{s390x['digest']}", "s390x", "/usr/local/bin/hello", "linux/s390x")
    assert "platform linux/s390x " in out, out
