"""The dependency rule of docs/architecture.md, checked on the source (ast) and on what an
import really loads (a fresh interpreter)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "gobuildx"
STAGES = ("build", "audit", "image", "package", "smoke", "release", "sign", "report")
FLOORS = ("project", "model", "util", "formats")
# What each layer may import of gobuildx (besides itself); `gobuildx` alone is __version__.
ALLOWED = {
    "model": set(),
    "util": set(),
    "formats": {"model", "util"},
    "project": {"model", "util", "formats", "errors"},
    **{s: {"project", "model", "util", "formats", "errors"} for s in STAGES},
    "errors": set(),
    "pipeline": {*STAGES, *FLOORS, "errors"},
    "cli": {*STAGES, *FLOORS, "errors", "pipeline"},
}
THIRD_PARTY = {"model": {"pydantic"}, "util": set()}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def gobuildx_modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        out[name] = path
    return out


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "gobuildx":  # from gobuildx import errors
                found.update(f"gobuildx.{a.name}" for a in node.names if a.name != "__version__")
    return found


def test_top_level_holds_at_most_five_modules() -> None:
    modules = [p.name for p in PACKAGE.glob("*.py")]
    assert len(modules) <= 5, modules


def test_every_stage_is_entered_at_stage_py() -> None:
    for s in STAGES:
        assert (PACKAGE / s / "stage.py").is_file(), s


@pytest.mark.parametrize("name", sorted(gobuildx_modules()))
def test_module_imports_only_the_floors_below_it(name: str) -> None:
    own = layer(name)
    if not own or own in ("__main__",):
        return
    allowed = ALLOWED[own]
    stdlib = sys.stdlib_module_names
    for imported in imports_of(gobuildx_modules()[name]):
        top = imported.split(".")[0]
        if top == "gobuildx":
            other = layer(imported)
            assert not other or other == own or other in allowed, f"{name} imports {imported}"
        elif own in THIRD_PARTY:
            assert top in stdlib or top == "__future__" or top in THIRD_PARTY[own], f"{name} imports {imported}"


def loaded_by(module: str) -> list[str]:
    code = f"import sys, {module}; print('\\n'.join(m for m in sys.modules if m.startswith('gobuildx')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent, timeout=60
    )
    return out.stdout.split()


def test_the_manifest_model_loads_only_models() -> None:
    assert [m for m in loaded_by("gobuildx.model.manifest") if m != "gobuildx" and layer(m) != "model"] == []


def test_verify_loads_nothing_of_the_project() -> None:
    assert [m for m in loaded_by("gobuildx.release.verify") if layer(m) == "project"] == []
    assert [m for m in loaded_by("gobuildx.sign.verify") if layer(m) == "project"] == []


def test_stdlib_names_are_known() -> None:  # the rule above leans on them
    assert "json" in sys.stdlib_module_names and sysconfig.get_paths()["stdlib"]


@pytest.mark.parametrize("name", sorted(n for n in gobuildx_modules() if not n.endswith(("__main__", "wasi_main"))))
def test_every_module_imports(name: str) -> None:
    """A moved module leaves no import behind that names its old place."""
    importlib.import_module(name)


# Programs of their own (run as `python -m`, in another process): their stderr is theirs.
OWN_PROGRAMS = {"gobuildx.smoke.runners.wasi_main"}


def test_only_cli_prints() -> None:
    """`cli/` is the only layer that prints: a stage returns records, a view shows them."""
    found = []
    for name, path in gobuildx_modules().items():
        if layer(name) == "cli" or name in OWN_PROGRAMS or name == "gobuildx.__main__":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                found.append(f"{name}:{node.lineno}")
    assert found == []


def test_no_relative_imports() -> None:
    """The rule above reads absolute imports only: a relative one would pass it unseen."""
    found = [
        f"{name}:{node.lineno}"
        for name, path in gobuildx_modules().items()
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert found == []
