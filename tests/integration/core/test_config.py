"""Validation that teaches: every problem at once, with file, key path, value, allowed values."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_gobuildx

BASE = """
[project]
name = "hello"
dir = "hello"
"""

pytestmark = pytest.mark.usefixtures("hello_module")  # the module these configs name (dir = "hello")


def check(tmp_path: Path, text: str) -> str:
    (tmp_path / "targets.toml").write_text(text)
    proc = run_gobuildx(["matrix"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    return proc.stderr


def test_unknown_key_names_file_key_allowed_and_suggestion(tmp_path: Path) -> None:
    err = check(tmp_path, BASE + 'versoin = "1.0"\n[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64"]\n')
    assert f"{tmp_path / 'targets.toml'}: project.versoin: unknown key" in err
    assert "allowed: binaries, dir, dist, env, flags, ldflags, main, name, tags, version" in err
    assert "did you mean 'version'?" in err


def test_bad_literal_in_axis_names_index(tmp_path: Path) -> None:
    err = check(
        tmp_path,
        BASE + '[matrix.release]\ngoos = ["linux"]\ngoarch = ["amd64"]\n'
        'cgo = [true]\nlibc = ["static", "glibc", "muls"]\n',
    )
    assert "matrix.release.libc[2]: 'muls' is not allowed" in err
    assert "allowed: static, musl, glibc, wasm, system" in err
    assert "did you mean 'musl'?" in err


def test_wrong_type_is_named(tmp_path: Path) -> None:
    err = check(tmp_path, BASE + '[defaults]\ncgo = "yes"\n[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64"]\n')
    assert "defaults.cgo:" in err and "'yes'" in err


def test_unknown_goos_checked_against_go_dist_list(tmp_path: Path) -> None:
    err = check(tmp_path, BASE + '[matrix.m]\ngoos = ["linux", "windwos"]\ngoarch = ["amd64"]\n')
    assert "matrix.m.goos[1]: 'windwos' is not a GOOS known to this Go" in err
    assert "did you mean 'windows'?" in err


def test_unsupported_pair(tmp_path: Path) -> None:
    err = check(tmp_path, BASE + '[matrix.m]\ninclude = [{ goos = "windows", goarch = "riscv64" }]\n')
    assert "matrix.m.include[0].goarch: windows/riscv64 is not supported by this Go" in err
    assert "allowed goarch for windows: 386, amd64, arm64" in err


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('{ goos = "wasip1", goarch = "wasm", cgo = true }', "include[0].cgo: cgo = true on wasip1/wasm is impossible"),
        (
            '{ goos = "windows", goarch = "amd64", libc = "musl" }',
            "include[0].libc: libc = 'musl' on windows/amd64 is impossible",
        ),
        (
            '{ goos = "darwin", goarch = "arm64", min_glibc = "2.17" }',
            "include[0].min_glibc: min_glibc = '2.17' on darwin/arm64 with libc = 'system' is meaningless",
        ),
        ('{ goos = "linux", goarch = "amd64", libc = "glibc", cgo = false }', "a pure-Go build links no C library"),
        ('{ goos = "linux", goarch = "arm64", goarm = "7" }', "goarm = '7' applies only to goarch = \"arm\""),
    ],
)
def test_impossible_combinations(tmp_path: Path, entry: str, expected: str) -> None:
    err = check(tmp_path, BASE + f"[matrix.m]\ninclude = [{entry}]\n")
    assert expected in err


def test_axis_product_problem_suggests_exclude(tmp_path: Path) -> None:
    err = check(
        tmp_path,
        BASE + '[matrix.r]\ngoos = ["linux", "darwin"]\ngoarch = ["amd64"]\ncgo = [true]\nlibc = ["glibc", "musl"]\n',
    )
    assert "matrix.r.libc[0]: libc = 'glibc' on darwin/amd64 is impossible" in err
    assert 'add { goos = "darwin", libc = "glibc" } to matrix.r.exclude' in err
    assert "matrix.r.libc[1]: libc = 'musl' on darwin/amd64" in err


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    err = check(tmp_path, BASE + 'verison = "x"\n[matrix.m]\ngoos = ["lnux"]\ngoarch = ["amd64"]\nlibc = ["gnu"]\n')
    assert "project.verison" in err and "matrix.m.libc[0]: 'gnu'" in err


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    err = check(tmp_path, "[project\nname=")
    assert "targets.toml: not valid TOML" in err
    (tmp_path / "targets.toml").unlink()
    proc = run_gobuildx(["matrix"], cwd=tmp_path)
    assert proc.returncode == 2 and "no such file" in proc.stderr and "gobuildx init" in proc.stderr


def test_bad_glibc_version_and_override_without_match(tmp_path: Path) -> None:
    err = check(
        tmp_path,
        BASE + '[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64"]\ncgo = [true]\n'
        'libc = ["glibc"]\nmin_glibc = ["2.x"]\n[[override]]\nmatch = "linux-arm*"\ntags = ["x"]\n',
    )
    assert "matrix.m.min_glibc" in err and "2.x" in err
    proc_text = BASE + '[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64"]\n[[override]]\nmatch = "linux-amd46"\n'
    err = check(tmp_path, proc_text)
    assert "override[0].match[0]: 'linux-amd46' matches no target" in err
    assert "did you mean 'linux-amd64'?" in err


def test_unknown_matrix_and_target_selection(tmp_path: Path) -> None:
    (tmp_path / "targets.toml").write_text(BASE + '[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64", "arm64"]\n')
    proc = run_gobuildx(["matrix", "--matrix", "relase"], cwd=tmp_path)
    assert proc.returncode == 2 and "allowed: all, m" in proc.stderr
    proc = run_gobuildx(["build", "--target", "linux-amd46"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "--target 'linux-amd46'" in proc.stderr and "did you mean 'linux-amd64'?" in proc.stderr


def test_bad_version_source_and_template(tmp_path: Path) -> None:
    (tmp_path / "targets.toml").write_text(
        BASE + 'version = "env:NO_SUCH_VAR_GOBUILDX"\n[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64"]\n'
    )
    proc = run_gobuildx(["build"], cwd=tmp_path)
    assert proc.returncode == 2 and "NO_SUCH_VAR_GOBUILDX, which is not set" in proc.stderr
    (tmp_path / "targets.toml").write_text(
        BASE + 'version = "1.0"\nldflags = ["-X main.version={verison}"]\n'
        '[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64"]\n'
    )
    proc = run_gobuildx(["build"], cwd=tmp_path)
    assert proc.returncode == 2 and "project.ldflags[0]" in proc.stderr and "{version}" in proc.stderr


def test_missing_dir_main_and_bad_placeholders_are_caught_by_matrix(tmp_path: Path) -> None:
    """What the schema cannot see is still found before any compiler runs, all at once: a
    project.dir or main package that is not there, and ldflags placeholders that do not exist."""
    err = check(tmp_path, '[project]\nname = "hello"\ndir = "helo"\n[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64"]\n')
    assert "project.dir: 'helo' is not a directory" in err and "did you mean 'hello'?" in err
    (tmp_path / "hello" / "cmd" / "hello").mkdir(parents=True)
    (tmp_path / "hello" / "cmd" / "hello" / "main.go").write_text("package main\n\nfunc main() {}\n")
    err = check(
        tmp_path,
        BASE + 'main = "./cmd/helo"\nldflags = ["-X main.v={verison}", "-X main.id={id}"]\n'
        '[[override]]\nmatch = "linux-*"\nldflags = ["-X a={"]\n'
        '[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64", "amd46"]\n',
    )
    assert "project.main: './cmd/helo': no Go files in" in err and "did you mean './cmd/hello'?" in err
    assert "project.ldflags[0]: '-X main.v={verison}': unknown placeholder {verison}" in err
    allowed = "{version}, {commit}, {short_commit}, {date}, {id}, {goos}, {goarch}"
    assert f"allowed: {allowed}; did you mean {{version}}?" in err
    assert "project.ldflags[1]" not in err
    assert "override[0].ldflags[0]: '-X a={'" in err and "write a literal brace as {{ or }}" in err
    assert "amd46" in err, "the matrix's own problems are reported in the same run"
    err = check(
        tmp_path,
        BASE + 'main = "./..."\nldflags = ["-X main.v={version.major}"]\n'
        '[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64"]\n',
    )
    assert "{version.major}: a placeholder is a plain name, such as {version}" in err
    assert "project.main" not in err, "a package pattern is go's to resolve"
    err = check(
        tmp_path, '[project]\nname = "hello"\ndir = "hello\\\\cmd"\n[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64"]\n'
    )
    assert "write paths with forward slashes" in err


def test_a_variant_axis_that_applies_to_nothing_is_refused(tmp_path: Path) -> None:
    """goarm without arm, goamd64 without amd64, min_glibc without any glibc target: a silent no-op
    would leave the user believing their release has those variants."""
    err = check(
        tmp_path,
        BASE + '[matrix.mac]\ngoos = ["darwin"]\ngoarch = ["arm64"]\ngoarm = ["7"]\n'
        'goamd64 = ["v3"]\nmin_glibc = ["2.28"]\n',
    )
    assert 'matrix.mac.goarm: applies only to goarch = "arm", which the goarch axis ["arm64"] does not have' in err
    assert 'matrix.mac.goamd64: applies only to goarch = "amd64"' in err
    assert "matrix.mac.min_glibc: applies only to glibc targets, and this matrix's axes make none" in err
    ok = (
        BASE + '[matrix.mixed]\ngoos = ["linux", "darwin"]\ngoarch = ["amd64", "arm"]\ngoarm = ["7"]\n'
        'cgo = [true]\nlibc = ["glibc"]\nmin_glibc = ["2.28"]\nexclude = [{ goos = "darwin" }]\n'
    )
    (tmp_path / "targets.toml").write_text(ok)
    assert run_gobuildx(["matrix"], cwd=tmp_path).returncode == 0, "axes that apply to some targets are fine"
