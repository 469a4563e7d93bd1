"""`gobuildx init --from-goreleaser`: a .goreleaser.yaml (schema 1 or 2) as a targets.toml.

The translation computes what GoReleaser v2.15.1 would build (its defaults, its own list of
valid GOOS/GOARCH pairs, `ignore`, explicit `targets`), fills every GoReleaser template once
per target, and writes the gobuildx table that gives the same targets, binary names and
archive names. Whatever it cannot say in targets.toml is a `Note` of the migration report,
key by key: nothing is dropped silently.
"""

from __future__ import annotations

import fnmatch
import itertools
import os
import posixpath
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml  # type: ignore[import-untyped]

from gobuildx.errors import ConfigError
from gobuildx.project import gotemplate, matrix
from gobuildx.project.checks import (
    MAINTAINER,
    NFPM_EXPANDED,
    PACKAGE_NAME,
    PLACEHOLDERS,
    RELEASE_FIELDS,
    TAG_FIELDS,
    default_package_name,
    release_values,
    source_errors,
)
from gobuildx.project.goenv import Platform

# GoReleaser's defaults (internal/builders/golang/build.go, v2.15.1).
DEFAULT_GOOS = ["linux", "darwin", "windows"]
DEFAULT_GOARCH = ["amd64", "arm64", "386"]
DEFAULT_VARIANT = {
    "goamd64": "v1",
    "go386": "sse2",
    "goarm": "6",
    "goarm64": "v8.0",
    "gomips": "hardfloat",
    "goppc64": "power8",
    "goriscv64": "rva20u64",
}
VARIANT_OF = {"amd64": "goamd64", "386": "go386", "arm": "goarm", "arm64": "goarm64", "riscv64": "goriscv64"}
VARIANT_OF.update({a: "gomips" for a in ("mips", "mipsle", "mips64", "mips64le")})
VARIANT_OF.update({a: "goppc64" for a in ("ppc64", "ppc64le")})
DEFAULT_LDFLAGS = (
    "-s -w -X main.version={{.Version}} -X main.commit={{.Commit}} -X main.date={{.Date}} -X main.builtBy=goreleaser"
)
DEFAULT_ARCHIVE_NAME = (
    "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}{{ with .Arm }}v{{ . }}{{ end }}"
    '{{ with .Mips }}_{{ . }}{{ end }}{{ if not (eq .Amd64 "v1") }}{{ .Amd64 }}{{ end }}'
)
DEFAULT_BINARY_NAME = "{{ .Binary }}_" + DEFAULT_ARCHIVE_NAME.split("_", 1)[1]  # a `binary` archive's
DEFAULT_ARCHIVE_FILES = ["license*", "LICENSE*", "readme*", "README*", "changelog*", "CHANGELOG*"]
FIRST_CLASS = ["darwin_amd64", "darwin_arm64", "linux_386", "linux_amd64", "linux_arm", "linux_arm64"]
FIRST_CLASS += ["windows_386", "windows_amd64"]
# GoReleaser's own list of pairs it builds (targets.go validTargets): others are skipped silently.
VALID_PAIRS = set(
    """aix/ppc64 android/386 android/amd64 android/arm android/arm64 darwin/amd64 darwin/arm64
    dragonfly/amd64 freebsd/386 freebsd/amd64 freebsd/arm freebsd/arm64 illumos/amd64 ios/arm64
    js/wasm wasip1/wasm linux/386 linux/amd64 linux/arm linux/arm64 linux/ppc64 linux/ppc64le
    linux/mips linux/mipsle linux/mips64 linux/mips64le linux/s390x linux/riscv64 linux/loong64
    netbsd/386 netbsd/amd64 netbsd/arm netbsd/arm64 openbsd/386 openbsd/amd64 openbsd/arm
    openbsd/arm64 plan9/386 plan9/amd64 plan9/arm solaris/amd64 solaris/sparc solaris/sparc64
    windows/arm64 windows/386 windows/amd64 openbsd/riscv64""".split()
)
# What to do instead, for the top-level keys gobuildx has no table for.
ADVICE = {
    "before": "run these hooks yourself before `gobuildx build` (a Makefile target or a CI step)",
    "after": "run these hooks yourself after `gobuildx release`",
    "changelog": "gobuildx writes no changelog: keep your changelog tool, or GoReleaser for this step",
    "release": "gobuildx publishes nothing: upload dist/release/ with your CI (gh release upload)",
    "brews": "gobuildx writes no Homebrew formula: keep GoReleaser for it, fed the archives",
    "homebrew_casks": "gobuildx writes no Homebrew cask: keep GoReleaser for it",
    "scoops": "gobuildx writes no Scoop manifest: keep GoReleaser for it",
    "nix": "gobuildx writes no Nix derivation",
    "winget": "gobuildx writes no winget manifest",
    "aurs": "gobuildx writes no AUR package",
    "krews": "gobuildx writes no krew manifest",
    "chocolateys": "gobuildx writes no Chocolatey package",
    "snapcrafts": "gobuildx builds no snap",
    "binary_signs": '[sign] signs SHA256SUMS (which names every archive) or, with files = "archives", '
    "each archive; a binary alone is not signed",
    "docker_signs": "[sign] images = true (with [sign.cosign] and [image]) signs every pushed index and "
    "platform manifest as cosign does, at `gobuildx image --push` (docs/trust.md)",
    "docker_manifests": "gobuildx's [image] joins every image under one index itself",
    "sboms": "gobuildx writes an SBOM per binary itself ([release].sbom)",
    "announce": "gobuildx announces nothing",
    "milestones": "gobuildx closes no milestone",
    "blobs": "gobuildx uploads nothing: copy dist/release/ to the bucket yourself",
    "artifactories": "gobuildx uploads nothing",
    "uploads": "gobuildx uploads nothing",
    "publishers": "gobuildx publishes nothing: run the publisher yourself on dist/release/",
    "source": "gobuildx makes no source archive: `git archive` gives one",
    "universal_binaries": "gobuildx makes no universal macOS binary: run `lipo` on the two darwin binaries",
    "upx": "gobuildx does not compress binaries (the audit and smoke check the real ones)",
    "gomod": "gobuildx builds the module as checked out (GOFLAGS=-mod=... in [project].env if needed)",
    "report_sizes": "`gobuildx report` lists every artifact's size",
    "metadata": "not used by gobuildx, but for what nfpms[0] leaves unset (maintainers, description, ...)",
    "git": "gobuildx takes the version from `git describe` ([project].version)",
    "env_files": "gobuildx reads no token files: it publishes nothing",
    "github_urls": "gobuildx publishes nothing",
    "gitlab_urls": "gobuildx publishes nothing",
    "gitea_urls": "gobuildx publishes nothing",
    "force_token": "gobuildx publishes nothing",
    "includes": "merge the included files into this one and run the translation again",
    "variables": "templates using .Var are not translated: write the values into targets.toml",
    "notarize": "gobuildx does not notarize macOS binaries",
    "furies": "gobuildx uploads nothing",
    "cloudsmiths": "gobuildx uploads nothing",
    "npms": "gobuildx publishes no npm package",
    "monorepo": "run `gobuildx init` in each module",
    "partial": "shard the build with `gobuildx build --shard` and join with `gobuildx merge`",
    "dmg": "gobuildx makes no .dmg",
    "msi": "gobuildx makes no .msi",
    "pkgs": "gobuildx makes no .pkg",
    "app_bundles": "gobuildx makes no .app bundle",
    "flatpaks": "gobuildx makes no flatpak",
    "makeselfs": "gobuildx makes no makeself archive",
    "srpm": "gobuildx makes no source RPM",
    "template_files": "gobuildx renders no template files",
}
HANDLED = {"version", "project_name", "dist", "env", "builds", "archives", "checksum", "snapshot"}
HANDLED |= {"dockers", "dockers_v2", "kos"}  # -> [image], the first of them that is given (_image)
HANDLED |= {"signs"}  # one note per entry saying which [sign] table to write (_sign_notes)
HANDLED |= {"nfpms"}  # -> [package], from nfpms[0] (_package)
BUILD_KEYS = {"id", "main", "dir", "binary", "goos", "goarch", "ignore", "targets", "flags", "ldflags", "tags"}
BUILD_KEYS |= {"env", "mod_timestamp", "builder", "skip", "overrides", "asmflags", "gcflags", "hooks", "gobinary"}
BUILD_KEYS |= set(DEFAULT_VARIANT) | {"no_unique_dist_dir", "no_main_check", "command", "tool", "buildmode"}
MARK = "\x00"
MARKERS = ("version", "commit", "short_commit", "date", "binary")


def _mark(name: str) -> str:
    return f"{MARK}{name}{MARK}"


@dataclass(frozen=True)
class Note:
    """One line of the migration report: a key, and what became of it."""

    key: str
    kind: Literal["untranslated", "differs", "translated"]
    text: str


@dataclass(frozen=True)
class GrTarget:
    """One target as GoReleaser names it: linux_arm_6, linux_amd64_v1, darwin_arm64_v8.0."""

    goos: str
    goarch: str
    variant: str = ""  # the value of the one variant key of this goarch (VARIANT_OF), if any

    @property
    def name(self) -> str:
        return f"{self.goos}_{self.goarch}" + (f"_{self.variant}" if self.variant else "")

    @property
    def goarm(self) -> str | None:
        return self.variant if self.goarch == "arm" else None

    @property
    def goamd64(self) -> str | None:
        return self.variant if self.goarch == "amd64" and self.variant != "v1" else None

    def other(self, key: str) -> str | None:
        """The value of variant `key` (go386, goarm64, gomips) when it is not Go's default."""
        return self.variant if VARIANT_OF.get(self.goarch) == key and self.variant != DEFAULT_VARIANT[key] else None

    def fields(self) -> dict[str, str]:
        """The target's fields as GoReleaser's templates see them (empty when not this goarch)."""
        key = VARIANT_OF.get(self.goarch)
        names = {"goarm": "Arm", "goamd64": "Amd64", "go386": "I386", "goarm64": "Arm64", "gomips": "Mips"}
        names.update({"goppc64": "Ppc64", "goriscv64": "Riscv64"})
        out = {"Os": self.goos, "Arch": self.goarch, "Target": self.name}
        out.update({v: (self.variant if k == key else "") for k, v in names.items()})
        return out


@dataclass
class Translation:
    """The targets.toml data, the report, and for each GoReleaser target its gobuildx id."""

    data: dict[str, Any]
    notes: list[Note] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # GoReleaser target name -> gobuildx id
    archive_names: dict[str, str] = field(default_factory=dict)  # gobuildx id -> template


def find_config(module_dir: Path) -> Path:
    for name in (".goreleaser.yaml", ".goreleaser.yml", "goreleaser.yaml", "goreleaser.yml"):
        if (module_dir / name).is_file():
            return module_dir / name
    raise ConfigError([f"{module_dir}: no .goreleaser.yaml or .goreleaser.yml here; pass its path"])


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError([f"{path}: cannot read it as YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: not a GoReleaser configuration (a YAML mapping at the top)"])
    if data.get("version", 1) not in (1, 2):
        raise ConfigError([f"{path}: version: {data.get('version')!r}; allowed: 1, 2 (GoReleaser's schemas)"])
    return data


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def build_targets(build: Mapping[str, Any]) -> list[GrTarget]:
    """What GoReleaser builds for one `builds[]` entry, in its order, with its defaults."""
    if build.get("targets"):
        names: list[str] = []
        for t in _list(build["targets"]):
            names += FIRST_CLASS if t in ("go_118_first_class", "go_first_class") else [str(t)]
        return sorted({_parse_target(_fix_target(n)) for n in names}, key=lambda t: t.name)
    goos = [str(x) for x in _list(build.get("goos"))] or DEFAULT_GOOS
    goarch = [str(x) for x in _list(build.get("goarch"))] or DEFAULT_GOARCH
    out = []
    for os_, arch in itertools.product(goos, goarch):
        key = VARIANT_OF.get(arch)
        variants = [str(v) for v in _list(build.get(key))] or [DEFAULT_VARIANT[key]] if key else [""]
        for v in variants:
            t = GrTarget(os_, arch, v)
            if f"{os_}/{arch}" in VALID_PAIRS and not _ignored(build, t):
                out.append(t)
    return out


def _fix_target(name: str) -> str:
    arch = name.split("_")[1] if name.count("_") == 1 else ""
    key = VARIANT_OF.get(arch)
    return f"{name}_{DEFAULT_VARIANT[key]}" if key else name


def _parse_target(name: str) -> GrTarget:
    parts = name.split("_", 2)
    if len(parts) < 2:
        raise ConfigError([f"builds[].targets: {name!r} is not GOOS_GOARCH[_VARIANT]"])
    return GrTarget(parts[0], parts[1], parts[2] if len(parts) > 2 else "")


def _ignored(build: Mapping[str, Any], t: GrTarget) -> bool:
    for rule in _list(build.get("ignore")):
        if rule.get("goos") not in (None, "", t.goos) or rule.get("goarch") not in (None, "", t.goarch):
            continue
        key = VARIANT_OF.get(t.goarch)
        if any(rule.get(k) not in (None, "") and (k != key or str(rule[k]) != t.variant) for k in DEFAULT_VARIANT):
            continue
        return True
    return False


class _Filler:
    """GoReleaser templates filled per target into gobuildx templates, noting what cannot be."""

    def __init__(self, project: str, environ: Mapping[str, str], notes: list[Note]) -> None:
        self.project, self.environ, self.notes = project, environ, notes

    def fields(self, target: GrTarget | None, extra: Mapping[str, str] | None = None) -> dict[str, object]:
        out: dict[str, object] = {
            "ProjectName": self.project,
            "Version": _mark("version"),
            "RawVersion": _mark("version"),
            "Tag": "v" + _mark("version"),
            "Commit": _mark("commit"),
            "FullCommit": _mark("commit"),
            "ShortCommit": _mark("short_commit"),
            "Date": _mark("date"),
            "CommitDate": _mark("date"),
            "Binary": _mark("binary"),  # archive names: the first binary's file name
            "IsSnapshot": False,
            "IsRelease": True,
            "Env": dict(self.environ),
        }
        if target is not None:
            out.update(target.fields())
        out.update(extra or {})
        return out

    def fill(
        self, key: str, template: str, target: GrTarget | None, allowed: Sequence[str], extra: Mapping[str, str] = {}
    ) -> str | None:
        """The gobuildx template for one target, or None (noted) when it cannot be said."""
        try:
            text = gotemplate.render(str(template), self.fields(target, extra))
        except gotemplate.Unsupported as exc:
            self._note(Note(key, "untranslated", f"{template!r}: {exc} is not translated; write the value by hand"))
            return None
        out = text.replace("{", "{{").replace("}", "}}")
        for name in MARKERS:
            if _mark(name) in out:
                if name not in allowed:
                    self._note(Note(key, "untranslated", f"{template!r}: gobuildx has no {{{name}}} here"))
                    return None
                out = out.replace(_mark(name), "{" + name + "}")
        if ".Env." in str(template):
            self._note(Note(key, "differs", f"{template!r}: .Env filled now, from this environment"))
        if ".Tag" in str(template):
            self._note(Note(key, "differs", f"{template!r}: .Tag written as v{{version}} (git describe's tag)"))
        if ".Date" in str(template):
            self._note(Note(key, "differs", f"{template!r}: .Date is the commit date in gobuildx (reproducible)"))
        return out

    def _note(self, note: Note) -> None:
        if note not in self.notes:
            self.notes.append(note)


def _project_name(data: Mapping[str, Any], module: str) -> str:
    if data.get("project_name"):
        return str(data["project_name"])
    for forge in ("github", "gitlab", "gitea"):
        name = ((data.get("release") or {}).get(forge) or {}).get("name")
        if name:
            return str(name)
    return module.rstrip("/").split("/")[-1]


def translate(
    data: Mapping[str, Any], module: str, platforms: Sequence[Platform], environ: Mapping[str, str], root: Path
) -> Translation:
    """The targets.toml for a parsed .goreleaser.yaml of the module `module` (its path in go.mod)."""
    notes: list[Note] = []
    name = _project_name(data, module)
    filler = _Filler(name, {**dict(environ), **_env_map(data.get("env"))}, notes)
    for key in data:
        if key not in HANDLED:
            text = ADVICE.get(key, "gobuildx has no equivalent; nothing of it is used")
            notes.append(Note(str(key), "untranslated", text))
    builds = [b for b in _list(data.get("builds")) or [{}] if not b.get("skip")]
    for i, b in enumerate(_list(data.get("builds"))):
        if b.get("skip"):
            notes.append(Note(f"builds[{i}]", "untranslated", "skip: true; not built, as in GoReleaser"))
    if not builds:
        raise ConfigError(["every build of this .goreleaser.yaml has skip: true; nothing to translate"])
    known = {(p.goos, p.goarch) for p in platforms}
    targets = _targets(builds, known, notes)
    out = Translation(data={})
    project = _project(data, builds, name, targets, filler, notes)
    cgo = _cgo(builds, targets, filler, notes)
    out.ids = {t.name: _gobuildx_id(t, cgo) for t in targets}
    out.data["project"] = project
    out.data["defaults"] = {"cgo": cgo} | ({"libc": "glibc"} if cgo else {})
    out.data["matrix"] = {"release": _matrix(targets)}
    overrides = _overrides(builds, targets, out.ids, filler, notes)
    if overrides:
        out.data["override"] = overrides
    owners: dict[str, set[str]] = {}
    for i, b in enumerate(builds):
        for t in build_targets(b):
            owners.setdefault(t.name, set()).add(str(b.get("id") or (name if len(builds) == 1 else f"build{i}")))
    out.data["release"] = _release(data, targets, out.ids, owners, filler, notes, root)
    _sign_notes(data, notes)
    image = _image(data, targets, out.ids, builds, filler, notes)
    if image:
        out.data["image"] = image
    package = _package(data, targets, out.ids, owners, builds, project["binaries"], cgo, filler, notes, root)
    if package:
        out.data["package"] = package
    out.notes = notes
    return out


def _env_map(env: Any) -> dict[str, str]:
    out = {}
    for entry in _list(env):
        k, _, v = str(entry).partition("=")
        out[k] = v
    return out


def _targets(builds: Sequence[Mapping[str, Any]], known: set[tuple[str, str]], notes: list[Note]) -> list[GrTarget]:
    """The union of every build's targets, less those this Go cannot build (noted)."""
    seen: dict[str, GrTarget] = {}
    per_build = [build_targets(b) for b in builds]
    for i, ts in enumerate(per_build):
        if {t.name for t in ts} != {t.name for t in per_build[0]}:
            notes.append(
                Note(
                    f"builds[{i}]",
                    "differs",
                    "builds for other targets than builds[0]; gobuildx builds every binary for every "
                    "target, so the matrix is the union",
                )
            )
        for t in ts:
            seen.setdefault(t.name, t)
    out = []
    for t in seen.values():
        if (t.goos, t.goarch) not in known:
            notes.append(Note(f"target {t.name}", "untranslated", "this Go cannot build it (`go tool dist list`)"))
            continue
        key = VARIANT_OF.get(t.goarch)
        if key and key not in AXES and t.variant != DEFAULT_VARIANT[key]:
            notes.append(Note(f"target {t.name}", "untranslated", f"gobuildx has no {key} axis; left out"))
            continue
        if key in VARIANT_VALUES and not re.fullmatch(VARIANT_VALUES[key], t.variant):
            notes.append(
                Note(f"target {t.name}", "untranslated", f"{key} {t.variant!r}: not a value Go knows; left out")
            )
            continue
        if t.goarch == "arm" and t.variant not in ("5", "6", "7"):
            notes.append(Note(f"target {t.name}", "untranslated", f"goarm {t.variant!r}: gobuildx knows 5, 6, 7"))
            continue
        out.append(t)
    if not out:
        raise ConfigError(["no target of this .goreleaser.yaml can be built by this Go"])
    return out


def _same(builds: Sequence[Mapping[str, Any]], key: str, notes: list[Note]) -> Any:
    values = [b.get(key) for b in builds]
    for i, v in enumerate(values[1:], 1):
        if v != values[0]:
            notes.append(Note(f"builds[{i}].{key}", "differs", f"differs from builds[0].{key}; builds[0]'s is used"))
    return values[0]


def _project(
    data: Mapping[str, Any],
    builds: Sequence[Mapping[str, Any]],
    name: str,
    targets: Sequence[GrTarget],
    filler: _Filler,
    notes: list[Note],
) -> dict[str, Any]:
    project: dict[str, Any] = {"name": name, "version": "git"}
    dirs = {str(b.get("dir") or ".") for b in builds}
    project["dir"] = str(builds[0].get("dir") or ".")
    if len(dirs) > 1:
        notes.append(Note("builds[].dir", "untranslated", f"several module dirs {sorted(dirs)}; gobuildx builds one"))
    binaries: list[dict[str, str]] = []
    for i, b in enumerate(builds):
        template = str(b.get("binary") or "{{ .ProjectName }}")
        per_target = {t: filler.fill(f"builds[{i}].binary", template, t, ()) for t in build_targets(b) if t in targets}
        filled = set(per_target.values())
        binary = sorted(filled, key=str)[0] if filled and None not in filled else None
        file: str | None = None
        if binary is not None and len(filled) > 1:
            binary = _binary_base(template, name)
            file = _binary_file(f"builds[{i}].binary", template, per_target, binary, name, notes)  # type: ignore[arg-type]
        main = str(b.get("main") or ".")
        if main.endswith(".go"):
            main = str(Path(main).parent) if str(Path(main).parent) != "." else "."
            notes.append(Note(f"builds[{i}].main", "differs", f"a file; gobuildx builds its package {main}"))
        if main != "." and not main.startswith(("./", "../")) and "." not in main.split("/")[0]:
            main = "./" + main
        if binary is None or "/" in binary or "{" in binary:
            notes.append(Note(f"builds[{i}].binary", "untranslated", f"{b.get('binary')!r}: a plain name is needed"))
            binary = name if binary is None or "{" in binary else binary.rsplit("/", 1)[-1]
        same = next((x for x in binaries if x["name"] == binary), None)
        if same is None:
            binaries.append({"name": binary, "main": main} | ({"file": file} if file else {}))
        elif same["main"] != main:
            notes.append(Note(f"builds[{i}].binary", "untranslated", f"{binary!r} again, from another main {main}"))
        for key in sorted(set(b) - BUILD_KEYS):
            notes.append(Note(f"builds[{i}].{key}", "untranslated", "unknown to the translation; not used"))
        for key in ("hooks", "asmflags", "gcflags", "gobinary", "builder", "tool", "command", "buildmode"):
            if b.get(key) and not (key == "builder" and b[key] == "go"):
                notes.append(Note(f"builds[{i}].{key}", "untranslated", _BUILD_ADVICE[key]))
        if b.get("mod_timestamp"):
            notes.append(Note(f"builds[{i}].mod_timestamp", "differs", _BUILD_ADVICE["mod_timestamp"]))
    if len(binaries) == 1:
        project["name"] = name
        project["binaries"] = binaries
    else:
        project["binaries"] = binaries
    ldflags = _same(builds, "ldflags", notes)
    lds = [filler.fill("builds[].ldflags", str(x), targets[0], PLACEHOLDERS) for x in _list(ldflags or DEFAULT_LDFLAGS)]
    project["ldflags"] = [x for x in lds if x is not None and x.strip()]
    flags = _same(builds, "flags", notes)
    project["flags"] = [str(x) for x in _list(flags)]
    if not flags:
        notes.append(Note("builds[].flags", "differs", "none, as GoReleaser's default (gobuildx's is -trimpath)"))
    tags = _same(builds, "tags", notes)
    project["tags"] = [t for t in (filler.fill("builds[].tags", str(x), targets[0], ()) for x in _list(tags)) if t]
    env = {**_env_map(data.get("env")), **_env_map(_same(builds, "env", notes))}
    project["env"] = {k: v for k, v in env.items() if k not in ("CGO_ENABLED", "CC", "CXX") and "{{" not in v}
    for k, v in env.items():
        if "{{" in v and k not in ("CGO_ENABLED", "CC", "CXX"):
            notes.append(Note(f"env {k}", "untranslated", f"{v!r}: a templated environment value; set it by hand"))
    if data.get("dist"):
        project["dist"] = str(data["dist"])
    return {k: v for k, v in project.items() if v or k in ("ldflags", "flags")}  # [] replaces a default


def _binary_file(
    key: str, template: str, names: Mapping[GrTarget, str], binary: str, project: str, notes: list[Note]
) -> str | None:
    """project.binaries[].file for a binary GoReleaser names per target: the one {goos}/{goarch}/{arch}
    template that gives the most targets their GoReleaser name (ties: the fewest placeholders)."""
    values = {t: _binary_values(t, binary, project) for t in names}
    candidates = {c for t, n in names.items() for c in _generalisations(n, values[t])}

    def fit(candidate: str, t: GrTarget) -> bool:
        return _format_or_none(candidate, values[t]) == _format_or_none(names[t], values[t])

    best = max(sorted(candidates), key=lambda c: (sum(fit(c, t) for t in names), -c.count("{"), -len(c)))
    odd = sorted(t.name for t in names if not fit(best, t))
    if odd:
        notes.append(
            Note(key, "differs", f"{template!r}: file = {best!r} names all but {', '.join(odd)} as GoReleaser does")
        )
    return best


def _binary_values(t: GrTarget, binary: str, project: str) -> dict[str, str]:
    arch = matrix.arch_label(t.goarch, t.goarm, t.goamd64)
    return {"name": binary, "project": project, "id": "", "goos": t.goos, "goarch": t.goarch, "arch": arch}


def _binary_base(template: str, project: str) -> str:
    """One plain name for a binary GoReleaser names per target: its text before the first action."""
    head = template.split("{{", 1)[0].rstrip("_-.")
    return head if head and all(c.isalnum() or c in "._-" for c in head) else project


_BUILD_ADVICE = {
    "hooks": "run the hooks yourself around `gobuildx build`",
    "asmflags": "put -asmflags=... in [project].flags",
    "gcflags": "put -gcflags=... in [project].flags",
    "gobinary": "set GOBUILDX_GO to that Go instead",
    "builder": "gobuildx builds Go only",
    "tool": "gobuildx runs `go build` (GOBUILDX_GO picks the go)",
    "command": "gobuildx runs `go build`",
    "buildmode": "gobuildx builds executables only",
    "mod_timestamp": "gobuildx sets no file mtime in dist/; every archive member has the commit time",
}


def _cgo(builds: Sequence[Mapping[str, Any]], targets: Sequence[GrTarget], filler: _Filler, notes: list[Note]) -> bool:
    """CGO_ENABLED of builds[0] (GoReleaser leaves it to Go: 0 when cross-compiling, 1 on the host)."""
    env = _env_map(builds[0].get("env"))
    value = env.get("CGO_ENABLED")
    if value is None:
        notes.append(
            Note(
                "builds[].env CGO_ENABLED",
                "differs",
                "not set: Go's default is cgo on the host, off when cross-compiling; gobuildx always "
                "sets it, here 0 for every target",
            )
        )
        return False
    filled = {filler.fill("builds[].env CGO_ENABLED", value, t, ()) for t in targets}
    if len(filled) > 1:
        notes.append(Note("builds[].env CGO_ENABLED", "differs", f"{value!r} differs per target; cgo = true is used"))
    on = "1" in filled
    if on:
        notes.append(
            Note(
                "builds[].env CGO_ENABLED",
                "differs",
                "1: gobuildx builds Linux targets with cgo against glibc and refuses a cgo target "
                "without a C toolchain (`gobuildx check` names the missing one)",
            )
        )
    return on


def _gobuildx_id(t: GrTarget, cgo: bool) -> str:
    libc = matrix.default_libc(t.goos, t.goarch)
    on = cgo and libc != "wasm"
    if on and t.goos == "linux":
        libc = "glibc"
    link = "dynamic" if libc in ("glibc", "system") else "static"
    return matrix.target_id(
        t.goos,
        t.goarch,
        t.goarm,
        t.goamd64,
        on,
        libc,
        None,
        link,
        t.other("go386"),
        t.other("goarm64"),
        t.other("gomips"),
    )


AXES = ("goarm", "goamd64", "go386", "goarm64", "gomips")  # the variant axes gobuildx has
VARIANT_VALUES = {"goarm": "[567]", "goamd64": "v[1-4]", "go386": "sse2|softfloat", "gomips": "hardfloat|softfloat"}
VARIANT_VALUES["goarm64"] = r"v(8\.[0-9]|9\.[0-5])(,lse)?(,crypto)?"


def _normal(key: str | None, value: str | None) -> str | None:
    """A variant value, or None for the one Go builds when it is unset (amd64 v1, 386 sse2, ...)."""
    if key is None or value is None or (key != "goarm" and value == DEFAULT_VARIANT.get(key)):
        return None
    return value


def _matrix(targets: Sequence[GrTarget]) -> dict[str, Any]:
    """Axes and an exclude list that give exactly `targets` (an include list when shorter)."""
    goos = sorted({t.goos for t in targets})
    goarch = sorted({t.goarch for t in targets})
    axes: dict[str, list[str]] = {}
    for key in AXES:
        values = sorted({t.variant for t in targets if VARIANT_OF.get(t.goarch) == key})
        if values and (key == "goarm" or any(_normal(key, v) for v in values)):
            axes[key] = values

    def axis_of(arch: str) -> str | None:
        key = VARIANT_OF.get(arch)
        return key if key in axes else None

    want = {(t.goos, t.goarch, _normal(axis_of(t.goarch), t.variant)) for t in targets}
    product: list[tuple[str, str, str | None, str | None]] = []
    for os_, arch in itertools.product(goos, goarch):
        axis = axis_of(arch)
        product += [(os_, arch, axis, v) for v in (axes[axis] if axis else [None])]
    missing = [p for p in product if (p[0], p[1], _normal(p[2], p[3])) not in want]
    spec: dict[str, Any] = {"goos": goos, "goarch": goarch, **axes}
    if len(missing) > len(want):
        chosen = sorted(
            {(t.goos, t.goarch, axis_of(t.goarch), _normal(axis_of(t.goarch), t.variant)) for t in targets}, key=str
        )
        return {"include": [_selector(*p) for p in chosen]}
    if missing:
        spec["exclude"] = [_selector(*p) for p in missing]
    return spec


def _selector(goos: str, goarch: str, key: str | None, value: str | None) -> dict[str, str]:
    out = {"goos": goos, "goarch": goarch}
    if key and value:
        out[key] = value
    return out


def _overrides(
    builds: Sequence[Mapping[str, Any]],
    targets: Sequence[GrTarget],
    ids: Mapping[str, str],
    filler: _Filler,
    notes: list[Note],
) -> list[dict[str, Any]]:
    """CC/CXX and other env that differ per target, and builds[0].overrides, as [[override]]."""
    out: list[dict[str, Any]] = []
    env = _env_map(builds[0].get("env"))
    for t in targets:
        entry: dict[str, Any] = {}
        for key in ("CC", "CXX"):
            if key in env:
                value = filler.fill(f"builds[].env {key}", env[key], t, ())
                if value:
                    entry[key.lower()] = value
        templated = {k: v for k, v in env.items() if "{{" in v and k not in ("CC", "CXX", "CGO_ENABLED")}
        if templated:
            entry["env"] = {k: filler.fill(f"builds[].env {k}", v, t, ()) or "" for k, v in templated.items()}
        if entry:
            out.append({"match": [ids[t.name]], **entry})
    for i, ov in enumerate(_list(builds[0].get("overrides"))):
        matched = [ids[t.name] for t in targets if _override_matches(ov, t)]
        if not matched:
            continue
        entry = {"match": matched}
        for key in ("tags", "flags", "ldflags"):
            if ov.get(key):
                entry[key] = [str(x) for x in _list(ov[key])]
        oenv = _env_map(ov.get("env"))
        entry.update({k.lower(): v for k, v in oenv.items() if k in ("CC", "CXX")})
        rest = {k: v for k, v in oenv.items() if k not in ("CC", "CXX", "CGO_ENABLED")}
        if rest:
            entry["env"] = rest
        notes.append(
            Note(f"builds[0].overrides[{i}]", "differs", "tags/flags/ldflags are added to the build's in gobuildx")
        )
        out.append(entry)
    return out


def _override_matches(ov: Mapping[str, Any], t: GrTarget) -> bool:
    if ov.get("goos") not in (None, t.goos) or ov.get("goarch") not in (None, t.goarch):
        return False
    key = VARIANT_OF.get(t.goarch)
    return all(ov.get(k) in (None, "") or (k == key and str(ov[k]) == t.variant) for k in DEFAULT_VARIANT)


def _release(
    data: Mapping[str, Any],
    targets: Sequence[GrTarget],
    ids: Mapping[str, str],
    owners: Mapping[str, set[str]],
    filler: _Filler,
    notes: list[Note],
    root: Path,
) -> dict[str, Any]:
    """[release] from `archives`: each target gets the first archive whose `ids` build it."""
    archives = _list(data.get("archives")) or [{}]
    chosen: dict[str, int] = {}
    for t in targets:
        i = next((i for i, a in enumerate(archives) if _covers(a, owners[t.name])), None)
        if i is None:
            notes.append(Note(f"target {t.name}", "differs", "in no archive of GoReleaser's; gobuildx archives it"))
        chosen[t.name] = i or 0
    used = sorted(set(chosen.values()))
    for i in range(len(archives)):
        if i not in used:
            notes.append(Note(f"archives[{i}]", "untranslated", "gobuildx makes one archive per target; not made"))
    out: dict[str, Any] = {}
    formats: dict[str, set[str]] = {}
    names: dict[str, str | None] = {}
    several = len({str(b.get("binary") or "") for b in data.get("builds") or [{}]}) > 1
    for t in targets:
        i = chosen[t.name]
        fmt = _archive_format(archives[i], t.goos, i, notes)
        if fmt == "binary" and several:
            notes.append(
                Note(
                    f"archives[{i}]",
                    "untranslated",
                    "format binary with several binaries per target: gobuildx's binary format holds one; "
                    "a tar.gz of them is made, named as GoReleaser's default archive",
                )
            )
            fmt = "tar.gz"
        formats.setdefault(t.goos, set()).add(fmt)
        default = DEFAULT_BINARY_NAME if "binary" in _all_formats(archives[i]) else DEFAULT_ARCHIVE_NAME
        template = str(archives[i].get("name_template") or default)
        if "binary" in _all_formats(archives[i]) and several:
            template = DEFAULT_ARCHIVE_NAME  # a name per binary cannot name the archive of both
        extra = _archive_binary(archives[i], data, t, filler)
        names[ids[t.name]] = filler.fill(f"archives[{i}].name_template", template, t, RELEASE_FIELDS, extra)
    common = Counter(f for fs in formats.values() for f in fs).most_common(1)[0][0]
    out["format"] = common
    for goos, fs in sorted(formats.items()):
        if len(fs) > 1:
            notes.append(Note(f"archives (goos {goos})", "untranslated", f"formats {sorted(fs)} by target; {common}"))
        elif fs != {common}:
            out.setdefault("format_overrides", {})[goos] = fs.pop()
    general, singles = _general_name(names, targets, ids, filler.project)
    out["name"] = general
    if singles:
        out["names"] = singles
    a, first = archives[used[0]], used[0]
    wrap = a.get("wrap_in_directory")
    if wrap is True or str(wrap).lower() == "true":
        out["wrap"] = "{name}"
    elif wrap and str(wrap).lower() != "false":
        key = f"archives[{first}].wrap_in_directory"
        wrapped = {filler.fill(key, str(wrap), t, RELEASE_FIELDS) for t in targets}
        if len(wrapped) == 1 and None not in wrapped:
            out["wrap"] = wrapped.pop()
        else:
            notes.append(Note(key, "untranslated", "differs per target; not wrapped"))
    out["files"] = _files(a, first, root, notes)
    for i in used:
        for key in sorted(set(archives[i]) - ARCHIVE_KEYS):
            notes.append(Note(f"archives[{i}].{key}", "untranslated", "gobuildx has no equivalent; not used"))
        if i != first and any(archives[i].get(k) != a.get(k) for k in ("files", "wrap_in_directory")):
            notes.append(Note(f"archives[{i}]", "differs", f"files and wrap_in_directory are archives[{first}]'s"))
    out["sbom"] = "spdx" if data.get("sboms") else "none"
    notes.append(_checksum_note(data.get("checksum") or {}))
    if data.get("snapshot"):
        notes.append(
            Note("snapshot", "differs", "gobuildx has no snapshot mode: the version is `git describe` of the checkout")
        )
    return out


def _archive_binary(
    archive: Mapping[str, Any], data: Mapping[str, Any], t: GrTarget, filler: _Filler
) -> dict[str, str]:
    """.Binary of an archive whose `ids` pick builds: the first such build's binary on this target,
    as a literal (gobuildx's {binary} is the project's first binary, which may be another build's)."""
    wanted = {str(x) for x in _list(archive.get("ids")) + _list(archive.get("builds"))}
    builds = [b for b in _list(data.get("builds")) or [{}] if not b.get("skip")]
    if not wanted:
        return {}
    for i, b in enumerate(builds):
        bid = str(b.get("id") or (filler.project if len(builds) == 1 else f"build{i}"))
        if bid in wanted and t in build_targets(b):
            name = filler.fill(f"builds[{i}].binary", str(b.get("binary") or "{{ .ProjectName }}"), t, ())
            return {"Binary": name} if name else {}
    return {}


ARCHIVE_KEYS = {"id", "ids", "builds", "name_template", "formats", "format", "format_overrides"}
ARCHIVE_KEYS |= {"wrap_in_directory", "files"}


def _covers(archive: Mapping[str, Any], builds: set[str]) -> bool:
    wanted = {str(x) for x in _list(archive.get("ids")) + _list(archive.get("builds"))}
    return not wanted or bool(wanted & builds)


def _all_formats(archive: Mapping[str, Any]) -> list[str]:
    """The formats an archives[] entry names (GoReleaser picks its default name template by them)."""
    return [str(f) for f in _list(archive.get("formats")) or _list(archive.get("format"))]


def _archive_format(archive: Mapping[str, Any], goos: str, i: int, notes: list[Note]) -> str:
    for j, ov in enumerate(_list(archive.get("format_overrides"))):
        if str(ov.get("goos")) == goos:
            fmts = [str(f) for f in _list(ov.get("formats")) or _list(ov.get("format"))]
            return _format(fmts or ["tar.gz"], f"archives[{i}].format_overrides[{j}]", notes)
    fmts = [str(f) for f in _list(archive.get("formats")) or _list(archive.get("format"))]
    return _format(fmts or ["tar.gz"], f"archives[{i}].formats", notes)


ALIASES = {"tgz": "tar.gz", "txz": "tar.xz", "tzst": "tar.zst"}


def _format(formats: Sequence[str], key: str, notes: list[Note]) -> str:
    first = formats[0]
    if len(formats) > 1:
        notes.append(Note(key, "untranslated", f"{formats}: gobuildx makes one archive per target; {first} only"))
    if first in ("tar.gz", "tar.xz", "tar.zst", "zip", "binary"):
        return first
    if first in ALIASES:
        notes.append(Note(key, "differs", f"{first}: gobuildx writes the same, named .{ALIASES[first]}"))
        return ALIASES[first]
    advice = {
        "none": "gobuildx archives every target; leave those archives out when you upload",
        "tar": "gobuildx compresses every tar",
        "gz": "gobuildx writes no bare .gz",
    }.get(first, "not a format gobuildx knows")
    notes.append(Note(key, "untranslated", f"{first!r}: {advice}; tar.gz is used"))
    return "tar.gz"


def _general_name(
    names: Mapping[str, str | None], targets: Sequence[GrTarget], ids: Mapping[str, str], project: str
) -> tuple[str, dict[str, str]]:
    """One release.name that gives most targets their GoReleaser name, and release.names for the rest."""
    values = {
        ids[t.name]: release_values(project, "V", "C", ids[t.name], t.goos, t.goarch, t.goarm, t.goamd64)
        for t in targets
    }
    candidates: Counter[str] = Counter()
    for tid, name in names.items():
        if name is not None:
            candidates.update(_generalisations(name, values[tid]))

    def fits(template: str, tid: str) -> bool:
        name = names[tid]
        if name is None:
            return True
        sample = {"version": "V", "commit": "C", "short_commit": "S"}
        return _format_or_none(template, values[tid] | sample) == _format_or_none(name, values[tid] | sample)

    best = max(
        candidates, key=lambda c: (sum(fits(c, tid) for tid in names), -len(c)), default="{project}_{version}_{id}"
    )
    singles = {tid: n for tid, n in names.items() if n is not None and not fits(best, tid)}
    return best, dict(sorted(singles.items()))


def _format_or_none(template: str, values: Mapping[str, str]) -> str | None:
    try:
        return template.format_map(values)
    except (KeyError, ValueError, IndexError):
        return None


def _generalisations(name: str, values: Mapping[str, str]) -> list[str]:
    """A concrete name with this target's {arch} (armv6, amd64v3) or plain {goarch}, and {goos},
    put back as placeholders: the candidates a template is chosen from."""
    out: list[str] = []
    goos = values["goos"]
    for key in ("arch", "goarch", None):
        arch = values[key] if key else ""
        at = name.rfind(arch) if key else (-1 if out else len(name))  # no {arch} only when none is found
        if at < 0:
            continue
        head, tail = name[:at], name[at + len(arch) :]
        g = head.rfind(goos)
        heads = [head[:g] + "{goos}" + head[g + len(goos) :]] if g >= 0 else []
        for h in [*heads, head]:  # the {goos} one first: the archive names' choice on a tie
            candidate = h + ("{" + key + "}" if key else "") + tail
            if candidate not in out:
                out.append(candidate)
    return out


def _files(a: Mapping[str, Any], i: int, root: Path, notes: list[Note]) -> list[str]:
    """archives[0].files (globs expanded now, as GoReleaser expands them), or its defaults."""
    given = a.get("files")
    patterns = DEFAULT_ARCHIVE_FILES if given is None else []
    for j, f in enumerate(_list(given)):
        if isinstance(f, str):
            patterns.append(f)
        elif isinstance(f, dict) and set(f) <= {"src"}:
            patterns.append(str(f["src"]))
        else:
            notes.append(Note(f"archives[{i}].files[{j}]", "untranslated", f"{f!r}: only plain sources are translated"))
    found: list[str] = []
    for pattern in patterns:
        for path in sorted(_glob(root, pattern)):
            if path not in found:
                found.append(path)
    if given is not None and patterns:
        notes.append(Note(f"archives[{i}].files", "differs", f"globs expanded now: {found}"))
    return found


def _glob(root: Path, pattern: str) -> list[str]:
    """Files under root matching a GoReleaser files glob (** included), as relative paths."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in (".git", "dist")]
        for fn in filenames:
            rel = Path(dirpath, fn).relative_to(root).as_posix()
            if fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(rel, pattern.replace("**/", "")):
                out.append(rel)
    return out


def _checksum_note(cs: Mapping[str, Any]) -> Note:
    if cs.get("disable"):
        return Note("checksum", "differs", "disable: gobuildx always writes SHA256SUMS")
    algo = cs.get("algorithm", "sha256")
    name = cs.get("name_template", "{{ .ProjectName }}_{{ .Version }}_checksums.txt")
    return Note(
        "checksum",
        "differs",
        f"gobuildx writes dist/release/SHA256SUMS (sha256), not {name!r} ({algo}); rename it on upload if needed",
    )


def report_lines(notes: Sequence[Note]) -> list[str]:
    """The migration report, grouped: what is not translated, then deliberate differences."""
    out = []
    for kind, title in (("untranslated", "not translated"), ("differs", "translated, differs from GoReleaser")):
        chosen = [n for n in notes if n.kind == kind]
        if chosen:
            out.append(f"{title} ({len(chosen)}):")
            # one line each: a value from the YAML may hold newlines (targets.toml's header is comments)
            out += [f"  {n.key}: {n.text}".replace("\n", "\\n") for n in chosen]
    return out


IMAGE_SOURCES = ("dockers_v2", "kos", "dockers")
# What each image key of GoReleaser becomes, or what to do instead (the report says it key by key).
IMAGE_ADVICE = {
    "dockerfile": "gobuildx builds FROM scratch with the binary, CA certificates and zoneinfo; "
    "put what else the image needs in [image].files",
    "extra_files": "list them in [image].files (src, dst)",
    "build_args": "no Dockerfile, no build arguments",
    "build_flag_templates": "only --label= is translated (to [image].labels)",
    "base_image": "gobuildx builds FROM scratch (a dynamic binary gets its loader and libraries copied)",
    "bare": "the repository is [image].repository as written",
    "annotations": "gobuildx writes the OCI annotations created, revision, version, title (and source)",
    "use": "gobuildx writes the image itself, no docker buildx",
    "skip_push": "push or not with `gobuildx image --push` / `release`",
    "skip": "remove [image] to build no image",
    "retry": "not used",
    "sbom": "gobuildx writes an SBOM per binary ([release].sbom), not per image",
    "env": "a FROM-scratch image has no environment of its own",
    "ldflags": "the image holds the binary gobuildx built, with [project].ldflags",
    "flags": "the image holds the binary gobuildx built, with [project].flags",
    "main": "the image holds the binary gobuildx built ([image].binary picks one)",
    "build": "the image holds the binary gobuildx built ([image].binary picks one)",
    "working_dir": "not used",
    "creation_time": "the image's time is the commit time (reproducible)",
    "ko_data_creation_time": "the image's time is the commit time (reproducible)",
    "local_domain": "not used",
    "preserve_import_paths": "not used",
    "base_import_paths": "not used",
    "disable": "remove [image] to build no image",
    "push_flags": "not used",
}
IMAGE_TRANSLATED = {"id", "ids", "images", "image_templates", "repository", "repositories", "tags", "platforms"}
IMAGE_TRANSLATED |= {"labels", "goos", "goarch", "goarm", "goamd64", "build_flag_templates"}


def _image(
    data: Mapping[str, Any],
    targets: Sequence[GrTarget],
    ids: Mapping[str, str],
    builds: Sequence[Mapping[str, Any]],
    filler: _Filler,
    notes: list[Note],
) -> dict[str, Any] | None:
    """[image] from the first of dockers_v2, kos, dockers: repository, tags, the platforms as target
    ids, labels, the binary; every other key is reported with what to do instead."""
    source = next((k for k in IMAGE_SOURCES if _list(data.get(k))), None)
    if source is None:
        return None
    for other in IMAGE_SOURCES:
        if other != source and _list(data.get(other)):
            notes.append(Note(other, "untranslated", f"[image] is made from {source}; gobuildx builds one image"))
    entries = [e for e in _list(data[source]) if isinstance(e, dict)]
    first = entries[0] if entries else {}
    refs, tags, platforms, labels = _image_parts(source, entries, data, notes)
    out: dict[str, Any] = {}
    repos = sorted({r for r in refs if r}, key=refs.index)
    filled = [filler.fill(f"{source}[0] repository", r, None, ()) for r in repos]
    if not filled or filled[0] is None:
        notes.append(Note(source, "untranslated", "no repository gobuildx can write; fill [image] by hand"))
        return None
    out["repository"] = filled[0].replace("{{", "{").replace("}}", "}")
    if len(repos) > 1:
        notes.append(Note(f"{source}[0]", "untranslated", f"repositories {repos[1:]}: gobuildx pushes to one"))
    tag_list = [filler.fill(f"{source}[0].tags", t, None, TAG_FIELDS) for t in tags]
    out["tags"] = [t for t in dict.fromkeys(tag_list) if t]  # an untranslated tag is noted and left out
    if not out["tags"]:
        out.pop("tags")  # gobuildx's default: {version}
    chosen = []
    if "all" in platforms:  # ko's: every platform of the base image; here every Linux target
        platforms = [f"{t.goos}/{t.goarch}/{t.variant}" for t in targets if t.goos == "linux"]
    for plat in platforms:
        match = _platform_target(plat, targets)
        if match is None:
            notes.append(Note(f"{source} platform {plat}", "untranslated", "not a target of the build; no image"))
        else:
            chosen.append(ids[match.name])
    if chosen and sorted(set(chosen)) != sorted(ids[t.name] for t in targets if t.goos == "linux"):
        out["targets"] = sorted(set(chosen))
    elif not chosen:
        notes.append(Note(source, "untranslated", "no platform gobuildx builds; fill [image].targets by hand"))
        return None
    label_values = {k: filler.fill(f"{source}[0].labels {k}", v, None, ()) for k, v in labels.items()}
    auto = ("created", "revision", "version", "title")
    for key, value in label_values.items():
        if key in (f"org.opencontainers.image.{a}" for a in auto):
            notes.append(Note(f"{source}[0].labels {key}", "differs", "gobuildx writes it itself, from the build"))
        elif value is not None:
            if key == "org.opencontainers.image.source":
                out["source"] = value
            else:
                out.setdefault("labels", {})[key] = value
    binary = _image_binary(first, builds)
    if binary:
        out["binary"] = binary
    for e_i, e in enumerate(entries):
        for key in sorted(set(e) - IMAGE_TRANSLATED):
            advice = IMAGE_ADVICE.get(key, "gobuildx has no equivalent; not used")
            notes.append(Note(f"{source}[{e_i}].{key}", "untranslated", advice))
    notes.append(
        Note(
            source,
            "differs",
            "gobuildx builds a FROM-scratch image of the binary (non-root user, CA certificates, zoneinfo) "
            "and joins the platforms under one index; check [image] before pushing",
        )
    )
    return out


def _image_parts(
    source: str, entries: Sequence[Mapping[str, Any]], data: Mapping[str, Any], notes: list[Note]
) -> tuple[list[str], list[str], list[str], dict[str, str]]:
    """(repositories, tag templates, platforms as os/arch[/variant], labels) of one image key."""
    labels: dict[str, str] = {}
    if source == "dockers_v2":
        e = entries[0] if entries else {}
        if len(entries) > 1:
            notes.append(Note("dockers_v2[1:]", "untranslated", "gobuildx builds one image; dockers_v2[0] is used"))
        refs = [str(x) for x in _list(e.get("images"))]
        tags = [str(x) for x in _list(e.get("tags"))] or ["{{ .Tag }}"]
        plats = [str(x) for x in _list(e.get("platforms"))] or ["linux/amd64", "linux/arm64"]
        labels = {str(k): str(v) for k, v in (e.get("labels") or {}).items()}
        return refs, tags, plats, labels
    if source == "kos":
        e = entries[0] if entries else {}
        if len(entries) > 1:
            notes.append(Note("kos[1:]", "untranslated", "gobuildx builds one image; kos[0] is used"))
        refs = [str(x) for x in _list(e.get("repositories")) + _list(e.get("repository"))]
        if not refs:
            refs = ["{{ .Env.KO_DOCKER_REPO }}"]
        tags = [str(x) for x in _list(e.get("tags"))] or ["latest"]
        plats = [str(x) for x in _list(e.get("platforms"))] or ["linux/amd64"]
        labels = {str(k): str(v) for k, v in (e.get("labels") or {}).items()}
        return refs, tags, plats, labels
    # dockers (v1): one image per platform, joined by docker_manifests; the index's tags are the tags
    refs, per_image, plats = [], [], []
    for e in entries:
        for ref in _list(e.get("image_templates")):
            repo, tag = _split_ref(str(ref))
            refs.append(repo)
            per_image.append(tag)
        arch = str(e.get("goarch") or "amd64")
        variant = str(e.get("goarm") or "") if arch == "arm" else str(e.get("goamd64") or "")
        plats.append("/".join([str(e.get("goos") or "linux"), arch] + ([variant] if variant else [])))
        for flag in _list(e.get("build_flag_templates")):
            if str(flag).startswith("--label="):
                k, _, v = str(flag)[len("--label=") :].partition("=")
                labels.setdefault(k, v)
    manifests = [_split_ref(str(m.get("name_template"))) for m in _list(data.get("docker_manifests")) if m]
    tags = [t for r, t in manifests if not refs or r == refs[0]] or per_image[:1]
    if not manifests and len(entries) > 1:
        notes.append(Note("dockers", "differs", "one tag per platform image; gobuildx tags the joined index once"))
    return refs, tags, plats, labels


def _split_ref(ref: str) -> tuple[str, str]:
    """repo:tag -> (repo, tag); a ':' in a registry's port is not a tag."""
    head, sep, tail = ref.rpartition(":")
    if not sep or "/" in tail:
        return ref, "latest"
    return head, tail


def _platform_target(plat: str, targets: Sequence[GrTarget]) -> GrTarget | None:
    parts = plat.split("/")
    if len(parts) < 2:
        return None
    goos, goarch = parts[0], parts[1]
    variant = parts[2].removeprefix("v") if len(parts) > 2 and goarch == "arm" else (parts[2] if len(parts) > 2 else "")
    found = [t for t in targets if (t.goos, t.goarch) == (goos, goarch)]
    if variant:
        found = [t for t in found if t.variant == variant] or found[:0]
    else:  # docker's linux/arm means v7; amd64 without a level is v1
        want = {"arm": "7", "amd64": "v1"}.get(goarch)
        found = sorted(found, key=lambda t: (t.variant != want, t.name))
    return found[0] if found else None


def _image_binary(entry: Mapping[str, Any], builds: Sequence[Mapping[str, Any]]) -> str | None:
    """The entrypoint: the binary of the build the image's ids (or ko's build) name, when several."""
    if len(builds) < 2:
        return None
    wanted = [str(x) for x in _list(entry.get("ids")) + _list(entry.get("build"))]
    for b in builds:
        if str(b.get("id") or "") in wanted and b.get("binary") and "{{" not in str(b["binary"]):
            return str(b["binary"])
    return None


def _sign_notes(data: Mapping[str, Any], notes: list[Note]) -> None:
    """`signs`, entry by entry: the [sign] table that does the same. None is written: the key
    is a CI secret (a gpg keyring, cosign's key file or KMS) that is not in the checkout, so a
    written table would stop the first release; the note says which key to give it."""
    for i, e in enumerate(x for x in _list(data.get("signs")) if isinstance(x, dict)):
        key = f"signs[{i}]"
        artifacts = str(e.get("artifacts") or "none")
        if artifacts == "none":
            notes.append(Note(key, "untranslated", "artifacts: none (GoReleaser's default) signs nothing"))
            continue
        files = "sums" if artifacts == "checksum" else "archives"
        cmd = Path(str(e.get("cmd") or "gpg")).name
        argv = [str(a) for a in _list(e.get("args"))]
        cosign_key = _flag_value(argv, "--key")
        where = f'files = "{files}"' + ("" if artifacts in ("checksum", "all", "archive") else f" (was {artifacts})")
        if cmd in ("gpg", "gpg2"):
            text = (
                f'write [sign.gpg] key_env = "GPG_PRIVATE_KEY" (its value: gpg --armor --export-secret-keys KEYID; '
                f"gobuildx never reads your keyring), passphrase_env if the key has one, and [sign] {where}"
            )
        elif cmd == "cosign" and cosign_key and cosign_key.startswith("env://"):
            text = (
                f'write [sign.cosign] key_env = "{cosign_key[len("env://") :]}" (cosign\'s own key file or a PKCS#8 '
                f"PEM P-256 key; its passphrase from COSIGN_PASSWORD), and [sign] {where}"
            )
        elif cmd == "cosign" and cosign_key and "://" not in cosign_key:
            text = (
                f'write [sign.cosign] key = "{cosign_key}" (cosign\'s own key file is read; its passphrase from '
                f"COSIGN_PASSWORD), and [sign] {where}"
            )
        elif cmd == "cosign":
            text = (
                "keyless or KMS signing is not done by gobuildx: make a key (openssl genpkey -algorithm EC "
                f"-pkeyopt ec_paramgen_curve:P-256) for [sign.cosign], and [sign] {where}; or keep GoReleaser's step"
            )
        else:
            text = f"{cmd}: gobuildx signs with minisign, gpg or cosign keys ([sign], docs/trust.md); {where}"
        notes.append(Note(key, "untranslated", text))


def _flag_value(argv: Sequence[str], flag: str) -> str | None:
    """The value of `flag` in an argument list, written `--flag VALUE` or `--flag=VALUE`; None
    when it is absent or has no value."""
    for i, arg in enumerate(argv):
        if arg == flag:
            return argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith("-") else None
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1 :] or None
    return None


# nfpms -> [package]: GoReleaser's internal/pipe/nfpm (v2.15.1) packages each Linux platform of
# the builds `ids` names, once per format, with `overrides.<format>` merged over the entry (a
# non-empty override value replaces the entry's). [package] has one value per key for every
# format, so an override becomes the table's value only when it applies to every format.
NFPM_RELATIONS = {"dependencies": "depends", "recommends": "recommends", "conflicts": "conflicts"}
NFPM_RELATIONS |= {"provides": "provides", "replaces": "replaces"}
NFPM_TEXT = ("maintainer", "description", "vendor", "homepage", "license", "section", "priority")
NFPM_SCRIPTS = ("preinstall", "postinstall", "preremove", "postremove")
NFPM_CONTENT_TYPES = {"": "file", "config": "config", "config|noreplace": "config", "dir": "dir", "symlink": "symlink"}
NFPM_CONTENT_TYPES |= {"license": "file", "readme": "file", "doc": "file"}  # rpm's %license/%doc marks
NFPM_TRANSLATED = {"id", "ids", "builds", "formats", "format", "package_name", "bindir", "contents", "scripts"}
NFPM_TRANSLATED |= set(NFPM_RELATIONS) | set(NFPM_TEXT) | {"overrides"}
NFPM_PER_FORMAT = ("deb", "rpm", "apk", "archlinux", "ipk")
NFPM_OVERRIDABLE = {"contents", "scripts"} | set(NFPM_RELATIONS)  # the overrides [package] can hold
# Where configs install a shell completion of binary {name} (current and legacy places): such a
# file becomes package.completions, installed where each shell looks (docs/package.md).
NFPM_COMPLETIONS = {
    "bash": ("/usr/share/bash-completion/completions/{name}", "/etc/bash_completion.d/{name}"),
    "zsh": tuple(
        f"{d}/_{{name}}"
        for d in (
            "/usr/share/zsh/vendor-completions",
            "/usr/share/zsh/site-functions",
            "/usr/local/share/zsh/site-functions",
        )
    ),
    "fish": ("/usr/share/fish/vendor_completions.d/{name}.fish", "/usr/share/fish/completions/{name}.fish"),
}
# What to do instead, for the nfpms keys [package] has no place for.
NFPM_ADVICE = {
    "file_name_template": "gobuildx names every package <name>_<version>_<target id><extension> (docs/package.md)",
    "suggests": "[package] has no suggests: list them in recommends, or leave them out",
    "meta": "gobuildx packages always hold the target's binaries; a meta package is not made",
    "epoch": "the package version is the project's version (docs/package.md); no epoch is written",
    "release": "the package version is the project's version; nfpm's default release is used",
    "prerelease": "nfpm splits a semver prerelease from the version itself",
    "version_metadata": "the package version is the project's version",
    "umask": "set each extra file's mode in package.files[].mode",
    "changelog": "gobuildx writes a one-entry changelog itself (docs/package.md)",
    "replacements": "removed in GoReleaser v2; gobuildx names packages by target id",
    "libdirs": "gobuildx packages binaries only (no C headers or libraries)",
    "platform": "gobuildx packages Linux targets only",
    "goamd64": "gobuildx packages every amd64 target of package.targets",
    "skip": "remove [package] to make no packages",
    "disable": "remove [package] to make no packages",
}
NFPM_FORMAT_ADVICE = {
    "signature": "gobuildx does not sign packages: sign them yourself (debsigs, rpm --addsign, abuild-sign) "
    "or sign the release's SHA256SUMS ([sign])",
    "lintian_overrides": "gobuildx's lintian check suppresses statically-linked-binary itself; "
    "other overrides are not written into the package",
    "compression": "nfpm's default compression for the format is used",
    "scripts": "[package].scripts has preinstall, postinstall, preremove, postremove only",
}


def _package(
    data: Mapping[str, Any],
    targets: Sequence[GrTarget],
    ids: Mapping[str, str],
    owners: Mapping[str, set[str]],
    builds: Sequence[Mapping[str, Any]],
    binaries: Sequence[Mapping[str, str]],
    cgo: bool,
    filler: _Filler,
    notes: list[Note],
    root: Path,
) -> dict[str, Any] | None:
    """[package] from nfpms[0], or None (with the reason in the report) when the entry cannot
    become a table `gobuildx check` accepts; every key it cannot say is a note."""
    entries = [e for e in _list(data.get("nfpms")) if isinstance(e, dict)]
    if not entries:
        return None
    for i in range(1, len(entries)):
        notes.append(Note(f"nfpms[{i}]", "untranslated", "gobuildx writes one [package] table, from nfpms[0]"))
    e, key = entries[0], "nfpms[0]"
    for k in sorted(set(e) - NFPM_TRANSLATED - set(NFPM_PER_FORMAT) - {"mtime"}):
        notes.append(Note(f"{key}.{k}", "untranslated", NFPM_ADVICE.get(k, "gobuildx has no equivalent; not used")))
    if e.get("mtime"):
        notes.append(Note(f"{key}.mtime", "differs", "every package member has the commit time in gobuildx"))
    for fmt in NFPM_PER_FORMAT:
        for k in sorted(e.get(fmt) or {}) if isinstance(e.get(fmt), dict) else []:
            text = NFPM_FORMAT_ADVICE.get(k, f"[package] has no {fmt}-only settings; not used")
            notes.append(Note(f"{key}.{fmt}.{k}", "untranslated", text))
    formats = _package_formats(e, key, notes)
    if cgo and "apk" in formats:  # the package stage refuses a glibc-linked binary in an apk
        notes.append(Note(f"{key}.formats apk", "untranslated", "cgo targets link glibc, which Alpine has not; no apk"))
        formats.remove("apk")
    chosen = [t for t in targets if t.goos == "linux" and _covers(e, owners[t.name])]
    if not formats or not chosen:
        if formats:
            notes.append(Note(key, "untranslated", "its ids build no Linux target gobuildx builds; no [package]"))
        return None
    out: dict[str, Any] = {"formats": formats}
    linux = [t for t in targets if t.goos == "linux"]
    if len(chosen) < len(linux):
        out["targets"] = sorted({ids[t.name] for t in chosen})
    merged = _package_overrides(e, formats, key, notes)
    values = _package_text(data, merged, chosen, filler, key, notes)
    if values is None:
        return None
    out |= values
    name = _package_value(merged.get("package_name"), f"{key}.package_name", chosen, filler, notes)
    project = str(filler.project)
    if name is not None and not PACKAGE_NAME.fullmatch(name):
        notes.append(Note(f"{key}.package_name", "untranslated", f"{name!r} is not [a-z0-9][a-z0-9+.-]+"))
        name = None
    default = default_package_name(project)
    if name is None and not PACKAGE_NAME.fullmatch(default):  # gobuildx's default would not do
        name = re.sub(r"[^a-z0-9+.-]+", "-", project.lower()).strip("-+.")
        name = name if PACKAGE_NAME.fullmatch(name) else "package"
        notes.append(Note(f"{key}.package_name", "differs", f"{project!r} is no package name; {name!r} is written"))
    if name is None and default != project:
        notes.append(
            Note(f"{key}.package_name", "differs", f"GoReleaser names the package {project!r}; gobuildx {default!r}")
        )
    if name is not None and name != default:
        out["name"] = name
    bindir = _package_value(merged.get("bindir"), f"{key}.bindir", chosen, filler, notes)
    if bindir and bindir.rstrip("/") != "/usr/bin":
        out["bindir"] = "/" + bindir.strip("/")
    name_used = out.get("name", project.lower())
    command = binaries[0]["name"]  # package.completions are installed under the first binary's name
    contents = merged.get("contents")
    files, completions = _package_files(contents, f"{key}.contents", name_used, command, chosen, filler, notes, root)
    if files:
        out["files"] = files
    if completions:
        out["completions"] = completions
    if "\n" not in out["description"] and "deb" in formats:
        # a deb needs a long description (lintian extended-description-is-empty) that is not the
        # summary again (description-synopsis-is-duplicated): both are lintian errors
        installed = ", ".join(f"{out.get('bindir', '/usr/bin')}/{b['name']}" for b in binaries)
        more = f"It installs {installed}." + (f" More about it: {out['homepage']}" if out.get("homepage") else "")
        out["description"] += "\n" + more
        text = f"one line; a deb needs a long description too (lintian), so {more!r} is added: write a better one"
        notes.append(Note(f"{key}.description", "differs", text))
    scripts = _package_scripts(merged.get("scripts"), f"{key}.scripts", chosen, filler, notes, root)
    if scripts:
        out["scripts"] = scripts
    for gr, ours in NFPM_RELATIONS.items():
        items = [_package_value(x, f"{key}.{gr}", chosen, filler, notes) for x in _list(merged.get(gr))]
        good = [x for x in items if x and "$" not in x]
        for x in items:
            if x and "$" in x:
                notes.append(Note(f"{key}.{gr}", "untranslated", f"{x!r}: nfpm would expand the '$'; left out"))
        if good:
            out[ours] = good
    for b in binaries:
        if b.get("file"):
            notes.append(
                Note(
                    f"{key}.bindir",
                    "differs",
                    f"gobuildx installs {b['name']!r} as {out.get('bindir', '/usr/bin')}/{b['name']}; "
                    f"GoReleaser's package has its per-target file name there (file = {b['file']!r})",
                )
            )
    left = _unpackaged_binaries(e, builds, chosen, project)
    if left:
        text = f"gobuildx packages every binary of the target, also {', '.join(left)} (not in ids)"
        notes.append(Note(f"{key}.ids", "differs", text))
    return out


def _unpackaged_binaries(
    e: Mapping[str, Any], builds: Sequence[Mapping[str, Any]], chosen: Sequence[GrTarget], project: str
) -> list[str]:
    """The binaries of builds that `ids` leaves out but that build a packaged target: GoReleaser's
    package of that target lacks them, gobuildx's (every binary of the target) has them."""
    wanted = {str(x) for x in _list(e.get("ids")) + _list(e.get("builds"))}
    if not wanted:
        return []
    names: dict[str, set[str]] = {"in": set(), "out": set()}
    for i, b in enumerate(builds):
        bid = str(b.get("id") or (project if len(builds) == 1 else f"build{i}"))
        if any(t in chosen for t in build_targets(b)):
            names["in" if bid in wanted else "out"].add(
                _binary_base(str(b.get("binary") or "{{ .ProjectName }}"), project)
            )
    return sorted(names["out"] - names["in"])


def _package_formats(e: Mapping[str, Any], key: str, notes: list[Note]) -> list[str]:
    """`formats` (v2), or `format` (a single one, as some schema-1 files have it)."""
    given = [str(f) for f in _list(e.get("formats")) or _list(e.get("format"))]
    if not given:
        notes.append(Note(key, "untranslated", "no formats: GoReleaser makes no package either; no [package]"))
    for f in given:
        if f not in ("deb", "rpm", "apk", "archlinux"):
            notes.append(Note(f"{key}.formats {f}", "untranslated", "gobuildx makes deb, rpm, apk and archlinux"))
    return [f for f in dict.fromkeys(given) if f in ("deb", "rpm", "apk", "archlinux")]


def _package_overrides(e: Mapping[str, Any], formats: Sequence[str], key: str, notes: list[Note]) -> dict[str, Any]:
    """The entry with the `overrides` that apply to every format merged in (GoReleaser: a set
    override value replaces the entry's); a per-format value [package] cannot hold is a note."""
    merged = {k: v for k, v in e.items() if k != "overrides"}
    overrides = e.get("overrides") or {}
    if not isinstance(overrides, dict):
        return merged
    for fmt in sorted(set(overrides) - set(formats)):
        notes.append(Note(f"{key}.overrides.{fmt}", "untranslated", f"{fmt} is not made (not in formats); not used"))
    per = {f: overrides[f] if isinstance(overrides.get(f), dict) else {} for f in formats}
    for k in sorted({k for v in per.values() if isinstance(v, dict) for k in v}):
        if k not in NFPM_OVERRIDABLE:  # suggests, umask, deb/rpm/... settings: as on the entry itself
            text = NFPM_ADVICE.get(k, NFPM_FORMAT_ADVICE.get(k, "[package] has no equivalent; not used"))
            notes += [Note(f"{key}.overrides.{f}.{k}", "untranslated", text) for f in formats if k in per[f]]
            continue
        values = [per[f].get(k) for f in formats]
        if all(v not in (None, "", [], {}) for v in values) and all(v == values[0] for v in values):
            merged[k] = values[0]
            if len(formats) > 1:
                notes.append(Note(f"{key}.overrides.{k}", "differs", "the same for every format: [package] has it"))
            continue
        for f in formats:
            if k in per[f]:
                notes.append(
                    Note(
                        f"{key}.overrides.{f}.{k}",
                        "untranslated",
                        f"for {f} only; [package] has one value for every format: add it by hand if it suits "
                        "every format, or keep GoReleaser's nfpm step for this format",
                    )
                )
    return merged


def _package_value(value: Any, key: str, chosen: Sequence[GrTarget], filler: _Filler, notes: list[Note]) -> str | None:
    """A literal [package] value from a GoReleaser template, the same for every packaged target
    (None, noted, when it names the version, differs per target, or cannot be filled)."""
    if value is None or value == "":
        return None
    filled = {filler.fill(key, str(value), t, ()) for t in chosen}
    if None in filled:
        return None
    if len(filled) > 1:
        notes.append(Note(key, "untranslated", f"{value!r} differs per target; [package] has one value"))
        return None
    return str(filled.pop()).replace("{{", "{").replace("}}", "}")


def _package_text(
    data: Mapping[str, Any],
    e: Mapping[str, Any],
    chosen: Sequence[GrTarget],
    filler: _Filler,
    key: str,
    notes: list[Note],
) -> dict[str, str] | None:
    """maintainer, description and the other metadata; None (noted) when the two [package]
    requires cannot be valid. An unset one is taken from `metadata`, as GoReleaser Pro does."""
    meta: Mapping[str, Any] = data["metadata"] if isinstance(data.get("metadata"), dict) else {}
    fallback = {
        "maintainer": _list(meta.get("maintainers"))[:1],
        "description": [meta.get("full_description"), meta.get("description")],
        "homepage": [meta.get("homepage")],
        "license": [meta.get("license")],
    }
    out: dict[str, str] = {}
    for k in NFPM_TEXT:
        value = _package_value(e.get(k), f"{key}.{k}", chosen, filler, notes)
        source = next((x for x in fallback.get(k, []) if x), None)
        if not e.get(k) and source:
            value = _package_value(source, f"metadata.{k}", chosen, filler, notes)
            notes.append(Note(f"{key}.{k}", "differs", "unset: taken from metadata, as GoReleaser Pro does"))
        if value is None:
            continue
        if k in NFPM_EXPANDED and "$" in value:
            notes.append(Note(f"{key}.{k}", "untranslated", f"{value!r}: nfpm would expand the '$'; write it by hand"))
            continue
        out[k] = value.strip()
    if out.get("priority", "optional") not in ("required", "important", "standard", "optional", "extra"):
        notes.append(Note(f"{key}.priority", "untranslated", f"{out.pop('priority')!r}: not a deb priority"))
    ok = True
    if not MAINTAINER.match(out.get("maintainer", "")):
        why = f"{out['maintainer']!r} is not" if "maintainer" in out else "unset; [package] needs"
        advice = 'write [package] by hand with maintainer = "Name <you@example.org>" (docs/package.md)'
        notes.append(Note(f"{key}.maintainer", "untranslated", f'{why} "Name <email>": no [package]; {advice}'))
        ok = False
    if not out.get("description"):
        notes.append(Note(f"{key}.description", "untranslated", "unset; [package] needs one: no [package]"))
        ok = False
    return out if ok else None


def _package_files(
    contents: Any,
    key: str,
    name: str,
    command: str,
    chosen: Sequence[GrTarget],
    filler: _Filler,
    notes: list[Note],
    root: Path,
) -> tuple[list[dict[str, str]], dict[str, str]]:
    """`contents` as package.files (src, dst, type, file_info mode/owner/group) and, for a file
    where a shell looks for `command`'s completion, package.completions. An entry [package]
    cannot hold (another type, a glob, one packager only, a source not in the checkout, the
    copyright file gobuildx writes itself) is a note, and left out."""
    out: list[dict[str, str]] = []
    completions: dict[str, str] = {}
    for j, c in enumerate(x for x in _list(contents) if isinstance(x, dict)):
        where = f"{key}[{j}]"
        info: Mapping[str, Any] = c["file_info"] if isinstance(c.get("file_info"), dict) else {}
        extra = [f"{where}.{k}" for k in sorted(set(c) - {"src", "dst", "type", "packager", "file_info"})]
        extra += [f"{where}.file_info.{k}" for k in sorted(set(info) - {"mode", "owner", "group", "mtime"})]
        notes += [Note(k, "untranslated", "package.files have src, dst, type, mode, owner, group") for k in extra]
        kind = NFPM_CONTENT_TYPES.get(str(c.get("type") or ""))
        if kind is None:
            notes.append(
                Note(
                    where,
                    "untranslated",
                    f"type {c.get('type')!r}: package.files has file, config, dir, "
                    "symlink; add it by hand if you need it",
                )
            )
            continue
        if c.get("packager"):
            notes.append(
                Note(
                    where,
                    "untranslated",
                    f"for {c['packager']} packages only; [package].files are in "
                    "every format's package: add it there if that is right",
                )
            )
            continue
        dst = _package_value(c.get("dst"), f"{where}.dst", chosen, filler, notes)
        src = _package_value(c.get("src"), f"{where}.src", chosen, filler, notes) if c.get("src") else None
        if dst is None or (c.get("src") and src is None):
            notes.append(Note(where, "untranslated", "its src or dst cannot be written in targets.toml; left out"))
            continue
        dst = posixpath.normpath("/" + dst.lstrip("/"))  # nfpm makes a relative dst (./usr/...) absolute too
        if dst.rstrip("/") == f"/usr/share/doc/{name}/copyright":
            notes.append(Note(where, "differs", f"gobuildx writes {dst} itself (from license, maintainer, vendor)"))
            continue
        shell = next((sh for sh, ps in NFPM_COMPLETIONS.items() if dst in (p.format(name=command) for p in ps)), None)
        if shell and kind == "file" and src and shell not in completions and not source_errors(root, src):
            completions[shell] = posixpath.normpath(src)
            text = f"{dst}: package.completions.{shell}, installed where {shell} looks (docs/package.md)"
            notes.append(Note(where, "differs", text))
            continue
        if kind == "file" and dst.startswith("/etc/"):
            kind = "config"  # Debian policy 10.7.2; lintian: file-in-etc-not-marked-as-conffile, an error
            notes.append(Note(where, "differs", f"{dst}: a file in /etc is a config file (kept on upgrade)"))
        if dst.startswith("/usr/local/"):
            notes.append(
                Note(where, "differs", f"{dst}: lintian calls a file in /usr/local an error; the deb fails its check")
            )
        entry: dict[str, str] = {"dst": dst} | ({"type": kind} if kind != "file" else {})
        if str(c.get("type") or "") in ("license", "readme", "doc"):
            notes.append(Note(f"{where}.type", "differs", f"{c['type']}: rpm's mark is not written; a plain file"))
        if kind in ("file", "config"):
            if src is None or any(ch in src for ch in "*?["):
                notes.append(Note(where, "untranslated", f"src {src!r}: one file is needed (a glob is not expanded)"))
                continue
            src = posixpath.normpath(src)
            if source_errors(root, src):
                notes.append(
                    Note(
                        where,
                        "untranslated",
                        f"src {src!r} is not a file in the checkout (made by a hook?): add it once it is, "
                        + (
                            f"as package.completions.{shell}" if shell else f"{{ src, dst = {dst!r} }} to package.files"
                        ),
                    )
                )
                continue
            entry["src"] = src
        elif kind == "symlink":
            if not src:
                notes.append(Note(where, "untranslated", "a symlink without src (its target); left out"))
                continue
            entry["src"] = src
        mode = _octal(info.get("mode"))
        if mode is not None and kind != "symlink":
            entry["mode"] = f"{mode:04o}"
        elif info.get("mode") is not None:
            notes.append(Note(f"{where}.file_info.mode", "untranslated", f"{info['mode']!r}: not used"))
        for k in ("owner", "group"):
            value = _package_value(info.get(k), f"{where}.file_info.{k}", chosen, filler, notes)
            if value and value != "root":
                entry[k] = value
        if info.get("mtime"):
            notes.append(Note(f"{where}.file_info.mtime", "differs", "every package member has the commit time"))
        out.append(entry)
    return out, completions


def _octal(mode: Any) -> int | None:
    """A file_info mode as YAML gives it: 420 (0644 in YAML 1.1 or decimal), "0644", "0o644"."""
    if isinstance(mode, int) and not isinstance(mode, bool) and 0 <= mode <= 0o7777:
        return mode
    text = str(mode).removeprefix("0o") if isinstance(mode, str) else ""
    return int(text, 8) if re.fullmatch(r"[0-7]{3,5}", text) and int(text, 8) <= 0o7777 else None


def _package_scripts(
    scripts: Any, key: str, chosen: Sequence[GrTarget], filler: _Filler, notes: list[Note], root: Path
) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (scripts or {}).items() if isinstance(scripts, dict) else []:
        if k not in NFPM_SCRIPTS:
            notes.append(Note(f"{key}.{k}", "untranslated", NFPM_FORMAT_ADVICE["scripts"]))
            continue
        path = _package_value(v, f"{key}.{k}", chosen, filler, notes)
        if path is None:
            continue
        path = posixpath.normpath(path)
        if source_errors(root, path):
            notes.append(
                Note(f"{key}.{k}", "untranslated", f"{path!r} is not a file in the checkout; add it once it is")
            )
            continue
        out[k] = path
    return out
