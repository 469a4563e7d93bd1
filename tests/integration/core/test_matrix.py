"""Matrix expansion, stable ids, selection and the CLI surface."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_IDS, REPO, run_gobuildx

pytestmark = pytest.mark.usefixtures("hello_module")  # the module these configs name (dir = "hello")


def matrix_json(cwd: Path, *args: str) -> list[dict]:
    proc = run_gobuildx(["matrix", "--json", *args], cwd=cwd, check=True)
    return json.loads(proc.stdout)


def test_default_matrix_ids_and_env() -> None:
    targets = matrix_json(REPO)
    assert {t["id"] for t in targets} == DEFAULT_IDS
    armv6 = next(t for t in targets if t["id"] == "linux-armv6")
    assert (armv6["goarch"], armv6["goarm"], armv6["cgo"], armv6["libc"]) == ("arm", "6", False, "static")
    assert next(t for t in targets if t["id"] == "wasip1-wasm")["libc"] == "wasm"
    assert next(t for t in targets if t["id"] == "windows-arm64")["libc"] == "system"


def test_named_matrix_and_all_deduplicates(tmp_path: Path) -> None:
    (tmp_path / "targets.toml").write_text("""
[project]
name = "x"
dir = "hello"
[matrix.a]
goos = ["linux"]
goarch = ["amd64", "arm64"]
[matrix.b]
goos = ["linux"]
goarch = ["arm64", "arm"]
goarm = ["7"]
exclude = [{ goarch = "arm" }]
include = [
  { goos = "linux", goarch = "amd64", goamd64 = "v3" },
  { goos = "linux", goarch = "arm64", cgo = true, libc = "musl" },
  { goos = "linux", goarch = "arm64", cgo = true, libc = "musl", link = "dynamic" },
  { goos = "linux", goarch = "amd64", cgo = true, libc = "glibc", min_glibc = "2.17" },
  { goos = "linux", goarch = "amd64", cgo = true, libc = "static" },
  { goos = "windows", goarch = "amd64", cgo = true },
]
""")
    all_ids = [t["id"] for t in matrix_json(tmp_path)]
    assert sorted(all_ids) == sorted(
        [
            "linux-amd64",
            "linux-arm64",
            "linux-amd64v3",
            "linux-arm64-musl",
            "linux-arm64-musl-dynamic",
            "linux-amd64-glibc2.17",
            "linux-amd64-cgo-static",
            "windows-amd64-cgo",
        ]
    )
    shared = next(t for t in matrix_json(tmp_path) if t["id"] == "linux-arm64")
    assert shared["matrices"] == ["a", "b"]
    only_b = {t["id"] for t in matrix_json(tmp_path, "--matrix", "b")}
    assert "linux-amd64" not in only_b and "linux-arm64" in only_b


def test_overrides_merge_in_order(tmp_path: Path) -> None:
    (tmp_path / "targets.toml").write_text("""
[project]
name = "x"
dir = "hello"
[matrix.a]
goos = ["linux", "windows"]
goarch = ["amd64"]
[[override]]
match = "linux-*"
env = { A = "1", B = "1" }
tags = ["netgo"]
[[override]]
match = ["*-amd64"]
env = { B = "2" }
ldflags = ["-X main.extra=1"]
cc = "my-cc"
""")
    by_id = {t["id"]: t for t in matrix_json(tmp_path)}
    assert by_id["linux-amd64"]["env"] == {"A": "1", "B": "2"}
    assert by_id["linux-amd64"]["tags"] == ["netgo"]
    assert by_id["linux-amd64"]["cc"] == "my-cc"
    assert by_id["windows-amd64"]["env"] == {"B": "2"} and by_id["windows-amd64"]["tags"] == []


def test_list_and_version_show_only_real_tasks() -> None:
    proc = run_gobuildx(["--list", "--list-format", "json"], cwd=REPO, check=True)
    listed = {t["name"] for t in json.loads(proc.stdout)["tasks"]}
    assert {"build", "matrix", "init", "doctor", "check"} <= listed
    for name in listed:  # every listed task answers --help: nothing listed is a placeholder
        assert run_gobuildx([name, "--help"], cwd=REPO).returncode == 0
    version = run_gobuildx(["--version"], cwd=REPO, check=True)
    assert version.stdout.startswith("gobuildx 0.")


def test_matrix_table_output() -> None:
    proc = run_gobuildx(["matrix", "--matrix", "linux"], cwd=REPO, check=True)
    assert "linux-armv7" in proc.stdout and "GOARM=7" in proc.stdout and "windows" not in proc.stdout
