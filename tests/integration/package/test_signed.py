"""Packages are release files like archives: with `[sign] files = "archives"` each gets a
signature, the provenance and the per-target attestations name it, and `gobuildx verify`
catches a changed package (minisign only here; tests/integration/release/test_trust.py covers
every signer on archives, through the same code)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import copy_example, need, run_gobuildx
from tests.integration.package.test_package import ENV, need_tools
from tests.integration.release.test_trust import SECRETS, minisign_keys

TOML = """
[project]
name = "hello"
dir = "hello"
version = "1.2.3"

[matrix.linux]
goos = ["linux"]
goarch = ["amd64"]

[package]
formats = ["deb", "rpm"]
maintainer = "Me <me@example.org>"
description = \"\"\"says hello
hello prints its version, its platform and its arguments.\"\"\"

[sign]
files = "archives"

[sign.minisign]
key = "keys/minisign.key"
passphrase_env = "TEST_MINISIGN_PASSPHRASE"
"""
DEB = "hello_1.2.3_linux-amd64.deb"
RPM = "hello_1.2.3_linux-amd64.rpm"


def test_packages_are_signed_attested_and_verified(tmp_path: Path) -> None:
    need_tools()
    need(shutil.which("minisign"), "minisign is not installed (ci/programs.txt)")
    root = tmp_path / "proj"
    root.mkdir()
    copy_example("hello", root)
    (root / "targets.toml").write_text(TOML)
    (root / "keys").mkdir()
    minisign_keys(root / "keys")
    pub = tmp_path / "minisign.pub"
    shutil.move(root / "keys" / "minisign.pub", pub)
    env = {**ENV, "TEST_MINISIGN_PASSPHRASE": SECRETS["TEST_MINISIGN_PASSPHRASE"]}
    proc = run_gobuildx(["release"], root, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    release = root / "dist" / "release"
    for name in (DEB, RPM):
        assert (release / f"{name}.minisig").is_file(), sorted(p.name for p in release.iterdir())
    statements = [
        json.loads(base64.b64decode(json.loads(line)["payload"]))
        for f in sorted(release.glob("*.intoto.jsonl"))
        for line in f.read_text().splitlines()
    ]
    kinds = {st["predicateType"] for st in statements}
    assert len(kinds) >= 3, kinds  # SLSA provenance, smoke test-result, linkage audit
    for st in statements:
        names = {s["name"] for s in st["subject"]}
        assert {DEB, RPM} <= names, (st["predicateType"], names)
    for name in (DEB, RPM):  # Debian's minisign itself, not only gobuildx's verifier
        real = subprocess.run(["minisign", "-V", "-p", str(pub), "-m", str(release / name)], capture_output=True)
        assert real.returncode == 0, real.stderr
    ok = run_gobuildx(["verify", str(release), "--key", str(pub), "--require-signatures"], root)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    tampered = tmp_path / "tampered"
    shutil.copytree(release, tampered)
    (tampered / DEB).write_bytes((tampered / DEB).read_bytes()[:-1] + b"\1")
    bad = run_gobuildx(["verify", str(tampered), "--key", str(pub)], root)
    assert bad.returncode == 8
    assert f"{DEB}: sha256 differs from SHA256SUMS" in bad.stderr, bad.stderr
    assert f"{DEB}.minisig: minisign signature does not match" in bad.stderr, bad.stderr
    refused = subprocess.run(["minisign", "-V", "-p", str(pub), "-m", str(tampered / DEB)], capture_output=True)
    assert refused.returncode != 0
    rm = json.loads((release / "manifest.json").read_text())
    assert [p["name"] for p in rm["targets"][0]["packages"]] == [DEB, RPM]
