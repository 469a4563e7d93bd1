"""smoke picks up the image runners (runners/container.py) for targets with an image in the manifest.

Called in-process after `gobuildx image`: the CLI's `smoke` first runs `build`, which today
rewrites up-to-date records without their `image` (reported to the lead).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from gobuildx import smoke
from gobuildx.project import open_project
from gobuildx.runners.container import ContainerRunner
from tests.conftest import run_gobuildx

TARGETS = ["linux-amd64", "linux-arm64"]


def test_image_runners_run_for_targets_with_an_image(hello_smoke_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "p"
    shutil.copytree(hello_smoke_root, root, ignore=shutil.ignore_patterns("*.lock"))
    with open(root / "targets.toml", "a") as fh:
        fh.write('\n[image]\nrepository = "example.invalid/hello-smoke"\n')
    args = ["image", "--oci-layout", "layout", "--tarballs", "tars"] + [f"--target={t}" for t in TARGETS]
    run_gobuildx(args, cwd=root, timeout=1800, check=True)

    ctx = open_project(root / "targets.toml")
    outcome = smoke.smoke(ctx, ctx.select("all", TARGETS), smoke.Options(jobs=2))
    docker_up = ContainerRunner().availability(ctx.environ).available
    for tid in TARGETS:
        by_runner = {r.runner: r for r in outcome.records[tid].results}
        assert set(by_runner) == {"native" if tid == "linux-amd64" else "qemu", "container", "image-rootfs"}
        assert by_runner["image-rootfs"].status == "passed", by_runner["image-rootfs"]
        assert "platform linux/" + tid.split("-")[1] in by_runner["image-rootfs"].output
        container = by_runner["container"]
        assert container.status == ("passed" if docker_up else "skipped"), container
        if not docker_up:
            assert "install" in container.reason
    assert outcome.failed == []
