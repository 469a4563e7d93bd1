"""Unpacking an image layer stays inside its rootfs, on every Python gobuildx supports: with
tarfile's "tar" filter (3.11.4+) and with the by-hand checks for Debian 12's 3.11.2, which has
no filter argument (the image-rootfs runner failed there on every image)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from gobuildx.smoke.runners.container import extract_within


def layer(*members: tuple[str, str, str]) -> tarfile.TarFile:
    """(kind, name, data-or-link-target) -> an open tar archive."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for kind, name, value in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size, info.mode = len(value), 0o6777
                tar.addfile(info, io.BytesIO(value.encode()))
            else:
                info.type, info.linkname = tarfile.SYMTYPE, value
                tar.addfile(info)
    buf.seek(0)
    return tarfile.open(fileobj=buf)


# The by-hand path everywhere; the filter path where this Python has the filter (3.11.4+).
PATHS = ["by-hand", *(["filter"] if hasattr(tarfile, "tar_filter") else [])]


@pytest.fixture(params=PATHS)
def python(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "by-hand":
        monkeypatch.delattr(tarfile, "tar_filter", raising=False)  # as on Python 3.11.2
    return str(request.param)


def test_a_normal_layer_unpacks_with_safe_modes(python: str, tmp_path: Path) -> None:
    extract_within(
        layer(("file", "/ko-app/hello", "bin"), ("sym", "etc/localtime", "/usr/share/zoneinfo/UTC")), tmp_path
    )
    assert (tmp_path / "ko-app" / "hello").read_text() == "bin"
    assert (tmp_path / "ko-app" / "hello").stat().st_mode & 0o7777 == 0o755
    assert (tmp_path / "etc" / "localtime").is_symlink()  # an absolute link is kept, as the filter keeps it


@pytest.mark.parametrize(
    "members",
    [
        [("file", "../escaped", "x")],
        [("sym", "lib", "/tmp"), ("file", "lib/escaped", "x")],  # through a link an earlier member made
        [("sym", "up", ".."), ("file", "up/escaped", "x")],
    ],
    ids=["dotdot", "absolute-link-dir", "relative-link-dir"],
)
def test_nothing_lands_outside(python: str, tmp_path: Path, members: list[tuple[str, str, str]]) -> None:
    dest = tmp_path / "rootfs"
    dest.mkdir()
    with pytest.raises(tarfile.TarError):
        extract_within(layer(*members), dest)
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/escaped").exists()
