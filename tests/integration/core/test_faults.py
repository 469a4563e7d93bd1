"""Faults of the disk and of the process, with nothing lost: a dist that fills up during a build,
an image write or a release; a read-only dist; two commands on one dist at once; a kill -9 in
the middle of a manifest write. Each ends with a clear one-line error (or waits for the other),
leaves the previous good files as they were and no temporary behind, and the next run recovers.

The dist is a small tmpfs of its own (we run as root: `mount` needs CAP_SYS_ADMIN), unmounted
by the fixture even when a test fails. Nothing here pushes to a registry or needs a Docker engine.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, need, run_gobuildx

Mount = Callable[[Path, str], Path]
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock", "SOURCE_DATE_EPOCH": "1700000000"}
FULL = "No space left on device"
TOML = """
[project]
name = "hello"
dir = "hello"
version = "1.2.3"

[matrix.m]
goos = ["linux"]
goarch = ["amd64", "arm64"]
"""
IMAGE = '\n[image]\nrepository = "127.0.0.1:5000/test/faults"\ntags = ["{version}"]\n'
RELEASE = '\n[release]\nfiles = ["LICENSE"]\n'
# A full path (no receipt of an earlier run answers for it): the faults are in what it writes.
ENV = {**NO_ENGINE, "GOBUILDX_NO_FASTPATH": "1"}


def _mount(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def tmpfs() -> Iterator[Mount]:
    """tmpfs(DIR, SIZE) mounts a tmpfs of SIZE (e.g. "6m") at DIR; every one is unmounted at the end."""
    mounted: list[Path] = []

    def mount(where: Path, size: str) -> Path:
        where.mkdir(parents=True, exist_ok=True)
        proc = _mount(["-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)])
        need(proc.returncode == 0, f"cannot mount a tmpfs at {where} (needs root): {proc.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30, check=False)


def remount(where: Path, options: str) -> None:
    """Change a mounted tmpfs: `size=20m` (room made), `ro` or `rw`."""
    proc = _mount(["-o", f"remount,{options}", str(where)])
    assert proc.returncode == 0, proc.stderr


def fill(where: Path, leave: int = 0) -> Path:
    """Fill the file system of `where` up to `leave` bytes free, with one file (removed to make room)."""
    filler = where / "filler"
    st = os.statvfs(where)
    want = max(st.f_bavail * st.f_frsize - leave, 0)
    with open(filler, "wb") as fh:
        try:
            while want > 0:
                want -= fh.write(b"\0" * min(want, 1 << 20))
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def make_project(root: Path, extra: str = "") -> Path:
    import shutil

    shutil.copytree(REPO / "examples" / "hello", root / "hello")
    (root / "LICENSE").write_text("MIT\n")
    (root / "targets.toml").write_text(TOML + extra)
    return root


def snapshot(dist: Path) -> dict[str, str]:
    """sha256 of every file under dist except the report page, the logs and the lock (rewritten
    by every run, and no artifact)."""
    out = {}
    for path in sorted(dist.rglob("*")):
        rel = path.relative_to(dist).as_posix()
        if path.is_file() and rel not in ("report.html", "filler") and not rel.startswith(("logs/", ".gobuildx/")):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def temporaries(where: Path) -> list[Path]:
    return [p for p in where.rglob(".*") if ".tmp-" in p.name or ".old-" in p.name]


def assert_consistent(dist: Path) -> dict:
    """manifest.json parses and every artifact it records is on disk with its sha256; no temporaries."""
    data = json.loads((dist / "manifest.json").read_text())
    for rec in data["targets"]:
        for art in rec["artifacts"]:
            assert hashlib.sha256((dist / art["path"]).read_bytes()).hexdigest() == art["sha256"], art
    assert not temporaries(dist), temporaries(dist)
    return data


def one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    """The last stderr line is `gobuildx: ...` with every word; no traceback anywhere."""
    assert "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("gobuildx: ") and all(w in last for w in words), proc.stderr
    return last


def test_a_build_that_does_not_fit(tmp_path: Path, tmpfs: Mount) -> None:
    """A first build too big for its dist: the target that did not fit fails (exit 4, Go's
    message naming the file), nothing of it is published; with room made, a plain build ends it."""
    root = make_project(tmp_path)
    dist = tmpfs(root / "dist", "2m")  # one 1.5 MiB binary fits, two do not
    proc = run_gobuildx(["build"], cwd=root, env=ENV)
    assert proc.returncode == 4 and "Traceback" not in proc.stderr, proc.stderr
    assert "no space left on device" in proc.stdout.lower() and str(dist) in proc.stdout, proc.stdout
    data = assert_consistent(dist)
    failed = [r["id"] for r in data["targets"] if r["status"] == "failed"]
    assert len(failed) == 1 and not list((dist / failed[0]).iterdir())  # no half artifact
    assert not list((dist / ".gobuildx" / "out" / failed[0]).iterdir())  # nor a half staged one
    remount(dist, "size=20m")
    proc = run_gobuildx(["build"], cwd=root, env=ENV)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {r["status"] for r in assert_consistent(dist)["targets"]} == {"ok"}


def test_a_rebuild_on_a_full_disk_keeps_the_good_build(tmp_path: Path, tmpfs: Mount) -> None:
    """A --force rebuild when nothing can be written: exit 4, one line naming the file and the
    full disk; the artifacts and manifest of the build before are byte for byte as they were."""
    root = make_project(tmp_path)
    dist = tmpfs(root / "dist", "8m")
    run_gobuildx(["build"], cwd=root, env=ENV, check=True)
    before = snapshot(dist)
    filler = fill(dist)
    proc = run_gobuildx(["build", "--force"], cwd=root, env=ENV)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    one_line_error(proc, str(dist), FULL)
    assert snapshot(dist) == before
    assert not temporaries(dist), temporaries(dist)
    filler.unlink()
    proc = run_gobuildx(["build"], cwd=root, env=ENV)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_consistent(dist)


def test_an_image_layout_that_does_not_fit(tmp_path: Path, tmpfs: Mount) -> None:
    """The daemonless OCI layout (no Docker engine: DOCKER_HOST leads nowhere) on a disk with
    room for the manifest but not the layout: exit 5, one line naming the layout; the layout
    of the run before is intact; with room made, the next run writes it."""
    root = make_project(tmp_path, IMAGE)
    dist = tmpfs(root / "dist", "10m")
    layout = dist / "oci"
    args = ["image", "--oci-layout", str(layout)]
    run_gobuildx(args, cwd=root, env=ENV, check=True)
    before = snapshot(dist)
    filler = fill(dist, leave=256 << 10)  # the manifest and page fit; two more layers do not
    proc = run_gobuildx(args, cwd=root, env=ENV)
    assert proc.returncode == 5, proc.stdout + proc.stderr
    one_line_error(proc, str(layout), FULL)
    assert {k: v for k, v in snapshot(dist).items() if k.startswith("oci/")} == {
        k: v for k, v in before.items() if k.startswith("oci/")
    }
    assert not temporaries(dist), temporaries(dist)
    filler.unlink()
    run_gobuildx(args, cwd=root, env=ENV, check=True)
    index = json.loads((layout / "index.json").read_text())
    assert (layout / "blobs" / "sha256" / index["manifests"][0]["digest"].split(":")[1]).is_file()
    assert_consistent(dist)


def test_a_release_that_does_not_fit(tmp_path: Path, tmpfs: Mount) -> None:
    """A release on a disk with no room for its archives: exit 7, one line naming the file;
    the release before is whole (`gobuildx verify` passes it) and no staging is left."""
    root = make_project(tmp_path, RELEASE)
    dist = tmpfs(root / "dist", "12m")
    args = ["release", "--target", "linux-amd64"]
    run_gobuildx(args, cwd=root, env=ENV, check=True)
    before = {k: v for k, v in snapshot(dist).items() if k.startswith("release/")}
    filler = fill(dist, leave=256 << 10)
    proc = run_gobuildx(args, cwd=root, env=ENV)
    assert proc.returncode == 7, proc.stdout + proc.stderr
    one_line_error(proc, str(dist), FULL)
    assert {k: v for k, v in snapshot(dist).items() if k.startswith("release/")} == before
    assert not temporaries(dist), temporaries(dist)
    run_gobuildx(["verify", str(dist / "release")], cwd=root, env=ENV, check=True)
    filler.unlink()
    run_gobuildx(args, cwd=root, env=ENV, check=True)
    run_gobuildx(["verify", str(dist / "release")], cwd=root, env=ENV, check=True)


def test_a_read_only_dist(tmp_path: Path, tmpfs: Mount) -> None:
    """A read-only dist (root ignores modes: a read-only mount): build and release each end at
    once with their own code and one line naming the dist; once writable, a build works."""
    root = make_project(tmp_path, RELEASE)
    dist = tmpfs(root / "dist", "10m")
    run_gobuildx(["build"], cwd=root, env=ENV, check=True)
    before = snapshot(dist)
    remount(dist, "ro")
    for args, code in ((["build", "--force"], 4), (["release", "--target", "linux-amd64"], 7)):
        proc = run_gobuildx(args, cwd=root, env=ENV)
        assert proc.returncode == code, proc.stdout + proc.stderr
        one_line_error(proc, str(dist), "Read-only file system")
    remount(dist, "rw")
    assert snapshot(dist) == before
    run_gobuildx(["build", "--force"], cwd=root, env=ENV, check=True)
    assert_consistent(dist)


def start(args: list[str], root: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """`gobuildx ARGS` in the background, as run_gobuildx runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "gobuildx", *args],
        cwd=root,
        env={**os.environ, "CI": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_command_waits_for_the_first(tmp_path: Path) -> None:
    """While another command holds the dist (here: the test, holding its lock), a build says it
    waits and does not touch the dist; it runs once the other is done."""
    root = make_project(tmp_path)
    run_gobuildx(["build"], cwd=root, env=ENV, check=True)
    lock = root / "dist" / ".dist.lock"
    with open(lock, "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = start(["build", "--force"], root, ENV)
        try:
            time.sleep(5)
            assert proc.poll() is None, proc.communicate()
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    assert "waiting for another gobuildx command writing" in err, err
    assert_consistent(root / "dist")


@pytest.mark.parametrize("second", [["build", "--force"], ["release", "--target", "linux-amd64"]])
def test_two_commands_at_once(tmp_path: Path, second: list[str]) -> None:
    """Two commands started together on one dist both succeed, one after the other; the
    manifest then matches the artifacts on disk and nothing temporary is left."""
    root = make_project(tmp_path, RELEASE)
    env = {**ENV, "GOCACHE": str(tmp_path / "cold-cache")}  # a cold cache: slow enough that they overlap
    procs = [start(args, root, env) for args in (["build", "--force"], second)]
    outs = [p.communicate(timeout=900) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, out + err
    assert any("waiting for another gobuildx command" in err for _, err in outs), outs
    assert_consistent(root / "dist")
    if second[0] == "release":
        run_gobuildx(["verify", str(root / "dist" / "release")], cwd=root, env=ENV, check=True)


# Runs manifest_file.update in a child whose write stalls half-way (the temporary holds half
# the new manifest), so the test can kill -9 it there: the real writer, with only fsync slowed.
KILLED_WRITER = """
import os, sys, time
from pathlib import Path
from gobuildx.project import manifest_file

def stall(fd):
    size = os.fstat(fd).st_size
    os.ftruncate(fd, size // 2)
    print("writing", flush=True)
    time.sleep(600)

os.fsync = stall
dist = Path(sys.argv[1])
manifest_file.update(dist, lambda m: m.model_copy(update={"version": "9.9.9-never"}))
"""


def test_kill_9_in_the_middle_of_a_manifest_write(tmp_path: Path) -> None:
    """A process killed while it writes manifest.json leaves the previous manifest whole (the
    new one was going to a temporary and a rename); the next run reads it, and removes the
    dead writer's temporary."""
    root = make_project(tmp_path)
    dist = root / "dist"
    run_gobuildx(["build"], cwd=root, env=ENV, check=True)
    before = (dist / "manifest.json").read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(dist)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    stale = dist / f".manifest.json.tmp-{child.pid}"
    assert stale.is_file() and (dist / "manifest.json").read_bytes() == before
    proc = run_gobuildx(["build"], cwd=root, env=ENV)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = assert_consistent(dist)
    assert data["version"] == "1.2.3" and not stale.exists()
