"""`gobuildx verify DIR`: re-check a release folder against its SHA256SUMS and manifest.json.

Needs no targets.toml and no Go: a consumer can verify a downloaded release. Every
mismatch is reported, not only the first.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pydantic import ValidationError

from gobuildx.model.release import MANIFEST, SUMS, ReleaseManifest, ReleaseTarget
from gobuildx.model.trust import is_trust_file
from gobuildx.release import archive, sbom
from gobuildx.util.files import sha256_file

SUMS_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")


def read_sums(path: Path) -> tuple[dict[str, str], list[str]]:
    sums: dict[str, str] = {}
    problems = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        match = SUMS_LINE.fullmatch(line)
        if not match:
            problems.append(f"{SUMS} line {n}: not '<sha256>  <name>': {line[:80]!r}")
        elif match.group(2) in sums:
            problems.append(f"{SUMS} line {n}: {match.group(2)} is listed twice")
        else:
            sums[match.group(2)] = match.group(1)
    return sums, problems


def check_sums(folder: Path, sums: dict[str, str]) -> list[str]:
    problems = []
    for name, digest in sorted(sums.items()):
        path = folder / name
        if "/" in name or not path.is_file():
            problems.append(f"{name}: listed in {SUMS} but missing")
        elif sha256_file(path) != digest:
            problems.append(f"{name}: sha256 differs from {SUMS} (modified or corrupted)")
    for path in sorted(folder.iterdir()):
        # signatures and provenance come after SHA256SUMS; gobuildx.sign.verify checks them
        if (
            path.name != SUMS
            and not path.name.startswith(SUMS + ".")
            and path.name not in sums
            and not is_trust_file(path.name)
        ):
            problems.append(f"{path.name}: present but not listed in {SUMS}")
    return problems


def _check_archive(folder: Path, rm: ReleaseManifest, t: ReleaseTarget) -> list[str]:
    name = t.archive.name
    try:
        members = archive.read(folder / name, t.archive.format)
    except ValueError as exc:
        return [str(exc)]
    if t.archive.format == "binary":  # the binary itself: no members, modes or times to check
        if [b.sha256 for b in t.binaries] != [hashlib.sha256(members[0].data).hexdigest()]:
            return [f"{name}: differs from the binary the manifest records"]
        return []
    problems = []
    by_name = {m.name: m for m in members}
    top = f"{t.archive.wrap}/" if t.archive.wrap else ""
    expected = {b.path for b in t.binaries} | {top + f for f in rm.files}
    if len(by_name) != len(members):
        problems.append(f"{name}: holds duplicate entries")
    if set(by_name) != expected:
        problems.append(f"{name}: holds {sorted(by_name)}, the manifest says {sorted(expected)}")
    if [m.name for m in members] != sorted(m.name for m in members):
        problems.append(f"{name}: entries are not sorted (not a gobuildx archive)")
    want_mtime = archive.stored_mtime(t.archive.format, rm.epoch)
    for m in members:
        if (m.uid, m.gid, m.mtime) != (0, 0, want_mtime):
            problems.append(f"{name}: {m.name} has uid/gid/mtime {m.uid}/{m.gid}/{m.mtime}, expected 0/0/{want_mtime}")
    for b in t.binaries:
        m = by_name.get(b.path)
        if m and hashlib.sha256(m.data).hexdigest() != b.sha256:
            problems.append(f"{name}: {b.path} differs from the binary the manifest records")
        if m and m.mode != archive.EXEC_MODE:
            problems.append(f"{name}: {b.path} has mode {m.mode:o}, expected 755")
    return problems


def _check_target(folder: Path, rm: ReleaseManifest, t: ReleaseTarget, sums: dict[str, str]) -> list[str]:
    problems = []
    if sums.get(t.archive.name) != t.archive.sha256:
        problems.append(f"{t.id}: archive {t.archive.name} is not in {SUMS} with the manifest's sha256")
    elif (folder / t.archive.name).is_file():
        problems += _check_archive(folder, rm, t)
    for b in t.binaries:
        if b.sbom is None:
            continue
        if sums.get(b.sbom) != b.sbom_sha256:
            problems.append(f"{t.id}: SBOM {b.sbom} is not in {SUMS} with the manifest's sha256")
        elif (folder / b.sbom).is_file() and sbom.described_digest((folder / b.sbom).read_bytes()) != b.sha256:
            problems.append(f"{t.id}: SBOM {b.sbom} describes another binary than {b.path}")
    for p in t.packages:
        if sums.get(p.name) != p.sha256:
            problems.append(f"{t.id}: package {p.name} is not in {SUMS} with the manifest's sha256")
    return problems


def check(folder: Path) -> tuple[list[str], ReleaseManifest | None]:
    """Every problem of a release folder (empty: it verifies), and its manifest if readable."""
    if not (folder / SUMS).is_file():
        return [f"{folder}: no {SUMS} (is it a `gobuildx release` folder, usually dist/release?)"], None
    sums, problems = read_sums(folder / SUMS)
    problems += check_sums(folder, sums)
    if MANIFEST not in sums:
        return problems + [f"{MANIFEST}: not listed in {SUMS}"], None
    try:
        rm = ReleaseManifest.model_validate_json((folder / MANIFEST).read_bytes())
    except (OSError, ValidationError, ValueError) as exc:
        return problems + [f"{MANIFEST}: not a gobuildx release manifest ({exc.__class__.__name__})"], None
    referenced = {MANIFEST}
    for t in rm.targets:
        problems += _check_target(folder, rm, t, sums)
        referenced |= {name for name, _ in t.files()}
    problems += [f"{name}: listed in {SUMS} but not part of {MANIFEST}" for name in sorted(set(sums) - referenced)]
    return problems + rebuild_problems(rm), rm


def rebuild_problems(rm: ReleaseManifest) -> list[str]:
    """A recorded `release --rebuild` agrees with itself and with the released binaries: an
    `identical` binary has the released sha256, a differing one another, `reproduced` follows."""
    if rm.rebuild is None:
        return [
            f"{t.id}: reproduced is {t.reproduced} but the manifest records no rebuild"
            for t in rm.targets
            if t.reproduced is not None
        ]
    released = {(t.id, b.binary): b.sha256 for t in rm.targets for b in t.binaries}
    out = []
    for b in rm.rebuild.binaries:
        sha = released.get((b.target, b.binary))
        if sha is None:
            out.append(f"{MANIFEST}: rebuild names {b.target}/{b.binary}, which the release does not hold")
        elif (sha == b.sha256) != b.identical:
            claim = "identical" if b.identical else "different"
            out.append(f"{b.target}: rebuild says {b.binary} was {claim}, but its sha256 says otherwise")
    for t in rm.targets:
        if t.reproduced != rm.rebuild.reproduced(t.id):
            out.append(
                f"{t.id}: reproduced is {t.reproduced}, but the rebuild's binaries say {rm.rebuild.reproduced(t.id)}"
            )
    return out
