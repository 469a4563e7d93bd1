"""[smoke] and per-target `smoke` overrides: validated with helpful messages, merged per target."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import go_program, run_gobuildx

BASE = """
[project]
name = "hello"
dir = "hello"

[matrix.default]
goos = ["linux", "windows"]
goarch = ["amd64"]
"""


def test_unknown_smoke_key_is_named_with_a_suggestion(project: Callable[[str, str], Path]) -> None:
    root = project("hello", BASE + '[smoke]\nexpct = "hello"\n')
    proc = run_gobuildx(["matrix"], cwd=root)
    assert proc.returncode == 2
    assert "smoke.expct: unknown key" in proc.stderr and "did you mean 'expect'?" in proc.stderr


def test_a_bad_regex_is_refused(project: Callable[[str, str], Path]) -> None:
    root = project("hello", BASE + '[smoke]\nexpect = "platform ("\n')
    proc = run_gobuildx(["matrix"], cwd=root)
    assert proc.returncode == 2
    assert "smoke.expect" in proc.stderr and "not a valid regular expression" in proc.stderr


def test_overrides_replace_keys_and_merge_env(project: Callable[[str, str], Path]) -> None:
    toml = (
        BASE
        + """
[smoke]
args = ["a"]
env = { A = "1" }
timeout = 30

[[override]]
match = "windows-*"
smoke = { timeout = 120, env = { B = "2" } }
"""
    )
    root = project("hello", toml)
    proc = run_gobuildx(["matrix", "--json"], cwd=root, check=True)
    smoke = {t["id"]: t["smoke"] for t in json.loads(proc.stdout)}
    assert smoke["linux-amd64"]["timeout"] == 30 and smoke["linux-amd64"]["env"] == {"A": "1"}
    assert smoke["windows-amd64"]["timeout"] == 120
    assert smoke["windows-amd64"]["env"] == {"A": "1", "B": "2"}
    assert smoke["windows-amd64"]["args"] == ["a"]


def test_doctor_lists_runners_and_what_to_install(project: Callable[[str, str], Path], tmp_path: Path) -> None:
    root = project("hello", BASE)
    ok = run_gobuildx(["doctor"], cwd=root, check=True).stdout
    for runner in ("native", "qemu", "wine", "wasmtime", "node"):
        assert any(line.split()[:2] == [runner, "ok"] for line in ok.splitlines()), ok
    assert "wine-8" in ok or "wine-9" in ok or "wine-1" in ok

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "go").symlink_to(go_program())
    # Debian's wine64 package puts nothing on PATH: its loader is found in /usr/lib/wine all the same.
    off_path = run_gobuildx(["doctor"], cwd=root, env={"PATH": str(bin_dir)}, check=True).stdout
    wine_line = next(line for line in off_path.splitlines() if line.split()[:1] == ["wine"])
    assert wine_line.split()[1] == "ok" and "/usr/lib/wine/wine64" in wine_line, off_path
    missing = run_gobuildx(
        ["doctor"], cwd=root, check=True, env={"PATH": str(bin_dir), "GOBUILDX_WINE": str(tmp_path / "no-wine")}
    ).stdout
    lines = {line.split()[0]: line for line in missing.splitlines() if "MISSING" in line}
    assert "apt-get install qemu-user-static" in lines["qemu"]
    assert "GOBUILDX_WINE=" in lines["wine"] and "apt-get install wine64" in lines["wine"]
    assert "apt-get install nodejs" in lines["node"]
