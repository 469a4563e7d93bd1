"""Finding Wine where distributions put it (no Wine needed: fake programs in tmp_path).

Debian 12's wine64 package installs its loader as /usr/lib/wine/wine64 and nothing on PATH;
a runner that looked only for `wine` on PATH skipped every Windows smoke check there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gobuildx.smoke.runners import wine
from tests.conftest import need


def program(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def loader_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for /usr/lib/wine, the only loader directory looked in."""
    folder = tmp_path / "usr-lib-wine"
    folder.mkdir()
    monkeypatch.setattr(wine, "LOADER_DIRS", (folder,))
    return folder


def test_the_debian_loader_off_path_is_found(tmp_path: Path, loader_dir: Path) -> None:
    loader = program(loader_dir / "wine64")
    server = program(loader_dir / "wineserver64")
    environ = {"PATH": str(tmp_path / "empty-bin")}
    assert wine.find_wine(environ) == (str(loader), str(loader))
    assert wine.find_wineserver(environ) == str(server)
    assert wine.WineRunner().availability(environ).detail == str(loader)


def test_path_comes_before_the_loader_directory(tmp_path: Path, loader_dir: Path) -> None:
    program(loader_dir / "wine64")
    launcher = program(tmp_path / "bin" / "wine64")
    assert wine.find_wine({"PATH": str(tmp_path / "bin")})[0] == str(launcher)


def test_gobuildx_wine_wins_and_a_wrong_value_is_named(tmp_path: Path, loader_dir: Path) -> None:
    program(loader_dir / "wine64")
    mine = program(tmp_path / "opt" / "wine-9" / "bin" / "wine")
    assert wine.find_wine({"PATH": "", "GOBUILDX_WINE": str(mine)})[0] == str(mine)
    found, why = wine.find_wine({"PATH": "", "GOBUILDX_WINE": str(tmp_path / "nope")})
    assert found is None and f"GOBUILDX_WINE={tmp_path / 'nope'} is not an executable file" == why


def test_no_wine_anywhere_says_where_it_looked(tmp_path: Path, loader_dir: Path) -> None:
    (loader_dir / "wine64").write_text("not executable")
    avail = wine.WineRunner().availability({"PATH": str(tmp_path)})
    assert not avail.available
    assert str(loader_dir) in avail.detail and "GOBUILDX_WINE" in avail.detail
    assert avail.install == "apt-get install wine64"  # the package that installs that loader


def test_the_real_machine_finds_its_wine() -> None:
    """Where Debian's wine64 is installed (ci/setup.sh installs it), the runner finds it."""
    need(Path("/usr/lib/wine/wine64").exists(), "Debian's wine64 is not installed here (apt-get install wine64)")
    found, _ = wine.find_wine({"PATH": os.environ.get("PATH", "")})
    assert found is not None and os.access(found, os.X_OK)
