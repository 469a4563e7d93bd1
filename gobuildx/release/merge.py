"""Joining the dist folders of several CI runners into one dist, checked, as if built on one machine.

Every selected target must be present exactly once; the runners must agree on the
project, version, commit, date, Go and gobuildx versions; every artifact must match
the digest its runner recorded. The joined dist is marked *prebuilt*
(dist/.gobuildx/prebuilt.json): later stages in the same job (`gobuildx release`,
audit, smoke) use its artifacts instead of compiling again, as long as they are
unchanged. `gobuildx build --force` discards the mark and builds locally.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from gobuildx.errors import BuildFailed, MergeFailed
from gobuildx.model.manifest import Manifest, TargetRecord
from gobuildx.project import manifest_file
from gobuildx.util.files import copy_atomic, sha256_file, write_atomic

HEADER_KEYS = ("project", "version", "commit", "date", "go", "gobuildx")
PREBUILT = Path(".gobuildx") / "prebuilt.json"


class Prebuilt(BaseModel):
    """The mark a merge leaves: which runner dirs it joined and the digest of every artifact."""

    sources: list[str]
    artifacts: dict[str, dict[str, str]]  # target id -> artifact path -> sha256


def expand_dirs(given: Sequence[str]) -> list[Path]:
    """--dir values; a value with *, ? or [ is a glob (quote it so the shell leaves it alone)."""
    out: list[Path] = []
    for value in given:
        if any(ch in value for ch in "*?["):
            matches = sorted(glob.glob(value))
            if not matches:
                raise MergeFailed(f"--dir {value!r} matches no directory")
            out += [Path(m) for m in matches]
        else:
            out.append(Path(value))
    return out


def _read_all(dirs: Sequence[Path]) -> list[tuple[Path, Manifest]]:
    found, problems = [], []
    for d in dirs:
        m = manifest_file.read(d) if d.is_dir() else None
        if m is None:
            problems.append(f"{d}: no manifest.json (is it the dist folder of a `gobuildx build --shard` run?)")
        else:
            found.append((d, m))
    if problems:
        raise MergeFailed("cannot merge:\n  " + "\n  ".join(problems))
    return found


def _header_problems(found: Sequence[tuple[Path, Manifest]]) -> list[str]:
    problems = []
    for key in HEADER_KEYS:
        values = {str(getattr(m, key)) for _, m in found}
        if len(values) > 1:
            each = ", ".join(f"{d}: {getattr(m, key)}" for d, m in found)
            problems.append(
                f"the runners disagree on {key} ({each}); every shard must build the "
                "same commit with the same Go and gobuildx"
            )
    return problems


Owners = dict[str, tuple[Path, TargetRecord]]  # target id -> (runner dist, its record)


def _owners(found: Sequence[tuple[Path, Manifest]], expected: Sequence[str]) -> tuple[Owners, list[str]]:
    owners: Owners = {}
    seen: dict[str, list[str]] = {}
    for d, m in found:
        for rec in m.targets:
            seen.setdefault(rec.id, []).append(str(d))
            owners.setdefault(rec.id, (d, rec))
    problems = [
        f"{tid} is present {len(where)} times ({', '.join(where)}); each target must be built by exactly one shard"
        for tid, where in sorted(seen.items())
        if len(where) > 1
    ]
    missing = sorted(set(expected) - set(seen))
    extra = sorted(set(seen) - set(expected))
    if missing:
        problems.append(
            f"missing from every runner: {', '.join(missing)} (did a shard job fail, "
            "or use another targets.toml or --matrix?)"
        )
    if extra:
        problems.append(
            f"not in the selected matrix: {', '.join(extra)} (merge with the same --matrix/--target the shards used)"
        )
    return owners, problems


def _copy_checked(src_dir: Path, rec: TargetRecord, out: Path) -> list[str]:
    problems = []
    for art in rec.artifacts:
        src = src_dir / art.path
        if not src.is_file():
            problems.append(f"{rec.id}: {src} is missing")
            continue
        if sha256_file(src) != art.sha256:
            problems.append(f"{rec.id}: {src} does not match the sha256 its runner recorded")
            continue
        dest = out / art.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        copy_atomic(src, dest, mode=0o755)
    if rec.log and (src_dir / rec.log).is_file():
        write_atomic(out / rec.log, (src_dir / rec.log).read_bytes())
    return problems


def join(dirs: Sequence[Path], out: Path, expected: Sequence[str]) -> Manifest:
    """Check the runners' dist folders and write the joined dist to `out`."""
    out = out.resolve()
    if any(d.resolve() == out for d in dirs):
        raise MergeFailed(f"{out} is both an input and the output; merge into another directory (--out)")
    found = _read_all(dirs)
    owners, problems = _owners(found, expected)
    problems = _header_problems(found) + problems
    if problems:
        raise MergeFailed("cannot merge the runners' dist folders:\n  " + "\n  ".join(problems))
    for tid in sorted(owners):
        d, rec = owners[tid]
        problems += _copy_checked(d, rec, out)
    if problems:
        raise MergeFailed("cannot merge the runners' dist folders:\n  " + "\n  ".join(problems))
    joined = _joined(found[0][1], [owners[t][1] for t in sorted(owners)])
    manifest_file.update(out, lambda _old: joined)
    mark = Prebuilt(
        sources=[str(d) for d, _ in found],
        artifacts={t: {a.path: a.sha256 for a in r.artifacts} for t, (_, r) in owners.items()},
    )
    write_atomic(out / PREBUILT, (mark.model_dump_json(indent=2) + "\n").encode())
    return joined


def _joined(header: Manifest, records: list[TargetRecord]) -> Manifest:
    """The merged manifest. Images are not carried over: each runner's images live in its own
    engine or layout, so the merge job builds them (and the multi-arch index) from the merged
    artifacts with `gobuildx image` / `gobuildx release`. Nor are packages (their files stay in
    the runners' dist/packages): `gobuildx release` on the merge job makes them again."""
    targets = [r.model_copy(update={"image": None, "packages": None}) for r in records]
    return header.model_copy(update={"targets": targets, "stages": [], "image": None})


def prebuilt(dist: Path, ids: Sequence[str]) -> list[TargetRecord] | None:
    """The merged records for `ids` if dist holds a merge, unchanged; None if it holds no merge."""
    try:
        mark = Prebuilt.model_validate_json((dist / PREBUILT).read_bytes())
    except (OSError, ValueError):
        return None
    missing = sorted(set(ids) - set(mark.artifacts))
    if missing:
        raise BuildFailed(
            f"{dist} holds artifacts merged from other runners, without {', '.join(missing)}; "
            "merge the shard that built them, or `gobuildx build --force` to build here"
        )
    m = manifest_file.read(dist)
    records = []
    for tid in ids:
        rec = m.target(tid) if m else None
        if rec is None:
            raise BuildFailed(
                f"{dist}/manifest.json lost {tid} since `gobuildx merge`; merge again, "
                "or `gobuildx build --force` to build here"
            )
        for path, digest in mark.artifacts[tid].items():
            if not (dist / path).is_file() or sha256_file(dist / path) != digest:
                raise BuildFailed(
                    f"{dist / path} changed since `gobuildx merge`; merge again, "
                    "or `gobuildx build --force` to build here"
                )
        records.append(rec)
    return records


def forget_prebuilt(dist: Path) -> None:
    (dist / PREBUILT).unlink(missing_ok=True)


def describe(dist: Path) -> str:
    try:
        return ", ".join(json.loads((dist / PREBUILT).read_text())["sources"])
    except (OSError, ValueError, KeyError):
        return "other runners"
