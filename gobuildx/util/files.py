"""Files written so a reader sees the old or the new content, never half; and their digests."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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
    with temporary(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)


@contextmanager
def temporary(path: Path) -> Iterator[Path]:
    """The temporary sibling to prepare `path` in, removed if that fails (a full disk must not
    leave half a file behind, taking the room the next run needs). The OSError then names
    `path` when it named nothing: a failed write() says only "No space left on device"."""
    tmp = sibling(path, "tmp")
    try:
        yield tmp
    except BaseException as exc:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)
        raise


def describe(exc: OSError) -> str:
    """One line for a failed file operation: `PATH: No space left on device`."""
    where = exc.filename2 if exc.filename2 is not None else exc.filename
    what = exc.strerror or str(exc)
    return f"{where}: {what}" if where is not None else what


def sibling(path: Path, kind: str = "tmp") -> Path:
    """`.NAME.<kind>-PID` beside `path`: where this process prepares it (`tmp`) or parks the
    version it replaces (`old`). A hidden name that says whose it is, so a later run can
    tell a dead process's leftovers from a live one's (build._clean_temporaries)."""
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}")


def copy_atomic(src: Path, dest: Path, mode: int | None = None) -> None:
    """Copy `src` to a temporary sibling of `dest` (then chmod it), and rename it into place."""
    with temporary(dest) as tmp:
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


def remove_stale(root: Path, patterns: tuple[str, ...]) -> None:
    """Remove the temporaries (files or directories, named by `sibling`) under `root` matching
    `patterns` whose process is dead: a live one's may be about to be renamed into place."""
    for pattern in patterns:
        for tmp in root.glob(pattern):
            if _alive(tmp.name.rpartition("-")[2]):
                continue
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)


def _alive(pid_text: str) -> bool:
    """Whether the pid in a temporary's name is another process still running."""
    if not pid_text.isdigit() or int(pid_text) in (0, os.getpid()):
        return False
    try:
        os.kill(int(pid_text), 0)
    except (ProcessLookupError, OverflowError):  # no such process (or no such pid at all)
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def gzip_reproducible(data: bytes, level: int = 9) -> bytes:
    """gzip -n: no file name and mtime 0 in the header, so the bytes depend on `data` alone
    (release archives, a package's changelog and man pages)."""
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=level) as gz:
        gz.write(data)
    return out.getvalue()
