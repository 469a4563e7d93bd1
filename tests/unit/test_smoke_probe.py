"""What `gobuildx init` writes from its probe runs (the runs themselves: tests/integration/core/test_init_probe.py)."""

from __future__ import annotations

import tomllib

from gobuildx.smoke.probe import CANDIDATES, Tried, smoke_comment


def test_a_run_works_only_with_exit_0_and_output() -> None:
    assert Tried(("--version",), 0, False, "tool 1.0\n").works
    assert not Tried(("--version",), 0, False, "  \n").works  # silent: proves nothing
    assert not Tried(("--version",), 2, False, "usage").works
    assert not Tried(("--version",), None, True, "serving").works  # a daemon


def test_the_comment_lists_every_run_and_stays_toml() -> None:
    tried = [Tried(("--version",), 1, False, "inappropriate ioctl for device"), Tried(("-version",), 0, False, "1.0")]
    text = smoke_comment(tried[1], tried, "tool")
    assert "--version: exit code 1, printed 30 characters" in text and "the check: -version" in text
    assert tomllib.loads(text) == {}  # only comments
    none = smoke_comment(None, [Tried(a, None, True, "") for a in CANDIDATES], "tool")
    assert none.count("still running after") == len(CANDIDATES) and "no [smoke] table" in none
    assert tomllib.loads(none) == {}
