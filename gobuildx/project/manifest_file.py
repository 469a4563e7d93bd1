"""dist/manifest.json on disk: read it, and update it under its lock (each stage adds its results)."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from pydantic import ValidationError

from gobuildx.errors import GobuildxError, NotBuilt
from gobuildx.model.manifest import MANIFEST, Manifest
from gobuildx.util.files import write_atomic
from gobuildx.util.lock import file_lock


def path_in(dist: Path) -> Path:
    return dist / MANIFEST


def read(dist: Path) -> Manifest | None:
    return _parse(path_in(dist), _read_bytes(path_in(dist)))


def require(dist: Path) -> Manifest:
    """The manifest of a dist that a stage reads: NotBuilt (one exit code for every stage) when absent."""
    found = read(dist)
    if found is None:
        raise NotBuilt(
            f"{path_in(dist)} does not exist: nothing was built there; run `gobuildx build` first"
            " (or `gobuildx merge` the runners' dist folders)"
        )
    return found


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _parse(path: Path, data: bytes | None) -> Manifest | None:
    if data is None:
        return None
    try:
        return Manifest.model_validate_json(data)
    except (ValidationError, ValueError) as exc:
        raise GobuildxError(
            f"{path}: not a gobuildx manifest ({exc.__class__.__name__}); delete it or run `gobuildx build --force`"
        ) from None


def locked(dist: Path) -> AbstractContextManager[None]:
    return file_lock(dist / ".manifest.lock")


def update(dist: Path, change: Callable[[Manifest | None], Manifest], durable: bool = True) -> Manifest:
    """Read, change and rewrite the manifest while holding its lock.

    An unchanged manifest is not rewritten: a stage with nothing to do costs no fsync,
    and the file's mtime says when something last changed. `durable=False` is for a
    progress flush that a later durable write of the same stage supersedes.
    """
    path = path_in(dist)
    with locked(dist):
        _drop_temporaries(path)
        before = _read_bytes(path)
        new = change(_parse(path, before))
        payload = (json.dumps(new.model_dump(mode="json"), indent=2, sort_keys=False) + "\n").encode()
        if payload != before:
            write_atomic(path, payload, durable=durable)
        return new


def _drop_temporaries(path: Path) -> None:
    """Remove the temporaries of manifest writes that never reached their rename (a process
    killed mid-write): only a holder of the lock writes one, and this process holds it now,
    so every one there is stale, whatever its pid says (a dead writer's pid may be reused)."""
    for tmp in path.parent.glob(f".{path.name}.tmp-*"):
        tmp.unlink(missing_ok=True)
