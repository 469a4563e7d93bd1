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
