"""Command-line mistakes: a configuration error (exit 2) that says what was meant, never a traceback."""

from __future__ import annotations

import json

from tests.conftest import REPO, run_gobuildx


def test_config_before_the_task_says_where_it_goes() -> None:
    proc = run_gobuildx(["--config", "targets.toml", "matrix", "--json"], cwd=REPO)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "options go after the task name: `gobuildx matrix --config targets.toml --json`" in proc.stderr
    fixed = run_gobuildx(["matrix", "--config", "targets.toml", "--json"], cwd=REPO, check=True)
    assert "linux-amd64" in {t["id"] for t in json.loads(fixed.stdout)}


def test_unknown_task_and_option_get_a_did_you_mean() -> None:
    task = run_gobuildx(["buld"], cwd=REPO)
    assert task.returncode == 2 and "did you mean 'build'?" in task.stderr, task.stderr
    option = run_gobuildx(["matrix", "--jsno"], cwd=REPO)
    assert option.returncode == 2 and "did you mean --json?" in option.stderr, option.stderr
    unknown = run_gobuildx(["build", "--bogus"], cwd=REPO)
    assert unknown.returncode == 2 and "`gobuildx build --help` lists its options" in unknown.stderr


def test_help_lists_only_options_that_do_something() -> None:
    """invoke's options for shell tasks (gobuildx runs none through invoke) are not offered."""
    out = run_gobuildx(["--help"], cwd=REPO, check=True).stdout
    for dropped in (
        "--pty",
        "--echo",
        "--dry",
        "--hide",
        "--warn-only",
        "--command-timeout",
        "--prompt-for-sudo-password",
        "--config",
    ):
        assert dropped not in out, dropped
    assert "--list" in out and "--version" in out
    assert run_gobuildx(["--pty", "matrix"], cwd=REPO).returncode == 2


def test_matrix_and_doctor_take_the_build_selection() -> None:
    """`matrix --target` shows what `build --target` would build (and shards it for CI)."""
    ids = [
        t["id"]
        for t in json.loads(run_gobuildx(["matrix", "--json", "--target", "linux-arm*"], cwd=REPO, check=True).stdout)
    ]
    assert ids and all(i.startswith("linux-arm") for i in ids), ids
    shards = json.loads(
        run_gobuildx(
            ["matrix", "--format", "github", "--shards", "2", "--target", "linux-arm*"], cwd=REPO, check=True
        ).stdout
    )
    assert sorted(" ".join(s["targets"] for s in shards["include"]).split()) == sorted(ids)
    doctor = run_gobuildx(["doctor", "--target", "wasip1-wasm"], cwd=REPO, check=True).stdout
    assert "wasip1-wasm" in doctor and "linux-amd64" not in doctor


def test_options_that_would_be_ignored_are_refused() -> None:
    for args, said in (
        (["matrix", "--shards", "3"], "--shards 3: only with --format github"),
        (["matrix", "--json", "--format", "github"], "--json is --format json"),
        (["build", "--jobs", "-1"], "--jobs -1: expected a number of parallel jobs"),
    ):
        proc = run_gobuildx(args, cwd=REPO)
        assert proc.returncode == 2 and said in proc.stderr, (args, proc.stderr)


def test_every_kind_of_command_line_mistake_is_exit_2_without_a_traceback() -> None:
    cases = [
        (["--matrix=all", "matrix"], "options go after the task name: `gobuildx matrix --matrix=all`"),
        (
            ["--force", "--jobs", "2", "build", "-t", "linux-amd64"],
            "options go after the task name: `gobuildx build --force --jobs 2 -t linux-amd64`",
        ),
        (["--matrix", "all"], "--matrix is an option of a task and goes after its name, e.g. `gobuildx build"),
        (["--help", "biuld"], "did you mean 'build'?"),
        (["biuld", "--help"], "did you mean 'build'?"),
        (["build", "--jobs", "x"], "an option's value is not of its kind"),
        (["--list-format", "bad"], "--list-format 'bad': allowed: flat, nested, json"),
    ]
    for args, said in cases:
        proc = run_gobuildx(args, cwd=REPO)
        assert proc.returncode == 2 and said in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr, args
