"""The [audit] table and per-target `audit = {...}` overrides in targets.toml."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import run_gobuildx

BASE = """
[project]
name = "hello"
dir = "hello"
[defaults]
cgo = false
[matrix.m]
goos = ["linux"]
goarch = ["amd64", "arm64"]
"""


def test_policy_merges_project_then_overrides(project: Callable[[str, str], Path]) -> None:
    root = project(
        "hello",
        BASE
        + """
[audit]
require = ["scratch"]
max_glibc = "2.28"

[[override]]
match = "linux-arm64"
audit = { warn_only = true, require = ["alpine"] }
""",
    )
    proc = run_gobuildx(["matrix", "--json"], cwd=root, check=True)
    policies = {t["id"]: t["audit"] for t in json.loads(proc.stdout)}
    assert policies["linux-amd64"] == {
        "warn_only": None,
        "max_glibc": "2.28",
        "allow_needed": None,
        "allow_cxx": None,
        "require": ["scratch"],
    }
    assert policies["linux-arm64"]["require"] == ["alpine"] and policies["linux-arm64"]["warn_only"] is True
    assert policies["linux-arm64"]["max_glibc"] == "2.28"


def test_bad_policy_keys_and_values_name_file_and_key(project: Callable[[str, str], Path]) -> None:
    root = project("hello", BASE + '\n[audit]\nrequir = ["scratch"]\n')
    proc = run_gobuildx(["matrix"], cwd=root)
    assert proc.returncode == 2 and "targets.toml: audit.requir: unknown key" in proc.stderr
    assert "did you mean 'require'" in proc.stderr
    (root / "targets.toml").write_text(BASE + '\n[audit]\nrequire = ["alpin"]\nmax_glibc = "2.x"\n')
    proc = run_gobuildx(["matrix"], cwd=root)
    assert proc.returncode == 2 and "audit.require[0]: 'alpin' is not allowed" in proc.stderr
    assert "audit.max_glibc" in proc.stderr


def test_default_matrix_of_hello_audits_clean(hello_dist: Path) -> None:
    """The repository's own 15-target matrix: every target passes, and each says where it runs."""
    proc = run_gobuildx(["audit", "--format", "json"], cwd=hello_dist.parent)
    assert proc.returncode == 0, proc.stderr
    results = {r["id"]: r for r in json.loads(proc.stdout)["results"]}
    assert len(results) == 15 and all(r["verdict"] == "pass" for r in results.values())
    assert results["linux-riscv64"]["runs_on"][0] == "scratch"
    assert results["freebsd-amd64"]["runs_on"] == ["freebsd"]
    assert results["darwin-amd64"]["runs_on"][0].startswith("macOS")
    assert results["windows-arm64"]["runs_on"] == ["Windows (AArch64)"]
    assert results["js-wasm"]["go_version"].startswith("go1.")
