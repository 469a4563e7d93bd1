"""Files written so a reader sees the old or the new content, never half; and their digests."""

from __future__ import annotations

import hashlib
import os
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
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)
