"""A signed release of examples/hello (minisign, OpenPGP, cosign-format bundles, SLSA
provenance) checked by the real tools: Debian's minisign and gpg, cosign v3 from the Go module
proxy, and securesystemslib's DSSE verifier; then what `gobuildx verify` catches, that two
releases are byte-identical, and that no secret reaches a file or the terminal."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gobuildx.sign import formats
from gobuildx.util.dirs import user_cache_dir
from tests.conftest import copy_example, cosign_program, need, offline, run_gobuildx
from tests.integration.release.conftest import ENV, ONE_TARGET_TOML, make_project

TOML = (
    ONE_TARGET_TOML
    + """
[release]
files = ["LICENSE"]

[sign]
files = "archives"
[sign.minisign]
key = "keys/minisign.key"
passphrase_env = "TEST_MINISIGN_PASSPHRASE"
[sign.gpg]
key_env = "TEST_GPG_KEY"
passphrase_env = "TEST_GPG_PASSPHRASE"
[sign.cosign]
key_env = "TEST_COSIGN_KEY"
passphrase_env = "TEST_COSIGN_PASSPHRASE"
"""
)
ARCHIVE = "hello_0.0.0-dev_linux-amd64.tar.gz"
PROVENANCE = "hello_0.0.0-dev.intoto.jsonl"
SECRETS = {
    "TEST_MINISIGN_PASSPHRASE": "minisign-passphrase-8f1c2e",
    "TEST_GPG_PASSPHRASE": "gpg-passphrase-77a0d3",
    "TEST_COSIGN_PASSPHRASE": "cosign-passphrase-c94b11",
}
TIMEOUT = 120


@dataclass(frozen=True)
class Signed:
    root: Path
    keys: Path  # the public keys: minisign.pub, gpg.pub.asc, cosign.pub
    env: dict[str, str]  # what the release ran with: the secrets
    output: str  # everything `gobuildx release` printed
    secret_texts: list[str]  # the private keys as planted
    started: float  # when the release began: what gobuildx's cache got since is its writing

    @property
    def release(self) -> Path:
        return self.root / "dist" / "release"


def run(argv: list[str], **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False, **kw)


def minisign_keys(dest: Path) -> None:
    proc = run(
        ["minisign", "-G", "-p", str(dest / "minisign.pub"), "-s", str(dest / "minisign.key")],
        input=f"{SECRETS['TEST_MINISIGN_PASSPHRASE']}\n" * 2,
    )
    assert proc.returncode == 0, proc.stderr


def gpg_keys(dest: Path) -> str:
    """An Ed25519 OpenPGP key made in a keyring of its own; returns the armored secret key."""
    home = dest / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--homedir", str(home), "--pinentry-mode", "loopback"]
    pw = ["--passphrase", SECRETS["TEST_GPG_PASSPHRASE"]]
    made = run([*gpg, *pw, "--quick-gen-key", "Release Test <release@example.invalid>", "ed25519", "sign", "never"])
    assert made.returncode == 0, made.stderr
    (dest / "gpg.pub.asc").write_text(run([*gpg, "--armor", "--export"]).stdout)
    secret = run([*gpg, *pw, "--armor", "--export-secret-keys"]).stdout
    run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"])
    shutil.rmtree(home)
    assert "PRIVATE KEY BLOCK" in secret
    return secret


def cosign_keys(dest: Path) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    (dest / "cosign.pub").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (dest / "cosign.key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(SECRETS["TEST_COSIGN_PASSPHRASE"].encode()),
        )
    )
    return (dest / "cosign.key.pem").read_text()


@pytest.fixture(scope="session")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    for program in ("minisign", "gpg", "gpgconf"):
        need(shutil.which(program), f"{program} is not installed (ci/programs.txt)")
    root = make_project(tmp_path_factory.mktemp("signed"), TOML)
    keys = tmp_path_factory.mktemp("public-keys")
    (root / "keys").mkdir()
    minisign_keys(root / "keys")
    shutil.move(root / "keys" / "minisign.pub", keys / "minisign.pub")
    gpg_secret = gpg_keys(keys)
    cosign_secret = cosign_keys(keys)
    shutil.move(keys / "cosign.key.pem", root / "keys" / "cosign.key.pem")  # planted, though read from env
    tmp = tmp_path_factory.mktemp("tmpdir")  # TMPDIR of the release: where its GNUPGHOME was
    env = {**ENV, **SECRETS, "TEST_GPG_KEY": gpg_secret, "TEST_COSIGN_KEY": cosign_secret, "TMPDIR": str(tmp)}
    started = time.time()
    proc = run_gobuildx(["release"], cwd=root, env=env, check=True)
    minisign_secret = (root / "keys" / "minisign.key").read_text()
    secrets = [minisign_secret, gpg_secret, cosign_secret]
    return Signed(root, keys, env, proc.stdout + proc.stderr, secrets, started)


def test_the_release_holds_every_signature(signed: Signed) -> None:
    names = {p.name for p in signed.release.iterdir()}
    for base in ("SHA256SUMS", ARCHIVE, "hello_0.0.0-dev_linux-amd64.hello.spdx.json"):
        assert {base + ".minisig", base + ".asc", base + ".sigstore.json"} <= names
    assert PROVENANCE in names


@pytest.mark.parametrize("name", ["SHA256SUMS", ARCHIVE])
def test_minisign_accepts_the_signatures(signed: Signed, name: str) -> None:
    proc = run(["minisign", "-V", "-p", str(signed.keys / "minisign.pub"), "-m", str(signed.release / name)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"file:{name}" in proc.stdout  # the trusted comment: the build date and the file's name


@pytest.mark.parametrize("name", ["SHA256SUMS", ARCHIVE])
def test_gpg_accepts_the_signatures(signed: Signed, name: str, tmp_path: Path) -> None:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--homedir", str(home)]
    assert run([*gpg, "--import", str(signed.keys / "gpg.pub.asc")]).returncode == 0
    proc = run(
        [*gpg, "--status-fd", "1", "--verify", str(signed.release / (name + ".asc")), str(signed.release / name)]
    )
    run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"])
    assert proc.returncode == 0 and "VALIDSIG" in proc.stdout, proc.stdout + proc.stderr
    assert "Good signature" in proc.stderr


def cosign_verify(signed: Signed, name: str, release: Path | None = None) -> subprocess.CompletedProcess[str]:
    folder = release or signed.release
    cosign = cosign_program()
    need(cosign.is_file(), f"cosign is not at {cosign} (ci/setup.sh installs it with go install)")
    return run(
        offline(
            [
                str(cosign),
                "verify-blob",
                "--key",
                str(signed.keys / "cosign.pub"),
                "--insecure-ignore-tlog",
                "--bundle",
                str(folder / (name + ".sigstore.json")),
                str(folder / name),
            ]
        ),
        env={**os.environ, "HOME": str(folder.parent), "SIGSTORE_NO_CACHE": "1"},
    )


@pytest.mark.parametrize("name", ["SHA256SUMS", ARCHIVE])
def test_cosign_accepts_the_bundles_offline(signed: Signed, name: str) -> None:
    proc = cosign_verify(signed, name)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Verified OK" in proc.stdout + proc.stderr


def test_cosign_refuses_a_bundle_of_another_file(signed: Signed, tmp_path: Path) -> None:
    folder = tmp_path / "release"
    shutil.copytree(signed.release, folder)
    shutil.copy(folder / f"{ARCHIVE}.sigstore.json", folder / "SHA256SUMS.sigstore.json")
    proc = cosign_verify(signed, "SHA256SUMS", folder)
    assert proc.returncode != 0 and "Verified OK" not in proc.stdout + proc.stderr


def test_securesystemslib_accepts_the_provenance(signed: Signed) -> None:
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    public = serialization.load_pem_public_key((signed.keys / "cosign.pub").read_bytes())
    line = (signed.release / PROVENANCE).read_text().strip()
    env = Envelope.from_dict(json.loads(line))
    key = SSlibKey.from_crypto(public, keyid=formats.key_id(public))  # type: ignore[arg-type]
    assert list(env.verify([key], 1)) == [key.keyid]
    statement = json.loads(env.pae()[env.pae().index(b"{") :])
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    on_disk = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in signed.release.iterdir()}
    files = {n for n in subjects if n in on_disk}
    assert files == {ARCHIVE, "hello_0.0.0-dev_linux-amd64.hello.spdx.json"}
    assert all(subjects[n] == on_disk[n] for n in files)
    built = hashlib.sha256((signed.root / "dist" / "linux-amd64" / "hello").read_bytes()).hexdigest()
    assert subjects[f"{ARCHIVE}/hello"] == built
    deps = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert deps[0]["uri"].startswith("pkg:golang/toolchain@go1.")


def test_securesystemslib_accepts_the_smoke_and_audit_attestations(signed: Signed) -> None:
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    public = serialization.load_pem_public_key((signed.keys / "cosign.pub").read_bytes())
    key = SSlibKey.from_crypto(public, keyid=formats.key_id(public))  # type: ignore[arg-type]
    lines = (signed.release / f"{ARCHIVE}.intoto.jsonl").read_text().splitlines()
    kinds = {}
    for line in lines:
        env = Envelope.from_dict(json.loads(line))
        assert list(env.verify([key], 1)) == [key.keyid]
        statement = json.loads(env.payload)
        kinds[statement["predicateType"]] = statement
    smoke = kinds["https://in-toto.io/attestation/test-result/v0.1"]
    built = hashlib.sha256((signed.root / "dist" / "linux-amd64" / "hello").read_bytes()).hexdigest()
    assert smoke["subject"] == [{"name": f"{ARCHIVE}/hello", "digest": {"sha256": built}}]
    assert smoke["predicate"]["result"] == "PASSED" and smoke["predicate"]["passedTests"]
    audit = kinds["https://gobuildx.dev/attestation/linkage/v1"]
    assert audit["predicate"]["verdict"] == "pass" and audit["predicate"]["static"] is True


def test_gobuildx_verify_accepts_it_with_every_key(signed: Signed) -> None:
    proc = gobuildx_verify(signed, signed.release, "--require-signatures")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "9 signature(s) verified" in proc.stdout


def gobuildx_verify(signed: Signed, folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    keys = [a for k in ("minisign.pub", "gpg.pub.asc", "cosign.pub") for a in ("--key", str(signed.keys / k))]
    return run_gobuildx(["verify", str(folder), *keys, *extra], cwd=signed.root)


def test_gobuildx_verify_catches_a_tampered_archive(signed: Signed, tmp_path: Path) -> None:
    folder = tmp_path / "release"
    shutil.copytree(signed.release, folder)
    (folder / ARCHIVE).write_bytes((folder / ARCHIVE).read_bytes()[:-1] + b"\1")
    proc = gobuildx_verify(signed, folder)
    assert proc.returncode == 8
    for line in (
        f"{ARCHIVE}: sha256 differs from SHA256SUMS",
        f"{ARCHIVE}.minisig: minisign signature does not match",
        f"{ARCHIVE}.asc: OpenPGP signature does not verify",
        f"{ARCHIVE}.sigstore.json: the bundle signs another file",
        f"{PROVENANCE}: {ARCHIVE} on disk differs from the digest the provenance names",
    ):
        assert line in proc.stderr, proc.stderr


def test_gobuildx_verify_catches_a_swapped_signature(signed: Signed, tmp_path: Path) -> None:
    folder = tmp_path / "release"
    shutil.copytree(signed.release, folder)
    for suffix in (".minisig", ".asc", ".sigstore.json"):
        shutil.copy(folder / f"{ARCHIVE}{suffix}", folder / f"SHA256SUMS{suffix}")
    proc = gobuildx_verify(signed, folder, "--require-signatures")
    assert proc.returncode == 8
    assert "SHA256SUMS.asc: OpenPGP signature does not verify" in proc.stderr
    assert "SHA256SUMS.minisig: minisign signature does not match" in proc.stderr
    assert "SHA256SUMS: no signature of it verifies with the given keys (--require-signatures)" in proc.stderr


def test_gobuildx_verify_catches_a_provenance_naming_another_digest(signed: Signed, tmp_path: Path) -> None:
    folder = tmp_path / "release"
    shutil.copytree(signed.release, folder)
    env = json.loads((folder / PROVENANCE).read_text())
    statement = json.loads(base64.b64decode(env["payload"]))
    other = hashlib.sha256(b"another build").hexdigest()
    statement["subject"] = [
        {**s, "digest": {"sha256": other}} if s["name"] == f"{ARCHIVE}/hello" else s for s in statement["subject"]
    ]
    env["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    (folder / PROVENANCE).write_text(json.dumps(env) + "\n")
    proc = gobuildx_verify(signed, folder)
    assert proc.returncode == 8
    assert f"{PROVENANCE}: no DSSE signature verifies with the given keys" in proc.stderr
    assert f"{PROVENANCE}: gives {ARCHIVE}/hello sha256 {other[:16]}..." in proc.stderr


def test_a_second_release_is_byte_identical(signed: Signed, tmp_path: Path) -> None:
    first = {p.name: p.read_bytes() for p in signed.release.iterdir()}
    copy = tmp_path / "again"
    shutil.copytree(signed.root, copy, ignore=shutil.ignore_patterns("dist"))
    run_gobuildx(["release"], cwd=copy, env=signed.env, check=True)
    again = {p.name: p.read_bytes() for p in (copy / "dist" / "release").iterdir()}
    assert sorted(again) == sorted(first)
    differ = [n for n in first if first[n] != again[n]]
    # the provenance names its builder (this host) and the same targets.toml: all the same here
    assert differ == []


def files_since(root: Path, started: float) -> Iterator[Path]:
    """Files under root changed since `started`. A path that cannot be read is passed over: the
    shared cache can hold another process's half-made root file system (its /proc mounted)."""
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime >= started:
                yield path
        except OSError:
            continue


def test_no_secret_reaches_a_file_or_the_terminal(signed: Signed) -> None:
    needles = list(SECRETS.values())
    for text in signed.secret_texts:  # a line from the middle of each private key: its material
        body = [ln for ln in text.splitlines() if len(ln) > 40 and not ln.startswith("-----")]
        needles += body[:1] + body[-1:]
    assert len(needles) >= 6
    written = [p for p in (signed.root / "dist").rglob("*") if p.is_file()]
    assert len(written) > 10
    written += list(files_since(user_cache_dir(), signed.started))
    for path in written:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # another process's temporary file in the shared cache, gone since
            continue
        assert not [n for n in needles if n.encode() in data], path
    assert not [n for n in needles if n in signed.output]
    leftover = list(Path(signed.env["TMPDIR"]).glob("gobuildx-gpg-*"))
    assert leftover == [], "the throwaway GNUPGHOME (which held the imported secret key) must be removed"


def test_a_wrong_passphrase_stops_the_release_before_the_build(signed: Signed, tmp_path: Path) -> None:
    copy = tmp_path / "wrong"
    shutil.copytree(signed.root, copy, ignore=shutil.ignore_patterns("dist"))
    env = {**signed.env, "TEST_COSIGN_PASSPHRASE": "wrong-passphrase-5e5e"}
    proc = run_gobuildx(["release"], cwd=copy, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "sign.cosign: $TEST_COSIGN_KEY is not a PEM private key that its passphrase opens" in proc.stderr
    assert not (copy / "dist" / "linux-amd64").exists()  # nothing was built
    for secret in (*SECRETS.values(), "wrong-passphrase-5e5e"):
        assert secret not in proc.stdout + proc.stderr


CGO_SIGN = """
[sign]
[sign.minisign]
key = "minisign.key"
passphrase_env = "TEST_MINISIGN_PASSPHRASE"
[sign.cosign]
key_env = "TEST_COSIGN_KEY"
passphrase_env = "TEST_COSIGN_PASSPHRASE"
"""
CGO_TARGET = "linux-amd64-glibc2.17"


def test_a_signed_release_of_the_cgo_example(signed: Signed, tmp_path: Path) -> None:
    """examples/cgo (zig, glibc 2.17 floor), signed with the same keys: minisign, cosign and
    securesystemslib accept it, and its provenance names the binary zig linked."""
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    root = copy_example("cgo", tmp_path)
    (root / "targets.toml").write_text((root / "targets.toml").read_text() + CGO_SIGN)
    shutil.copy(signed.root / "keys" / "minisign.key", root / "minisign.key")
    run_gobuildx(["release", f"--target={CGO_TARGET}"], cwd=root, env=signed.env, timeout=3600, check=True)
    release = root / "dist" / "release"
    proc = run(["minisign", "-V", "-p", str(signed.keys / "minisign.pub"), "-m", str(release / "SHA256SUMS")])
    assert proc.returncode == 0, proc.stderr
    assert cosign_verify(signed, "SHA256SUMS", release).returncode == 0
    public = serialization.load_pem_public_key((signed.keys / "cosign.pub").read_bytes())
    key = SSlibKey.from_crypto(public, keyid=formats.key_id(public))  # type: ignore[arg-type]
    (provenance,) = [p for p in release.glob("*.intoto.jsonl") if ".tar.gz." not in p.name]  # not attestations
    env = Envelope.from_dict(json.loads(provenance.read_text()))
    assert list(env.verify([key], 1)) == [key.keyid]
    subjects = {s["name"]: s["digest"]["sha256"] for s in json.loads(env.payload)["subject"]}
    built = hashlib.sha256((root / "dist" / CGO_TARGET / "cgo").read_bytes()).hexdigest()
    assert [d for n, d in subjects.items() if n.endswith("/cgo")] == [built]
    keys = [a for k in ("minisign.pub", "cosign.pub") for a in ("--key", str(signed.keys / k))]
    proc = run_gobuildx(["verify", str(release), *keys, "--require-signatures"], cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr


COSIGN_OWN_PASSWORD = "cosign-own-password-a41d07"


def test_a_key_from_cosign_generate_key_pair_signs_what_cosign_verifies(tmp_path: Path) -> None:
    """cosign's own key file (ENCRYPTED SIGSTORE PRIVATE KEY: scrypt, then NaCl secretbox),
    made by the real cosign, its passphrase from COSIGN_PASSWORD as cosign reads it."""
    cosign = cosign_program()
    need(cosign.is_file(), f"cosign is not at {cosign} (ci/setup.sh installs it with go install)")
    root = make_project(tmp_path / "p", ONE_TARGET_TOML + '\n[sign]\n[sign.cosign]\nkey = "keys/cosign.key"\n')
    (root / "keys").mkdir()
    made = run(
        offline([str(cosign), "generate-key-pair"]),
        cwd=root / "keys",
        env={**os.environ, "COSIGN_PASSWORD": COSIGN_OWN_PASSWORD, "HOME": str(tmp_path)},
    )
    assert made.returncode == 0, made.stderr
    key_text = (root / "keys" / "cosign.key").read_text()
    assert key_text.startswith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    wrong = run_gobuildx(["release"], cwd=root, env={**ENV, "COSIGN_PASSWORD": "not-it-93b2"})
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert "the passphrase does not open file keys/cosign.key" in wrong.stderr
    assert not (root / "dist" / "linux-amd64").exists()
    proc = run_gobuildx(["release"], cwd=root, env={**ENV, "COSIGN_PASSWORD": COSIGN_OWN_PASSWORD}, check=True)
    release = root / "dist" / "release"
    verified = run(
        offline(
            [str(cosign), "verify-blob", "--key", str(root / "keys" / "cosign.pub"), "--insecure-ignore-tlog",
             "--bundle", str(release / "SHA256SUMS.sigstore.json"), str(release / "SHA256SUMS")]
        ),
        env={**os.environ, "HOME": str(tmp_path), "SIGSTORE_NO_CACHE": "1"},
    )  # fmt: skip
    assert verified.returncode == 0 and "Verified OK" in verified.stdout + verified.stderr, verified.stderr
    body = [ln for ln in key_text.splitlines() if len(ln) > 40 and not ln.startswith("-----")]
    for needle in [COSIGN_OWN_PASSWORD, "not-it-93b2", body[0], body[-1]]:
        assert needle not in proc.stdout + proc.stderr + wrong.stdout + wrong.stderr
        for path in (p for p in (root / "dist").rglob("*") if p.is_file()):
            assert needle.encode() not in path.read_bytes(), path
