"""Splitting the selected targets across CI runners, and the matrix GitHub Actions takes.

Shard I of N (1-based) holds the targets at positions I-1, I-1+N, I-1+2N, ... of the
selected ids sorted by name. Every runner computes the same split from the same
targets.toml and selection, so the shards are disjoint and together hold every target;
round-robin over sorted ids spreads families (linux-*, windows-*) across runners.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from gobuildx.errors import ConfigError
from gobuildx.project.matrix import Target


class Shard(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int  # 1-based
    count: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"


def parse(text: str) -> Shard:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise ConfigError([f"--shard {text!r}: expected I/N, e.g. 1/3 (shard 1 of 3)"])
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ConfigError([f"--shard {text!r}: I must be between 1 and N (N >= 1), e.g. 1/{max(count, 1)}"])
    return Shard(index=index, count=count)


def ids_of(shard: Shard, ids: Sequence[str]) -> list[str]:
    return sorted(ids)[shard.index - 1 :: shard.count]


def select(shard: Shard, targets: Sequence[Target]) -> list[Target]:
    """The targets of one shard (an empty shard is allowed: N may exceed the targets)."""
    keep = set(ids_of(shard, [t.id for t in targets]))
    return [t for t in targets if t.id in keep]


def github_matrix(targets: Sequence[Target], shards: int) -> str:
    """One line of JSON for `strategy.matrix: ${{ fromJSON(...) }}`.

    shards > 0: {"include": [{"shard": "1/N", "index": 1, "targets": "a b"}, ...]}, with N
    lowered to the number of targets so that no shard is empty;
    shards == 0: one entry per target with its id, goos, goarch and runner-friendly name.
    """
    if shards < 0:
        raise ConfigError([f"--shards {shards}: expected 0 (one job per target) or a positive count"])
    if shards:
        ids = [t.id for t in targets]
        count = max(1, min(shards, len(ids)))  # never an empty shard: it would build nothing
        include = [
            {"shard": f"{i}/{count}", "index": i, "targets": " ".join(ids_of(Shard(index=i, count=count), ids))}
            for i in range(1, count + 1)
        ]
    else:
        include = [{"target": t.id, "goos": t.goos, "goarch": t.goarch} for t in sorted(targets, key=lambda t: t.id)]
    return json.dumps({"include": include}, separators=(",", ":"))
