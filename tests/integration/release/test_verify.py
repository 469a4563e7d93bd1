"""`gobuildx verify DIR` catches every kind of tampering, and passes an untouched release."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

from tests.conftest import run_gobuildx
from tests.integration.release.conftest import gobuildx, make_project, read_json

ARCHIVE = "hello_0.0.0-dev_linux-amd64.tar.gz"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rewrite_sums(rel: Path) -> None:
    """What a careful attacker does: recompute SHA256SUMS over the changed files."""
    names = sorted(p.name for p in rel.iterdir() if p.name != "SHA256SUMS")
    (rel / "SHA256SUMS").write_text("".join(f"{_sha(rel / n)}  {n}\n" for n in names))


def _verify(rel: Path) -> subprocess.CompletedProcess[str]:
    return gobuildx(["verify", str(rel)], cwd=rel.parent, check=False)


def test_untouched_release_verifies(release_copy: Path) -> None:
    proc = _verify(release_copy)
    assert proc.returncode == 0, proc.stderr
    assert "OK (3 targets" in proc.stdout


def test_flipped_byte_in_an_archive(release_copy: Path) -> None:
    path = release_copy / ARCHIVE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    proc = _verify(release_copy)
    assert proc.returncode == 8
    assert f"{ARCHIVE}: sha256 differs from SHA256SUMS" in proc.stderr
    assert (
        subprocess.run(
            ["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=release_copy, capture_output=True, timeout=60, check=False
        ).returncode
        != 0
    )


def test_replaced_archive_with_rewritten_checksums(release_copy: Path) -> None:
    (release_copy / ARCHIVE).write_bytes((release_copy / "hello_0.0.0-dev_wasip1-wasm.tar.gz").read_bytes())
    _rewrite_sums(release_copy)
    proc = _verify(release_copy)
    assert proc.returncode == 8
    assert f"linux-amd64: archive {ARCHIVE} is not in SHA256SUMS with the manifest's sha256" in proc.stderr


def _repack_with_other_binary(path: Path) -> bytes:
    out = io.BytesIO()
    with tarfile.open(path) as src, tarfile.open(fileobj=out, mode="w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "hello":
                data += b"\0backdoor"
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return out.getvalue()


def test_swapped_binary_with_rewritten_manifest_and_checksums(release_copy: Path) -> None:
    path = release_copy / ARCHIVE
    path.write_bytes(_repack_with_other_binary(path))
    rm = read_json(release_copy / "manifest.json")
    target = next(t for t in rm["targets"] if t["archive"]["name"] == ARCHIVE)
    target["archive"].update(sha256=_sha(path), size=path.stat().st_size)
    (release_copy / "manifest.json").write_text(json.dumps(rm, indent=2) + "\n")
    _rewrite_sums(release_copy)
    assert (
        subprocess.run(
            ["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=release_copy, capture_output=True, timeout=60, check=False
        ).returncode
        == 0
    )
    proc = _verify(release_copy)
    assert proc.returncode == 8
    assert f"{ARCHIVE}: hello differs from the binary the manifest records" in proc.stderr


def test_added_and_removed_files(release_copy: Path) -> None:
    (release_copy / "evil.sh").write_text("#!/bin/sh\n")
    sbom = next(release_copy.glob("*windows-amd64*.spdx.json"))
    sbom.unlink()
    proc = _verify(release_copy)
    assert proc.returncode == 8
    assert "evil.sh: present but not listed in SHA256SUMS" in proc.stderr
    assert f"{sbom.name}: listed in SHA256SUMS but missing" in proc.stderr


def test_not_a_release_folder(tmp_path: Path) -> None:
    proc = _verify(tmp_path)
    assert proc.returncode == 8 and "no SHA256SUMS" in proc.stderr


def test_odd_epoch_zip_release_verifies(tmp_path: Path) -> None:
    """A zip holds times in two-second steps: an odd SOURCE_DATE_EPOCH reads back one second
    earlier, and verify must expect exactly that (not the epoch, not anything else)."""
    root = make_project(tmp_path / "odd")
    env = {"SOURCE_DATE_EPOCH": "1700000001"}
    run_gobuildx(["release", "--target", "windows-amd64"], cwd=root, env=env, check=True)
    rel = root / "dist" / "release"
    proc = run_gobuildx(["verify", str(rel)], cwd=root, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (zipped,) = rel.glob("*.zip")
    with zipfile.ZipFile(zipped) as zf:
        assert {i.date_time for i in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}
