"""What a schema-valid targets.toml can still get wrong, found before any compiler runs:
a project.dir or main package that is not there, an ldflags placeholder that does not exist."""

from __future__ import annotations

import difflib
import os
import string
from collections.abc import Iterator, Sequence
from pathlib import Path

from gobuildx.project.config import LoadedConfig

PLACEHOLDERS = ("version", "commit", "date", "id", "goos", "goarch")
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "vendor", "testdata", "dist"}
MAX_DEPTH = 4  # how deep a did-you-mean looks for Go packages


def problems(loaded: LoadedConfig) -> list[str]:
    return _template_problems(loaded) + _path_problems(loaded)


def _template_problems(loaded: LoadedConfig) -> list[str]:
    cfg, out = loaded.config, []
    flags = [(f"project.ldflags[{i}]", text) for i, text in enumerate(cfg.project.ldflags)]
    flags += [
        (f"override[{j}].ldflags[{i}]", text) for j, o in enumerate(cfg.override) for i, text in enumerate(o.ldflags)
    ]
    for key, text in flags:
        out += [f"{loaded.path}: {key}: {text!r}: {why}" for why in template_errors(text)]
    return out


def template_errors(text: str, allowed: Sequence[str] = PLACEHOLDERS) -> list[str]:
    """What is wrong with the {placeholders} of one template (empty: nothing), for
    `str.format` with the names in `allowed`: ldflags entries, image tags."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        return [f"{exc} (write a literal brace as {{{{ or }}}})"]
    out = []
    for field in fields:
        name = field.split(".")[0].split("[")[0]
        if name in allowed and field != name:
            out.append(f"{{{field}}}: a placeholder is a plain name, such as {{{name}}}")
        elif name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            out.append(
                f"unknown placeholder {{{field}}}; allowed: "
                f"{', '.join('{' + p + '}' for p in allowed)}" + (f"; did you mean {{{close[0]}}}?" if close else "")
            )
    return out


def _path_problems(loaded: LoadedConfig) -> list[str]:
    project = loaded.config.project
    module = loaded.module_dir
    if not module.is_dir():
        if "\\" in project.dir:
            return [
                f"{loaded.path}: project.dir: {project.dir!r} is not a directory ({module}); "
                "write paths with forward slashes"
            ]
        siblings = _subdirs(module.parent) if module.parent.is_dir() else []
        close = difflib.get_close_matches(module.name, siblings, n=1)
        return [
            f"{loaded.path}: project.dir: {project.dir!r} is not a directory ({module})"
            + (f"; did you mean {str(Path(project.dir).parent / close[0])!r}?" if close else "")
        ]
    keyed = (
        [(f"project.binaries[{i}].main", b.main) for i, b in enumerate(project.binaries)]
        if project.binaries
        else [("project.main", project.main)]
    )
    out = []
    for key, main in keyed:
        if not main.startswith(".") or "..." in main or _has_go_files(module / main):
            continue  # an import path (example.com/x/cmd/y) or a pattern (./cmd/...) is go's to resolve
        packages = sorted(_go_packages(module))
        close = difflib.get_close_matches(main, packages, n=1)
        out.append(
            f"{loaded.path}: {key}: {main!r}: no Go files in {(module / main).resolve()}"
            + (f"; did you mean {close[0]!r}?" if close else "")
            + (f" (packages: {', '.join(packages[:8])}{' ...' if len(packages) > 8 else ''})" if packages else "")
        )
    return out


def _has_go_files(folder: Path) -> bool:
    try:
        return any(e.name.endswith(".go") and e.is_file() for e in os.scandir(folder))
    except OSError:
        return False


def _subdirs(folder: Path) -> list[str]:
    try:
        return [e.name for e in os.scandir(folder) if e.is_dir()]
    except OSError:
        return []


def _go_packages(module: Path) -> Iterator[str]:
    """./relative paths of the directories under the module holding .go files (a few levels)."""
    for dirpath, dirnames, filenames in os.walk(module):
        rel = Path(dirpath).relative_to(module)
        if len(rel.parts) >= MAX_DEPTH:
            dirnames[:] = []
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        if any(f.endswith(".go") for f in filenames):
            yield "." if not rel.parts else "./" + rel.as_posix()
