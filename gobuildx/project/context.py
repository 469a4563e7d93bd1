"""Everything a stage needs to know about the project, resolved once per command."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gobuildx.errors import ConfigError
from gobuildx.project import checks as configcheck
from gobuildx.project import config, goenv, matrix
from gobuildx.project.goenv import GoToolchain, Platform
from gobuildx.project.matrix import Target
from gobuildx.util import dirs


class ProjectContext(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    loaded: config.LoadedConfig
    go: GoToolchain
    targets: list[Target]
    cache_dir: Path
    environ: dict[str, str] = Field(repr=False)
    """Not in repr: the environment holds passwords (GOBUILDX_REGISTRY_PASSWORD, a CI's tokens)."""

    @property
    def dist(self) -> Path:
        return self.loaded.dist_dir

    def with_dist(self, dist: Path) -> ProjectContext:
        """The same project writing to (or reading from) another dist directory."""
        project = self.loaded.config.project.model_copy(update={"dist": str(dist)})
        cfg = self.loaded.config.model_copy(update={"project": project})
        return self.model_copy(update={"loaded": self.loaded.model_copy(update={"config": cfg})})

    def select(self, matrix_name: str = "all", patterns: list[str] | tuple[str, ...] = ()) -> list[Target]:
        return matrix.select(self.loaded, self.targets, matrix_name, list(patterns))


def config_path(given: str | None, environ: dict[str, str]) -> Path:
    return Path(given or environ.get("GOBUILDX_CONFIG") or "targets.toml")


def file_problems(path: Path) -> list[str]:
    """What targets.toml alone gets wrong (schema, paths, templates): no Go asked."""
    try:
        return configcheck.problems(config.load(path))
    except ConfigError as exc:
        return exc.problems


def open_project(path: Path, environ: dict[str, str] | None = None, *, unsigned: bool = False) -> ProjectContext:
    """Load and validate targets.toml against the Go that will build it. `unsigned`: without
    its [sign] table (a rebuild in a fresh clone signs nothing, and the key file is not in git)."""
    env = dict(os.environ if environ is None else environ)
    loaded = config.load(path)
    if unsigned:
        loaded = loaded.model_copy(update={"config": loaded.config.model_copy(update={"sign": None})})
    go = goenv.resolve(env)
    cache_dir = dirs.user_cache_dir(env)
    targets = checked_targets(loaded, go.platforms(cache_dir, env))
    return ProjectContext(loaded=loaded, go=go, targets=targets, cache_dir=cache_dir, environ=env)


def checked_targets(loaded: config.LoadedConfig, platforms: Sequence[Platform]) -> list[Target]:
    """The expanded matrix, or one ConfigError with every problem of the file and of the
    matrix against these platforms. Pure: the unit tier runs it with a fixed platform list."""
    found = configcheck.problems(loaded)
    try:
        targets = matrix.expand(loaded, platforms)
    except ConfigError as exc:
        raise ConfigError(found + exc.problems) from None
    found += configcheck.target_problems(loaded, targets)
    if found:
        raise ConfigError(found)
    return targets
