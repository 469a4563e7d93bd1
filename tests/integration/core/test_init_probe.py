"""`gobuildx init` proposes a smoke check by running the host's own binary, for real.

Three programs a new user might have: one that, like an interactive CLI, fails without a
terminal unless given `version`; a daemon that never exits; and the default check's note
when there is no [smoke] table.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.conftest import run_gobuildx

INTERACTIVE = """package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println("tool 1.0")
		return
	}
	fmt.Fprintln(os.Stderr, "inappropriate ioctl for device")
	os.Exit(1)
}
"""
DAEMON = """package main

import "time"

func main() { time.Sleep(time.Hour) }
"""


def module(tmp_path: Path, source: str) -> Path:
    mod = tmp_path / "tool"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/tool\n\ngo 1.21\n")
    (mod / "main.go").write_text(source)
    return mod


def test_init_writes_the_first_argument_that_works(tmp_path: Path) -> None:
    mod = module(tmp_path, INTERACTIVE)
    proc = run_gobuildx(["init", "--dir", str(mod)], cwd=tmp_path, check=True)
    assert "[smoke] args = ['version']" in proc.stdout
    text = (mod / "targets.toml").read_text()
    assert "--version: exit code 1" in text and "-h: " not in text  # tried in order, stopped at version
    assert tomllib.loads(text)["smoke"] == {"args": ["version"]}
    smoke = run_gobuildx(["smoke", "-t", "linux-amd64"], cwd=mod)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "no [smoke] table" not in smoke.stdout


def test_init_writes_no_check_for_a_daemon_and_says_so(tmp_path: Path) -> None:
    mod = module(tmp_path, DAEMON)
    proc = run_gobuildx(["init", "--dir", str(mod)], cwd=tmp_path, check=True, timeout=300)
    assert "no [smoke] table written" in proc.stdout
    text = (mod / "targets.toml").read_text()
    assert "smoke" not in tomllib.loads(text)
    assert text.count("still running after") == 5 and "none worked" in text


def test_smoke_without_a_table_says_the_default_check_ran(tmp_path: Path) -> None:
    mod = module(tmp_path, INTERACTIVE)
    run_gobuildx(["init", "--dir", str(mod), "--no-probe"], cwd=tmp_path, check=True)
    smoke = run_gobuildx(["smoke", "-t", "linux-amd64"], cwd=mod)
    assert smoke.returncode != 0  # exit 1 without arguments: the failure the proposal avoids
    assert "no [smoke] table, so the default check ran: each binary with no arguments" in smoke.stdout
