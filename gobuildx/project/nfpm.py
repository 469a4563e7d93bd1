"""nfpm, the packager GoReleaser embeds: found in gobuildx's cache, built there with `go install`
the first time a package is needed, and run on a config gobuildx writes.

Shared by the package stage (the packages) and the package smoke runners (the stand-in
package that tells rpm which libc a root has), so it lives here, not in a stage.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gobuildx.errors import PackageFailed, ToolchainMissing
from gobuildx.project.goenv import find_go
from gobuildx.util.files import sibling, write_atomic
from gobuildx.util.lock import file_lock

NFPM_VERSION = "v2.45.2"
NFPM_MODULE = "github.com/goreleaser/nfpm/v2/cmd/nfpm"
INSTALL_TIMEOUT_S = 1800.0  # a cold module cache on 2 cores: a few minutes
PACKAGE_TIMEOUT_S = 300.0
# nfpm's own name for each format (`nfpm package --packager`) and the file ending gobuildx gives it.
EXTENSIONS = {"deb": ".deb", "rpm": ".rpm", "apk": ".apk", "archlinux": ".pkg.tar.zst"}


def tool_dir(cache_dir: Path) -> Path:
    return cache_dir / "tools" / f"nfpm-{NFPM_VERSION}"


def ensure(cache_dir: Path, environ: dict[str, str]) -> Path:
    """The nfpm binary, built into the cache once (under a lock; a temp dir renamed into place,
    so a killed install leaves nothing that looks finished)."""
    exe = tool_dir(cache_dir) / "nfpm"
    if exe.is_file():
        return exe
    with file_lock(cache_dir / "tools" / f".nfpm-{NFPM_VERSION}.lock"):
        if exe.is_file():
            return exe
        try:
            go, _ = find_go(environ)
        except ToolchainMissing as exc:
            raise PackageFailed(f"nfpm {NFPM_VERSION} is not installed and cannot be built: {exc}") from None
        tmp = sibling(tool_dir(cache_dir))
        shutil.rmtree(tmp, ignore_errors=True)
        env = {**environ, "GOBIN": str(tmp), "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
        try:
            proc = subprocess.run(
                [str(go), "install", f"{NFPM_MODULE}@{NFPM_VERSION}"],
                env=env,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            shutil.rmtree(tmp, ignore_errors=True)
            raise PackageFailed(
                f"go install {NFPM_MODULE}@{NFPM_VERSION}: no result in {INSTALL_TIMEOUT_S:g} s"
            ) from None
        if proc.returncode != 0 or not (tmp / "nfpm").is_file():
            shutil.rmtree(tmp, ignore_errors=True)
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
            raise PackageFailed(f"go install {NFPM_MODULE}@{NFPM_VERSION} failed:\n{tail}")
        shutil.rmtree(tool_dir(cache_dir), ignore_errors=True)  # a dir without nfpm in it (emptied by hand)
        os.replace(tmp, tool_dir(cache_dir))
    return exe


@dataclass(frozen=True)
class Job:
    """One package: nfpm's config (a dict, written as JSON, which YAML reads), its format, where it goes."""

    config: dict[str, Any]
    packager: str  # deb, rpm, apk, archlinux
    dest: Path
    work_dir: Path  # where the config file is written (and nfpm's temporaries)
    epoch: int  # SOURCE_DATE_EPOCH: every timestamp nfpm writes


def package(exe: Path, job: Job) -> None:
    """Run nfpm for one package; the file appears at job.dest whole or not at all."""
    job.work_dir.mkdir(parents=True, exist_ok=True)
    conf = job.work_dir / f"nfpm-{job.packager}.yaml"
    write_atomic(conf, (json.dumps(job.config, indent=2, sort_keys=True) + "\n").encode(), durable=False)
    tmp = sibling(job.dest)
    tmp.unlink(missing_ok=True)
    # A minimal environment: nfpm expands $VARS in some fields (checks.py refuses a `$` there)
    # and reads SOURCE_DATE_EPOCH for every timestamp it does not take from `mtime`.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(job.work_dir), "SOURCE_DATE_EPOCH": str(job.epoch), "TZ": "UTC"}
    argv = [str(exe), "package", "--config", str(conf), "--packager", job.packager, "--target", str(tmp)]
    try:
        proc = subprocess.run(
            argv, env=env, cwd=job.work_dir, capture_output=True, text=True, timeout=PACKAGE_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        tmp.unlink(missing_ok=True)
        raise PackageFailed(f"{job.dest.name}: nfpm gave no result in {PACKAGE_TIMEOUT_S:g} s") from None
    if proc.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        out = (proc.stderr or proc.stdout).strip()
        raise PackageFailed(f"{job.dest.name}: nfpm {job.packager} failed: {out}")
    os.replace(tmp, job.dest)
