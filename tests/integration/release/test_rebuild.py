"""`gobuildx verify --rebuild`: the release's binaries built again from the recorded commit,
in a fresh clone with an empty Go cache, match; a planted difference gets a diffoscope report."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import git, need, run_gobuildx
from tests.integration.release.conftest import ENV, ONE_TARGET_TOML, make_project


def tagged_project(root: Path) -> Path:
    make_project(root, ONE_TARGET_TOML)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "hello")
    git(root, "tag", "v1.0.0")
    return root


def test_a_clean_release_rebuilds_bit_for_bit(tmp_path: Path) -> None:
    root = tagged_project(tmp_path / "clean")
    run_gobuildx(["release"], cwd=root, env=ENV, check=True)
    proc = run_gobuildx(["verify", "dist/release", "--rebuild"], cwd=root, env=ENV, timeout=1800)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dist/release: rebuilt 1 binaries from the recorded commit: all identical" in proc.stdout
    assert not (root / "dist" / "rebuild").exists()


def test_a_planted_difference_is_reported_with_diffoscope(tmp_path: Path) -> None:
    need(shutil.which("diffoscope"), "diffoscope is not installed (ci/programs.txt: diffoscope-minimal)")
    root = tagged_project(tmp_path / "planted")
    main = root / "hello" / "main.go"
    main.write_text(main.read_text() + '\nvar planted = "planted"\n')
    assert "planted" in main.read_text()
    run_gobuildx(["release"], cwd=root, env=ENV, check=True)  # built from the uncommitted change
    proc = run_gobuildx(["verify", "dist/release", "--rebuild"], cwd=root, env=ENV, timeout=1800)
    assert proc.returncode == 8, proc.stdout + proc.stderr
    report = root / "dist" / "rebuild" / "linux-amd64-hello.diffoscope.txt"
    assert (
        "linux-amd64: hello rebuilt from " in proc.stderr
        and "dist/rebuild/linux-amd64-hello.diffoscope.txt" in proc.stderr
    )
    text = report.read_text()
    # diffoscope's own report: the released binary against the rebuilt one, section by section
    assert text.startswith("--- ") and "linux-amd64-hello.released" in text.splitlines()[0]
    assert text.splitlines()[1].startswith("+++ ") and "readelf" in text
