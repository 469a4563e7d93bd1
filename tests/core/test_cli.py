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
    for dropped in ("--pty", "--echo", "--dry", "--hide", "--warn-only", "--command-timeout",
                    "--prompt-for-sudo-password", "--config"):
        assert dropped not in out, dropped
    assert "--list" in out and "--version" in out
    assert run_gobuildx(["--pty", "matrix"], cwd=REPO).returncode == 2
