"""The image runners of smoke: `container` (the engine) and `image-rootfs` (daemonless), for real."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
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
from tests.conftest import REPO, go_program, run_gobuildx
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


@pytest.fixture(scope="module")
def probe_job(
    daemonless_project: Path, engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[Check, Path], Job]]:
    """linux-amd64's job, its image swapped for one of tests/integration/smoke/probe (which
    misbehaves on purpose), as the engine holds it: a scratch image run as uid 65532 with a
    world-writable /tmp, so only the container's own read-only root stops a write there."""
    ctx = tmp_path_factory.mktemp("probe-image")
    (ctx / "rootfs" / "tmp").mkdir(parents=True)
    (ctx / "rootfs" / "tmp").chmod(0o1777)
    env = {**os.environ, "GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0"}
    out = ctx / "rootfs" / "usr" / "local" / "bin" / "probe"
    src = REPO / "tests" / "integration" / "smoke" / "probe"
    subprocess.run([go_program(), "build", "-trimpath", "-o", str(out), "."], cwd=src, env=env, check=True)
    (ctx / "Dockerfile").write_text(
        'FROM scratch\nCOPY rootfs/ /\nUSER 65532:65532\nENTRYPOINT ["/usr/local/bin/probe"]\n'
    )
    tag = f"gobuildx-test/probe:{uuid.uuid4().hex[:8]}"
    built, _ = engine.images.build(path=str(ctx), tag=tag, pull=False, platform="linux/amd64", rm=True)

    def make(check: Check, tmp: Path) -> Job:
        job = job_for(daemonless_project, "linux-amd64", check, tmp)
        image = image_of(job).model_copy(
            update={
                "local_tags": [tag],
                "config_digest": built.id,
                "entrypoint": ["/usr/local/bin/probe"],
                "tarball": None,
                "oci_layout": None,
            }
        )
        assert job.record is not None
        return job.model_copy(update={"record": job.record.model_copy(update={"image": image})})

    yield make
    engine.images.remove(tag, force=True)


@pytest.mark.parametrize(
    "check",
    [
        Check(args=["whoami"], expect=r"uid 65532 gid 65532"),  # the image's own non-root user
        Check(args=["net"], exit_code=7, expect="no network beyond loopback"),  # network none
        Check(args=["write", "/tmp/probe-was-here"], exit_code=5, expect="read-only file system"),
    ],
    ids=["non-root", "no-network", "read-only"],
)
def test_the_container_runner_contains_the_image(
    probe_job: Callable[[Check, Path], Job], tmp_path: Path, check: Check
) -> None:
    result = ContainerRunner().run(probe_job(check, tmp_path))
    assert result.status == "passed", result
    assert result.command[:2] == ["docker", "run"] and "--read-only" in result.command
    assert result.log is not None and Path(result.log).read_text().strip() in result.output


@pytest.mark.parametrize(
    "check, limit",
    [
        (Check(args=["hog"], memory_mib=64, timeout_s=60), "exceeded the memory limit (64 MiB)"),
        (Check(args=["big", "/dev/shm/big"], file_size_mib=4, timeout_s=60), "exceeded the file size limit (4 MiB)"),
    ],
    ids=["memory", "file-size"],
)
def test_the_container_runner_applies_the_smoke_limits(
    probe_job: Callable[[Check, Path], Job], tmp_path: Path, check: Check, limit: str
) -> None:
    """[smoke] memory and file_size bind in the engine as well: the run fails naming the limit."""
    result = ContainerRunner().run(probe_job(check, tmp_path))
    assert result.status == "failed" and result.reason.startswith(limit), result
    assert "--memory" in result.command and "--pids-limit" in result.command, result.command
    assert result.duration_s < 50, result  # stopped by the limit, not by the timeout


def test_the_container_runner_applies_the_process_limit(
    probe_job: Callable[[Check, Path], Job], tmp_path: Path
) -> None:
    result = ContainerRunner().run(probe_job(Check(args=["fork", "61.5"], processes=16, timeout_s=60), tmp_path))
    assert result.status == "failed" and result.reason.startswith("exceeded the process limit (16"), result


def test_a_container_that_outlives_its_timeout_is_killed_and_removed(
    probe_job: Callable[[Check, Path], Job], engine: docker.DockerClient, tmp_path: Path
) -> None:
    start = time.monotonic()
    result = ContainerRunner().run(probe_job(Check(args=["serve", "127.0.0.1:8080"], timeout_s=3), tmp_path))
    assert result.status == "failed" and result.reason.startswith("hung: ") and "3s timeout" in result.reason, result
    assert "serving on 127.0.0.1:8080" in result.output and time.monotonic() - start < 60
    name = result.command[result.command.index("--name") + 1]
    assert engine.containers.list(all=True, filters={"name": name}) == []


def test_the_container_runner_fails_an_image_the_engine_lacks(
    probe_job: Callable[[Check, Path], Job], tmp_path: Path
) -> None:
    job = probe_job(Check(), tmp_path)
    assert job.record is not None and job.record.image is not None
    gone = job.record.image.model_copy(update={"local_tags": ["gobuildx-test/none:0"], "pushed": False})
    result = ContainerRunner().run(job.model_copy(update={"record": job.record.model_copy(update={"image": gone})}))
    assert result.status == "failed" and "the image is not in the engine" in result.reason, result


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
