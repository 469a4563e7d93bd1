"""smoke picks up the image runners (runners/container.py) for targets with an image in the manifest.

Called in-process after `gobuildx image`: the CLI's `smoke` first runs `build`, which today
rewrites up-to-date records without their `image` (reported to the lead).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from gobuildx.project.context import open_project
from gobuildx.smoke import stage as smoke
from gobuildx.smoke.runners.container import ContainerRunner
from tests.conftest import run_gobuildx

TARGETS = ["linux-amd64", "linux-arm64"]


def test_image_runners_run_for_targets_with_an_image(
    hello_smoke_root: Path, tmp_path: Path, services: dict[str, str]
) -> None:
    root = tmp_path / "p"
    shutil.copytree(hello_smoke_root, root, ignore=shutil.ignore_patterns("*.lock"))
    with open(root / "targets.toml", "a") as fh:
        fh.write('\n[image]\nrepository = "example.invalid/hello-smoke"\n')
    args = ["image", "--oci-layout", "layout", "--tarballs", "tars"] + [f"--target={t}" for t in TARGETS]
    run_gobuildx(args, cwd=root, timeout=1800, check=True)

    ctx = open_project(root / "targets.toml")
    assert ContainerRunner().availability(ctx.environ).available, "ci/services.sh started the engine"
    outcome = smoke.smoke(ctx, ctx.select("all", TARGETS), smoke.Options(jobs=2))
    for tid in TARGETS:
        by_runner = {r.runner: r for r in outcome.records[tid].results}
        assert set(by_runner) == {"native" if tid == "linux-amd64" else "qemu", "container", "image-rootfs"}
        assert by_runner["image-rootfs"].status == "passed", by_runner["image-rootfs"]
        assert "platform linux/" + tid.split("-")[1] in by_runner["image-rootfs"].output
        assert by_runner["container"].status == "passed", by_runner["container"]
    assert outcome.failed == []

    # No engine answering: the container runner says so and skips; the image's rootfs still runs.
    away = open_project(root / "targets.toml", {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    outcome = smoke.smoke(away, away.select("all", TARGETS), smoke.Options(jobs=2))
    for tid in TARGETS:
        by_runner = {r.runner: r for r in outcome.records[tid].results}
        assert by_runner["container"].status == "skipped", by_runner["container"]
        assert "no Docker engine answers" in by_runner["container"].reason, by_runner["container"]
        assert by_runner["image-rootfs"].status == "passed", by_runner["image-rootfs"]
    assert outcome.failed == []
