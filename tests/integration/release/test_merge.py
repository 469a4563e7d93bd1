"""Fan-out: `matrix --format github`, `build --shard I/N` on separate "runners", `merge`, refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gobuildx.project import manifest_file
from tests.integration.release.conftest import IDS, IMAGE_TOML, gobuildx, make_project, read_json


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two runners, each a fresh checkout in its own directory, each building one shard."""
    base = tmp_path_factory.mktemp("runners")
    plan = make_project(base / "plan")
    matrix = json.loads(gobuildx(["matrix", "--format", "github", "--shards", "2"], cwd=plan).stdout)
    dists = []
    for job in matrix["include"]:
        runner = make_project(base / f"runner-{job['index']}")
        out = gobuildx(["build", "--shard", job["shard"]], cwd=runner).stdout
        assert f"shard {job['shard']}: {job['targets']}" in out
        dists.append(runner / "dist")
    return dists


def test_github_matrix_partitions_every_target(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    by_shard = json.loads(gobuildx(["matrix", "--format", "github", "--shards", "2"], cwd=root).stdout)
    assert [j["shard"] for j in by_shard["include"]] == ["1/2", "2/2"]
    ids = [i for j in by_shard["include"] for i in j["targets"].split()]
    assert sorted(ids) == IDS and len(ids) == len(set(ids))
    by_target = json.loads(gobuildx(["matrix", "--format", "github"], cwd=root).stdout)
    assert [j["target"] for j in by_target["include"]] == IDS
    capped = json.loads(gobuildx(["matrix", "--format", "github", "--shards", "9"], cwd=root).stdout)
    assert [j["shard"] for j in capped["include"]] == ["1/3", "2/3", "3/3"], "no empty shard"


def test_shards_merge_into_the_one_machine_release(shards: list[Path], one_machine: Path, tmp_path: Path) -> None:
    merger = make_project(tmp_path / "merge-job")
    proc = gobuildx(["merge", "--dir", str(shards[0]), "--dir", str(shards[1])], cwd=merger)
    assert "merged 3 targets from 2 runners" in proc.stdout
    merged, single = merger / "dist" / "release", one_machine / "dist" / "release"
    # merge alone: the same archives and SBOMs; its manifest has the shards' verdicts (audit, no smoke)
    assert _sums(merged, but="manifest.json") == _sums(single, but="manifest.json")
    assert read_json(merged / "manifest.json")["stages"]["smoke"] == "not run"
    assert "the smoke stage did not run" in proc.stdout
    gobuildx(["verify", str(merged)], cwd=merger)
    # the merge job then runs audit/image/smoke and the release on the merged artifacts, not compiling:
    # byte-identical to the one-machine release
    again = gobuildx(["release"], cwd=merger)
    assert "prebuilt (merged from" in again.stdout and "not compiling" in again.stdout
    assert "targets with go" not in again.stdout and "\n  built " not in again.stdout
    assert (merged / "SHA256SUMS").read_bytes() == (single / "SHA256SUMS").read_bytes()
    assert (merged / "manifest.json").read_bytes() == (single / "manifest.json").read_bytes()


def _sums(folder: Path, but: str) -> list[str]:
    return [line for line in (folder / "SHA256SUMS").read_text().splitlines() if not line.endswith("  " + but)]


def test_merge_accepts_a_quoted_glob(shards: list[Path], tmp_path: Path) -> None:
    merger = make_project(tmp_path / "glob-job")
    pattern = str(shards[0].parent.parent / "runner-*" / "dist")
    proc = gobuildx(["merge", "--dir", pattern, "--no-release"], cwd=merger)
    assert "from 2 runners" in proc.stdout
    assert not (merger / "dist" / "release").exists()
    assert sorted(t.id for t in manifest_file.read(merger / "dist").targets) == IDS  # type: ignore[union-attr]


def test_merge_refuses_missing_and_duplicate_targets(shards: list[Path], tmp_path: Path) -> None:
    merger = make_project(tmp_path / "job")
    proc = gobuildx(["merge", "--dir", str(shards[0])], cwd=merger, check=False)
    assert proc.returncode == 9
    assert "missing from every runner" in proc.stderr
    proc = gobuildx(
        ["merge", "--dir", str(shards[0]), "--dir", str(shards[0]), "--dir", str(shards[1])], cwd=merger, check=False
    )
    assert proc.returncode == 9 and "present 2 times" in proc.stderr
    assert not (merger / "dist" / "release").exists()


def _runner_copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def test_merge_refuses_disagreeing_toolchains(shards: list[Path], tmp_path: Path) -> None:
    odd = _runner_copy(shards[1], tmp_path / "odd")
    manifest_file.update(odd, lambda m: m.model_copy(update={"go": "go1.25.0"}))  # type: ignore[union-attr]
    merger = make_project(tmp_path / "job")
    proc = gobuildx(["merge", "--dir", str(shards[0]), "--dir", str(odd)], cwd=merger, check=False)
    assert proc.returncode == 9
    assert "disagree on go" in proc.stderr and "go1.25.0" in proc.stderr


def test_merge_refuses_a_changed_artifact(shards: list[Path], tmp_path: Path) -> None:
    odd = _runner_copy(shards[0], tmp_path / "odd")
    rec = manifest_file.read(odd).targets[0]  # type: ignore[union-attr]
    with open(odd / rec.artifacts[0].path, "ab") as fh:
        fh.write(b"\0")
    merger = make_project(tmp_path / "job")
    proc = gobuildx(["merge", "--dir", str(odd), "--dir", str(shards[1])], cwd=merger, check=False)
    assert proc.returncode == 9 and "does not match the sha256 its runner recorded" in proc.stderr


def _fail_audit(dist: Path, target_id: str) -> None:
    """What a runner whose audit failed leaves behind (through the real manifest model)."""

    def change(m):  # type: ignore[no-untyped-def]
        rec = m.target(target_id)
        assert rec is not None and rec.audit is not None, "the shard build audits its targets"
        m.upsert(
            rec.model_copy(
                update={
                    "audit": rec.audit.model_copy(update={"verdict": "fail", "problems": ["needs GLIBC_2.34 (test)"]})
                }
            )
        )
        return m

    manifest_file.update(dist, change)


def test_release_refuses_a_failed_audit_unless_allowed(shards: list[Path], tmp_path: Path) -> None:
    bad = _runner_copy(shards[0], tmp_path / "bad")
    victim = manifest_file.read(bad).targets[0].id  # type: ignore[union-attr]
    _fail_audit(bad, victim)
    merger = make_project(tmp_path / "job")
    proc = gobuildx(["merge", "--dir", str(bad), "--dir", str(shards[1])], cwd=merger, check=False)
    assert proc.returncode == 7, proc.stderr
    assert f"{victim}: audit failed" in proc.stderr and "--allow-failures" in proc.stderr
    assert not (merger / "dist" / "release").exists(), "a refused release writes nothing"
    assert not list((merger / "dist").glob(".release*")), "nor leaves a staging directory"
    gobuildx(["merge", "--dir", str(bad), "--dir", str(shards[1]), "--allow-failures"], cwd=merger)
    rm = read_json(merger / "dist" / "release" / "manifest.json")
    assert {t["id"]: t["audit"] for t in rm["targets"]}[victim] == "fail"
    assert len(rm["targets"]) == 3


def test_bad_shard_is_a_config_error(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    for bad in ("3/2", "0/2", "x"):
        proc = gobuildx(["build", "--shard", bad], cwd=root, check=False)
        assert proc.returncode == 2 and "--shard" in proc.stderr, (bad, proc.stderr)


def test_merge_job_rebuilds_the_same_image_index(tmp_path: Path, services: dict[str, str]) -> None:
    """Runners build binaries only; the merge job's release builds the images and the multi-arch
    index from the merged artifacts: the same digests as a one-machine release."""
    single = make_project(tmp_path / "single", IMAGE_TOML)
    gobuildx(["release"], cwd=single)
    dists = []
    for shard in ("1/2", "2/2"):
        runner = make_project(tmp_path / f"runner-{shard[0]}", IMAGE_TOML)
        gobuildx(["build", "--shard", shard], cwd=runner)
        dists.append(runner / "dist")
    merger = make_project(tmp_path / "merge-job", IMAGE_TOML)
    gobuildx(["merge", "--dir", str(dists[0]), "--dir", str(dists[1]), "--no-release"], cwd=merger)
    gobuildx(["release"], cwd=merger)
    want = read_json(single / "dist" / "release" / "manifest.json")
    got = read_json(merger / "dist" / "release" / "manifest.json")
    assert got["image_index"] and got["image_index"] == want["image_index"]
    assert [t["image"] for t in got["targets"]] == [t["image"] for t in want["targets"]]
    assert (merger / "dist" / "release" / "SHA256SUMS").read_bytes() == (
        single / "dist" / "release" / "SHA256SUMS"
    ).read_bytes()


def test_merged_artifacts_are_guarded_until_a_forced_build(shards: list[Path], tmp_path: Path) -> None:
    merger = make_project(tmp_path / "job")
    gobuildx(["merge", "--dir", str(shards[0]), "--dir", str(shards[1]), "--no-release"], cwd=merger)
    dist = merger / "dist"
    assert (dist / ".gobuildx" / "prebuilt.json").is_file()
    with open(dist / "linux-amd64" / "hello", "ab") as fh:
        fh.write(b"\0")
    proc = gobuildx(["release"], cwd=merger, check=False)
    assert proc.returncode == 4 and "changed since `gobuildx merge`" in proc.stderr
    assert not (dist / "release").exists()
    gobuildx(["build", "--force"], cwd=merger)
    assert not (dist / ".gobuildx" / "prebuilt.json").exists()
    gobuildx(["release"], cwd=merger)
    gobuildx(["verify", str(dist / "release")], cwd=merger)
