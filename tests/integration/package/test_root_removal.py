"""Removing a Debian root never walks into what is mounted inside it (debootstrap's /proc, /sys)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gobuildx.smoke.runners import debroot

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")


def test_a_root_with_a_bind_mount_inside_is_unmounted_before_removal(tmp_path: Path) -> None:
    outside = tmp_path / "host-dir"
    outside.mkdir()
    (outside / "keep").write_text("must survive")
    root = tmp_path / ".debian-root.tmp-1"
    (root / "proc").mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(outside), str(root / "proc")], check=True)
    try:
        assert debroot.mounts_under(root) == [str(root / "proc")]
        debroot.discard(root)
    finally:
        subprocess.run(["umount", "--lazy", str(root / "proc")], capture_output=True, check=False)
    assert not root.exists()
    assert (outside / "keep").read_text() == "must survive"  # shutil.rmtree alone would have deleted it


def test_mount_points_with_spaces_are_read_back(tmp_path: Path) -> None:
    root = tmp_path / "a root"
    (root / "s y s").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "none", str(root / "s y s")], check=True)
    try:
        assert debroot.mounts_under(root) == [str(root / "s y s")]
    finally:
        subprocess.run(["umount", str(root / "s y s")], check=True)
    assert debroot.mounts_under(root) == []
