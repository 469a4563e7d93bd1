"""bench/vs_goreleaser.py in small: the side-by-side comparison with GoReleaser, for real.

One run of the script on the go-sqlite3 project, two targets (dynamic glibc 2.17 on arm64,
static musl on amd64), warm caches, one rep: both tools build, the equivalent
.goreleaser.yaml uses exactly gobuildx's C compilers, both tools' binaries agree on every
audit fact (and are byte-identical), pass gobuildx's audit and smoke tests (native and
QEMU), and the printed table has its rows. Timings are printed, never asserted.

GoReleaser is installed by the script itself into ~/.cache/gobuildx-bench/bin the first
time (`go install`, ~7 min on 2 cores); later runs reuse it (~30 s for this test).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, SQLITE_CORE

SCRIPT = REPO / "bench" / "vs_goreleaser.py"
INTERPRETER = {"linux-arm64-glibc2.17": "/lib/ld-linux-aarch64.so.1", "linux-amd64-musl": None}
# The same zig targets as the libc tests build, so their Go cache entries serve this test too.
pytestmark = pytest.mark.xdist_group("libc-examples")


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict, Path]:
    work = tmp_path_factory.mktemp("vs-goreleaser")
    result = work / "result.json"
    argv = [
        sys.executable,
        str(SCRIPT),
        "--project",
        "sqlite",
        "--skip-cold",
        "--reps",
        "1",
        "--workdir",
        str(work / "run"),
        "--json",
        str(result),
    ]
    argv += [f"--target={t}" for t in SQLITE_CORE]
    proc = subprocess.run(
        argv, cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=3600, check=False
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc, json.loads(result.read_text()), work / "run"


def test_prints_the_table_of_medians_and_ratios(comparison) -> None:
    proc, _, _ = comparison
    number = r"\d+\.\d+"
    for mode in ("warm rebuild", "no change"):
        assert re.search(rf"^{mode}\s+{number}\s+{number}\s+{number}\s+<= ", proc.stdout, re.MULTILINE), proc.stdout
    assert re.search(r"^cold\s+-\s+-\s+-\s+<= 1\.05\s+not run", proc.stdout, re.MULTILINE), proc.stdout
    assert re.search(r"^\s+sqlite\s+2 targets: .*2/2 targets agree and pass", proc.stdout, re.MULTILINE), proc.stdout


def test_goreleaser_config_uses_gobuildx_compilers(comparison) -> None:
    _, _, run = comparison
    config = yaml.safe_load((run / "sqlite" / ".goreleaser.yaml").read_text())
    builds = {b["id"]: b for b in config["builds"]}
    assert sorted(builds) == sorted(SQLITE_CORE)
    assert builds["linux-arm64-glibc2.17"]["targets"] == ["linux_arm64"]
    assert all(Path(b["tool"]).name == "go" for b in builds.values())  # the very Go gobuildx uses
    cc = {b: next(e for e in builds[b]["env"] if e.startswith("CC=")) for b in builds}
    assert cc["linux-arm64-glibc2.17"].endswith(" cc -target aarch64-linux-gnu.2.17"), cc
    assert cc["linux-amd64-musl"].endswith(" cc -target x86_64-linux-musl"), cc
    assert "CGO_ENABLED=1" in builds["linux-amd64-musl"]["env"]
    assert "-extldflags=-static" in builds["linux-amd64-musl"]["ldflags"][0]
    assert "-X main.version={{ .Version }}" in builds["linux-amd64-musl"]["ldflags"][0]


def test_both_tools_binaries_agree_and_pass(comparison) -> None:
    _, data, _ = comparison
    project = data["projects"]["sqlite"]
    assert sorted(project["targets"]) == sorted(SQLITE_CORE)
    rows = {r["target"]: r for r in project["correctness"]}
    assert sorted(rows) == sorted(SQLITE_CORE)
    for tid, row in rows.items():
        gobuildx, goreleaser = row["facts"]["gobuildx"], row["facts"]["goreleaser"]
        assert gobuildx == goreleaser, tid
        assert gobuildx["interpreter"] == INTERPRETER[tid], tid
        assert gobuildx["static"] is (INTERPRETER[tid] is None), tid
        assert row["same_bytes"], f"{tid}: gobuildx and GoReleaser built different bytes"
        assert row["audit"] == {"gobuildx": "pass", "goreleaser": "pass"}, tid
        assert row["smoke"] == {"gobuildx": "passed", "goreleaser": "passed"}, tid
    assert rows["linux-arm64-glibc2.17"]["facts"]["goreleaser"]["max_glibc"] == "2.17"


def test_every_mode_was_timed_for_both_tools(comparison) -> None:
    _, data, _ = comparison
    runs = data["projects"]["sqlite"]["runs"]
    for mode in ("warm rebuild", "no change"):
        assert len(runs[mode]["gobuildx"]) == len(runs[mode]["goreleaser"]) == 1, mode
        assert all(t > 0 for tool in runs[mode].values() for t in tool), mode
    assert runs["cold"] == {"gobuildx": [], "goreleaser": []}
