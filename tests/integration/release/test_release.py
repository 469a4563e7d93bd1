"""`gobuildx release`: archives, SHA256SUMS, SBOMs and manifest.json, reproducibly, or a refusal."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from gobuildx.errors import ReleaseRefused
from gobuildx.project.context import open_project
from gobuildx.release import stage as release_stage
from tests.conftest import git, go_program, need, run_gobuildx
from tests.integration.release.conftest import (
    ENV,
    EPOCH,
    IDS,
    IMAGE_TOML,
    TOML,
    gobuildx,
    make_project,
    read_json,
)

NAMES = {
    "linux-amd64": "hello_0.0.0-dev_linux-amd64.tar.gz",
    "windows-amd64": "hello_0.0.0-dev_windows-amd64.zip",
    "wasip1-wasm": "hello_0.0.0-dev_wasip1-wasm.tar.gz",
}


def test_sha256sum_accepts_the_checksums(one_machine: Path) -> None:
    rel = one_machine / "dist" / "release"
    proc = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=rel, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = sorted(line.split("  ", 1)[1] for line in (rel / "SHA256SUMS").read_text().splitlines())
    on_disk = sorted(p.name for p in rel.iterdir() if p.name != "SHA256SUMS")
    assert listed == on_disk
    assert set(NAMES.values()) <= set(listed) and "manifest.json" in listed
    assert len([n for n in listed if n.endswith(".spdx.json")]) == 3


def test_tar_archive_is_reproducible_in_form(one_machine: Path) -> None:
    path = one_machine / "dist" / "release" / NAMES["linux-amd64"]
    raw = path.read_bytes()
    assert raw[:3] == b"\x1f\x8b\x08" and raw[3] == 0, "gzip header must carry no file name"
    assert raw[4:8] == b"\0\0\0\0", "gzip header mtime must be 0"
    listing = subprocess.run(
        ["tar", "-tvzf", str(path), "--numeric-owner"], capture_output=True, text=True, timeout=60, check=True
    ).stdout.splitlines()
    assert [line.split()[-1] for line in listing] == ["LICENSE", "README.md", "hello"]
    with tarfile.open(path) as tar:
        members = tar.getmembers()
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {(0, 0, "", "", int(EPOCH))}
    assert {m.name: m.mode for m in members} == {"LICENSE": 0o644, "README.md": 0o644, "hello": 0o755}


def test_windows_gets_a_zip_with_the_exe(one_machine: Path) -> None:
    path = one_machine / "dist" / "release" / NAMES["windows-amd64"]
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        infos = zf.infolist()
    assert [i.filename for i in infos] == ["LICENSE", "README.md", "hello.exe"]
    assert {i.date_time for i in infos} == {(2023, 11, 14, 22, 13, 20)}
    assert (infos[2].external_attr >> 16) & 0o777 == 0o755
    need(shutil.which("unzip"), "unzip is not installed (apt-get install unzip)")
    out = subprocess.run(["unzip", "-l", str(path)], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "hello.exe" in out and "2023-11-14" in out


def test_archived_binary_is_the_built_one(one_machine: Path) -> None:
    dist = one_machine / "dist"
    with tarfile.open(dist / "release" / NAMES["linux-amd64"]) as tar:
        inner = tar.extractfile("hello").read()  # type: ignore[union-attr]
    assert inner == (dist / "linux-amd64" / "hello").read_bytes()


def test_release_manifest_records_every_target(one_machine: Path) -> None:
    rm = read_json(one_machine / "dist" / "release" / "manifest.json")
    built = read_json(one_machine / "dist" / "manifest.json")
    assert [t["id"] for t in rm["targets"]] == IDS
    assert rm["epoch"] == int(EPOCH) and rm["date"] == "2023-11-14T22:13:20Z"
    assert rm["go"] == built["go"] and rm["files"] == ["LICENSE", "README.md"]
    sums = dict(
        reversed(line.split("  ", 1))
        for line in (one_machine / "dist" / "release" / "SHA256SUMS").read_text().splitlines()
    )
    for t in rm["targets"]:
        art = next(r for r in built["targets"] if r["id"] == t["id"])["artifacts"][0]
        assert t["binaries"][0]["sha256"] == art["sha256"]
        assert t["archive"]["name"] == NAMES[t["id"]]
        assert sums[t["archive"]["name"]] == t["archive"]["sha256"]
        assert t["audit"] == "pass", "the audit ran as a pre-task of release"
        assert t["smoke"] == "pass", "the smoke stage ran as a pre-task (native, Wine, wasmtime)"
        assert t["image"] is None
    assert rm["stages"] == {"build": "ran", "audit": "ran", "image": "not run", "smoke": "ran"}
    assert rm["image_index"] is None


def test_sbom_lists_the_embedded_modules(one_machine: Path) -> None:
    rel = one_machine / "dist" / "release"
    rm = read_json(rel / "manifest.json")
    by_id = {t["id"]: t["binaries"][0] for t in rm["targets"]}
    doc = read_json(rel / by_id["linux-amd64"]["sbom"])
    assert doc["spdxVersion"] == "SPDX-2.3" and doc["dataLicense"] == "CC0-1.0"
    names = {p["name"]: p for p in doc["packages"]}
    assert names["hello"]["checksums"] == [{"algorithm": "SHA256", "checksumValue": by_id["linux-amd64"]["sha256"]}]
    assert names["example.com/hello"]["externalRefs"][0]["referenceLocator"] == "pkg:golang/example.com/hello"
    assert names["stdlib"]["versionInfo"] == rm["go"]
    assert {r["relationshipType"] for r in doc["relationships"]} == {"DESCRIBES", "CONTAINS", "DEPENDS_ON"}
    wasm = read_json(rel / by_id["wasip1-wasm"]["sbom"])
    assert [p["name"] for p in wasm["packages"]] == ["hello"]
    assert "no Go build info" in wasm["comment"]


def test_two_runs_give_identical_checksums(one_machine: Path, tmp_path: Path) -> None:
    """Another directory, a forced rebuild: byte-identical SHA256SUMS and archives."""
    other = make_project(tmp_path / "again")
    gobuildx(["build", "--force"], cwd=other)
    gobuildx(["release"], cwd=other)
    first = (one_machine / "dist" / "release" / "SHA256SUMS").read_bytes()
    assert (other / "dist" / "release" / "SHA256SUMS").read_bytes() == first
    gobuildx(["build", "--force"], cwd=other)
    gobuildx(["release"], cwd=other)
    assert (other / "dist" / "release" / "SHA256SUMS").read_bytes() == first


def test_cyclonedx_and_name_template(tmp_path: Path) -> None:
    toml = TOML.replace(
        'files = ["LICENSE", "README.md"]',
        'files = ["LICENSE"]\nsbom = "cyclonedx"\nname = "{project}-{goos}-{goarch}"',
    )
    root = make_project(tmp_path / "cdx", toml)
    gobuildx(["release", "--target", "linux-amd64"], cwd=root)
    rel = root / "dist" / "release"
    assert sorted(p.name for p in rel.iterdir()) == [
        "SHA256SUMS",
        "hello-linux-amd64.hello.cdx.json",
        "hello-linux-amd64.tar.gz",
        "manifest.json",
    ]
    bom = read_json(rel / "hello-linux-amd64.hello.cdx.json")
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.5"
    assert "pkg:golang/example.com/hello" in [c["purl"] for c in bom["components"]]


def test_bad_release_table_names_key_and_allowed_values(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "bad",
        '[project]\nname = "hello"\ndir = "hello"\n'
        '[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64"]\n'
        '[release]\nsbom = "spxd"\nfiles = ["NOTICE"]\n',
    )
    proc = gobuildx(["release"], cwd=root, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "release.sbom" in proc.stderr and "did you mean 'spdx'" in proc.stderr
    root2 = make_project(
        tmp_path / "bad2",
        '[project]\nname = "hello"\ndir = "hello"\n'
        '[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64"]\n'
        '[release]\nfiles = ["NOTICE"]\n',
    )
    proc = gobuildx(["release"], cwd=root2, check=False)
    assert proc.returncode == 2 and "release.files[0]" in proc.stderr and "NOTICE" in proc.stderr
    assert not (root2 / "dist" / "release").exists()
    (root2 / "targets.toml").write_text(
        '[project]\nname = "hello"\ndir = "hello"\n'
        '[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64", "arm64"]\n'
        '[release]\nname = "{project}-{goos}"\n'
    )
    proc = gobuildx(["release"], cwd=root2, check=False)
    assert proc.returncode == 2 and "'hello-linux' for both linux-amd64 and linux-arm64" in proc.stderr
    assert not (root2 / "dist" / "release").exists()


def test_archive_extracts_and_runs(one_machine: Path, tmp_path: Path) -> None:
    path = one_machine / "dist" / "release" / NAMES["linux-amd64"]
    subprocess.run(["tar", "-xzf", str(path), "-C", str(tmp_path)], check=True, timeout=60)
    out = subprocess.run([str(tmp_path / "hello"), "x"], capture_output=True, text=True, timeout=30, check=True)
    assert "hello 0.0.0-dev" in out.stdout and "built 2023-11-14T22:13:20Z" in out.stdout
    assert gzip.decompress(path.read_bytes())[:5] == b"LICEN"


FAILING_SMOKE = """
[[override]]
match = "linux-amd64"
smoke = { expect = "goodbye" }
"""


def test_failed_smoke_refuses_and_keeps_the_previous_release(tmp_path: Path) -> None:
    toml = TOML.replace('{ goos = "windows", goarch = "amd64" },\n', "")
    root = make_project(tmp_path / "p", toml)
    gobuildx(["release"], cwd=root)
    rel = root / "dist" / "release"
    before = (rel / "SHA256SUMS").read_bytes()
    (root / "targets.toml").write_text(toml + FAILING_SMOKE)
    proc = gobuildx(["release"], cwd=root, check=False)
    assert proc.returncode == 7, proc.stdout + proc.stderr
    assert "release refused: 1 target(s) blocked it" in proc.stderr
    assert "linux-amd64: smoke test failed" in proc.stderr and "wasip1-wasm" not in proc.stderr
    assert (rel / "SHA256SUMS").read_bytes() == before, "a refused release leaves the previous one"
    assert not [p.name for p in (root / "dist").iterdir() if p.name.startswith(".release")]
    gobuildx(["release", "--allow-failures"], cwd=root)
    rm = read_json(rel / "manifest.json")
    assert {t["id"]: t["smoke"] for t in rm["targets"]} == {"linux-amd64": "fail", "wasip1-wasm": "pass"}
    gobuildx(["verify", str(rel)], cwd=root)


OLD_GO = """#!/bin/sh
# Go before 1.24, as `go version -m -json` meets it; every other command is the real go.
if [ "$1" = version ] && [ "$3" = -json ]; then
  echo "flag provided but not defined: -json" >&2
  exit 2
fi
exec {go} "$@"
"""


def test_sboms_need_no_go_that_reads_build_info(tmp_path: Path) -> None:
    """The SBOM's modules are read from the binary by gobuildx itself: a Go without
    `go version -m -json` (before 1.24) builds and releases, with the same SBOM."""
    root = make_project(tmp_path / "p")
    gobuildx(["release", "--target", "linux-amd64"], cwd=root)
    rel = root / "dist" / "release"
    before = {p.name: p.read_bytes() for p in rel.iterdir()}
    fake_go = tmp_path / "fake-go"
    fake_go.write_text(OLD_GO.format(go=go_program()))
    fake_go.chmod(0o755)
    proc = run_gobuildx(["release", "--target", "linux-amd64"], cwd=root, env={**ENV, "GOBUILDX_GO": str(fake_go)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {p.name: p.read_bytes() for p in rel.iterdir()} == before


def test_an_unreadable_build_info_refuses_rather_than_an_empty_sbom(tmp_path: Path) -> None:
    """An SBOM without its modules would be a placeholder: the release is refused, the last one kept."""
    root = make_project(tmp_path / "p")
    gobuildx(["release", "--target", "linux-amd64"], cwd=root)
    rel = root / "dist" / "release"
    before = (rel / "SHA256SUMS").read_bytes()
    binary = root / "dist" / "linux-amd64" / "hello"
    data = bytearray(binary.read_bytes())
    at = data.find(b"\xff Go buildinf:")
    data[at + 15] = 0  # the flags of the header: no inline strings (Go < 1.18's pointer format)
    binary.unlink()  # the published artifact is a hard link to the build's staging copy
    binary.write_bytes(bytes(data))
    mf = read_json(root / "dist" / "manifest.json")  # as if a build (or a merged runner) had made these bytes
    mf["targets"][0]["artifacts"][0]["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    (root / "dist" / "manifest.json").write_text(json.dumps(mf, indent=2) + "\n")
    # `gobuildx release` would rebuild the artifact first: assemble the release from this dist
    ctx = open_project(root / "targets.toml")
    with pytest.raises(ReleaseRefused) as refused:
        release_stage.assemble(release_stage.from_project(ctx, ["linux-amd64"]))
    assert "cannot read the build info of" in str(refused.value) and "pre-1.18 pointer format" in str(refused.value)
    assert (rel / "SHA256SUMS").read_bytes() == before, "a refused release leaves the previous one"


def test_release_records_image_digests_and_index(tmp_path: Path, services: dict[str, str]) -> None:
    root = make_project(tmp_path / "img", IMAGE_TOML)
    proc = gobuildx(["release"], cwd=root)
    rm = read_json(root / "dist" / "release" / "manifest.json")
    built = read_json(root / "dist" / "manifest.json")
    assert rm["stages"] == {"build": "ran", "audit": "ran", "image": "ran", "smoke": "ran"}
    assert rm["image_index"] == built["image"]["digest"] and rm["image_index"].startswith("sha256:")
    assert rm["image_repository"] == "127.0.0.1:5000/gobuildx-release-test"
    for t in rm["targets"]:
        record = next(r for r in built["targets"] if r["id"] == t["id"])
        assert t["image"] == record["image"]["digest"] and t["image"] in proc.stdout
        assert t["smoke"] == "pass"


def test_sbom_lists_dependencies_and_replacements(tmp_path: Path) -> None:
    """A module with a dependency (replaced by a local directory, so no network is needed)."""
    app = tmp_path / "app"
    (app / "greet").mkdir(parents=True)
    (app / "go.mod").write_text(
        "module example.com/app\n\ngo 1.22\n\nrequire example.com/greet v1.2.3\n\n"
        "replace example.com/greet => ./greet\n"
    )
    (app / "greet" / "go.mod").write_text("module example.com/greet\n\ngo 1.22\n")
    (app / "greet" / "greet.go").write_text('package greet\n\nfunc Hello() string { return "hi" }\n')
    (app / "main.go").write_text(
        'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greet"\n)\n\nfunc main() { fmt.Println(greet.Hello()) }\n'
    )
    (tmp_path / "targets.toml").write_text(
        '[project]\nname = "app"\ndir = "app"\n\n[matrix.m]\ninclude = [{ goos = "linux", goarch = "arm64" }]\n'
    )
    gobuildx(["release"], cwd=tmp_path)
    rel = tmp_path / "dist" / "release"
    doc = read_json(next(rel.glob("*.spdx.json")))
    dep = next(p for p in doc["packages"] if p["name"] == "example.com/greet")
    assert dep["versionInfo"] == "v1.2.3"
    assert dep["externalRefs"][0]["referenceLocator"] == "pkg:golang/example.com/greet@v1.2.3"
    assert dep["comment"] == "replaced by the local directory ./greet"
    assert {
        "spdxElementId": "SPDXRef-Binary",
        "relationshipType": "DEPENDS_ON",
        "relatedSpdxElement": dep["SPDXID"],
    } in doc["relationships"]


def test_release_warns_when_no_commit_names_its_version(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    args = ["release", "--target", "linux-amd64"]
    plain = gobuildx(args, cwd=root)
    assert "stamped 0.0.0-dev with commit none" in plain.stderr and "tag a commit" in plain.stderr
    literal = (root / "targets.toml").read_text().replace("[project]\n", '[project]\nversion = "2.0.0"\n', 1)
    (root / "targets.toml").write_text(literal)
    stated = gobuildx(args, cwd=root)
    assert "stamped 2.0.0 with commit none" in stated.stderr and "project.version" not in stated.stderr
    (root / "targets.toml").write_text(literal.replace('version = "2.0.0"\n', ""))
    for step in (["init", "-q", "."], ["add", "-A"], ["commit", "-qm", "v1"], ["tag", "v1.0.0"]):
        git(root, *step)
    tagged = gobuildx(args, cwd=root)
    assert "warning" not in tagged.stderr and "hello_1.0.0_linux-amd64.tar.gz" in tagged.stdout, tagged.stderr
    (root / "README.md").write_text("# hello, edited\n")
    dirty = gobuildx(args, cwd=root)
    assert "stamped 1.0.0-dirty: built from uncommitted changes" in dirty.stderr, dirty.stderr
