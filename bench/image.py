"""Image creation time per target: gobuildx (Docker engine path, daemonless OCI path) against
`docker build` of an equivalent hand-written single-stage Dockerfile, side by side in one run.

    .venv/bin/python bench/image.py [--targets linux-amd64,linux-arm64] [--rounds 3]

Needs a running engine and Go (ci/services.sh starts the engine). Builds examples/hello
for the targets first (not timed), then times, per round and target, the three ways of
turning the same artifact + certs + zoneinfo + passwd into an image. Prints medians and
ratios (docker build time / gobuildx time: above 1 means gobuildx is faster). The engine
path's two-stage build costs a full copy of the first stage's file system per build on the
vfs storage driver (COPY --from mounts it), even when every step is cached.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gobuildx.formats import oci
from gobuildx.image import rootfs
from gobuildx.image import stage as image
from gobuildx.project import manifest_file
from gobuildx.project.context import open_project
from gobuildx.project.engine import connect

HAND_DOCKERFILE = """\
FROM scratch
COPY hello /usr/local/bin/hello
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY zoneinfo/ /usr/share/zoneinfo/
COPY passwd group /etc/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/hello"]
"""
TOML = """
[project]
name = "hello"
dir = "hello"
version = "1.0.0"

[matrix.linux]
include = [{targets}]

[image]
repository = "127.0.0.1:5000/bench/hello"
"""


def setup(work: Path, targets: list[str]) -> Path:
    shutil.copytree(REPO / "examples" / "hello", work / "hello")
    specs = []
    for tid in targets:
        arch = tid.split("-", 1)[1]
        goarm = f', goarm = "{arch[-1]}"' if arch.startswith("armv") else ""
        specs.append(f'{{ goos = "linux", goarch = "{"arm" if goarm else arch}"{goarm} }}')
    (work / "targets.toml").write_text(TOML.format(targets=", ".join(specs)))
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    subprocess.run(
        [sys.executable, "-m", "gobuildx", "build"], cwd=work, env=env, check=True, capture_output=True, timeout=1800
    )
    return work


def hand_context(plan: image.Plan, dest: Path) -> Path:
    dest.mkdir()
    shutil.copy(plan.artifact, dest / "hello")
    shutil.copy(rootfs.CA_BUNDLE, dest / "ca-certificates.crt")
    shutil.copytree(
        rootfs.ZONEINFO,
        dest / "zoneinfo",
        symlinks=True,
        ignore=lambda d, names: [n for n in names if Path(d) == rootfs.ZONEINFO and n in rootfs.ZONEINFO_SKIP],
    )
    (dest / "passwd").write_text(
        "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n"
    )
    (dest / "group").write_text("root:x:0:\nnonroot:x:65532:\n")
    (dest / "Dockerfile").write_text(HAND_DOCKERFILE)
    return dest


def time_docker_build(ctx_dir: Path, platform: str, tag: str, no_cache: bool) -> float:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "DOCKER_BUILDKIT": "0",
        "DOCKER_HOST": os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
    }
    start = time.perf_counter()
    extra = ["--no-cache"] if no_cache else []
    subprocess.run(
        ["docker", "build", "-q", *extra, "--platform", platform, "-t", tag, str(ctx_dir)],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", default="linux-amd64,linux-arm64")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    targets = args.targets.split(",")
    with tempfile.TemporaryDirectory(prefix="gobuildx-bench-") as tmp:
        work = setup(Path(tmp), targets)
        ctx = open_project(work / "targets.toml", {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"})
        table = image.table_of(ctx)
        mani = manifest_file.read(ctx.dist)
        assert mani is not None
        plans = image.plan(ctx, table, image.select(ctx, table, ctx.select()), mani)
        repo = image.repository_of(ctx, table, None)
        api = connect(ctx.environ)
        times: dict[str, dict[str, list[float]]] = {
            p.target.id: {"engine": [], "oci": [], "docker": [], "nocache": []} for p in plans
        }
        for rnd in range(args.rounds):
            for p in plans:
                start = time.perf_counter()
                image.build_docker(ctx, [p], repo, [f"r{rnd}"], image.Options())
                times[p.target.id]["engine"].append(time.perf_counter() - start)
                start = time.perf_counter()
                img = oci.build(p.spec)
                oci.write_layout(Path(tmp) / f"layout-{p.target.id}", [img], oci.index([img]), ["x"])
                times[p.target.id]["oci"].append(time.perf_counter() - start)
                hand = hand_context(p, Path(tmp) / f"hand-{p.target.id}-{rnd}")
                times[p.target.id]["docker"].append(
                    time_docker_build(hand, str(p.spec.platform), f"bench-hand:{p.target.id}-{rnd}", False)
                )
                times[p.target.id]["nocache"].append(
                    time_docker_build(hand, str(p.spec.platform), f"bench-hand:{p.target.id}-{rnd}", True)
                )
        print(
            f"image creation per target, median of {args.rounds} rounds (seconds); ratio = docker build "
            "time / gobuildx time (above 1: gobuildx is faster). 'docker build' reuses its layer cache "
            "from round 2 on, as a rerun would; '--no-cache' never does."
        )
        print(
            f"{'target':14} {'docker build':>12} {'--no-cache':>10} {'gbx engine':>10} {'gbx oci':>8} "
            f"{'engine/cached':>13} {'engine/nocache':>14} {'oci/cached':>10} {'oci/nocache':>11}"
        )
        for tid, t in times.items():
            d, n, e, o = (statistics.median(t[k]) for k in ("docker", "nocache", "engine", "oci"))
            print(
                f"{tid:14} {d:12.2f} {n:10.2f} {e:10.2f} {o:8.2f} {d / e:13.2f} {n / e:14.2f} "
                f"{d / o:10.2f} {n / o:11.2f}"
            )
        api.close()


if __name__ == "__main__":
    main()
