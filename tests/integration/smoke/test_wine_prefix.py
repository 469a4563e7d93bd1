"""Creating the Wine prefix, for real: a wineboot that times out leaves no Wine process behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gobuildx.smoke.runners import wine
from tests.conftest import need


def prefix_processes(prefix: Path) -> list[str]:
    """The command lines of the live processes whose environment has WINEPREFIX=prefix."""
    want = f"WINEPREFIX={prefix}".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if want in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            pass  # gone meanwhile, or not ours
    return found


def test_a_wineboot_timeout_kills_everything_it_started(tmp_path: Path) -> None:
    need(wine.find_wine(dict(os.environ))[0], f"no Wine: {wine.find_wine(dict(os.environ))[1]} ({wine.PACKAGE})")
    prefix = tmp_path / "prefix"
    # A fresh `wineboot --init` takes 3-6 s here (under 3 s in a fresh Debian root, where 3 s was
    # too long a timeout); after 1 s it has started wineboot.exe, explorer.exe, wineserver and
    # services.exe (each of the last two in a session of its own).
    with pytest.raises(wine.PrefixError, match=r"wineboot --init in .* failed: .*timed out after [0-9.]+ seconds"):
        wine.create_prefix(prefix, dict(os.environ), timeout_s=1.0)
    deadline = time.monotonic() + 2.0
    while prefix_processes(prefix) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert prefix_processes(prefix) == []  # nothing left to write into a prefix the next run deletes
