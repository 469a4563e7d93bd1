"""Reproducible archives: the same files and epoch give the same bytes, on any machine.

tar.gz: entries sorted, mtime = epoch, uid/gid 0 with empty owner names, mode 0755
for executables and 0644 otherwise, GNU tar format, gzip header with mtime 0 and no
file name. zip: entries sorted, the epoch as DOS date (clamped to 1980-01-01, the
earliest a zip can hold, and rounded down to even seconds, its resolution), unix modes,
deflate.
"""

from __future__ import annotations

import calendar
import gzip
import io
import tarfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from gobuildx.model.release import ArchiveFormat

Format = ArchiveFormat
EXEC_MODE = 0o755
FILE_MODE = 0o644
ZIP_EPOCH_MIN = 315532800  # 1980-01-01T00:00:00Z
GZIP_LEVEL = 9


class Entry(BaseModel):
    """One file in an archive: its name inside, where it comes from, and whether it runs."""

    model_config = ConfigDict(frozen=True)

    name: str
    source: Path
    executable: bool = False

    @property
    def mode(self) -> int:
        return EXEC_MODE if self.executable else FILE_MODE


class Member(BaseModel):
    """One file read back from an archive (for verify)."""

    name: str
    mode: int
    mtime: int
    uid: int
    gid: int
    data: bytes


def format_for(goos: str, chosen: str = "auto") -> Format:
    """The format [release] chose for this GOOS (its format_overrides entry, else format);
    "auto": zip for windows, tar.gz otherwise."""
    if chosen == "auto":
        return "zip" if goos == "windows" else "tar.gz"
    return "zip" if chosen == "zip" else "tar.gz"


def write(fmt: Format, entries: Sequence[Entry], epoch: int) -> bytes:
    ordered = sorted(entries, key=lambda e: e.name)
    return _zip(ordered, epoch) if fmt == "zip" else _targz(ordered, epoch)


def _targz(entries: Sequence[Entry], epoch: int) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for entry in entries:
            data = entry.source.read_bytes()
            info = tarfile.TarInfo(entry.name)
            info.size = len(data)
            info.mtime = epoch
            info.mode = entry.mode
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=GZIP_LEVEL) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def stored_mtime(fmt: Format, epoch: int) -> int:
    """The mtime an archive of `fmt` gives its entries for `epoch`: a zip's DOS date counts
    two-second steps from 1980, so an odd epoch reads back one second earlier."""
    if fmt == "zip":
        return max(epoch, ZIP_EPOCH_MIN) // 2 * 2
    return epoch


def _zip(entries: Sequence[Entry], epoch: int) -> bytes:
    out = io.BytesIO()
    stamp = time.gmtime(stored_mtime("zip", epoch))[:6]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=stamp)
            info.create_system = 3  # unix, so external_attr carries the mode
            info.external_attr = (0o100000 | entry.mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entry.source.read_bytes(), compresslevel=GZIP_LEVEL)
    return out.getvalue()


def read(path: Path) -> list[Member]:
    """Every file in a .tar.gz or .zip, in archive order (raises ValueError if unreadable)."""
    try:
        if path.name.endswith(".zip"):
            return _read_zip(path)
        return _read_targz(path)
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path.name}: not a readable archive ({exc})") from None


def _read_targz(path: Path) -> list[Member]:
    out = []
    with tarfile.open(path, mode="r:gz") as tar:
        for info in tar.getmembers():
            fh = tar.extractfile(info) if info.isfile() else None
            out.append(
                Member(
                    name=info.name,
                    mode=info.mode,
                    mtime=int(info.mtime),
                    uid=info.uid,
                    gid=info.gid,
                    data=fh.read() if fh else b"",
                )
            )
    return out


def _read_zip(path: Path) -> list[Member]:
    out = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            mtime = calendar.timegm(info.date_time + (0, 0, 0))
            out.append(
                Member(
                    name=info.filename,
                    mode=(info.external_attr >> 16) & 0o7777,
                    mtime=mtime,
                    uid=0,
                    gid=0,
                    data=zf.read(info),
                )
            )
    return out
