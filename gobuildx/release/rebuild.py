"""`gobuildx verify --rebuild`: a release's binaries, built again from its recorded commit in
a fresh clone with an empty Go cache, compared by sha256. pipeline.rebuild runs the build;
this module clones and compares. A difference gets a diffoscope report beside the release."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from gobuildx.errors import VerifyFailed
from gobuildx.model.manifest import Manifest
from gobuildx.model.release import ArchiveFormat, Rebuild, RebuiltBinary, ReleaseManifest
from gobuildx.release import archive
from gobuildx.util.files import sha256_file, write_atomic
from gobuildx.util.git import git

REPORTS = "rebuild"  # beside the release folder: dist/rebuild/<target>-<binary>.diffoscope.txt
DIFFOSCOPE_TIMEOUT_S = 600


class Rebuilt(BaseModel):
    identical: list[str] = []  # "<target>/<binary>"
    problems: list[str] = []
    reports: list[str] = []


def clone(repo: Path, commit: str, dest: Path) -> Path:
    """A fresh clone of repo at commit (tags too, so `git describe` stamps the same version);
    returns the clone's top directory."""
    top = git(["rev-parse", "--show-toplevel"], repo)
    if commit == "none" or top is None:
        raise VerifyFailed(f"--rebuild: the release records commit {commit!r} and {repo} is no git repository")
    if git(["clone", "--quiet", "--no-checkout", top, str(dest)], repo) is None:
        raise VerifyFailed(f"--rebuild: cannot clone {top}")
    if git(["-c", "advice.detachedHead=false", "checkout", "--quiet", commit], dest) is None:
        raise VerifyFailed(f"--rebuild: commit {commit} is not in {top}")
    return Path(top)


def compare(rm: ReleaseManifest, release: Path, rebuilt: Manifest, dist: Path, scratch: Path) -> Rebuilt:
    out = Rebuilt()
    for t in rm.targets:
        rec = rebuilt.target(t.id)
        by_name = {a.binary: a for a in rec.artifacts} if rec is not None else {}
        for b in t.binaries:
            art = by_name.get(b.binary)
            if art is None:
                out.problems.append(f"{t.id}: {b.binary} was not rebuilt")
                continue
            if sha256_file(dist / art.path) == b.sha256:
                out.identical.append(f"{t.id}/{b.binary}")
                continue
            report = _diffoscope(
                release / t.archive.name, t.archive.format, b.path, dist / art.path, scratch, f"{t.id}-{b.binary}"
            )
            where = release.parent / REPORTS / report.name
            write_atomic(where, report.read_bytes())
            out.reports.append(str(where))
            out.problems.append(f"{t.id}: {b.binary} rebuilt from {rm.commit[:12]} differs (diffoscope: {where})")
    return out


def compare_built(
    built: Manifest, dist: Path, ids: Sequence[str], rebuilt: Manifest, fresh: Path, scratch: Path
) -> tuple[Rebuild, Rebuilt]:
    """`release --rebuild`, before the release is written: dist's built binaries against the
    fresh build's. Returns the record for the manifest and provenance, and what to tell (a
    difference gets its diffoscope report in dist/rebuild/)."""
    out, binaries = Rebuilt(), []
    for tid in sorted(ids):
        rec = built.target(tid)
        if rec is None or rec.status != "ok":
            continue
        again = rebuilt.target(tid)
        by_name = {a.binary: a for a in again.artifacts} if again is not None else {}
        for art in rec.artifacts:
            other = by_name.get(art.binary)
            sha = sha256_file(fresh / other.path) if other is not None else ""
            binaries.append(RebuiltBinary(target=tid, binary=art.binary, sha256=sha, identical=sha == art.sha256))
            if sha == art.sha256:
                out.identical.append(f"{tid}/{art.binary}")
                continue
            if other is None:
                out.problems.append(f"{tid}: {art.binary} was not rebuilt")
                continue
            report = _diffoscope_files(dist / art.path, fresh / other.path, scratch, f"{tid}-{art.binary}")
            where = dist / REPORTS / report.name
            write_atomic(where, report.read_bytes())
            out.reports.append(str(where))
            out.problems.append(f"{tid}: {art.binary} rebuilt from {built.commit[:12]} differs (diffoscope: {where})")
    return Rebuild(commit=built.commit, binaries=binaries), out


def _diffoscope(archive_path: Path, fmt: ArchiveFormat, inner: str, rebuilt: Path, scratch: Path, stem: str) -> Path:
    released = scratch / f"{stem}.released"
    member = next(m for m in archive.read(archive_path, fmt) if m.name == inner)
    released.write_bytes(member.data)
    return _diffoscope_files(released, rebuilt, scratch, stem)


def _diffoscope_files(released: Path, rebuilt: Path, scratch: Path, stem: str) -> Path:
    report = scratch / f"{stem}.diffoscope.txt"
    program = shutil.which("diffoscope")
    if program is None:
        report.write_text(
            f"diffoscope is not installed (Debian: apt-get install diffoscope-minimal)\n"
            f"released {sha256_file(released)}\nrebuilt  {sha256_file(rebuilt)}\n"
        )
        return report
    subprocess.run(
        [program, "--no-progress", "--text", str(report), str(released), str(rebuilt)],
        capture_output=True,
        timeout=DIFFOSCOPE_TIMEOUT_S,
        check=False,
    )
    return report
