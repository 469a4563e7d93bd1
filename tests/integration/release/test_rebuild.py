"""`gobuildx verify --rebuild`: the release's binaries built again from the recorded commit,
in a fresh clone with an empty Go cache, match; a planted difference gets a diffoscope report."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import git, need, run_gobuildx
from tests.integration.release.conftest import ENV, ONE_TARGET_TOML, make_project


def tagged_project(root: Path) -> Path:
    make_project(root, ONE_TARGET_TOML)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "hello")
    git(root, "tag", "v1.0.0")
    return root


def test_a_clean_release_rebuilds_bit_for_bit(tmp_path: Path) -> None:
    root = tagged_project(tmp_path / "clean")
    run_gobuildx(["release"], cwd=root, env=ENV, check=True)
    proc = run_gobuildx(["verify", "dist/release", "--rebuild"], cwd=root, env=ENV, timeout=1800)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dist/release: rebuilt 1 binaries from the recorded commit: all identical" in proc.stdout
    assert not (root / "dist" / "rebuild").exists()


def test_a_planted_difference_is_reported_with_diffoscope(tmp_path: Path) -> None:
    need(shutil.which("diffoscope"), "diffoscope is not installed (ci/programs.txt: diffoscope-minimal)")
    root = tagged_project(tmp_path / "planted")
    main = root / "hello" / "main.go"
    main.write_text(main.read_text() + '\nvar planted = "planted"\n')
    assert "planted" in main.read_text()
    run_gobuildx(["release"], cwd=root, env=ENV, check=True)  # built from the uncommitted change
    proc = run_gobuildx(["verify", "dist/release", "--rebuild"], cwd=root, env=ENV, timeout=1800)
    assert proc.returncode == 8, proc.stdout + proc.stderr
    report = root / "dist" / "rebuild" / "linux-amd64-hello.diffoscope.txt"
    assert (
        "linux-amd64: hello rebuilt from " in proc.stderr
        and "dist/rebuild/linux-amd64-hello.diffoscope.txt" in proc.stderr
    )
    text = report.read_text()
    # diffoscope's own report: the released binary against the rebuilt one, section by section
    assert text.startswith("--- ") and "linux-amd64-hello.released" in text.splitlines()[0]
    assert text.splitlines()[1].startswith("+++ ") and "readelf" in text


SIGNED = '\n[sign]\n[sign.cosign]\nkey = "cosign.key.pem"\n'


def signed_tagged_project(root: Path) -> Path:
    """tagged_project with a cosign key (unencrypted, ignored by git) signing the provenance."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    make_project(root, ONE_TARGET_TOML + SIGNED)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = serialization.PrivateFormat.PKCS8
    (root / "cosign.key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, pem, serialization.NoEncryption())
    )
    (root / "cosign.pub").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (root / ".gitignore").write_text("cosign.key.pem\ndist/\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "hello")
    git(root, "tag", "v1.0.0")
    return root


def provenance_statement(release: Path) -> dict:  # type: ignore[type-arg]
    """The provenance's Statement, its DSSE signature checked by securesystemslib."""
    from cryptography.hazmat.primitives import serialization
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    from gobuildx.sign import formats

    public = serialization.load_pem_public_key((release.parent.parent / "cosign.pub").read_bytes())
    version = json.loads((release / "manifest.json").read_text())["version"]
    env = Envelope.from_dict(json.loads((release / f"hello_{version}.intoto.jsonl").read_text().strip()))
    key = SSlibKey.from_crypto(public, keyid=formats.key_id(public))  # type: ignore[arg-type]
    assert list(env.verify([key], 1)) == [key.keyid]
    return json.loads(env.pae()[env.pae().index(b"{") :])  # type: ignore[no-any-return]


def test_release_rebuild_records_the_result_in_the_manifest_the_provenance_and_the_report(tmp_path: Path) -> None:
    root = signed_tagged_project(tmp_path / "recorded")
    proc = run_gobuildx(["release", "--rebuild"], cwd=root, env=ENV, timeout=1800)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    release = root / "dist" / "release"
    rm = json.loads((release / "manifest.json").read_text())
    built = hashlib.sha256((root / "dist" / "linux-amd64" / "hello").read_bytes()).hexdigest()
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert rm["rebuild"] == {
        "commit": commit,
        "binaries": [{"target": "linux-amd64", "binary": "hello", "sha256": built, "identical": True}],
    }
    assert rm["targets"][0]["reproduced"] is True
    statement = provenance_statement(release)
    (byproduct,) = statement["predicate"]["runDetails"]["byproducts"]
    assert byproduct == {
        "name": "rebuild/hello_1.0.0_linux-amd64.tar.gz/hello",
        "digest": {"sha256": built},
        "annotations": {"commit": commit, "identical": True},
    }
    verified = run_gobuildx(
        ["verify", "dist/release", "--key", "cosign.pub", "--require-signatures"], cwd=root, env=ENV
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    html = (root / "dist" / "report.html").read_text()
    assert f"yes: rebuilt from {commit[:12]} in a fresh clone, identical" in html
    # the same inputs and key again: byte-identical release files, the rebuild's record included
    first = {p.name: p.read_bytes() for p in release.iterdir()}
    run_gobuildx(["release", "--rebuild"], cwd=root, env=ENV, timeout=1800, check=True)
    assert {p.name: p.read_bytes() for p in release.iterdir()} == first
    # a forged record (identical flipped, SHA256SUMS rewritten to match) is caught by verify
    forged = tmp_path / "forged"
    shutil.copytree(release, forged)
    doc = json.loads((forged / "manifest.json").read_text())
    doc["rebuild"]["binaries"][0]["identical"] = False
    (forged / "manifest.json").write_text(json.dumps(doc, indent=2) + "\n")
    sums = (forged / "SHA256SUMS").read_text().splitlines()
    new_sum = hashlib.sha256((forged / "manifest.json").read_bytes()).hexdigest()
    fixed = [f"{new_sum}  manifest.json" if ln.endswith("  manifest.json") else ln for ln in sums]
    (forged / "SHA256SUMS").write_text("\n".join(fixed) + "\n")
    caught = run_gobuildx(["verify", str(forged), "--key", "cosign.pub"], cwd=root, env=ENV)
    assert caught.returncode == 8, caught.stdout + caught.stderr
    for line in (
        "linux-amd64: rebuild says hello was different, but its sha256 says otherwise",
        "linux-amd64: reproduced is True, but the rebuild's binaries say False",
        "its rebuild result (runDetails.byproducts) differs from manifest.json's rebuild",
    ):
        assert line in caught.stderr, caught.stderr
    # the key that signed (a file the rebuild's clone never had) reaches no file and no output
    key_lines = [ln for ln in (root / "cosign.key.pem").read_text().splitlines() if not ln.startswith("-----")]
    for path in (p for p in (root / "dist").rglob("*") if p.is_file()):
        assert not [ln for ln in key_lines if ln.encode() in path.read_bytes()], path
    assert not [ln for ln in key_lines if ln in proc.stdout + proc.stderr]
    # and a release without --rebuild records none
    run_gobuildx(["release"], cwd=root, env=ENV, check=True)
    plain = json.loads((release / "manifest.json").read_text())
    assert plain["rebuild"] is None and plain["targets"][0]["reproduced"] is None
    assert "byproducts" not in provenance_statement(release)["predicate"]["runDetails"]


def test_release_rebuild_refuses_a_binary_that_differs_unless_allowed(tmp_path: Path) -> None:
    need(shutil.which("diffoscope"), "diffoscope is not installed (ci/programs.txt: diffoscope-minimal)")
    root = signed_tagged_project(tmp_path / "differs")
    main = root / "hello" / "main.go"
    main.write_text(main.read_text() + '\nvar planted = "planted"\n')  # built, not committed
    proc = run_gobuildx(["release", "--rebuild"], cwd=root, env=ENV, timeout=1800)
    assert proc.returncode == 7, proc.stdout + proc.stderr
    assert "--rebuild: 1 binaries are not reproducible" in proc.stderr
    assert (
        "linux-amd64: hello rebuilt from" in proc.stderr
        and "dist/rebuild/linux-amd64-hello.diffoscope.txt" in proc.stderr
    )
    assert not (root / "dist" / "release").exists()
    assert (root / "dist" / "rebuild" / "linux-amd64-hello.diffoscope.txt").read_text().startswith("--- ")
    allowed = run_gobuildx(["release", "--rebuild", "--allow-failures"], cwd=root, env=ENV, timeout=1800)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    rm = json.loads((root / "dist" / "release" / "manifest.json").read_text())
    assert rm["targets"][0]["reproduced"] is False
    assert rm["rebuild"]["binaries"][0]["identical"] is False
    byproduct = provenance_statement(root / "dist" / "release")["predicate"]["runDetails"]["byproducts"][0]
    assert byproduct["annotations"]["identical"] is False
    assert "no: rebuilt from" in (root / "dist" / "report.html").read_text()
