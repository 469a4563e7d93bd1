"""util.files on synthetic failures: a write that fails leaves no temporary and names its file;
a dead run's temporaries go, a live one's stay."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from gobuildx.util.files import describe, remove_stale, sibling, temporary


def test_a_failed_write_removes_its_temporary_and_names_the_file(tmp_path: Path) -> None:
    dest = tmp_path / "manifest.json"
    dest.write_bytes(b"old")
    with pytest.raises(OSError) as caught, temporary(dest) as tmp:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # what a failed write() raises
    assert not sibling(dest).exists() and dest.read_bytes() == b"old"
    assert describe(caught.value) == f"{dest}: No space left on device"


def test_a_rename_error_names_where_it_was_going() -> None:
    exc = OSError(errno.EROFS, os.strerror(errno.EROFS), "/d/.x.tmp-1", None, "/d/x")
    assert describe(exc) == "/d/x: Read-only file system"


def test_only_a_dead_process_temporaries_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True).stdout.strip()
    with subprocess.Popen(["sleep", "60"]) as live:
        try:
            stale_file = tmp_path / f".manifest.json.tmp-{dead}"
            stale_dir = tmp_path / f".release.tmp-{dead}"
            busy = tmp_path / f".report.html.tmp-{live.pid}"
            stale_file.write_bytes(b"half")
            (stale_dir / "sub").mkdir(parents=True)
            busy.write_bytes(b"being written")
            remove_stale(tmp_path, (".*.tmp-*",))
        finally:
            live.kill()
    assert not stale_file.exists() and not stale_dir.exists()
    assert busy.read_bytes() == b"being written"
