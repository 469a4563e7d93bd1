"""Reproducible archives: the same files and epoch give the same bytes, on any machine.

tar.gz, tar.xz, tar.zst: one tar, entries sorted, mtime = epoch, uid/gid 0 with empty owner
names, mode 0755 for executables and 0644 otherwise, GNU tar format; gzip with header mtime 0
and no file name, xz at a fixed preset (one thread, CRC64), zstd at a fixed level with one
thread and the content size in the frame (the `zstandard` wheel: Python 3.11 has no zstd). zip:
entries sorted, the epoch as DOS date (clamped to 1980-01-01, the earliest a zip can hold, and
rounded down to even seconds, its resolution), unix modes, deflate. binary: the one binary's
bytes, no archive at all.
"""

from __future__ import annotations

import calendar
import gzip
import io
import lzma
import tarfile
import time
import typing
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict

from gobuildx.model.release import ArchiveFormat
from gobuildx.util.files import gzip_reproducible

Format = ArchiveFormat
EXEC_MODE = 0o755
FILE_MODE = 0o644
ZIP_EPOCH_MIN = 315532800  # 1980-01-01T00:00:00Z
GZIP_LEVEL = 9
XZ_PRESET = 6  # xz's default; fixed, as a preset change changes the bytes
ZSTD_LEVEL = 19
TARS = ("tar.gz", "tar.xz", "tar.zst")


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
    for fmt in typing.get_args(ArchiveFormat):
        if chosen == fmt:
            return fmt  # type: ignore[no-any-return]
    raise ValueError(f"archive format {chosen!r}; allowed: auto, {', '.join(typing.get_args(ArchiveFormat))}")


def extension(fmt: Format, binary_name: str) -> str:
    """What follows the name template in the file's name: .tar.gz, .zip; for binary the
    binary's own .exe or .wasm, as GoReleaser names a `binary` archive."""
    if fmt != "binary":
        return "." + fmt
    suffix = PurePosixPath(binary_name).suffix
    return suffix if suffix in (".exe", ".wasm") else ""


def write(fmt: Format, entries: Sequence[Entry], epoch: int) -> bytes:
    ordered = sorted(entries, key=lambda e: e.name)
    if fmt == "zip":
        return _zip(ordered, epoch)
    if fmt == "binary":
        if len(entries) != 1:
            raise ValueError(f"format binary holds one binary, not {len(entries)} files")
        return entries[0].source.read_bytes()
    raw = _tar(ordered, epoch)
    if fmt == "tar.xz":
        return lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=XZ_PRESET)
    if fmt == "tar.zst":
        import zstandard  # only a tar.zst release needs it

        return zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=0, write_content_size=True).compress(raw)
    return gzip_reproducible(raw, GZIP_LEVEL)


def _tar(entries: Sequence[Entry], epoch: int) -> bytes:
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
    return raw.getvalue()


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


def read(path: Path, fmt: Format | None = None) -> list[Member]:
    """Every file in an archive of `fmt` (else told by its name), in archive order; a `binary`
    one is one member named as the file (raises ValueError if unreadable)."""
    fmt = fmt or ("zip" if path.name.endswith(".zip") else next((t for t in TARS if path.name.endswith(t)), "tar.gz"))
    try:
        if fmt == "binary":
            return [Member(name=path.name, mode=EXEC_MODE, mtime=0, uid=0, gid=0, data=path.read_bytes())]
        if fmt == "zip":
            return _read_zip(path)
        return _read_tar(path, fmt)
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile, lzma.LZMAError) as exc:
        raise ValueError(f"{path.name}: not a readable archive ({exc})") from None


def _untar_source(path: Path, fmt: str) -> io.BytesIO:
    raw = path.read_bytes()
    if fmt == "tar.zst":
        import zstandard

        try:
            return io.BytesIO(zstandard.ZstdDecompressor().decompress(raw))
        except zstandard.ZstdError as exc:
            raise ValueError(f"{path.name}: not a readable archive ({exc})") from None
    return io.BytesIO(lzma.decompress(raw) if fmt == "tar.xz" else gzip.decompress(raw))


def _read_tar(path: Path, fmt: str) -> list[Member]:
    out = []
    with tarfile.open(fileobj=_untar_source(path, fmt), mode="r:") as tar:
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
