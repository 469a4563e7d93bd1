"""`gobuildx init`: inspect a Go module and write a starter targets.toml."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from gobuildx.errors import ConfigError, GobuildxError
from gobuildx.project import goenv
from gobuildx.project.config import Project
from gobuildx.util.files import write_atomic

LIST_TIMEOUT = 300

# The cgo release matrix: only targets gobuildx cross-compiles with cgo on its own (zig from the
# ziglang wheel is the C compiler). darwin is left out: cgo for darwin needs Apple's macOS SDK.
CGO_LINUX_ARCHES = ["amd64", "arm64"]
CGO_MIN_GLIBC = "2.17"  # the oldest floor both amd64 and arm64 allow (docs/libc.md)
CGO_WINDOWS_ARCHES = ["amd64"]


@dataclass
class ModuleFacts:
    """What `go list` says about a module, as `gobuildx init` needs it."""

    module: str
    mains: list[tuple[str, str]]  # (binary name, ./main/pkg)
    uses_cgo: bool  # some non-std package in the build uses cgo
    # in-module packages that cannot build without cgo (no pure-Go fallback), each with the
    # main package (./rel) that needs it: [(main, import path, whether it is that main package)]
    needs_cgo: list[tuple[str, str, bool]] = field(default_factory=list)


def _go_list(go: Path, args: list[str], module_dir: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [str(go), "list", *args],
        cwd=module_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=LIST_TIMEOUT,
        check=False,
    )
    if proc.returncode != 0:
        patterns = " ".join(a for a in args if not a.startswith("-"))
        raise GobuildxError(f"`go list {patterns}` failed in {module_dir}:\n{proc.stderr.strip()}")
    decoder, text, pos = json.JSONDecoder(), proc.stdout, 0
    pkgs: list[dict[str, Any]] = []
    while pos < len(text):
        obj, end = decoder.raw_decode(text, pos)
        pkgs.append(obj)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return pkgs


def inspect_module(module_dir: Path, environ: dict[str, str]) -> ModuleFacts:
    if not (module_dir / "go.mod").is_file():
        raise ConfigError(
            [(f"{module_dir}: no go.mod here; run `gobuildx init` in a Go module (or pass --dir to one)")]
        )
    go = goenv.resolve(environ).go
    env = {**environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "1"}
    pkgs = _go_list(
        go, ["-deps", "-json=ImportPath,Name,Dir,GoFiles,CgoFiles,Standard,Module,Deps", "./..."], module_dir, env
    )
    module = next((p["Module"]["Path"] for p in pkgs if p.get("Module") and p["Module"].get("Main")), module_dir.name)
    root = module_dir.resolve()
    mains: list[tuple[str, str]] = []
    main_pkgs: list[tuple[str, dict[str, Any]]] = []
    for p in pkgs:
        if p.get("Name") == "main" and p.get("Dir") and Path(p["Dir"]).resolve().is_relative_to(root):
            rel = Path(p["Dir"]).resolve().relative_to(root).as_posix()
            name = Path(p["ImportPath"]).name if rel != "." else module.rstrip("/").split("/")[-1]
            main = "./" + rel if rel != "." else "."
            mains.append((name, main))
            main_pkgs.append((main, p))
    uses_cgo = any(p.get("CgoFiles") and not p.get("Standard") for p in pkgs)
    return ModuleFacts(
        module,
        sorted(mains),
        uses_cgo,
        _needing_cgo(go, module_dir, environ, pkgs, sorted(main_pkgs, key=lambda m: m[0])),
    )


def _needing_cgo(
    go: Path,
    module_dir: Path,
    environ: dict[str, str],
    pkgs: list[dict[str, Any]],
    main_pkgs: list[tuple[str, dict[str, Any]]],
) -> list[tuple[str, str, bool]]:
    """The main packages, and the packages of this module they import, that cannot be built with
    CGO_ENABLED=0: they have cgo files and no pure-Go fallback (`//go:build !cgo` files)."""
    by_path = {p["ImportPath"]: p for p in pkgs}
    in_module = {path for path, p in by_path.items() if (p.get("Module") or {}).get("Main")}
    candidates: list[tuple[str, str, bool]] = []
    for main, p in main_pkgs:
        for path in [p["ImportPath"], *p.get("Deps", [])]:
            if path in in_module and by_path[path].get("CgoFiles"):
                candidates.append((main, path, path == p["ImportPath"]))
    if not candidates:
        return []
    # The same mains with CGO_ENABLED=0: what each still imports, and which Go files remain.
    env = {**environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
    roots = sorted({p["ImportPath"] for _, p in main_pkgs})
    listed = _go_list(go, ["-e", "-deps", "-json=ImportPath,GoFiles,Deps", *roots], module_dir, env)
    without = {p["ImportPath"]: p for p in listed}
    reached = {root: {root, *without.get(root, {}).get("Deps", [])} for root in roots}
    mains = dict(main_pkgs)

    def needed(main: str, path: str) -> bool:
        """Still imported without cgo, and no Go file of its own for that case (a `!cgo` fallback)."""
        if path not in reached.get(mains[main]["ImportPath"], set()):
            return False  # imported only from files that need cgo themselves (`//go:build cgo`)
        pure = set(without.get(path, {}).get("GoFiles") or [])
        return pure <= set(by_path[path].get("GoFiles") or [])

    return [c for c in candidates if needed(c[0], c[1])]


def _cgo_note(facts: ModuleFacts) -> str:
    direct = sorted({main for main, path, own in facts.needs_cgo if own})
    if direct and len(facts.mains) == 1:
        who = "main package uses cgo"
    elif direct:
        who = f"main package {direct[0]} uses cgo" if len(direct) == 1 else f"main packages {', '.join(direct)} use cgo"
    else:
        main, path, _ = facts.needs_cgo[0]
        who = f"main package {main} imports {path}, which uses cgo"
    windows = ", ".join(f"windows/{a}" for a in CGO_WINDOWS_ARCHES)
    linux = ", ".join(f"linux/{a}" for a in CGO_LINUX_ARCHES)
    return (
        f"{who}: the release matrix builds with cgo=true, libc glibc (min_glibc "
        f"{CGO_MIN_GLIBC}) on {linux}; mingw-w64 on {windows}; zig (the ziglang wheel) "
        f"is the cross C compiler; [matrix.cgo] adds static musl builds; darwin is left out "
        f"(cgo for darwin needs Apple's macOS SDK)"
    )


def starter(module: str, mains: list[tuple[str, str]], uses_cgo: bool, needs_cgo: bool = False) -> dict[str, Any]:
    """The starter config. `uses_cgo`: some dependency uses cgo (a [matrix.cgo] of Linux libc
    variants is added); `needs_cgo`: the main package cannot build without cgo, so every
    matrix builds with cgo=true, and only for targets gobuildx can cross-compile with cgo."""
    name = mains[0][0] if mains else module.split("/")[-1]
    project: dict[str, Any] = {"name": name, "dir": ".", "version": "git"}
    if len(mains) > 1:
        project["binaries"] = [{"name": n, "main": m} for n, m in mains]
    elif mains:
        project["main"] = mains[0][1]
    # gobuildx's implicit defaults, written out so a reader sees why binaries are stripped:
    # the same values, so the build is byte-identical to one from a file without them.
    project["ldflags"] = list(Project.model_fields["ldflags"].default)
    project["flags"] = list(Project.model_fields["flags"].default)
    data: dict[str, Any] = {"project": project}
    if needs_cgo:
        data["defaults"] = {"cgo": True}
        data["matrix"] = {
            "release": {
                "goos": ["linux"],
                "goarch": list(CGO_LINUX_ARCHES),
                "libc": ["glibc"],
                "min_glibc": [CGO_MIN_GLIBC],
                "include": [{"goos": "windows", "goarch": a, "cgo": True} for a in CGO_WINDOWS_ARCHES],
            }
        }
    else:
        data["defaults"] = {"cgo": False}
        data["matrix"] = {
            "release": {
                "goos": ["linux", "darwin", "windows"],
                "goarch": ["amd64", "arm64"],
            }
        }
    if uses_cgo or needs_cgo:
        data["matrix"]["cgo"] = {
            "goos": ["linux"],
            "goarch": list(CGO_LINUX_ARCHES),
            "cgo": [True],
            "libc": ["glibc", "musl"],
            "min_glibc": [CGO_MIN_GLIBC],
        }
    return data


LDFLAGS_COMMENT = (
    "# ldflags and flags are gobuildx's defaults, written out: -s -w strip the symbol table and\n"
    "# DWARF (drop them for a debuggable binary), -X stamps main.version/commit/date, -trimpath\n"
    "# removes local paths. Setting ldflags or flags replaces the whole list.\n"
)


def render(header: str, data: dict[str, Any]) -> str:
    text = tomli_w.dumps(data)
    at = text.find("\nldflags = ")
    if at >= 0:
        text = text[: at + 1] + LDFLAGS_COMMENT + text[at + 1 :]
    return header + text


def write_starter(module_dir: Path, force: bool, environ: dict[str, str] | None = None) -> tuple[Path, str | None]:
    """Write targets.toml; returns its path and, when the main package needs cgo, what that changed."""
    env = dict(os.environ if environ is None else environ)
    out = module_dir / "targets.toml"
    if out.exists() and not force:
        raise ConfigError([f"{out} already exists; pass --force to overwrite it"])
    facts = inspect_module(module_dir, env)
    if not facts.mains:
        raise ConfigError([f"{module_dir}: module {facts.module} has no main package to build"])
    header = (
        f"# targets.toml for {facts.module}, written by `gobuildx init`.\n"
        f"# main packages: {', '.join(m for _, m in facts.mains)}; cgo in dependencies: "
        f"{'yes' if facts.uses_cgo else 'no'}\n"
    )
    note = _cgo_note(facts) if facts.needs_cgo else None
    if note:
        header += "".join(f"# {line}\n" for line in textwrap.wrap(note, width=96))
    data = starter(facts.module, facts.mains, facts.uses_cgo, needs_cgo=bool(facts.needs_cgo))
    write_atomic(out, render(header, data).encode())
    return out, note


def module_path(module_dir: Path) -> str:
    """The module path of go.mod (its `module` line), or the directory's name."""
    try:
        for line in (module_dir / "go.mod").read_text(encoding="utf-8").splitlines():
            if line.startswith("module "):
                return line.split(None, 1)[1].strip().strip('"')
    except OSError:
        pass
    return module_dir.resolve().name


def write_from_goreleaser(
    module_dir: Path, source: Path | None, force: bool, environ: dict[str, str] | None = None
) -> tuple[Path, list[str]]:
    """Translate .goreleaser.yaml into targets.toml; returns its path and the migration report."""
    from gobuildx.project import goreleaser
    from gobuildx.project.config import Config
    from gobuildx.util import dirs

    env = dict(os.environ if environ is None else environ)
    out = module_dir / "targets.toml"
    if out.exists() and not force:
        raise ConfigError([f"{out} already exists; pass --force to overwrite it"])
    path = source if source is not None else goreleaser.find_config(module_dir)
    data = goreleaser.load_yaml(path)
    go = goenv.resolve(env)
    platforms = go.platforms(dirs.user_cache_dir(env), env)
    result = goreleaser.translate(data, module_path(module_dir), platforms, env, module_dir)
    Config.model_validate(result.data)  # a translation bug, not the user's: fail before writing
    lines = goreleaser.report_lines(result.notes)
    header = f"# targets.toml translated from {path.name} by `gobuildx init --from-goreleaser`.\n"
    header += "# What was not translated, or differs from GoReleaser on purpose:\n"
    header += "".join(f"#{' ' if line else ''}{line}\n" for line in lines) or "#   nothing\n"
    write_atomic(out, (header + tomli_w.dumps(result.data)).encode())
    return out, lines


def add_smoke(path: Path, comment: str, args: list[str] | None) -> None:
    """Append the proposed [smoke] table (or, with args None, only the comment saying what to
    fill in) to the targets.toml init just wrote; checked by loading it again before the rename."""
    from gobuildx.project import config

    text = path.read_text(encoding="utf-8")
    text += "\n" + comment
    if args is not None:
        text += tomli_w.dumps({"smoke": {"args": args}})
    config.Config.model_validate(config.parse(path, text))
    write_atomic(path, text.encode())
