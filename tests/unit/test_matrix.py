"""Matrix expansion and selection from a fixed platform list."""

from __future__ import annotations

from pathlib import Path

import pytest

from gobuildx.errors import ConfigError
from gobuildx.project import config, matrix
from tests.conftest import DEFAULT_IDS
from tests.unit.conftest import PLATFORMS

REPO = Path(__file__).resolve().parents[2]


def test_the_repository_matrix_expands_to_its_fifteen_ids() -> None:
    targets = matrix.expand(config.load(REPO / "targets.toml"), PLATFORMS)
    assert sorted(t.id for t in targets) == sorted(DEFAULT_IDS)  # 15 ids, none twice
    armv6 = next(t for t in targets if t.id == "linux-armv6")
    assert (armv6.goarch, armv6.goarm, armv6.cgo, armv6.matrices) == ("arm", "6", False, ["linux"])


def test_cgo_and_libc_axes_make_distinct_ids(context) -> None:
    ctx = context("""
[project]
name = "hello"
dir = "hello"
version = "1.2.3"

[matrix.c]
goos = ["linux"]
goarch = ["amd64", "arm64"]
cgo = [true]
libc = ["glibc", "musl"]
min_glibc = ["2.17"]
""")
    assert sorted(t.id for t in ctx.targets) == [
        "linux-amd64-glibc2.17",
        "linux-amd64-musl",
        "linux-arm64-glibc2.17",
        "linux-arm64-musl",
    ]
    glibc = next(t for t in ctx.targets if t.id == "linux-arm64-glibc2.17")
    assert (glibc.cgo, glibc.libc, glibc.min_glibc) == (True, "glibc", "2.17")


def test_a_goos_the_platform_list_lacks_is_a_config_error_with_a_suggestion(context) -> None:
    with pytest.raises(ConfigError) as err:
        context('[project]\nname = "hello"\ndir = "hello"\n\n[matrix.m]\ngoos = ["windwos"]\ngoarch = ["amd64"]\n')
    assert any("'windwos'" in p and "did you mean 'windows'" in p for p in err.value.problems), err.value.problems


def test_cgo_on_wasm_is_refused_by_the_platform_list(context) -> None:
    with pytest.raises(ConfigError) as err:
        context(
            '[project]\nname = "hello"\ndir = "hello"\n\n[matrix.w]\n'
            'include = [{ goos = "wasip1", goarch = "wasm", cgo = true }]\n'
        )
    assert any("cgo" in p for p in err.value.problems)


def test_select_by_matrix_and_glob(context) -> None:
    ctx = context("""
[project]
name = "hello"
dir = "hello"
version = "1.2.3"

[matrix.linux]
goos = ["linux"]
goarch = ["amd64", "arm64"]

[matrix.web]
include = [{ goos = "wasip1", goarch = "wasm" }]
""")
    assert [t.id for t in ctx.select("web")] == ["wasip1-wasm"]
    assert [t.id for t in ctx.select("all", ["linux-*"])] == ["linux-amd64", "linux-arm64"]
    with pytest.raises(ConfigError):
        ctx.select("linx")
