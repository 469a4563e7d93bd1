"""Every Debian package a gobuildx hint tells the user to install is one that ci/programs.txt
pairs with the program it provides; ci/fresh-check.sh proves those pairs on a clean Debian root
(a hint once named wine64 for a `wine` that package does not install)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO

PACKAGE = r"[a-z0-9][a-z0-9.+-]*(?::[a-z0-9]+)?"
HINT = re.compile(rf"apt-get install ((?:{PACKAGE})(?: {PACKAGE})*)")
SYSROOT = re.compile(r"\"(libc6-[a-z0-9]+-cross(?: libc6-[a-z0-9]+-cross)*)\"")


def listed_packages() -> set[str]:
    rows = [line.split() for line in (REPO / "ci" / "programs.txt").read_text().splitlines()]
    return {row[2] for row in rows if row and not row[0].startswith("#")}


def hinted_packages() -> dict[str, str]:
    """Each package named in gobuildx's source, with the file that names it."""
    found: dict[str, str] = {}
    for source in sorted((REPO / "gobuildx").rglob("*.py")):
        text = source.read_text()
        for match in [*HINT.finditer(text), *SYSROOT.finditer(text)]:
            for package in match.group(1).split():
                found.setdefault(package, str(source.relative_to(REPO)))
    return found


def test_the_hint_scanner_sees_the_known_hints() -> None:
    hinted = hinted_packages()
    for package in ("wine64", "qemu-user-static", "nodejs", "musl", "docker.io", "libc6-arm64-cross"):
        assert package in hinted, sorted(hinted)


def test_every_hinted_package_is_one_the_fresh_root_check_proves() -> None:
    listed = listed_packages()
    unproven = {pkg: where for pkg, where in hinted_packages().items() if pkg not in listed}
    assert unproven == {}, f"add these to ci/programs.txt with the program each provides: {unproven}"


def test_the_program_table_is_well_formed() -> None:
    for number, line in enumerate((REPO / "ci" / "programs.txt").read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        kind, program, package, *rest = line.split()
        assert kind in ("suite", "hint") and not rest, f"ci/programs.txt:{number}: {line!r}"
        assert re.fullmatch(PACKAGE, package), f"ci/programs.txt:{number}: package {package!r}"
        assert "/" not in program or Path(program).is_absolute(), f"ci/programs.txt:{number}: {program!r}"
