"""Files written so a reader sees the old or the new content, never half; and their digests."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write to a temporary sibling, then rename: readers see old or new, never half.

    `durable` also fsyncs before the rename, so a power loss cannot leave an empty file
    under the new name; files derived from others (stamps, the report page) skip it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = sibling(path, "tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def sibling(path: Path, kind: str = "tmp") -> Path:
    """`.NAME.<kind>-PID` beside `path`: where this process prepares it (`tmp`) or parks the
    version it replaces (`old`). A hidden name that says whose it is, so a later run can
    tell a dead process's leftovers from a live one's (build._clean_temporaries)."""
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}")


def copy_atomic(src: Path, dest: Path, mode: int | None = None) -> None:
    """Copy `src` to a temporary sibling of `dest` (then chmod it), and rename it into place."""
    tmp = sibling(dest)
    shutil.copyfile(src, tmp)
    if mode is not None:
        os.chmod(tmp, mode)
    os.replace(tmp, dest)


def swap_dir(new: Path, dest: Path) -> None:
    """Put the finished directory `new` at `dest`: readers see the old tree or the new one,
    never a mix (the old one is renamed aside first, then removed)."""
    old = sibling(dest, "old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        os.replace(dest, old)
    os.replace(new, dest)
    shutil.rmtree(old, ignore_errors=True)
