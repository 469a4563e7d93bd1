"""[sign] on a synthetic dist: the table's checks, minisign and cosign-format signatures,
the provenance, and what `gobuildx.sign.verify` catches. No external program runs here
(tests/integration/release/test_trust.py checks the same files with minisign, gpg, cosign
and securesystemslib)."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from gobuildx.errors import ConfigError
from gobuildx.model.release import SUMS
from gobuildx.project import checks, config
from gobuildx.release import stage as release_stage
from gobuildx.release import verify as release_verify
from gobuildx.sign import formats, keys
from gobuildx.sign import stage as sign_stage
from gobuildx.sign import verify as trust
from tests.unit.test_release_assembly import TOML, synthetic_dist

SIGNED = (
    TOML
    + """
[sign]
files = "archives"
[sign.minisign]
key = "keys/minisign.key"
[sign.cosign]
key_env = "COSIGN_KEY"
passphrase_env = "COSIGN_PASSPHRASE"
"""
)
PASSPHRASE = "correct horse battery staple"
SEED = bytes(range(32))  # fixed keys: the same release twice must give the same bytes
KEY_ID = b"\x01\x02\x03\x04\x05\x06\x07\x08"


def minisign_secret_key(seed: bytes = SEED, key_id: bytes = KEY_ID) -> bytes:
    """An unencrypted minisign secret key (KDF "\\0\\0"), in minisign's own layout."""
    private = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    pk = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    sk = seed + pk
    head = b"Ed\0\0B2" + bytes(32) + bytes(16)
    checksum = hashlib.blake2b(b"Ed" + key_id + sk, digest_size=32).digest()
    return b"untrusted comment: test key\n" + base64.b64encode(head + key_id + sk + checksum) + b"\n"


def minisign_public_key(seed: bytes = SEED, key_id: bytes = KEY_ID) -> bytes:
    pk = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key()
    raw = pk.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b"untrusted comment: minisign public key\n" + base64.b64encode(b"Ed" + key_id + raw) + b"\n"


def ec_key(n: int = 7) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(n * 1_000_003, ec.SECP256R1())


def ec_pem(key: ec.EllipticCurvePrivateKey, passphrase: str = PASSPHRASE) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    ).decode()


def ec_public(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def environ() -> dict[str, str]:
    return {"COSIGN_KEY": ec_pem(ec_key()), "COSIGN_PASSPHRASE": PASSPHRASE}


def signed_release(context, toml: str = SIGNED) -> Path:  # type: ignore[no-untyped-def]
    ctx = context(toml)
    root = ctx.loaded.root
    (root / "LICENSE").write_text("MIT\n")
    (root / "keys").mkdir(exist_ok=True)
    (root / "keys" / "minisign.key").write_bytes(minisign_secret_key())
    synthetic_dist(ctx)
    ids = [t.id for t in ctx.targets]
    plan = sign_stage.plan(ctx, ids, environ())
    assert plan is not None
    release_stage.assemble(release_stage.from_project(ctx, ids), functools.partial(sign_stage.run, plan, ctx.dist))
    return ctx.dist / "release"


def public_keys(tmp_path: Path) -> trust.PublicKeys:
    (tmp_path / "minisign.pub").write_bytes(minisign_public_key())
    (tmp_path / "cosign.pub").write_bytes(ec_public(ec_key()))
    found, problems = trust.read_keys([tmp_path / "minisign.pub", tmp_path / "cosign.pub"])
    assert problems == []
    return found


def verify_all(folder: Path, found: trust.PublicKeys, require: bool = False) -> trust.Result:
    problems, rm = release_verify.check(folder)
    assert problems == [] and rm is not None
    return trust.check(folder, rm, found, require)


# the [sign] table -----------------------------------------------------------------------------


def loaded(tmp_path: Path, sign: str) -> config.LoadedConfig:
    (tmp_path / "hello").mkdir(exist_ok=True)
    (tmp_path / "hello" / "go.mod").write_text("module example.com/hello\n\ngo 1.22\n")
    (tmp_path / "hello" / "main.go").write_text("package main\n\nfunc main() {}\n")
    (tmp_path / "targets.toml").write_text(
        '[project]\nname = "hello"\ndir = "hello"\n[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64"]\n' + sign
    )
    return config.load(tmp_path / "targets.toml")


@pytest.mark.parametrize(
    ("sign", "expected"),
    [
        ("[sign]\n", "sign: names no method"),
        ('[sign.minisign]\nkey = "k"\nkey_env = "K"\n', "sign.minisign: set exactly one of key"),
        ("[sign.cosign]\n", "sign.cosign: set exactly one of key"),
        ('[sign.minisign]\nkey = "nope.key"\n', "sign.minisign: key: 'nope.key': no such file"),
        ('[sign.minisign]\nkey = "../k"\n', "must be a path inside the project"),
        ('[sign.gpg]\nkey_env = "GPG_KEY"\n', "sign.provenance: needs a [sign.cosign] or [sign.minisign] key"),
        (
            '[sign]\nimages = true\n[sign.minisign]\nkey_env = "K"\n',
            "sign.images: pushed images are signed the way cosign",
        ),
        ('[sign]\nimages = true\n[sign.cosign]\nkey_env = "K"\n', "sign.images: there is no [image] table"),
    ],
)
def test_the_sign_table_is_checked_up_front(tmp_path: Path, sign: str, expected: str) -> None:
    found = checks.problems(loaded(tmp_path, sign))
    assert any(expected in p for p in found), found
    assert all(str(tmp_path / "targets.toml") in p for p in found)


@pytest.mark.parametrize(
    ("sign", "expected"),
    [
        ('[sign.ssh]\nkey = "k"\n', "sign.ssh: unknown key; allowed: cosign, files, gpg, images, minisign, provenance"),
        ('[sign.cosign]\nkey_env = "MY-KEY"\n', "sign.cosign.key_env: String should match pattern"),
        ('[sign]\nfiles = "binaries"\n', "sign.files: 'binaries' is not allowed; allowed: sums, archives"),
        ('[sign.minisign]\nkey = "k"\npassphrase = "hunter2"\n', "sign.minisign.passphrase: unknown key"),
    ],
)
def test_the_sign_table_has_a_schema(tmp_path: Path, sign: str, expected: str) -> None:
    with pytest.raises(ConfigError) as exc:
        loaded(tmp_path, sign)
    assert any(expected in p for p in exc.value.problems), exc.value.problems


def test_a_gpg_only_table_without_provenance_is_valid(tmp_path: Path) -> None:
    assert checks.problems(loaded(tmp_path, '[sign]\nprovenance = false\n[sign.gpg]\nkey_env = "K"\n')) == []


# keys ------------------------------------------------------------------------------------------


def test_a_missing_secret_names_the_variable_only(context) -> None:  # type: ignore[no-untyped-def]
    ctx = context(SIGNED)
    (ctx.loaded.root / "keys").mkdir()
    (ctx.loaded.root / "keys" / "minisign.key").write_bytes(minisign_secret_key())
    with pytest.raises(ConfigError, match=r"sign.cosign.key_env: \$COSIGN_KEY is not set"):
        sign_stage.plan(ctx, [], {})
    wrong = {**environ(), "COSIGN_PASSPHRASE": "not it"}
    with pytest.raises(ConfigError) as exc:
        sign_stage.plan(ctx, [], wrong)
    message = str(exc.value)
    assert "$COSIGN_KEY" in message and "passphrase" in message
    assert "not it" not in message and "PRIVATE KEY" not in message


def test_a_secret_never_shows_in_its_repr() -> None:
    secret = keys.Secret(origin="$K", text=b"-----BEGIN PRIVATE KEY-----", passphrase=PASSPHRASE.encode())
    assert PASSPHRASE not in repr(secret) and "PRIVATE" not in str(secret)


def test_a_minisign_key_with_a_damaged_checksum_is_refused() -> None:
    raw = bytearray(base64.b64decode(minisign_secret_key().splitlines()[1]))
    raw[-1] ^= 1
    secret = keys.Secret(origin="file k", text=b"c\n" + base64.b64encode(bytes(raw)))
    with pytest.raises(ConfigError, match="the passphrase does not open file k"):
        keys.minisign_private_key(secret, "sign.minisign")


# signing and verifying ---------------------------------------------------------------------------


def test_a_signed_release_verifies_with_both_keys(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = signed_release(context)
    names = sorted(p.name for p in folder.iterdir())
    assert "hello_1.2.3.intoto.jsonl" in names
    for base in (SUMS, "hello_1.2.3_linux-amd64.tar.gz", "hello_1.2.3_windows-amd64.zip"):
        assert {base + ".minisig", base + ".sigstore.json"} <= set(names)
    res = verify_all(folder, public_keys(tmp_path), True)
    assert res.problems == [] and res.unchecked == []
    assert len(res.verified) == 2 * 5  # SHA256SUMS, two archives, two SBOMs; two methods each


def test_the_same_inputs_and_keys_give_the_same_bytes(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = signed_release(context)
    first = {p.name: p.read_bytes() for p in folder.iterdir()}
    folder = signed_release(context)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == first


def test_the_provenance_names_every_file_and_binary(context) -> None:  # type: ignore[no-untyped-def]
    folder = signed_release(context)
    env = json.loads((folder / "hello_1.2.3.intoto.jsonl").read_text())
    statement = json.loads(base64.b64decode(env["payload"]))
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    sums = dict(reversed(line.split("  ")) for line in (folder / SUMS).read_text().splitlines())
    files = {n for n in subjects if "/" not in n}
    assert files == set(sums) - {"manifest.json"}
    assert all(subjects[n] == sums[n] for n in files)
    binary = subjects["hello_1.2.3_linux-amd64.tar.gz/hello"]
    assert binary == hashlib.sha256(b"the bytes of linux-amd64\n").hexdigest()
    build = statement["predicate"]["buildDefinition"]
    assert build["externalParameters"]["version"] == "1.2.3"
    assert build["externalParameters"]["selection"] == ["linux-amd64", "windows-amd64"]
    assert statement["predicate"]["runDetails"]["metadata"]["startedOn"] == "2023-11-14T22:13:20Z"
    # the cosign key signs the provenance (docs/trust.md); its keyid is its public key's digest
    assert env["signatures"][0]["keyid"] == formats.key_id(ec_key().public_key())


def test_a_tampered_archive_is_caught(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = signed_release(context)
    archive = folder / "hello_1.2.3_linux-amd64.tar.gz"
    archive.write_bytes(archive.read_bytes() + b"\0")
    problems, rm = release_verify.check(folder)
    assert rm is not None
    problems += trust.check(folder, rm, public_keys(tmp_path)).problems
    joined = "\n".join(problems)
    assert "hello_1.2.3_linux-amd64.tar.gz: sha256 differs from SHA256SUMS" in joined
    assert "hello_1.2.3_linux-amd64.tar.gz.minisig: minisign signature does not match" in joined
    assert "hello_1.2.3_linux-amd64.tar.gz.sigstore.json: the bundle signs another file" in joined
    assert "hello_1.2.3.intoto.jsonl: hello_1.2.3_linux-amd64.tar.gz on disk differs" in joined


def test_a_swapped_signature_is_caught(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = signed_release(context)
    for suffix in (".minisig", ".sigstore.json"):
        other = (folder / f"hello_1.2.3_windows-amd64.zip{suffix}").read_bytes()
        (folder / f"{SUMS}{suffix}").write_bytes(other)
    res = verify_all(folder, public_keys(tmp_path), require=True)
    assert f"{SUMS}.minisig: minisign signature does not match" in res.problems
    assert f"{SUMS}.sigstore.json: the bundle signs another file (its messageDigest differs)" in res.problems
    assert any("no signature of it verifies" in p for p in res.problems)


def test_a_signature_by_another_key_is_caught(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = signed_release(context)
    (tmp_path / "other.pub").write_bytes(minisign_public_key(bytes(32), b"\x09" * 8))
    (tmp_path / "other-cosign.pub").write_bytes(ec_public(ec_key(8)))
    found, _ = trust.read_keys([tmp_path / "other.pub", tmp_path / "other-cosign.pub"])
    res = verify_all(folder, found)
    assert f"{SUMS}.minisig: signed by another minisign key" in res.problems
    assert f"{SUMS}.sigstore.json: Sigstore bundle signature does not match" in res.problems
    assert "hello_1.2.3.intoto.jsonl: no DSSE signature verifies with the given keys" in res.problems


def test_a_provenance_naming_another_digest_is_caught(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = signed_release(context)
    path = folder / "hello_1.2.3.intoto.jsonl"
    env = json.loads(path.read_text())
    statement = json.loads(base64.b64decode(env["payload"]))
    for s in statement["subject"]:
        if s["name"] == "hello_1.2.3_linux-amd64.tar.gz/hello":
            s["digest"]["sha256"] = "0" * 64
    # re-signed with the right key: the signature holds, the digest does not
    forged = formats.envelope(ec_key(), json.dumps(statement).encode())
    path.write_text(json.dumps(forged) + "\n")
    res = verify_all(folder, public_keys(tmp_path))
    real = hashlib.sha256(b"the bytes of linux-amd64\n").hexdigest()
    assert res.problems == [
        "hello_1.2.3.intoto.jsonl: gives hello_1.2.3_linux-amd64.tar.gz/hello sha256 0000000000000000..., "
        f"the release has {real[:16]}..."
    ]
    # an unsigned edit of the payload breaks the envelope's signature
    env["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    path.write_text(json.dumps(env) + "\n")
    res = verify_all(folder, public_keys(tmp_path))
    assert "hello_1.2.3.intoto.jsonl: no DSSE signature verifies with the given keys" in res.problems


def test_an_unsigned_release_fails_only_when_signatures_are_required(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx = context(TOML)
    (ctx.loaded.root / "LICENSE").write_text("MIT\n")
    synthetic_dist(ctx)
    release_stage.assemble(release_stage.from_project(ctx, [t.id for t in ctx.targets]))
    folder = ctx.dist / "release"
    assert verify_all(folder, public_keys(tmp_path)).problems == []
    assert verify_all(folder, public_keys(tmp_path), require=True).problems == [
        f"{SUMS}: no signature of it verifies with the given keys (--require-signatures); the release is unsigned",
        "no *.intoto.jsonl provenance in the release (--require-signatures)",
    ]


def test_signatures_without_a_key_are_reported_unchecked(context) -> None:  # type: ignore[no-untyped-def]
    folder = signed_release(context)
    res = verify_all(folder, trust.PublicKeys())
    assert res.problems == [] and res.verified == [] and f"{SUMS}.minisig" in res.unchecked
    assert any("no signature of it verifies" in p for p in verify_all(folder, trust.PublicKeys(), True).problems)


def test_a_signature_of_a_file_not_in_the_release_is_caught(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = signed_release(context)
    (folder / "planted.tar.gz.minisig").write_bytes((folder / f"{SUMS}.minisig").read_bytes())
    res = verify_all(folder, public_keys(tmp_path))
    assert res.problems == ["planted.tar.gz.minisig: signs planted.tar.gz, which is not in the release"]


def test_a_keyless_bundle_is_left_to_cosign(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = signed_release(context)
    (folder / f"{SUMS}.keyless.sigstore.json").write_text("{}")
    res = verify_all(folder, public_keys(tmp_path))
    assert res.problems == [] and any(u.startswith(f"{SUMS}.keyless.sigstore.json (keyless") for u in res.unchecked)


LINUX = "hello_1.2.3_linux-amd64.tar.gz"
WINDOWS = "hello_1.2.3_windows-amd64.zip"


def statements_of(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(base64.b64decode(json.loads(line)["payload"])) for line in path.read_text().splitlines()]


def test_each_target_gets_its_smoke_and_audit_attested(context) -> None:  # type: ignore[no-untyped-def]
    folder = signed_release(context)
    smoke, audit = statements_of(folder / f"{LINUX}.intoto.jsonl")
    assert smoke["predicateType"] == "https://in-toto.io/attestation/test-result/v0.1"
    assert smoke["subject"] == [
        {"name": f"{LINUX}/hello", "digest": {"sha256": hashlib.sha256(b"the bytes of linux-amd64\n").hexdigest()}}
    ]
    assert smoke["predicate"]["result"] == "PASSED"
    assert smoke["predicate"]["passedTests"] == ["native hello: exit code 0"]
    assert audit["predicateType"] == "https://gobuildx.dev/attestation/linkage/v1"
    assert audit["predicate"]["verdict"] == "pass" and audit["predicate"]["declared"] == "static"
    assert audit["subject"] == smoke["subject"]


def test_a_failed_smoke_is_attested_as_failed(context) -> None:  # type: ignore[no-untyped-def]
    ctx = context(SIGNED)
    (ctx.loaded.root / "LICENSE").write_text("MIT\n")
    (ctx.loaded.root / "keys").mkdir()
    (ctx.loaded.root / "keys" / "minisign.key").write_bytes(minisign_secret_key())
    synthetic_dist(ctx, smoke_failed="windows-amd64")
    ids = [t.id for t in ctx.targets]
    plan = sign_stage.plan(ctx, ids, environ())
    assert plan is not None
    inputs = release_stage.from_project(ctx, ids, allow_failures=True)
    release_stage.assemble(inputs, functools.partial(sign_stage.run, plan, ctx.dist))
    smoke = statements_of(ctx.dist / "release" / f"{WINDOWS}.intoto.jsonl")[0]
    assert smoke["predicate"]["result"] == "FAILED"
    assert smoke["predicate"]["failedTests"] == ["native hello: exit code 2"]


def test_a_smoke_attestation_for_another_binary_is_caught(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = signed_release(context)
    # validly signed, but about the Windows binary: moved beside the Linux archive
    (folder / f"{LINUX}.intoto.jsonl").write_bytes((folder / f"{WINDOWS}.intoto.jsonl").read_bytes())
    res = verify_all(folder, public_keys(tmp_path))
    assert res.problems == [
        f"{LINUX}.intoto.jsonl line 1: attests {WINDOWS}/hello.exe, not a binary of {LINUX}",
        f"{LINUX}.intoto.jsonl line 2: attests {WINDOWS}/hello.exe, not a binary of {LINUX}",
    ]
    # named right, signed right, digest of another build
    smoke = statements_of(folder / f"{WINDOWS}.intoto.jsonl")[0]
    smoke["subject"] = [{"name": f"{LINUX}/hello", "digest": {"sha256": "1" * 64}}]
    forged = json.dumps(formats.envelope(ec_key(), json.dumps(smoke).encode()))
    (folder / f"{LINUX}.intoto.jsonl").write_text(forged + "\n")
    res = verify_all(folder, public_keys(tmp_path))
    assert [p.split(" sha256 ")[0] for p in res.problems] == [f"{LINUX}.intoto.jsonl: gives {LINUX}/hello"]


def test_a_merged_release_is_signed_too(context, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`gobuildx merge` (the generated CI's release job) writes its release through
    pipeline.assemble with another dist: the keys are opened there, and closed after."""
    from gobuildx import pipeline

    ctx = context(SIGNED)
    (ctx.loaded.root / "LICENSE").write_text("MIT\n")
    (ctx.loaded.root / "keys").mkdir()
    (ctx.loaded.root / "keys" / "minisign.key").write_bytes(minisign_secret_key())
    synthetic_dist(ctx)
    for name, value in environ().items():
        monkeypatch.setenv(name, value)
    pipeline.assemble(ctx, [t.id for t in ctx.targets], dist=str(ctx.dist))
    res = verify_all(ctx.dist / "release", public_keys(tmp_path), require=True)
    assert res.problems == [] and f"{SUMS}.sigstore.json" in res.verified


def test_the_report_shows_each_target_signed_and_attested(context) -> None:  # type: ignore[no-untyped-def]
    from gobuildx.report import stage as report_page

    folder = signed_release(context)
    facts = report_page.trust_facts(folder.parent)
    assert [(f.label, f.value) for f in facts["linux-amd64"]] == [
        ("release signed", "minisign, cosign"),
        ("attested", "smoke and audit"),
        ("reproduced", "not rebuilt (gobuildx release --rebuild, or verify --rebuild)"),
    ]
    for suffix in (".minisig", ".sigstore.json"):
        (folder / f"{LINUX}{suffix}").unlink()
    (folder / f"{LINUX}.intoto.jsonl").unlink()
    facts = report_page.trust_facts(folder.parent)
    assert [f.value for f in facts["linux-amd64"]][:2] == ["minisign, cosign (through SHA256SUMS)", "no"]
    html = report_page.path_in(folder.parent)
    report_page.refresh(folder.parent)
    assert "minisign, cosign (through SHA256SUMS)" in html.read_text()


def test_the_rebuild_record_says_per_target_whether_it_was_reproduced() -> None:
    from gobuildx.model.release import Rebuild, RebuiltBinary

    record = Rebuild(
        commit="c" * 40,
        binaries=[
            RebuiltBinary(target="linux-amd64", binary="hello", sha256="a" * 64, identical=True),
            RebuiltBinary(target="linux-arm64", binary="hello", sha256="", identical=False),
        ],
    )
    assert record.reproduced("linux-amd64") is True
    assert record.reproduced("linux-arm64") is False
    assert record.reproduced("windows-amd64") is None


# Made by the real `COSIGN_PASSWORD=unit-test-only cosign generate-key-pair` (cosign v3.1.3),
# for this test only: it signs nothing anywhere. tests/integration/release/test_trust.py makes a
# fresh one with cosign each run and checks the signatures with cosign itself.
COSIGN_GENERATED_KEY = b"""-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjo2NTUzNiwiciI6
OCwicCI6MX0sInNhbHQiOiJGSUhIVW1HUXV2eU16Mml3d3U0ZVBnUG81TFFQNUJw
SlBDc3o2WHNIK1pnPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJWbEI2V3VHTzV5TVRiMzBOMkZQNC9PT0M2d3FReTBHMCJ9LCJj
aXBoZXJ0ZXh0IjoidnJhblVub3hKWTVYTjdlV01IaDFQUndrdFF4elh1eVQvYWVx
Zlo1U3FJL2o1clJ5bGhDOGpxenQ2dW5MWlFNdEgvU2RvcHNVOFVZQk04VzJvbHR0
dk04WTY5L2NSVDNxWjlXUVpmblNOakVyTTJiZkJhdzhOdXhKL2FabTcvdm9tWDFY
dEdrbFNsNE9BdUdxWUtOK2FOZCtyK1hXQmNvR1IrcmdpRVk1TVR4OXlybnJQaS9q
R3dMWVI4YS9LSFFVODhJZGxXcjRaZzQyMkE9PSJ9
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----
"""
COSIGN_GENERATED_PUB = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEY5l2x7zJ/tg8F6y5UmBcFQNWnFYF
I+HWebTdi4Wnic/riNvu91PC1+pMifzpPuGf9NiOxKSFXlsCVi9YChUy8g==
-----END PUBLIC KEY-----
"""


def test_cosigns_own_key_file_opens_with_its_passphrase_only() -> None:
    from cryptography.hazmat.primitives import serialization

    from gobuildx.sign import keys

    def secret(passphrase: bytes | None) -> keys.Secret:
        return keys.Secret(origin="file keys/cosign.key", text=COSIGN_GENERATED_KEY, passphrase=passphrase)

    key = keys.pem_private_key(secret(b"unit-test-only"), "sign.cosign")
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert public == COSIGN_GENERATED_PUB
    for wrong, message in (
        (b"unit-test-onlx", "the passphrase does not open"),
        (None, "is encrypted; set COSIGN_PASSWORD"),
    ):
        with pytest.raises(ConfigError) as exc:
            keys.pem_private_key(secret(wrong), "sign.cosign")
        assert message in str(exc.value) and "unit-test" not in str(exc.value)
    tampered = COSIGN_GENERATED_KEY.replace(b"R3dMWVI4", b"R3dMWVI5")  # one ciphertext byte: the tag fails
    with pytest.raises(ConfigError, match="the passphrase does not open"):
        keys.pem_private_key(keys.Secret(origin="x", text=tampered, passphrase=b"unit-test-only"), "sign.cosign")


def test_cosign_password_is_the_default_passphrase_of_the_cosign_key(tmp_path: Path) -> None:
    from gobuildx.project.config import KeySource
    from gobuildx.sign import keys

    source = KeySource(key_env="K")
    got = keys.read_secret("cosign", source, tmp_path, {"K": "text", "COSIGN_PASSWORD": "pw"})
    assert got.passphrase == b"pw"
    assert keys.read_secret("minisign", source, tmp_path, {"K": "text", "COSIGN_PASSWORD": "pw"}).passphrase is None
    named = KeySource(key_env="K", passphrase_env="MINE")
    assert (
        keys.read_secret("cosign", named, tmp_path, {"K": "t", "MINE": "m", "COSIGN_PASSWORD": "pw"}).passphrase == b"m"
    )


@pytest.mark.parametrize("password", ["", "set-for-another-key"])
def test_a_plain_pkcs8_cosign_key_opens_whatever_cosign_password_says(tmp_path: Path, password: str) -> None:
    """CI often exports COSIGN_PASSWORD (empty, or for cosign's own key file); a plain PKCS#8
    P-256 key must still open, as it did before COSIGN_PASSWORD was read."""
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    source = config.KeySource(key_env="K")
    secret = keys.read_secret("cosign", source, tmp_path, {"K": pem.decode(), "COSIGN_PASSWORD": password})
    assert isinstance(keys.pem_private_key(secret, "sign.cosign"), ec.EllipticCurvePrivateKey)
