"""What a schema-valid targets.toml can still get wrong, found before any compiler runs:
a project.dir or main package that is not there, a placeholder that does not exist (ldflags,
image tags, release.name), an image repository or tag Docker would refuse, an image.files
or release.files source that is missing. Every stage trusts these and checks nothing again
that the file alone decides."""

from __future__ import annotations

import difflib
import fnmatch
import os
import re
import string
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

from gobuildx.errors import ConfigError
from gobuildx.project import imageref, matrix
from gobuildx.project.config import Binary, KeySource, LoadedConfig, RegistrySettings, Release
from gobuildx.project.matrix import Target

PLACEHOLDERS = ("version", "commit", "short_commit", "date", "id", "goos", "goarch")  # ldflags
TAG_FIELDS = ("version", "commit", "short_commit", "project")  # image.tags
# release.name
RELEASE_FIELDS = ("project", "version", "commit", "short_commit", "id", "goos", "goarch", "arch", "binary")
WRAP_FIELDS = (*RELEASE_FIELDS, "name")  # release.wrap: {name} is the archive's name
BINARY_FIELDS = ("name", "project", "id", "goos", "goarch", "arch")  # project.binaries[].file
# What a template is filled with to check its result before anything is built: a real
# version can only be stricter (a `+` in a git describe is refused by the image stage).
SAMPLE = {
    "project": "app",
    "version": "1.2.3",
    "commit": "0" * 40,
    "short_commit": "0000000",
    "date": "2006-01-02T15:04:05Z",
    "id": "linux-amd64",
    "goos": "linux",
    "goarch": "amd64",
}
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "vendor", "testdata", "dist"}
MAX_DEPTH = 4  # how deep a did-you-mean looks for Go packages


def release_values(
    project: str,
    version: str,
    commit: str,
    tid: str,
    goos: str,
    goarch: str,
    goarm: str | None,
    goamd64: str | None,
    binary: str = "",
) -> dict[str, str]:
    """What release.name, release.names and release.wrap are filled with for one target. {arch}
    is GOARCH with its variant as GoReleaser's archive names spell it: armv6, amd64v3, amd64;
    {binary} the file name of its first binary without .exe (GoReleaser's .Binary)."""
    return {
        "binary": binary,
        "project": project,
        "version": version,
        "commit": commit,
        "short_commit": commit[:7],
        "id": tid,
        "goos": goos,
        "goarch": goarch,
        "arch": matrix.arch_label(goarch, goarm, goamd64),
    }


def binary_file(project: str, binary: Binary, target: Target, config_path: Path) -> str:
    """The file one binary is built to on one target: binary.file filled (else its name), plus
    .exe or .wasm as Go's own output name has (GoReleaser adds them to a templated name too)."""
    stem = binary_stem(project, binary, target, config_path)
    suffix = target.exe_suffix()
    return stem if suffix and stem.endswith(suffix) else stem + suffix


def binary_stem(project: str, binary: Binary, target: Target, config_path: Path) -> str:
    """binary.file filled for one target (else the binary's name), before .exe or .wasm."""
    if binary.file is None:
        return binary.name
    values = {
        "name": binary.name,
        "project": project,
        "id": target.id,
        "goos": target.goos,
        "goarch": target.goarch,
        "arch": matrix.arch_label(target.goarch, target.goarm, target.goamd64),
    }
    return fill(binary.file, values, f"project.binaries ({binary.name}).file", config_path)


def problems(loaded: LoadedConfig) -> list[str]:
    """Every problem the file alone decides, in file order (no Go, no network)."""
    return (
        _template_problems(loaded)
        + version_problems(loaded.config.project.version, loaded.path)
        + _path_problems(loaded)
        + _image_problems(loaded)
        + _release_problems(loaded)
        + sign_problems(loaded)
        + package_problems(loaded)
    )


def target_problems(loaded: LoadedConfig, targets: Sequence[Target]) -> list[str]:
    """What needs the expanded matrix: image.targets globs that select no Linux target, an
    image.binary the project does not build, release.name giving two targets one archive."""
    out, where = [], loaded.path
    table = loaded.config.image
    if table is not None:
        linux = [t.id for t in targets if t.goos == "linux" and t.goarch != "wasm"]
        for i, pattern in enumerate(table.targets):
            if not any(fnmatch.fnmatchcase(tid, pattern) for tid in linux):
                out.append(matrix.no_match(f"{where}: image.targets[{i}]", pattern, linux))
        names = [b.name for b in loaded.config.project.binary_list()]
        if table.binary is not None and table.binary not in names:
            out.append(
                _hint(f"{where}: image.binary: {table.binary!r} is not a binary of the project", table.binary, names)
            )
    out += _binary_file_clashes(loaded, targets)
    out += package_target_problems(loaded, targets)
    rel = loaded.config.release
    ids = [t.id for t in targets]
    for tid in rel.names:
        if tid not in ids:
            out.append(matrix.no_match(f"{where}: release.names", tid, ids))
    templates = [rel.name, *rel.names.values()]
    if not any(template_errors(text, RELEASE_FIELDS) for text in templates):
        seen: dict[str, str] = {}
        project = loaded.config.project.name
        first = loaded.config.project.binary_list()[0]
        named = first.file is None or not template_errors(first.file, BINARY_FIELDS)  # else reported already
        for t in targets:
            binary = binary_stem(project, first, t, loaded.path) if named else first.name
            values = release_values(
                project, SAMPLE["version"], SAMPLE["commit"], t.id, t.goos, t.goarch, t.goarm, t.goamd64, binary
            )
            stem = rel.names.get(t.id, rel.name).format(**values)
            if stem in seen:
                out.append(
                    f"{where}: release.name: {rel.names.get(t.id, rel.name)!r} gives {stem!r} for both {seen[stem]} "
                    f"and {t.id}; include {{id}} (or {{goos}} and {{goarch}} and what else differs)"
                )
                break
            seen[stem] = t.id
    return out


def _binary_file_clashes(loaded: LoadedConfig, targets: Sequence[Target]) -> list[str]:
    """Two binaries that project.binaries[].file gives one file name on a target."""
    binaries = loaded.config.project.binaries
    if not any(b.file for b in binaries) or any(
        template_errors(b.file, BINARY_FIELDS) for b in binaries if b.file is not None
    ):
        return []
    for t in targets:
        seen: dict[str, str] = {}
        for b in binaries:
            name = binary_file(loaded.config.project.name, b, t, loaded.path)
            if name in seen:
                return [
                    f"{loaded.path}: project.binaries: {seen[name]!r} and {b.name!r} are both built to "
                    f"{name!r} on {t.id}; give them different names or file templates"
                ]
            seen[name] = b.name
    return []


def _hint(message: str, value: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, allowed, n=1)
    return f"{message}; allowed: {', '.join(allowed)}" + (f"; did you mean {close[0]!r}?" if close else "")


def version_problems(source: str, config_path: Path) -> list[str]:
    """project.version as far as the file decides it: a VERSION file that is there, a literal
    that is a version (an env: variable is the build's environment, read when it stamps)."""
    where = f"{config_path}: project.version"
    if source == "git" or source.startswith("env:"):
        return []
    if source.startswith("file:"):
        file = config_path.parent / source[5:]
        return [] if file.is_file() else [f"{where}: {source!r}: no such file {file}"]
    if not re.fullmatch(r"[0-9A-Za-z.+_-]+", source):
        allowed = '"git", "env:NAME", "file:PATH" or a literal such as "1.2.3"'
        return [f"{where}: {source!r} is not a version; allowed: {allowed}"]
    return []


def _image_problems(loaded: LoadedConfig) -> list[str]:
    table = loaded.config.image
    if table is None:
        return []
    where, out = loaded.path, []
    try:
        imageref.parse_repository(table.repository)
    except ValueError as exc:
        out.append(f"{where}: image.repository: {exc}")
    if not table.tags:
        out.append(f'{where}: image.tags is empty; give at least one, e.g. ["{{version}}"]')
    for i, template in enumerate(table.tags):
        out += [f"{where}: image.tags[{i}]: {why}" for why in tag_errors(template)]
    for i, extra in enumerate(table.files):
        out += [f"{where}: image.files[{i}].src: {why}" for why in source_errors(loaded.root, extra.src)]
    for host, settings in table.registries.items():
        out += [f'{where}: image.registries."{host}"{why}' for why in registry_errors(loaded.root, host, settings)]
    return out


def registry_errors(root: Path, host: str, settings: RegistrySettings) -> list[str]:
    """One [image.registries."HOST"] table: a host as repositories write it, a CA that is a PEM file."""
    out = []
    if not imageref.valid_domain(host):
        out.append(
            f": {host!r} is not a registry host; allowed: a host name or [IPv6] with an optional port, "
            'as in the repository (e.g. "registry.corp:5443", no scheme or path)'
        )
    if settings.ca is not None:
        if settings.insecure:
            out.append(".ca: a CA is for TLS, but insecure = true speaks plain HTTP; drop one of them")
        out += [f".ca: {why}" for why in ca_errors(root, settings.ca)]
    return out


def ca_errors(root: Path, ca: str) -> list[str]:
    path = root / ca  # an absolute ca stays absolute
    try:
        text = path.read_bytes()
    except OSError as exc:
        return [f"{ca!r}: cannot read {path}: {exc.strerror or exc}"]
    if b"-----BEGIN CERTIFICATE-----" not in text:
        return [f"{ca!r}: {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"]
    return []


def tag_errors(template: str) -> list[str]:
    """What is wrong with one image.tags template, filled with sample values."""
    wrong = template_errors(template, TAG_FIELDS)
    if wrong:
        return wrong
    try:
        imageref.check_tag(template.format(**SAMPLE))
    except ValueError as exc:
        return [f"{template!r} gives {exc}"]
    return []


def _release_problems(loaded: LoadedConfig) -> list[str]:
    settings, where = loaded.config.release, loaded.path
    named: list[tuple[str, str, Sequence[str]]] = [("release.name", settings.name, RELEASE_FIELDS)]
    named += [(f'release.names."{tid}"', text, RELEASE_FIELDS) for tid, text in settings.names.items()]
    if settings.wrap is not None:
        named.append(("release.wrap", settings.wrap, WRAP_FIELDS))
    out = []
    sample = {**SAMPLE, "arch": "amd64", "binary": "app", "name": "app_1.2.3_linux_amd64"}
    for key, text, fields in named:
        found = [f"{where}: {key}: {text!r}: {why}" for why in template_errors(text, fields)]
        stem = "" if found else text.format(**sample)
        if not found and (not stem or "/" in stem or stem.startswith(".")):
            found.append(f"{where}: {key}: {text!r} gives {stem!r}, which is not a plain file name")
        out += found
    binaries = loaded.config.project.binary_list()
    chosen = {"release.format": settings.format}
    chosen |= {f"release.format_overrides.{goos}": fmt for goos, fmt in settings.format_overrides.items()}
    bare = [key for key, fmt in chosen.items() if fmt == "binary"]
    if bare and len(binaries) > 1:
        key = bare[0]
        out.append(
            f"{where}: {key}: binary makes a target's one binary its release file, but the project builds "
            f"{len(binaries)} ({', '.join(b.name for b in binaries)}); use tar.gz, tar.xz, tar.zst or zip"
        )
    return out + release_file_problems(settings, loaded.root, loaded.path)


SIGN_METHODS = ("minisign", "gpg", "cosign")


def sign_problems(loaded: LoadedConfig) -> list[str]:
    """[sign]: at least one method, each key from exactly one source, a key file inside the
    project, and a key for the provenance. Whether an environment variable is set is asked
    only when a release starts (CI sets its secrets for that step alone)."""
    table, where = loaded.config.sign, loaded.path
    if table is None:
        return []
    sources = {m: getattr(table, m) for m in SIGN_METHODS if getattr(table, m) is not None}
    if not sources:
        return [f"{where}: sign: names no method; add [sign.minisign], [sign.gpg] or [sign.cosign]"]
    out = []
    for method, source in sources.items():
        out += [f"{where}: sign.{method}: {why}" for why in key_source_errors(loaded.root, source)]
    if table.provenance and not ({"cosign", "minisign"} & set(sources)):
        out.append(
            f"{where}: sign.provenance: needs a [sign.cosign] or [sign.minisign] key to sign it "
            "(an OpenPGP key cannot sign a DSSE envelope here); add one, or set provenance = false"
        )
    if table.images and "cosign" not in sources:
        out.append(
            f"{where}: sign.images: pushed images are signed the way cosign does, with the cosign key; "
            "add [sign.cosign], or set images = false"
        )
    if table.images and loaded.config.image is None:
        out.append(
            f"{where}: sign.images: there is no [image] table, so no image to sign; add one, or set images = false"
        )
    return out


def key_source_errors(root: Path, source: KeySource) -> list[str]:
    if (source.key is None) == (source.key_env is None):
        return ["set exactly one of key (a file) and key_env (an environment variable)"]
    if source.key is not None:
        return [f"key: {why}" for why in source_errors(root, source.key)]
    return []


def release_file_problems(settings: Release, root: Path, config_path: Path) -> list[str]:
    """release.files entries that are not files inside the project (the release stage asks too:
    a file may go between opening the project and archiving)."""
    out = []
    for i, name in enumerate(settings.files):
        out += [f"{config_path}: release.files[{i}]: {why}" for why in source_errors(root, name)]
    return out


def source_errors(root: Path, name: str) -> list[str]:
    """A file the project names (relative to targets.toml): inside the project, and there."""
    rel = PurePosixPath(name)
    if not name or rel.is_absolute() or ".." in rel.parts:
        return [f"{name!r} must be a path inside the project (relative, no '..')"]
    path = root / rel
    try:
        if path.is_file():
            return []
    except OSError as exc:  # a symlink loop, a name too long
        return [f"{name!r}: cannot read {path}: {exc.strerror or exc}"]
    what = "is a directory, not a file" if path.is_dir() else "no such file"
    siblings = _names(path.parent)
    close = difflib.get_close_matches(path.name, siblings, n=1)
    hint = f"; did you mean {str(rel.parent / close[0])!r}?" if close else ""
    return [f"{name!r}: {what} {path}{hint}"]


def _names(folder: Path) -> list[str]:
    try:
        return [e.name for e in os.scandir(folder)]
    except OSError:
        return []


def _template_problems(loaded: LoadedConfig) -> list[str]:
    cfg, out = loaded.config, []
    flags = [(f"project.ldflags[{i}]", text) for i, text in enumerate(cfg.project.ldflags)]
    flags += [
        (f"override[{j}].ldflags[{i}]", text) for j, o in enumerate(cfg.override) for i, text in enumerate(o.ldflags)
    ]
    for key, text in flags:
        out += [f"{loaded.path}: {key}: {text!r}: {why}" for why in template_errors(text)]
    sample = {"name": "app", "project": "app", "id": "linux-armv7", "goos": "linux", "goarch": "arm", "arch": "armv7"}
    for i, b in enumerate(cfg.project.binaries):
        if b.file is None:
            continue
        key = f"{loaded.path}: project.binaries[{i}].file: {b.file!r}"
        found = [f"{key}: {why}" for why in template_errors(b.file, BINARY_FIELDS)]
        stem = "" if found else b.file.format(**sample)
        if not found and not re.fullmatch(r"[A-Za-z0-9._-]+", stem):
            found.append(f"{key} gives {stem!r}, which is not a plain file name (letters, digits, . _ -)")
        out += found
    return out


def fill(text: str, values: Mapping[str, str], key: str, config_path: Path) -> str:
    """One template of targets.toml with its {placeholders} filled (ldflags, release names), or
    a ConfigError naming the file, the key and the placeholders allowed there."""
    try:
        return text.format_map(values)
    except (KeyError, ValueError, IndexError) as exc:
        raise ConfigError(
            [
                f"{config_path}: {key}: cannot fill {text!r} ({exc}); "
                f"allowed placeholders: {', '.join('{' + k + '}' for k in values)}"
            ]
        ) from None


def template_errors(text: str, allowed: Sequence[str] = PLACEHOLDERS) -> list[str]:
    """What is wrong with the {placeholders} of one template (empty: nothing), for
    `str.format` with the names in `allowed`: ldflags entries, image tags."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        return [f"{exc} (write a literal brace as {{{{ or }}}})"]
    out = []
    for field in fields:
        name = field.split(".")[0].split("[")[0]
        if name in allowed and field != name:
            out.append(f"{{{field}}}: a placeholder is a plain name, such as {{{name}}}")
        elif name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            out.append(
                f"unknown placeholder {{{field}}}; allowed: "
                f"{', '.join('{' + p + '}' for p in allowed)}" + (f"; did you mean {{{close[0]}}}?" if close else "")
            )
    return out


def _path_problems(loaded: LoadedConfig) -> list[str]:
    project = loaded.config.project
    module = loaded.module_dir
    if not module.is_dir():
        if "\\" in project.dir:
            return [
                f"{loaded.path}: project.dir: {project.dir!r} is not a directory ({module}); "
                "write paths with forward slashes"
            ]
        siblings = _subdirs(module.parent) if module.parent.is_dir() else []
        close = difflib.get_close_matches(module.name, siblings, n=1)
        return [
            f"{loaded.path}: project.dir: {project.dir!r} is not a directory ({module})"
            + (f"; did you mean {str(Path(project.dir).parent / close[0])!r}?" if close else "")
        ]
    keyed = (
        [(f"project.binaries[{i}].main", b.main) for i, b in enumerate(project.binaries)]
        if project.binaries
        else [("project.main", project.main)]
    )
    out = []
    for key, main in keyed:
        if not main.startswith(".") or "..." in main or _has_go_files(module / main):
            continue  # an import path (example.com/x/cmd/y) or a pattern (./cmd/...) is go's to resolve
        packages = sorted(_go_packages(module))
        close = difflib.get_close_matches(main, packages, n=1)
        out.append(
            f"{loaded.path}: {key}: {main!r}: no Go files in {(module / main).resolve()}"
            + (f"; did you mean {close[0]!r}?" if close else "")
            + (f" (packages: {', '.join(packages[:8])}{' ...' if len(packages) > 8 else ''})" if packages else "")
        )
    return out


def _has_go_files(folder: Path) -> bool:
    try:
        return any(e.name.endswith(".go") and e.is_file() for e in os.scandir(folder))
    except OSError:
        return False


def _subdirs(folder: Path) -> list[str]:
    try:
        return [e.name for e in os.scandir(folder) if e.is_dir()]
    except OSError:
        return []


def _go_packages(module: Path) -> Iterator[str]:
    """./relative paths of the directories under the module holding .go files (a few levels)."""
    for dirpath, dirnames, filenames in os.walk(module):
        rel = Path(dirpath).relative_to(module)
        if len(rel.parts) >= MAX_DEPTH:
            dirnames[:] = []
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        if any(f.endswith(".go") for f in filenames):
            yield "." if not rel.parts else "./" + rel.as_posix()


# The [package] fields nfpm passes through os.Expand: a `$` there would become an environment
# variable's value (or nothing) in the package, so it is refused rather than escaped.
NFPM_EXPANDED = ("name", "maintainer", "description", "homepage", "vendor")
MAINTAINER = re.compile(r"^[^<>]+ <[^<>@\s]+@[^<>\s]+>$")


# Debian policy 5.6.1 (rpm, apk and pacman accept these too): at least two characters
PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")


def default_package_name(project: str) -> str:
    """The package name when [package] names none: project.name, lowercased, `_` as `-`."""
    return project.lower().replace("_", "-")


def package_problems(loaded: LoadedConfig) -> list[str]:
    """[package] mistakes the file alone decides: missing sources, a `$` nfpm would expand, a
    maintainer without an address (dpkg and lintian want "Name <email>")."""
    table = loaded.config.package
    if table is None:
        return []
    where, out = loaded.path, []
    if not table.formats:
        out.append(f"{where}: package.formats is empty; allowed: deb, rpm, apk, archlinux")
    for key in NFPM_EXPANDED:
        value = getattr(table, key)
        if value and "$" in value:
            out.append(f"{where}: package.{key}: {value!r} contains '$', which nfpm expands as an environment variable")
    for key in ("depends", "recommends", "conflicts", "provides", "replaces"):
        for i, value in enumerate(getattr(table, key)):
            if "$" in value or not value.strip():
                out.append(f"{where}: package.{key}[{i}]: {value!r} is empty or contains '$' (nfpm expands it)")
    if not MAINTAINER.match(table.maintainer):
        out.append(f'{where}: package.maintainer: {table.maintainer!r} is not "Name <email@host>"')
    derived = default_package_name(loaded.config.project.name)
    if table.name is None and not PACKAGE_NAME.fullmatch(derived):
        out.append(
            f"{where}: package.name: not set, and project.name {loaded.config.project.name!r} gives {derived!r}, "
            "which is no package name (two or more of a-z 0-9 + - ., a letter or digit first): set package.name"
        )
    summary, _, long = table.description.strip().partition("\n")
    if not summary.strip():
        out.append(f"{where}: package.description is empty")
    elif "deb" in table.formats and not long.strip():
        out.append(
            f"{where}: package.description: a deb needs a long description after the first line "
            "(Debian policy 3.4.1; lintian: extended-description-is-empty)"
        )
    for i, f in enumerate(table.files):
        key = f"{where}: package.files[{i}]"
        if f.type in ("file", "config"):
            if f.src is None:
                out.append(f"{key}.src: required for type {f.type!r}")
            else:
                out += [f"{key}.src: {why}" for why in source_errors(loaded.root, f.src)]
        elif f.type == "symlink" and not f.src:
            out.append(f"{key}.src: required for a symlink (the path it points to)")
        elif f.type == "dir" and f.src is not None:
            out.append(f"{key}.src: a dir takes no src")
    named = [("systemd_unit", table.systemd_unit)] if table.systemd_unit else []
    named += [(f"man_pages[{i}]", m) for i, m in enumerate(table.man_pages)]
    named += [(f"completions.{sh}", c) for sh, c in table.completions.items()]
    scripts = table.scripts.model_dump(exclude_none=True)
    named += [(f"scripts.{k}", v) for k, v in scripts.items()]
    for key, name in named:
        out += [f"{where}: package.{key}: {why}" for why in source_errors(loaded.root, name)]
    for i, m in enumerate(table.man_pages):
        if not re.search(r"\.[1-9][a-z]*$", m):
            out.append(f"{where}: package.man_pages[{i}]: {m!r} has no man section suffix (.1 to .9)")
    return out


def package_target_problems(loaded: LoadedConfig, targets: Sequence[Target]) -> list[str]:
    """package.targets globs must each select a Linux target (packages are Linux only)."""
    table = loaded.config.package
    if table is None:
        return []
    linux = [t.id for t in targets if t.goos == "linux" and t.goarch != "wasm"]
    out = []
    for i, pattern in enumerate(table.targets):
        chosen = [t for t in targets if fnmatch.fnmatchcase(t.id, pattern)]
        other = [t.id for t in chosen if t.goos != "linux"]
        if other:
            out.append(
                f"{loaded.path}: package.targets[{i}]: {pattern!r} selects {', '.join(other)}: "
                "packages are for Linux targets only"
            )
        elif not chosen:
            out.append(matrix.no_match(f"{loaded.path}: package.targets[{i}]", pattern, linux))
    for fmt, globs in table.format_targets.items():
        if fmt not in table.formats:
            out.append(f"{loaded.path}: package.format_targets.{fmt}: {fmt} is not in package.formats")
        for i, pattern in enumerate(globs):
            if not any(fnmatch.fnmatchcase(tid, pattern) for tid in linux):
                out.append(matrix.no_match(f"{loaded.path}: package.format_targets.{fmt}[{i}]", pattern, linux))
    return out
