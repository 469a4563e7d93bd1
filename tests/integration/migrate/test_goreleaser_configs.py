"""`gobuildx init --from-goreleaser` on real .goreleaser.yaml files, against GoReleaser itself.

Each project's module archive comes from the Go module proxy at test time (`go mod download`,
never copied into this repository); its .goreleaser.yaml is translated, the result must pass
`gobuildx check`, and then GoReleaser v2.15.1 (installed once, as bench/vs_goreleaser.py
installs it) and gobuildx build and archive the same copy. To stay within CI's time both
tools' `go build` is a stand-in that writes a small file per target (GoReleaser's `gobinary`,
gobuildx's GOBUILDX_GO); every other go command is the real one. The tests assert that both
give the same platforms, binary names per platform, archive names and archive member paths,
except the differences docs/migrate.md lists (KNOWN). Three projects are compiled for real by
both tools for the host target (test_real_build_gives_the_same_files).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from functools import cache
from pathlib import Path

import pytest
import tomli_w
import yaml
import zstandard

from tests.conftest import REPO, git, go_program, need, run_gobuildx

# module@version: what its config covers (docs/migrate.md has the same list)
PROJECTS = {
    "github.com/air-verse/air@v1.67.4": "defaults + ignore, .Env in ldflags, a second (binary) archive",
    "github.com/derailed/k9s@v0.50.16": "goarm 7, ignore, uname-style name template, zip override",
    "github.com/golang-migrate/migrate/v4@v4.20.1": "main in cmd/, tags, goarm, several archives",
    "github.com/golangci/golangci-lint/v2@v2.15.0": "goarm 6 and 7, mips, wrap_in_directory, many targets",
    "github.com/mikefarah/yq/v4@v4.54.3": "explicit targets incl. mips/loong64, binary per target",
    "github.com/pressly/goose/v3@v3.30.0": "explicit goos/goarch, templated binary, format_overrides",
    "github.com/sigstore/rekor@v1.5.4": "several builds (two binaries), ppc64le and s390x, mod_timestamp",
    "github.com/stern/stern@v1.33.0": "goos/goarch lists, default names",
    "github.com/anchore/grype@v0.121.2": "several builds per OS of one binary, mod_timestamp, sboms",
    "github.com/go-acme/lego/v5@v5.6.0": "goarm 6 7, many goos, ignore lists, uname-free names",
    "github.com/mgechev/revive@v1.17.0": "a small v2 file: defaults, title-case name template",
    "github.com/vektra/mockery/v3@v3.9.1": "uname-style template, ldflags with .Version, dockers",
    "github.com/pelletier/go-toml/v2@v2.2.4": "format: tar.xz (v1 key), three builds and archives by ids, .Binary",
    "al.essio.dev/pkg/shellescape@v1.6.0": "goamd64 v2 v3, goarm 6 7, ignore with variants, a templated CC env",
}
# Configs GoReleaser OSS cannot run here (Pro, or `includes` fetched from the web): translated
# and checked, not compared.
TRANSLATE_ONLY = {
    "github.com/caarlos0/env/v11@v11.4.2": "pro: true and includes from a URL",
    "github.com/charmbracelet/freeze@v0.2.2": "includes from a URL (charmbracelet/meta)",
    "github.com/charmbracelet/vhs@v0.10.0": "includes from a URL (charmbracelet/meta)",
    "github.com/goreleaser/goreleaser/v2@v2.15.1": "keys newer than v2.15.1 (npms, cloudsmiths)",
    "github.com/goreleaser/nfpm/v2@v2.45.2": "keys newer than v2.15.1 (furies, npms)",
    "github.com/go-task/task/v3@v3.54.0": "keys newer than v2.15.1 (npms)",
    "github.com/schollz/croc/v10@v10.7.0": "schema 1 keys GoReleaser v2 removed (replacements, brews.tap)",
}
# The environment a project's Makefile gives GoReleaser (its templates read .Env).
ENV = {
    "github.com/golang-migrate/migrate/v4@v4.20.1": {"DATABASE": "postgres", "SOURCE": "file"},
    "github.com/sigstore/rekor@v1.5.4": {"SERVER_LDFLAGS": "-s -w", "CLI_LDFLAGS": "-s -w"},
}
# What may differ, per project, each documented in docs/migrate.md.
KNOWN: dict[str, set[str]] = {
    # rekor-cli-{{ .Os }}-{{ .Arch }}, and formats: [binary] (GoReleaser makes no archive)
    "github.com/sigstore/rekor@v1.5.4": {"binaries", "archives"},
    # one archive per build in GoReleaser (jsontoml_..., tomljson_..., tomll_...): gobuildx's one
    # archive per target has GoReleaser's first name, and all three binaries
    "github.com/pelletier/go-toml/v2@v2.2.4": {"members"},
}
# The configs with `nfpms` whose nfpms[0] becomes a [package] table; the others' (maintainer
# without an address: "Anchore, Inc", "Fernand Galiana", a bare address) get none, and the
# report says why (docs/migrate.md).
PACKAGED = {
    "github.com/go-task/task/v3@v3.54.0",
    "github.com/golangci/golangci-lint/v2@v2.15.0",
    "github.com/goreleaser/goreleaser/v2@v2.15.1",
    "github.com/goreleaser/nfpm/v2@v2.45.2",
    "github.com/schollz/croc/v10@v10.7.0",
}
UNPACKAGED = {
    "github.com/anchore/grype@v0.121.2",
    "github.com/derailed/k9s@v0.50.16",
    "github.com/golang-migrate/migrate/v4@v4.20.1",
}
BINARY = 4  # GoReleaser's artifact.Binary (an archive of format binary is another type, same name)
UPLOADABLE_BINARY = 2  # what an archive of format binary makes: the binary itself, under the archive's name
SKIP = "publish,announce,sign,sbom,docker,ko,nfpm,before,validate,homebrew,scoop,winget,aur,nix,chocolatey,snapcraft"
STANDIN = """#!/bin/sh
# `go build ... -o OUT`: a small file naming the target instead of a compile; the rest is the real go
if [ "$1" = build ]; then
  out=""; prev=""
  for a in "$@"; do [ "$prev" = "-o" ] && out="$a"; prev="$a"; done
  mkdir -p "$(dirname "$out")" && printf 'stand-in %s/%s\\n' "$GOOS" "$GOARCH" > "$out" && exit 0
fi
exec {go} "$@"
"""


@cache
def _bench() -> object:
    spec = importlib.util.spec_from_file_location("vs_goreleaser", REPO / "bench" / "vs_goreleaser.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@cache
def dist_list() -> frozenset[str]:
    out = subprocess.run([go_program(), "tool", "dist", "list"], capture_output=True, text=True, check=True)
    return frozenset(out.stdout.split())


def go_env() -> dict[str, str]:
    go = go_program()
    return {**os.environ, "PATH": f"{Path(go).parent}:{os.environ['PATH']}", "GOTOOLCHAIN": "local", "GOFLAGS": ""}


@pytest.fixture(scope="session")
def goreleaser(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GoReleaser v2.15.1 from bench/vs_goreleaser.py's cache (installed there if missing)."""
    log = tmp_path_factory.mktemp("goreleaser-install") / "install.log"
    exe, _ = _bench().ensure_goreleaser(go_env(), log)  # type: ignore[attr-defined]
    return Path(exe)


@pytest.fixture(scope="session")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("standin") / "go"
    path.write_text(STANDIN.replace("{go}", go_program()))
    path.chmod(0o755)
    return path


def module_copy(spec: str, dest: Path) -> Path:
    """The module archive of `spec` from the Go module proxy, copied to a fresh git repository."""
    proc = subprocess.run(
        [go_program(), "mod", "download", "-json", spec],
        env=go_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    need(proc.returncode == 0, f"`go mod download {spec}` failed (no Go module proxy?): {proc.stderr[-300:]}")
    src = Path(json.loads(proc.stdout)["Dir"])
    shutil.copytree(src, dest, symlinks=True)
    # a module archive may keep a go.work naming directories it does not ship (mockery's)
    (dest / "go.work").unlink(missing_ok=True)
    for path in [dest, *dest.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "module archive")
    git(dest, "tag", "v1.2.3")
    # GoReleaser reads the commit only with a remote configured; nothing ever contacts it
    name = spec.split("@")[0].rstrip("/").split("/")[-1]  # as GoReleaser names a project from go.mod
    git(dest, "remote", "add", "origin", f"https://git.example.invalid/owner/{name}.git")
    return dest


def config_file(root: Path) -> Path:
    return next(p for p in (root / ".goreleaser.yaml", root / ".goreleaser.yml") if p.is_file())


def translate(root: Path, env: dict[str, str] | None = None, probe: bool = False) -> str:
    """init --from-goreleaser, then `gobuildx check`; `probe`: also build the host's binary for real
    and propose [smoke] (the stand-in comparisons skip that compile)."""
    env = {"GOVERSION": "go1.26", **(env or {})}
    argv = ["init", "--from-goreleaser"] + ([] if probe else ["--no-probe"])
    proc = run_gobuildx(argv, cwd=root, env=env, check=True)
    run_gobuildx(["check"], cwd=root, check=True)
    return proc.stdout


def assert_package(root: Path, spec: str, report: str) -> None:
    """A config's nfpms: a [package] table (`gobuildx check` passed it), or none and the report's reason."""
    has_nfpms = bool(yaml.safe_load(config_file(root).read_text()).get("nfpms"))
    table = tomllib.loads((root / "targets.toml").read_text()).get("package")
    assert has_nfpms == (spec in PACKAGED | UNPACKAGED), spec
    if spec in PACKAGED:
        assert table and table["formats"], report
    else:
        assert table is None
    if spec in UNPACKAGED:
        assert "nfpms[0].maintainer" in report, report


@pytest.mark.parametrize("spec", sorted(TRANSLATE_ONLY))
def test_translates_and_passes_check(tmp_path: Path, spec: str) -> None:
    root = module_copy(spec, tmp_path / "m")
    out = translate(root)
    assert "not translated" in out  # the report lists the keys (includes, pro, ...) it could not use
    assert_package(root, spec, out)


def goreleaser_side(
    root: Path, exe: Path, gobinary: Path | None, extra: dict[str, str], only: tuple | None = None
) -> dict:
    """GoReleaser's release --snapshot of the copy: platforms, binaries, archives with members
    (`only`: every build narrowed to that one platform, to compile it for real)."""
    path = config_file(root)
    original = path.read_text()
    data = yaml.safe_load(original)
    builds = data.get("builds") or [{}]
    for b in builds:
        b.pop("hooks", None)  # not translated (the report says so), and they need the project's tools
        if gobinary is not None:
            b["gobinary"] = str(gobinary)
            # explicit targets the real Go cannot build (windows/arm since Go 1.26) would fail
            # GoReleaser's real build; the stand-in would "build" them: left out, as init leaves them
            if b.get("targets"):
                keep = ("go_first_class", "go_118_first_class")
                b["targets"] = [t for t in b["targets"] if t in keep or "/".join(str(t).split("_")[:2]) in dist_list()]
        if only is not None:
            for key in ("targets", "ignore", "goarm", "goamd64"):
                b.pop(key, None)
            b["goos"], b["goarch"] = [only[0]], [only[1]]
    data["builds"] = builds
    data["version"] = 2  # GoReleaser v2 refuses a file saying version 1; the keys it checks are the same
    data.pop("changelog", None)  # not compared; a v1 changelog.skip would stop GoReleaser v2
    data.pop("universal_binaries", None)  # not translated (reported): darwin keeps its two targets
    path.write_text(yaml.safe_dump(data))
    env = {**go_env(), "GOVERSION": "go1.26", **extra}
    try:
        argv = [str(exe), "release", "--snapshot", "--clean", f"--skip={SKIP}"]
        proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=900, check=False)
    finally:
        path.write_text(original)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    dist = root / (data.get("dist") or "dist")
    arts = json.loads((dist / "artifacts.json").read_text())
    meta = json.loads((dist / "metadata.json").read_text())
    # gobuildx makes one archive per target: GoReleaser's from the first archives[] entry that has it
    order = [a.get("id") or "default" for a in data.get("archives") or [{}]]
    out: dict = {"version": meta["version"], "binaries": {}, "archives": {}, "dist": dist}
    per_target: dict[str, tuple[int, dict]] = {}
    for a in arts:
        plat = platform(a)
        if a["type"] == "Binary" and a.get("internal_type") == BINARY:
            out["binaries"].setdefault(plat, set()).add(a["name"])
        bare = a["type"] == "Binary" and a.get("internal_type") == UPLOADABLE_BINARY
        if (a["type"] == "Archive" or bare) and a["extra"].get("ID") in order:
            rank = order.index(a["extra"]["ID"])
            if a["target"] not in per_target or rank < per_target[a["target"]][0]:
                per_target[a["target"]] = (rank, a)
    for _, a in per_target.values():
        bare = a["type"] == "Binary"
        out["archives"][a["name"]] = [a["name"]] if bare else members(root / a["path"])
    return out


GO_DEFAULTS = {"goamd64": "v1", "go386": "sse2", "goarm64": "v8.0", "gomips": "hardfloat"}


def platform(a: dict) -> tuple:
    """goos, goarch and each variant of an artifact or target record, Go's default variants as None."""
    variants = tuple(a.get(k) if a.get(k) not in (None, "", GO_DEFAULTS[k]) else None for k in GO_DEFAULTS)
    return (a.get("goos"), a.get("goarch"), a.get("goarm") or None, *variants)


def members(path: Path) -> list[str]:
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as zf:
            return sorted(n for n in zf.namelist() if not n.endswith("/"))
    if path.name.endswith((".tar.zst", ".tzst")):
        raw = zstandard.ZstdDecompressor().stream_reader(path.open("rb")).read()
        with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
            return sorted(m.name for m in tf.getmembers() if m.isfile())
    with tarfile.open(path) as tf:  # gz and xz
        return sorted(m.name for m in tf.getmembers() if m.isfile())


def gobuildx_side(root: Path, version: str, go: Path | None, targets: list[str] = ()) -> dict:
    """gobuildx build and release of the same copy, with GoReleaser's version as a literal."""
    path = root / "targets.toml"
    data = tomllib.loads(path.read_text())
    data["project"]["version"] = version  # GoReleaser's snapshot version, so the names compare
    data["project"]["dist"] = "gobuildx-dist"
    data["release"]["sbom"] = "none"  # a stand-in file has no build info to describe
    # [image] is translated and checked (translate()), not built here: no image of these projects
    # goes into the shared docker daemon, and nothing is pushed
    data.pop("image", None)
    # [package] too: translated and checked, not made from stand-in files (tests/integration/package
    # makes, installs and runs packages)
    data.pop("package", None)
    path.write_text(tomli_w.dumps(data))
    env = {"GOBUILDX_GO": str(go)} if go else {}
    picks = [f"--target={t}" for t in targets]
    if go:  # the stand-in's files fail the audit and smoke by design: only their names count
        run_gobuildx(["build", "--no-audit", *picks], cwd=root, env=env, check=True, timeout=1800)
    run_gobuildx(
        ["release", *(["--allow-failures"] if go else []), *picks], cwd=root, env=env, check=True, timeout=1800
    )
    dist = root / "gobuildx-dist"
    manifest = json.loads((dist / "manifest.json").read_text())
    rel = json.loads((dist / "release" / "manifest.json").read_text())
    out: dict = {"binaries": {}, "archives": {}, "dist": dist, "smoke": {}}
    for t in manifest["targets"]:
        plat = platform(t)
        out["binaries"][plat] = {Path(a["path"]).name for a in t["artifacts"]}
    for t in rel["targets"]:
        name = t["archive"]["name"]
        out["archives"][name] = [name] if t["archive"]["format"] == "binary" else members(dist / "release" / name)
        out["smoke"][t["id"]] = t["smoke"]
    return out


@pytest.mark.parametrize("spec", sorted(PROJECTS))
def test_same_targets_binaries_and_archives(tmp_path: Path, spec: str, goreleaser: Path, standin: Path) -> None:
    root = module_copy(spec, tmp_path / "m")
    assert_package(root, spec, translate(root, ENV.get(spec)))
    theirs = goreleaser_side(root, goreleaser, standin, ENV.get(spec, {}))
    ours = gobuildx_side(root, theirs["version"], standin)
    known = KNOWN.get(spec, set())
    assert sorted(ours["binaries"], key=str) == sorted(theirs["binaries"], key=str)  # the platforms
    if "binaries" not in known:
        assert ours["binaries"] == theirs["binaries"]
    if "archives" not in known:
        assert sorted(ours["archives"]) == sorted(theirs["archives"])
    if not {"members", "archives"} & known:
        assert ours["archives"] == theirs["archives"]


# yq: its binary is named per target (yq_linux_amd64), so init's probe, the smoke stage and the
# archive all find it by that file name
REAL = [
    "github.com/mgechev/revive@v1.17.0",
    "github.com/vektra/mockery/v3@v3.9.1",
    "github.com/mikefarah/yq/v4@v4.54.3",
]
HOST = ("linux", "amd64", None, None, None, None, None)


@pytest.mark.parametrize("spec", REAL)
def test_real_build_gives_the_same_files(tmp_path: Path, spec: str, goreleaser: Path) -> None:
    """Both tools compile linux/amd64 for real (the copy's builds narrowed to it for GoReleaser):
    the same binary name, a real ELF executable, the same archive name and members; and init's
    proposed [smoke] check passes in that first `gobuildx release`, with no hand edit."""
    root = module_copy(spec, tmp_path / "m")
    out = translate(root, ENV.get(spec), probe=True)
    assert "[smoke] args = " in out, out
    theirs = goreleaser_side(root, goreleaser, None, ENV.get(spec, {}), only=HOST)
    ours = gobuildx_side(root, theirs["version"], None, targets=["linux-amd64"])
    assert ours["binaries"] == {HOST: theirs["binaries"][HOST]}
    for name in ours["binaries"][HOST]:
        binary = ours["dist"] / "linux-amd64" / name
        assert binary.stat().st_size > 1 << 20 and binary.read_bytes()[:4] == b"\x7fELF"
    assert ours["archives"] == theirs["archives"]
    assert ours["smoke"] == {"linux-amd64": "pass"}
