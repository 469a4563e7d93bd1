"""The image runners of smoke: `container` (the engine) and `image-rootfs` (daemonless), for real."""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gobuildx.model.image import ImageRecord
from gobuildx.project.context import open_project
from gobuildx.smoke.runners.base import Check, Host, Job
from gobuildx.smoke.runners.container import (
    ContainerRunner,
    ImageRootfsRunner,
    extract,
    publish,
    unpack,
)
from tests.conftest import run_gobuildx
from tests.integration.image.conftest import clone, unique_repo


@pytest.fixture(scope="module")
def daemonless_project(hello_images: Path, services: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = clone(hello_images, tmp_path_factory.mktemp("runners") / "p")
    run_gobuildx(
        [
            "image",
            "-t",
            "linux-amd64",
            "-t",
            "linux-arm64",
            "-t",
            "linux-ppc64le",
            "-r",
            unique_repo("smoke"),
            "--oci-layout",
            "layout",
            "--tarballs",
            "tars",
        ],
        cwd=root,
        env=services,
        check=True,
    )
    return root


def job_for(root: Path, tid: str, check: Check, tmp: Path) -> Job:
    ctx = open_project(root / "targets.toml")
    target = next(t for t in ctx.targets if t.id == tid)
    record = next(t for t in json.loads((root / "dist" / "manifest.json").read_text())["targets"] if t["id"] == tid)
    return Job(
        target=target,
        binary="hello",
        artifact=root / "dist" / tid / "hello",
        check=check,
        host=Host(goos=ctx.go.hostos, goarch=ctx.go.hostarch),
        goroot=ctx.go.goroot,
        cache_dir=tmp / "cache",
        work_dir=tmp / "work" / tid,
        environ=dict(os.environ),
        record=record,
    )


def image_of(job: Job) -> ImageRecord:
    assert job.record is not None and job.record.image is not None
    return job.record.image


@pytest.mark.parametrize("runner", [ContainerRunner(), ImageRootfsRunner()], ids=lambda r: r.name)
@pytest.mark.parametrize("tid,arch", [("linux-amd64", "amd64"), ("linux-arm64", "arm64"), ("linux-ppc64le", "ppc64le")])
def test_image_runner_runs_the_image(
    daemonless_project: Path, tmp_path: Path, runner: object, tid: str, arch: str
) -> None:
    check = Check(args=["ok"], expect=rf"platform linux/{arch} .*\nargs \[ok\]")
    job = job_for(daemonless_project, tid, check, tmp_path)
    assert runner.applies(job) and runner.availability(job.environ).available  # type: ignore[attr-defined]
    result = runner.run(job)  # type: ignore[attr-defined]
    assert result.status == "passed", result


@pytest.mark.parametrize("runner", [ContainerRunner(), ImageRootfsRunner()], ids=lambda r: r.name)
def test_image_runner_fails_a_wrong_expectation(daemonless_project: Path, tmp_path: Path, runner: object) -> None:
    job = job_for(daemonless_project, "linux-arm64", Check(expect=r"platform linux/s390x"), tmp_path)
    result = runner.run(job)  # type: ignore[attr-defined]
    assert result.status == "failed" and "platform linux/arm64" in result.output, result


def test_image_rootfs_notices_a_foreign_entrypoint(daemonless_project: Path, tmp_path: Path) -> None:
    job = job_for(daemonless_project, "linux-arm64", Check(), tmp_path)
    assert job.record is not None and job.record.image is not None
    foreign = job.record.image.model_copy(update={"artifact_sha256": "0" * 64})
    result = ImageRootfsRunner().run(
        job.model_copy(update={"record": job.record.model_copy(update={"image": foreign})})
    )
    assert result.status == "failed" and "not the artifact 000000000000" in result.reason


def test_image_rootfs_unpack_that_loses_the_race_uses_the_winner(daemonless_project: Path, tmp_path: Path) -> None:
    """Two processes unpack the same image: the second's rename meets the first's populated
    directory, and must use it instead of failing ("cannot unpack")."""
    image = image_of(job_for(daemonless_project, "linux-arm64", Check(), tmp_path))
    cache = tmp_path / "cache" / "image-rootfs"
    winner = unpack(image, cache)  # the first process: cache/<digest>/rootfs now exists
    loser = cache / ".loser.tmp"
    extract(image, loser)  # the second process had checked before the first renamed, and unpacked too
    assert publish(loser, winner.parent) == winner
    assert not loser.exists() and sorted(os.listdir(cache)) == [winner.parent.name]
    entry = winner / image.entrypoint[0].lstrip("/")
    assert hashlib.sha256(entry.read_bytes()).hexdigest() == image.artifact_sha256
    assert unpack(image, cache) == winner  # and a later call reuses it


def test_image_rootfs_unpacks_in_parallel_jobs(daemonless_project: Path, tmp_path: Path) -> None:
    """Jobs of one smoke run (threads of one process) unpack the same image at once; all succeed."""
    image = image_of(job_for(daemonless_project, "linux-arm64", Check(), tmp_path))
    cache = tmp_path / "cache" / "image-rootfs"
    with ThreadPoolExecutor(max_workers=4) as pool:
        roots = list(pool.map(lambda _: unpack(image, cache), range(4)))
    assert len(set(roots)) == 1 and sorted(os.listdir(cache)) == [roots[0].parent.name]


def test_image_rootfs_forgets_trees_of_killed_runs(daemonless_project: Path, tmp_path: Path) -> None:
    """A run killed mid-unpack leaves its temporary tree; a later unpack removes it once it is
    old (an hour), and leaves a fresh one, which may be another job's work in progress."""
    image = image_of(job_for(daemonless_project, "linux-arm64", Check(), tmp_path))
    cache = tmp_path / "cache" / "image-rootfs"
    old, fresh = cache / ".abc.tmp-killed", cache / ".abc.tmp-working"
    for tree in (old, fresh):
        (tree / "rootfs").mkdir(parents=True)
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    root = unpack(image, cache)
    assert not old.exists() and fresh.is_dir()
    assert sorted(os.listdir(cache)) == sorted([root.parent.name, fresh.name])
