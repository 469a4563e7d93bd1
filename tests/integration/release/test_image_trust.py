"""[sign] images = true: `gobuildx image --push` signs the index and each platform manifest the
way cosign does and attaches the release's SBOMs and attestations as OCI 1.1 referrers.

Checked by the real independent tools against real registries on 127.0.0.1: cosign v3's
`verify --key` and `tree`, oras's `discover`, skopeo's raw reads. Debian's docker-registry
(v2.8, on 127.0.0.1:5000) has no referrers API, so it gets the tag-schema fallback;
go-containerregistry's registry (ci/tools/referrers-registry.go, on a port of this module's
own) has the API."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import (
    cosign_program,
    loopback_only_env,
    need,
    oras_program,
    referrers_registry_program,
    run_gobuildx,
)
from tests.integration.release.conftest import ENV, IMAGE_TOML, make_project

PASSPHRASE = "image-cosign-passphrase-5e0a19"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
TIMEOUT = 180


def toml(repository: str) -> str:
    """The release tests' two-arch image project, pushed to `repository`, its images signed."""
    return IMAGE_TOML.replace('"127.0.0.1:5000/gobuildx-release-test"', f'"{repository}"') + (
        '\n[sign]\nimages = true\n[sign.cosign]\nkey_env = "TEST_IMAGE_COSIGN_KEY"\n'
        'passphrase_env = "TEST_IMAGE_COSIGN_PASSPHRASE"\n'
    )


@dataclass(frozen=True)
class Pushed:
    root: Path
    repository: str  # host:port/path
    public_key: Path
    secret_key: str
    private_hex: str  # the private scalar: what a leaked key would show in any encoding's hex
    output: str  # what release and image --push printed
    index: str
    platforms: dict[str, str]  # target id -> manifest digest

    @property
    def release(self) -> Path:
        return self.root / "dist" / "release"


def tool(argv: list[str]) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, **loopback_only_env(), "HOME": os.environ.get("HOME", "/root")},
    )


def push_signed(dest: Path, repository: str) -> Pushed:
    key = ec.generate_private_key(ec.SECP256R1())
    public = dest / "cosign.pub"
    dest.mkdir(parents=True, exist_ok=True)
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    secret = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    ).decode()
    root = make_project(dest / "project", toml(repository))
    env = {**ENV, "TEST_IMAGE_COSIGN_KEY": secret, "TEST_IMAGE_COSIGN_PASSPHRASE": PASSPHRASE}
    out = run_gobuildx(["release"], cwd=root, env=env, check=True)
    pushed = run_gobuildx(["image", "--push", "--oci-layout", str(dest / "oci")], cwd=root, env=env, check=True)
    mani = json.loads((root / "dist" / "manifest.json").read_text())
    platforms = {p["target"]: p["digest"] for p in mani["image"]["platforms"]}
    output = out.stdout + out.stderr + pushed.stdout + pushed.stderr
    scalar = f"{key.private_numbers().private_value:064x}"
    return Pushed(root, repository, public, secret, scalar, output, mani["image"]["digest"], platforms)


@pytest.fixture(scope="module")
def fallback(tmp_path_factory: pytest.TempPathFactory, services: dict[str, str]) -> Pushed:
    """Pushed to the shared docker-registry (no referrers API)."""
    need(cosign_program().is_file(), f"{cosign_program()} is missing (ci/setup.sh builds it)")
    return push_signed(tmp_path_factory.mktemp("fallback"), f"127.0.0.1:5000/test/signed-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def referrers_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """go-containerregistry's registry (referrers API on) on a free loopback port: its host:port."""
    from tests.integration.image.registries import free_port

    program = referrers_registry_program()
    need(program.is_file(), f"{program} is missing (ci/setup.sh builds it)")
    port = free_port()
    log = tmp_path_factory.mktemp("referrers-registry") / "registry.log"
    proc = subprocess.Popen([str(program), "-port", str(port)], stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def with_api(tmp_path_factory: pytest.TempPathFactory, referrers_registry: str, services: dict[str, str]) -> Pushed:
    """Pushed to a registry with the referrers API."""
    return push_signed(tmp_path_factory.mktemp("api"), f"{referrers_registry}/test/signed")


def cosign_verify(
    p: Pushed, digest: str, key: Path | None = None, legacy: bool = False
) -> subprocess.CompletedProcess[str]:
    """cosign v3's `verify --key`: by default it reads the Sigstore bundle referrer when there is
    one; `legacy` makes it read the `.sig` tag (its hidden --new-bundle-format=false)."""
    return tool(
        [str(cosign_program()), "verify", "--key", str(key or p.public_key), "--insecure-ignore-tlog",
         *(["--new-bundle-format=false"] if legacy else []), f"{p.repository}@{digest}"]
    )  # fmt: skip


def discover(p: Pushed, digest: str) -> list[dict[str, object]]:
    need(oras_program().is_file(), f"{oras_program()} is missing (ci/setup.sh builds it)")
    proc = tool([str(oras_program()), "discover", "--plain-http", "--format", "json", f"{p.repository}@{digest}"])
    assert proc.returncode == 0, proc.stderr
    found: list[dict[str, object]] = json.loads(proc.stdout).get("referrers", [])
    return found


def skopeo_raw(ref: str) -> bytes:
    need(shutil.which("skopeo"), "skopeo is not installed (ci/programs.txt)")
    proc = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


@pytest.mark.parametrize("which", ["fallback", "with_api"])
def test_cosign_verify_accepts_the_index_and_every_platform_image(which: str, request: pytest.FixtureRequest) -> None:
    p: Pushed = request.getfixturevalue(which)
    assert set(p.platforms) == {"linux-amd64", "linux-arm64"}
    for digest in [p.index, *p.platforms.values()]:
        for legacy, kind in (
            (False, "https://sigstore.dev/cosign/sign/v1"),
            (True, "cosign container image signature"),
        ):
            proc = cosign_verify(p, digest, legacy=legacy)
            assert proc.returncode == 0, proc.stderr
            claims = json.loads(proc.stdout)
            assert [c["critical"]["image"]["docker-manifest-digest"] for c in claims] == [digest]
            assert [c["critical"]["type"] for c in claims] == [kind]  # which of the two forms it read


def test_cosign_verify_refuses_another_key(fallback: Pushed, tmp_path: Path) -> None:
    other = tmp_path / "other.pub"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for legacy in (False, True):
        proc = cosign_verify(fallback, fallback.index, other, legacy=legacy)
        assert proc.returncode != 0, proc.stdout
        assert "verif" in proc.stderr.lower() or "no matching signatures" in proc.stderr.lower(), proc.stderr


@pytest.mark.parametrize("which", ["fallback", "with_api"])
def test_oras_discovers_the_sbom_and_the_attestations(which: str, request: pytest.FixtureRequest) -> None:
    p: Pushed = request.getfixturevalue(which)
    rm = json.loads((p.release / "manifest.json").read_text())
    for t in rm["targets"]:
        titles = described(p, p.platforms[t["id"]])
        sbom = t["binaries"][0]["sbom"]
        assert titles == {
            sbom: "application/spdx+json",
            t["archive"]["name"] + ".intoto.jsonl": "application/vnd.in-toto+json",
            "hello_0.0.0-dev.intoto.jsonl": "application/vnd.in-toto+json",
        }
    assert described(p, p.index) == {"hello_0.0.0-dev.intoto.jsonl": "application/vnd.in-toto+json"}


def described(p: Pushed, digest: str) -> dict[str, str]:
    """Title -> artifactType of every referrer oras finds, read from the referrer manifests
    themselves (go-containerregistry's referrers list leaves out annotations and gives the
    config's media type as artifactType; the fallback index keeps both, see below)."""
    out, bundles = {}, 0
    for ref in discover(p, digest):
        manifest = json.loads(skopeo_raw(f"{p.repository}@{ref['digest']}"))
        assert manifest["subject"]["digest"] == digest
        if manifest["artifactType"] == BUNDLE:  # the signature's bundle form: one per subject
            bundles += 1
            continue
        out[manifest["layers"][0]["annotations"]["org.opencontainers.image.title"]] = manifest["artifactType"]
    assert bundles == 1
    return out


@pytest.mark.parametrize("which", ["fallback", "with_api"])
def test_each_referrer_holds_the_release_file_byte_for_byte(which: str, request: pytest.FixtureRequest) -> None:
    p: Pushed = request.getfixturevalue(which)
    for ref in discover(p, p.platforms["linux-amd64"]):
        manifest = json.loads(skopeo_raw(f"{p.repository}@{ref['digest']}"))
        assert manifest["subject"]["digest"] == p.platforms["linux-amd64"]
        if manifest["artifactType"] == BUNDLE:
            continue
        (layer,) = manifest["layers"]
        name = layer["annotations"]["org.opencontainers.image.title"]
        want = hashlib.sha256((p.release / name).read_bytes()).hexdigest()
        assert layer["digest"] == f"sha256:{want}", name


def test_the_fallback_tag_lists_the_referrers_and_cosign_tree_finds_them(fallback: Pushed) -> None:
    digest = fallback.platforms["linux-arm64"]
    index = json.loads(skopeo_raw(f"{fallback.repository}:{digest.replace(':', '-')}"))
    kinds = {"application/spdx+json", "application/vnd.in-toto+json", BUNDLE}
    assert {m["artifactType"] for m in index["manifests"]} == kinds
    listed = {r["artifactType"] for r in discover(fallback, digest)}  # oras reads the fallback index itself
    assert listed == kinds
    mani = json.loads((fallback.root / "dist" / "manifest.json").read_text())
    assert mani["image"]["referrers_api"] is False and mani["image"]["signed"] is True
    tree = tool([str(cosign_program()), "tree", f"{fallback.repository}@{digest}"])
    assert tree.returncode == 0, tree.stderr
    assert f"sha256-{digest.split(':')[1]}.sig" in tree.stdout
    assert "application/spdx+json artifacts via OCI referrer" in tree.stdout


def test_the_referrers_api_registry_gets_no_fallback_tag(with_api: Pushed) -> None:
    mani = json.loads((with_api.root / "dist" / "manifest.json").read_text())
    assert mani["image"]["referrers_api"] is True
    tags = json.loads(skopeo_tags(with_api.repository))
    assert not [t for t in tags if t.startswith("sha256-") and not t.endswith(".sig")], tags


def skopeo_tags(repository: str) -> str:
    need(shutil.which("skopeo"), "skopeo is not installed (ci/programs.txt)")
    proc = subprocess.run(
        ["skopeo", "list-tags", "--tls-verify=false", f"docker://{repository}"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.dumps(json.loads(proc.stdout)["Tags"])


def test_a_second_push_changes_nothing(fallback: Pushed) -> None:
    """Same inputs and key: the same signature manifests and the same fallback index, not a
    second copy of each referrer."""
    digest = fallback.platforms["linux-amd64"]
    sig_before = skopeo_raw(f"{fallback.repository}:sha256-{digest.split(':')[1]}.sig")
    index_before = skopeo_raw(f"{fallback.repository}:sha256-{digest.split(':')[1]}")
    env = {**ENV, "TEST_IMAGE_COSIGN_KEY": fallback.secret_key, "TEST_IMAGE_COSIGN_PASSPHRASE": PASSPHRASE}
    layout = fallback.root.parent / "oci2"
    run_gobuildx(["image", "--push", "--oci-layout", str(layout)], cwd=fallback.root, env=env, check=True)
    assert skopeo_raw(f"{fallback.repository}:sha256-{digest.split(':')[1]}.sig") == sig_before
    assert skopeo_raw(f"{fallback.repository}:sha256-{digest.split(':')[1]}") == index_before


def test_no_secret_reaches_a_file_the_output_or_the_registry(fallback: Pushed) -> None:
    body = "".join(fallback.secret_key.strip().splitlines()[1:-1])
    needles = [
        PASSPHRASE,
        body[:40],
        fallback.private_hex,
        base64.b64encode(bytes.fromhex(fallback.private_hex)).decode(),
    ]
    hay = [fallback.output]
    for path in [*(fallback.root / "dist").rglob("*"), *(fallback.root.parent / "oci").rglob("*")]:
        if path.is_file():
            hay.append(path.read_bytes().decode("latin-1"))
    digest = fallback.platforms["linux-amd64"]
    hay.append(skopeo_raw(f"{fallback.repository}:sha256-{digest.split(':')[1]}.sig").decode())
    host, _, path = fallback.repository.partition("/")
    for ref in discover(fallback, digest):
        manifest = skopeo_raw(f"{fallback.repository}@{ref['digest']}")
        hay.append(manifest.decode())
        for layer in json.loads(manifest)["layers"]:  # the bundles, SBOMs and attestations themselves
            with urllib.request.urlopen(f"http://{host}/v2/{path}/blobs/{layer['digest']}", timeout=30) as resp:
                hay.append(resp.read().decode("latin-1"))
    assert len(hay) > 10
    for needle in needles:
        assert not [h for h in hay if needle in h], f"a secret ({needle[:6]}…) was written"


def test_the_report_shows_each_image_signed(fallback: Pushed) -> None:
    html = (fallback.root / "dist" / "report.html").read_text()
    assert html.count("pushed, signed") >= len(fallback.platforms)


def test_a_second_signer_keeps_the_first_signature(with_api: Pushed, tmp_path: Path) -> None:
    """The same images pushed and signed again with another key (a second release job, or a
    registry where CI signed already): the `.sig` tag keeps the first key's signature beside
    the second's, as cosign's own appending does; real cosign verifies both keys."""
    second = push_signed(tmp_path / "second", with_api.repository)
    assert (second.index, second.platforms) == (with_api.index, with_api.platforms)  # reproducible images
    for p in (with_api, second):
        proc = cosign_verify(p, p.index, legacy=True)
        assert proc.returncode == 0, proc.stderr
    sig = json.loads(skopeo_raw(f"{with_api.repository}:sha256-{with_api.index.split(':', 1)[1]}.sig"))
    assert len(sig["layers"]) == 2
