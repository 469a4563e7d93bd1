"""`gobuildx init`: inspect a Go module and write a starter targets.toml."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import tomli_w

from gobuildx import goenv
from gobuildx.errors import ConfigError, GobuildxError
from gobuildx.manifest import write_atomic

LIST_TIMEOUT = 300


def inspect_module(module_dir: Path, environ: dict[str, str]) -> tuple[str, list[tuple[str, str]], bool]:
    """(module path, [(binary name, ./main/pkg)], whether any non-std dependency uses cgo)."""
    if not (module_dir / "go.mod").is_file():
        raise ConfigError([f"{module_dir}: no go.mod here; run `gobuildx init` in a Go module "
                           "(or pass --dir to one)"])
    go = goenv.resolve(environ)
    env = {**environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "1"}
    proc = subprocess.run([str(go.go), "list", "-deps", "-json=ImportPath,Name,Dir,CgoFiles,Standard,Module",
                           "./..."], cwd=module_dir, env=env, capture_output=True, text=True,
                          timeout=LIST_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise GobuildxError(f"`go list ./...` failed in {module_dir}:\n{proc.stderr.strip()}")
    decoder, text, pos, pkgs = json.JSONDecoder(), proc.stdout, 0, []
    while pos < len(text):
        obj, end = decoder.raw_decode(text, pos)
        pkgs.append(obj)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    module = next((p["Module"]["Path"] for p in pkgs if p.get("Module") and p["Module"].get("Main")),
                  module_dir.name)
    root = module_dir.resolve()
    mains = []
    for p in pkgs:
        if p.get("Name") == "main" and p.get("Dir") and Path(p["Dir"]).resolve().is_relative_to(root):
            rel = Path(p["Dir"]).resolve().relative_to(root).as_posix()
            name = Path(p["ImportPath"]).name if rel != "." else module.rstrip("/").split("/")[-1]
            mains.append((name, "./" + rel if rel != "." else "."))
    uses_cgo = any(p.get("CgoFiles") and not p.get("Standard") for p in pkgs)
    return module, sorted(mains), uses_cgo


def starter(module: str, mains: list[tuple[str, str]], uses_cgo: bool) -> dict[str, Any]:
    name = mains[0][0] if mains else module.split("/")[-1]
    project: dict[str, Any] = {"name": name, "dir": ".", "version": "git"}
    if len(mains) > 1:
        project["binaries"] = [{"name": n, "main": m} for n, m in mains]
    elif mains:
        project["main"] = mains[0][1]
    data: dict[str, Any] = {"project": project, "defaults": {"cgo": False}}
    data["matrix"] = {"release": {
        "goos": ["linux", "darwin", "windows"],
        "goarch": ["amd64", "arm64"],
    }}
    if uses_cgo:
        data["matrix"]["cgo"] = {
            "goos": ["linux"], "goarch": ["amd64", "arm64"], "cgo": [True],
            "libc": ["glibc", "musl"], "min_glibc": ["2.17"],
        }
    return data


def write_starter(module_dir: Path, force: bool, environ: dict[str, str] | None = None) -> Path:
    env = dict(os.environ if environ is None else environ)
    out = module_dir / "targets.toml"
    if out.exists() and not force:
        raise ConfigError([f"{out} already exists; pass --force to overwrite it"])
    module, mains, uses_cgo = inspect_module(module_dir, env)
    if not mains:
        raise ConfigError([f"{module_dir}: module {module} has no main package to build"])
    header = (f"# targets.toml for {module}, written by `gobuildx init`.\n"
              f"# main packages: {', '.join(m for _, m in mains)}; cgo in dependencies: "
              f"{'yes' if uses_cgo else 'no'}\n")
    write_atomic(out, (header + tomli_w.dumps(starter(module, mains, uses_cgo))).encode())
    return out
