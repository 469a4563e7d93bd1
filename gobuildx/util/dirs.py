"""Where gobuildx keeps its per-user cache (stdlib only: the no-op fast path reads it)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def user_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("GOBUILDX_CACHE"):
        return Path(env["GOBUILDX_CACHE"])
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gobuildx"
