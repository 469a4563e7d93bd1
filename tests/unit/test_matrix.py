"""Matrix expansion and selection from a fixed platform list."""

from __future__ import annotations

from pathlib import Path

import pytest

from gobuildx.errors import ConfigError
from gobuildx.project import config, matrix
from gobuildx.project.goenv import Platform
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


VARIANTS = """
[project]
name = "hello"

[matrix.v]
goos = ["linux"]
goarch = ["386", "arm64", "mips", "mips64le"]
go386 = ["sse2", "softfloat"]
goarm64 = ["v8.0", "v9.0,lse"]
gomips = ["hardfloat", "softfloat"]
exclude = [{ goarch = "mips64le", gomips = "hardfloat" }]
"""
MIPS = [
    *PLATFORMS,
    *(Platform(goos="linux", goarch=a, cgo_supported=True, first_class=False) for a in ("mips", "mips64le")),
]


def test_go386_goarm64_and_gomips_variants(tmp_path: Path) -> None:
    """GoReleaser's go386/goarm64/gomips: Go's default keeps the plain id, another gets a suffix,
    and the build's environment names it (GOMIPS64 for mips64)."""
    (tmp_path / "targets.toml").write_text(VARIANTS)
    targets = {t.id: t for t in matrix.expand(config.load(tmp_path / "targets.toml"), MIPS)}
    assert sorted(targets) == [
        "linux-386", "linux-386-softfloat", "linux-arm64", "linux-arm64-v9.0-lse",
        "linux-mips", "linux-mips-softfloat", "linux-mips64le-softfloat",
    ]  # fmt: skip
    assert targets["linux-386-softfloat"].go_env()["GO386"] == "softfloat"
    assert targets["linux-arm64-v9.0-lse"].go_env()["GOARM64"] == "v9.0,lse"
    assert targets["linux-mips"].go_env()["GOMIPS"] == "hardfloat"
    env = targets["linux-mips64le-softfloat"].go_env()
    assert env["GOMIPS64"] == "softfloat" and "GOMIPS" not in env


def test_a_variant_for_another_goarch_is_refused(tmp_path: Path) -> None:
    (tmp_path / "targets.toml").write_text(
        '[project]\nname = "hello"\n[matrix.v]\ngoos = ["linux"]\ngoarch = ["amd64"]\ngomips = ["softfloat"]\n'
        '[matrix.i]\ninclude = [{ goos = "linux", goarch = "amd64", go386 = "softfloat" }]\n'
    )
    (tmp_path / "bad.toml").write_text(
        '[project]\nname = "h"\n[matrix.v]\ngoos = ["linux"]\ngoarch = ["arm64"]\ngoarm64 = ["v8"]\n'
    )
    with pytest.raises(ConfigError) as err:
        matrix.expand(config.load(tmp_path / "targets.toml"), MIPS)
    text = str(err.value)
    assert 'matrix.v.gomips: applies only to goarch = "mips" or "mipsle"' in text
    assert "go386 = 'softfloat' applies only to goarch 386" in text
    with pytest.raises(ConfigError, match="goarm64"):
        config.load(tmp_path / "bad.toml")
