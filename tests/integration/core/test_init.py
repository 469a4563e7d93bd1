"""`gobuildx init`: the starter targets.toml builds as written, and shows gobuildx's implicit defaults.

(The first init tests, for finding main packages and refusing to overwrite, are in test_build.py.)
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import tomli_w

from gobuildx.project.config import DEFAULT_LDFLAGS
from tests.conftest import SDE, copy_example, run_gobuildx

ENV = {"SOURCE_DATE_EPOCH": SDE}


def _targets(mod: Path) -> list[dict]:
    return json.loads(run_gobuildx(["matrix", "--json"], cwd=mod, check=True).stdout)


def _record(mod: Path, tid: str) -> dict:
    data = json.loads((mod / "dist" / "manifest.json").read_text())
    return next(t for t in data["targets"] if t["id"] == tid)


def test_init_on_a_cgo_main_package_writes_a_matrix_that_builds(tmp_path: Path) -> None:
    """examples/cgo's main package imports "C": a cgo=false release matrix cannot build it
    ("build constraints exclude all Go files"), so init makes every target a cgo one."""
    mod = copy_example("cgo", tmp_path)
    (mod / "targets.toml").unlink()  # the example's own; init writes a new one
    proc = run_gobuildx(["init", "--dir", str(mod)], cwd=tmp_path, check=True)
    assert "main package uses cgo: the release matrix builds with cgo=true, libc glibc" in proc.stdout
    text = (mod / "targets.toml").read_text()
    assert "# main package uses cgo" in text
    data = tomllib.loads(text)
    assert data["defaults"]["cgo"] is True

    targets = _targets(mod)
    assert targets and all(t["cgo"] for t in targets), targets
    assert not any(t["goos"] == "darwin" for t in targets)  # cgo for darwin needs Apple's SDK
    release = [t for t in targets if "release" in t["matrices"]]
    assert {t["goos"] for t in release} == {"linux", "windows"}
    linux_amd64 = [t["id"] for t in release if (t["goos"], t["goarch"]) == ("linux", "amd64")]
    assert linux_amd64 == ["linux-amd64-glibc2.17"]  # a libc zig has cached for the other tests

    run_gobuildx(["build", "--target", linux_amd64[0]], cwd=mod, env=ENV, check=True)
    rec = _record(mod, linux_amd64[0])
    assert rec["status"] == "ok", rec
    out = subprocess.run(
        [str(mod / "dist" / rec["artifacts"][0]["path"])], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "qsort [3 7 11 19 42]" in out and "libc glibc 2." in out, out


def test_init_detects_cgo_in_an_imported_package_of_the_module(tmp_path: Path) -> None:
    """A package of the module that the main package imports and that has no pure-Go
    fallback forces cgo too; one with a `//go:build !cgo` fallback does not."""

    def module(name: str, fallback: bool) -> Path:
        mod = tmp_path / name
        (mod / "cmd" / name).mkdir(parents=True)
        (mod / "internal" / "sum").mkdir(parents=True)
        (mod / "go.mod").write_text(f"module example.com/{name}\n\ngo 1.22\n")
        (mod / "cmd" / name / "main.go").write_text(
            f'package main\n\nimport "example.com/{name}/internal/sum"\n\nfunc main() {{ println(sum.Add(1, 2)) }}\n'
        )
        (mod / "internal" / "sum" / "sum_cgo.go").write_text(
            'package sum\n\n// static int add(int a, int b) { return a + b; }\nimport "C"\n\n'
            "func Add(a, b int) int { return int(C.add(C.int(a), C.int(b))) }\n"
        )
        if fallback:
            (mod / "internal" / "sum" / "sum_nocgo.go").write_text(
                "//go:build !cgo\n\npackage sum\n\nfunc Add(a, b int) int { return a + b }\n"
            )
        return mod

    needs = module("needs", fallback=False)
    proc = run_gobuildx(["init", "--dir", str(needs)], cwd=tmp_path, check=True)
    assert (
        "main package ./cmd/needs imports example.com/needs/internal/sum, which uses cgo: "
        "the release matrix builds with cgo=true"
    ) in proc.stdout
    targets = _targets(needs)
    assert all(t["cgo"] for t in targets) and "linux-amd64-glibc2.17" in {t["id"] for t in targets}

    optional = module("optional", fallback=True)
    proc = run_gobuildx(["init", "--dir", str(optional)], cwd=tmp_path, check=True)
    assert "uses cgo" not in proc.stdout
    release = [t for t in _targets(optional) if "release" in t["matrices"]]
    assert "linux-amd64" in {t["id"] for t in release} and not any(t["cgo"] for t in release)

    # The main package imports the cgo package only in a `//go:build cgo` file, and has a
    # pure-Go file for !cgo: without cgo it never imports it, so cgo stays optional.
    gated = module("gated", fallback=False)
    main_dir = gated / "cmd" / "gated"
    (main_dir / "main.go").write_text("package main\n\nfunc main() { println(add(1, 2)) }\n")
    (main_dir / "add_cgo.go").write_text(
        "//go:build cgo\n\npackage main\n\n"
        'import "example.com/gated/internal/sum"\n\n'
        "func add(a, b int) int { return sum.Add(a, b) }\n"
    )
    (main_dir / "add_pure.go").write_text(
        "//go:build !cgo\n\npackage main\n\nfunc add(a, b int) int { return a + b }\n"
    )
    proc = run_gobuildx(["init", "--dir", str(gated)], cwd=tmp_path, check=True)
    assert "uses cgo" not in proc.stdout, proc.stdout
    release = [t for t in _targets(gated) if "release" in t["matrices"]]
    assert "darwin-arm64" in {t["id"] for t in release} and not any(t["cgo"] for t in release)


def test_init_writes_the_default_ldflags_and_flags_and_they_build_the_same_binary(tmp_path: Path) -> None:
    """The starter shows gobuildx's implicit ldflags (-s -w -X ...) and flags (-trimpath) in
    [project]; written out they build byte-for-byte what leaving them out builds."""
    explicit = copy_example("hello", tmp_path / "explicit")
    implicit = copy_example("hello", tmp_path / "implicit")
    for mod in (explicit, implicit):
        run_gobuildx(["init", "--dir", str(mod)], cwd=tmp_path, check=True)
    text = (explicit / "targets.toml").read_text()
    project = tomllib.loads(text)["project"]
    assert project["ldflags"] == DEFAULT_LDFLAGS
    assert project["flags"] == ["-trimpath"]
    assert "-s -w strip the symbol table" in text  # says why binaries are stripped

    data = tomllib.loads((implicit / "targets.toml").read_text())
    del data["project"]["ldflags"], data["project"]["flags"]
    (implicit / "targets.toml").write_text(tomli_w.dumps(data))

    digests = []
    for mod in (explicit, implicit):
        run_gobuildx(["build", "--target", "linux-amd64", "--no-audit"], cwd=mod, env=ENV, check=True)
        rec = _record(mod, "linux-amd64")
        assert rec["status"] == "ok", rec
        digests.append(rec["artifacts"][0]["sha256"])
    assert digests[0] == digests[1]
    out = subprocess.run(
        [str(explicit / "dist" / "linux-amd64" / "hello")], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "built 2023-11-14" in out  # -X main.date={date} from SOURCE_DATE_EPOCH
