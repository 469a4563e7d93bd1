"""The schema of targets.toml, and loading it with errors that name file, key and value."""

from __future__ import annotations

import difflib
import reprlib
import stat
import tomllib
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gobuildx.errors import ConfigError
from gobuildx.model.release import ArchiveFormat
from gobuildx.util.sandbox import Limits

Libc = Literal["static", "musl", "glibc", "wasm", "system"]
Link = Literal["static", "dynamic"]
GoArm = Literal["5", "6", "7"]
GoAmd64 = Literal["v1", "v2", "v3", "v4"]
Go386 = Literal["sse2", "softfloat"]
GoMips = Literal["hardfloat", "softfloat"]
# GOARM64 as Go reads it: an ARMv8.x/9.x level, optionally with ,lse and ,crypto
GoArm64 = Annotated[str, Field(pattern=r"^v(8\.[0-9]|9\.[0-5])(,lse)?(,crypto)?$")]

DEFAULT_LDFLAGS = [
    "-s",
    "-w",
    "-X main.version={version}",
    "-X main.commit={commit}",
    "-X main.date={date}",
]


class Strict(BaseModel):
    # The docstring under each key is its description in the JSON Schema: project.schema reads
    # them from this file's source. (pydantic's use_attribute_docstrings would do the same on
    # every start, parsing this file for ~12 ms before the first compile.)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _check_glibc(value: str | None) -> str | None:
    if value is None:
        return value
    parts = value.split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or parts[0] != "2":
        raise ValueError(f'expected a glibc version such as "2.17" or "2.28", got {value!r}')
    return value


class Binary(Strict):
    """One main package and the name of the binary built from it."""

    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    """The binary's file name (without .exe or .wasm)."""
    main: str = "."
    """Its main package, relative to project.dir (./cmd/name) or an import path."""
    file: str | None = None
    """Its file name per target instead of `name` (without .exe or .wasm), as GoReleaser's templated
    `binary`: placeholders {name} {project} {id} {goos} {goarch} {arch}, e.g. "yq_{goos}_{goarch}"."""


class Project(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    """The binary name (when [[project.binaries]] is not given) and the project's name in archives and images."""
    dir: str = "."
    """The Go module's directory, relative to this file."""
    main: str = "."
    """The main package, relative to dir."""
    binaries: list[Binary] = []
    """Several binaries of one module, each a name and its main package (instead of name/main)."""
    version: str = "git"
    """The version stamp: "git" (git describe), "env:NAME", "file:PATH" or a literal such as "1.2.3"."""
    ldflags: list[str] = list(DEFAULT_LDFLAGS)
    """go build -ldflags, one entry per flag; placeholders {version} {commit} {short_commit} {date} {id} {goos}
    {goarch}."""
    tags: list[str] = []
    """go build -tags for every target."""
    flags: list[str] = ["-trimpath"]
    """Other go build flags for every target."""
    env: dict[str, str] = {}
    """Environment variables for every go build."""
    dist: str = "dist"
    """The output directory, relative to this file."""

    def binary_list(self) -> list[Binary]:
        return self.binaries or [Binary(name=self.name, main=self.main)]


class Settings(Strict):
    """Per-target properties; each unset field falls back to [defaults]."""

    cgo: bool | None = None
    """Build with cgo (CGO_ENABLED=1) and a C toolchain."""
    libc: Libc | None = None
    """The C library: static, musl, glibc (with min_glibc), wasm or system (docs/libc.md)."""
    min_glibc: str | None = None
    """For libc = "glibc": the oldest glibc the binary must run on, such as "2.17"."""
    link: Link | None = None
    """For musl: "static" (default) or "dynamic" (runs on Alpine, needs its loader)."""
    goarm: GoArm | None = None
    """GOARM for goarch = arm: 5, 6 or 7."""
    goamd64: GoAmd64 | None = None
    """GOAMD64 for goarch = amd64: v1 to v4."""
    go386: Go386 | None = None
    """GO386 for goarch = 386: sse2 (Go's default) or softfloat."""
    goarm64: GoArm64 | None = None
    """GOARM64 for goarch = arm64: v8.0 (Go's default) to v9.5, optionally with ,lse and ,crypto."""
    gomips: GoMips | None = None
    """GOMIPS (GOMIPS64) for goarch = mips, mipsle, mips64, mips64le: hardfloat (Go's default) or softfloat."""

    _glibc = field_validator("min_glibc")(classmethod(lambda cls, v: _check_glibc(v)))


class TargetSpec(Settings):
    """An explicit target, as in `include`."""

    goos: str
    """The target's GOOS, one that `go tool dist list` names."""
    goarch: str
    """The target's GOARCH, one that `go tool dist list` pairs with goos."""


class Selector(Strict):
    """Matches expanded targets for `exclude`: every given key must be equal."""

    id: str | None = None
    """Match this target id."""
    goos: str | None = None
    """Match this GOOS."""
    goarch: str | None = None
    """Match this GOARCH."""
    cgo: bool | None = None
    """Match cgo on or off."""
    libc: Libc | None = None
    """Match this libc."""
    min_glibc: str | None = None
    """Match this glibc floor."""
    goarm: GoArm | None = None
    """Match this GOARM."""
    goamd64: GoAmd64 | None = None
    """Match this GOAMD64."""
    go386: Go386 | None = None
    """Match this GO386."""
    goarm64: GoArm64 | None = None
    """Match this GOARM64."""
    gomips: GoMips | None = None
    """Match this GOMIPS."""


class MatrixSpec(Strict):
    """A named matrix: the product of its axes, plus `include`, minus `exclude`."""

    goos: list[str] = []
    """The GOOS axis."""
    goarch: list[str] = []
    """The GOARCH axis."""
    cgo: list[bool] = []
    """The cgo axis: [false], [true] or both."""
    libc: list[Libc] = []
    """The libc axis (static, musl, glibc, wasm, system)."""
    min_glibc: list[str] = []
    """The glibc floors of the glibc targets."""
    goarm: list[GoArm] = []
    """The GOARM variants of the arm targets."""
    goamd64: list[GoAmd64] = []
    """The GOAMD64 levels of the amd64 targets."""
    go386: list[Go386] = []
    """The GO386 variants of the 386 targets."""
    goarm64: list[GoArm64] = []
    """The GOARM64 levels of the arm64 targets."""
    gomips: list[GoMips] = []
    """The GOMIPS variants of the mips, mipsle, mips64 and mips64le targets."""
    include: list[TargetSpec] = []
    """Explicit targets added to the product of the axes."""
    exclude: list[Selector] = []
    """Selectors: a target of the product matching one is left out."""

    @field_validator("min_glibc")
    @classmethod
    def _glibc_list(cls, values: list[str]) -> list[str]:
        return [_check_glibc(v) or v for v in values]


RunsOn = Literal["scratch", "distroless-static", "alpine", "glibc-2.17", "glibc-2.28", "glibc-2.31", "glibc-2.36"]


class AuditPolicy(Strict):
    """[audit], or `audit = {...}` in an [[override]]: how strict the linkage audit is (docs/audit.md).

    Every key is optional; an override's keys replace the project-wide ones for its targets.
    """

    warn_only: bool | None = None
    """Report failed verdicts without failing the command."""
    max_glibc: str | None = None
    """GLIBC ceiling for glibc targets that set no min_glibc."""
    allow_needed: list[str] | None = None
    """Extra DT_NEEDED / DLL / dylib globs that are fine."""
    allow_cxx: bool | None = None
    """GLIBCXX_/CXXABI_/GCC_ needs are expected (no warning)."""
    require: list[RunsOn] | None = None
    """Bases every artifact must run on, e.g. ["scratch"]."""

    _glibc = field_validator("max_glibc")(classmethod(lambda cls, v: _check_glibc(v)))

    def merged(self, other: AuditPolicy | None) -> AuditPolicy:
        """This policy with every key `other` sets replaced."""
        if other is None:
            return self
        return self.model_copy(update=other.model_dump(exclude_none=True))


class SmokeTable(Strict):
    """[smoke], or `smoke = {...}` in an [[override]]: how `gobuildx smoke` checks each artifact.

    Placeholders {goos} {goarch} {target} {binary} {version} {port} are filled in args, env
    and expect. With `port` set the program is a server: it is started, must answer GET
    `http_path` on 127.0.0.1:port with `http_status` (and a body matching `expect`), and is
    stopped. port = 0 picks a free port per target (pass it with "{port}"). See docs/smoke.md.
    """

    args: list[str] = []
    """Arguments to run the artifact with (placeholders {goos} {goarch} {target} {binary} {version} {port})."""
    env: dict[str, str] = {}
    """Environment of the run."""
    exit_code: int = 0
    """The exit code the run must end with."""
    expect: str | None = None
    """A regex searched in stdout+stderr (server mode: in the HTTP body)."""
    timeout: float = Field(default=60.0, gt=0)
    """Seconds per target, then the process group is killed."""
    port: int | None = Field(default=None, ge=0, le=65535)
    """Server mode: the port the program listens on 127.0.0.1 (0: a free port per target, pass it with {port})."""
    http_path: str = Field(default="/", pattern=r"^/")
    """Server mode: the path to GET."""
    http_status: int = Field(default=200, ge=100, le=599)
    """Server mode: the status the GET must answer."""
    skip: str | None = None
    """A reason: report the target SKIPPED instead of running it."""
    # Containment of native, QEMU and Wine runs (gobuildx.util.sandbox, docs/smoke.md).
    sandbox: Literal["auto", "required", "off"] = "auto"
    """Containment of native, QEMU and Wine runs: auto, required or off (docs/smoke.md)."""
    memory: int = Field(default=Limits.memory_mib, ge=16, le=1 << 20)
    """Memory limit of a contained run, MiB."""
    processes: int = Field(default=Limits.processes, ge=8, le=1 << 20)
    """Limit on processes and threads of a contained run."""
    file_size: int = Field(default=Limits.file_size_mib, ge=1, le=1 << 30)
    """Largest file a contained run may write, MiB."""

    @field_validator("expect")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            import re

            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    def merged(self, other: SmokeTable | None) -> SmokeTable:
        """This table with every key `other` sets replaced (env is merged key by key)."""
        if other is None:
            return self
        update = other.model_dump(exclude_unset=True)
        if "env" in update:
            update["env"] = {**self.env, **other.env}
        return self.model_copy(update=update)


class Override(Strict):
    """Per-target build overrides for every target whose id matches a glob in `match`."""

    match: list[str]
    """Target id globs (one string or a list): the override applies to every target matching one."""
    env: dict[str, str] = {}
    """Environment variables added for these targets."""
    tags: list[str] = []
    """Build tags added for these targets."""
    ldflags: list[str] = []
    """ldflags added for these targets (the same placeholders as project.ldflags)."""
    flags: list[str] = []
    """go build flags added for these targets."""
    cc: str | None = None
    """The C compiler of these targets (instead of the resolved toolchain)."""
    cxx: str | None = None
    """The C++ compiler of these targets."""
    audit: AuditPolicy | None = None
    """[audit] keys replaced for these targets."""
    smoke: SmokeTable | None = None
    """[smoke] keys replaced for these targets (env merged)."""

    @field_validator("match", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Release(Strict):
    """[release]: what `gobuildx release` puts in dist/release/ (see docs/release.md)."""

    files: list[str] = []
    """Extra files in every archive, relative to targets.toml (LICENSE, README.md)."""
    name: str = "{project}_{version}_{id}"
    """The archive name without extension; placeholders {project} {version} {commit} {short_commit} {id} {goos}
    {goarch} {arch} (GOARCH with its variant: armv6, amd64v3) {binary} (its first binary's file name)."""
    names: dict[str, str] = {}
    """Archive names of single targets, keyed by target id, instead of `name` (the same placeholders)."""
    format: Literal["auto", "tar.gz", "tar.xz", "tar.zst", "zip", "binary"] = "auto"
    """The archive format: auto (zip for windows, tar.gz otherwise), tar.gz, tar.xz, tar.zst, zip, or binary (the
    target's one binary itself, no archive)."""
    format_overrides: dict[str, ArchiveFormat] = {}
    """The archive format per GOOS, instead of `format`, e.g. { windows = "zip" }."""
    wrap: str | None = None
    """A directory every archive member goes in (the placeholders of `name`, plus {name}: the archive's name)."""
    sbom: Literal["spdx", "cyclonedx", "none"] = "spdx"
    """The SBOM format written beside each archive: spdx, cyclonedx or none."""


class KeySource(Strict):
    """Where one signing key comes from: a file or an environment variable, and its passphrase's variable."""

    key: str | None = None
    """The private key file, relative to targets.toml (keep it out of the repository)."""
    key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Or the name of an environment variable that holds the private key's text (CI secrets)."""
    passphrase_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """The environment variable that holds the key's passphrase (never the passphrase itself)."""


class SignTable(Strict):
    """[sign]: signatures and SLSA provenance written into dist/release/ (see docs/trust.md)."""

    minisign: KeySource | None = None
    """A minisign secret key (minisign -G): writes <file>.minisig."""
    gpg: KeySource | None = None
    """An armored OpenPGP secret key (gpg --export-secret-keys --armor): writes <file>.asc."""
    cosign: KeySource | None = None
    """A PKCS#8 PEM ECDSA P-256 private key: writes <file>.sigstore.json (cosign verify-blob --key)."""
    files: Literal["sums", "archives"] = "sums"
    """What is signed: "sums" (SHA256SUMS alone) or "archives" (SHA256SUMS, every archive and SBOM)."""
    provenance: bool = True
    """Write <project>_<version>.intoto.jsonl, SLSA v1 provenance signed with the cosign key, else minisign's."""
    images: bool = False
    """`gobuildx image --push` signs the index and every platform manifest with the cosign key
    (cosign's sha256-<digest>.sig tags) and attaches SBOMs and provenance of dist/release/ as OCI referrers."""


class ImageFile(Strict):
    """An extra file copied into every image: `src` relative to targets.toml, `dst` absolute."""

    src: str
    """The file to copy, relative to targets.toml."""
    dst: str = Field(pattern=r"^/")
    """Its absolute path in the image."""
    mode: str = Field(default="0644", pattern=r"^0?[0-7]{3}$")
    """Its octal mode, such as "0644"."""


class RegistrySettings(Strict):
    """[image.registries."HOST"]: how to speak to one registry (HOST as in the repository, with its port)."""

    insecure: bool | None = None
    """true: plain HTTP; false: HTTPS even on loopback; unset: HTTPS except loopback hosts without a CA."""
    ca: str | None = None
    """A PEM CA bundle (relative to targets.toml) that signed the registry's TLS certificate."""


class ImageTable(Strict):
    """[image]: one FROM-scratch image per selected Linux target, joined under one tag."""

    repository: str
    """The image repository, without tag, e.g. ghcr.io/you/app or 127.0.0.1:5000/app."""
    tags: list[str] = ["{version}"]
    """Tag templates: {version} {commit} {short_commit} {project}."""
    targets: list[str] = ["linux-*"]
    """Target id globs: the Linux targets that get an image."""
    labels: dict[str, str] = {}
    """Image labels."""
    files: list[ImageFile] = []
    """Extra files copied into every image."""
    binary: str | None = None
    """The entrypoint, when the project builds several binaries."""
    user: str = "nonroot"
    """The user the entrypoint runs as."""
    uid: int = Field(default=65532, ge=1, le=2**31 - 1)
    """That user's uid (and gid)."""
    dynamic: Literal["copy", "refuse"] = "copy"
    """A dynamic binary: copy its loader and libraries into the image, or refuse it."""
    source: str | None = None
    """org.opencontainers.image.source (e.g. the repository URL)."""
    registries: dict[str, RegistrySettings] = {}
    """Per-registry TLS settings, keyed by host[:port] (e.g. "registry.corp:5443")."""


PackageFormat = Literal["deb", "rpm", "apk", "archlinux"]
PACKAGE_FORMATS: tuple[PackageFormat, ...] = ("deb", "rpm", "apk", "archlinux")


class PackageFile(Strict):
    """One entry of a package besides its binaries: a file, a config file, a directory or a symlink."""

    dst: str = Field(pattern=r"^/")
    """Its absolute path on the installed system."""
    src: str | None = None
    """The file to copy, relative to targets.toml (type file or config); for a symlink: what it points to."""
    type: Literal["file", "config", "dir", "symlink"] = "file"
    """file; config (a config file the package manager keeps on upgrade when edited); dir; symlink."""
    mode: str | None = Field(default=None, pattern=r"^0?[0-7]{3,4}$")
    """Its octal mode, such as "0644" (default: the source file's, 0755 for a dir)."""
    owner: str = "root"
    """The owning user."""
    group: str = "root"
    """The owning group."""


class PackageScripts(Strict):
    """Maintainer scripts, each a shell script relative to targets.toml."""

    preinstall: str | None = None
    """Run before the package's files are installed."""
    postinstall: str | None = None
    """Run after the package's files are installed."""
    preremove: str | None = None
    """Run before the package's files are removed."""
    postremove: str | None = None
    """Run after the package's files are removed."""


class PackageTable(Strict):
    """[package]: Linux packages (deb, rpm, apk, archlinux) built with nfpm for the Linux targets (docs/package.md)."""

    formats: list[PackageFormat] = ["deb", "rpm"]
    """The package formats: deb, rpm, apk, archlinux."""
    targets: list[str] = ["linux-*"]
    """Target id globs: the Linux targets that get packages."""
    format_targets: dict[PackageFormat, list[str]] = {}
    """Per format, the target id globs it is limited to, e.g. { apk = ["*-musl"] } (Alpine has no glibc)."""
    name: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9+.-]*$")
    """The package name (default: project.name, lowercased)."""
    maintainer: str
    """The maintainer, "Name <email>" (Debian requires both)."""
    description: str
    """One line of summary, then optionally more lines."""
    homepage: str | None = None
    """The project's URL."""
    license: str | None = None
    """The license, an SPDX expression such as "MIT"."""
    vendor: str | None = None
    """The vendor (rpm)."""
    section: str = "utils"
    """The deb section."""
    priority: Literal["required", "important", "standard", "optional", "extra"] = "optional"
    """The deb priority."""
    bindir: str = Field(default="/usr/bin", pattern=r"^/")
    """Where the binaries go."""
    files: list[PackageFile] = []
    """Extra files, config files, directories and symlinks."""
    systemd_unit: str | None = None
    """A systemd unit file (relative to targets.toml), installed in /usr/lib/systemd/system/."""
    man_pages: list[str] = []
    """Man pages such as "docs/hello.1" (relative to targets.toml), gzipped by gobuildx into /usr/share/man/manN/."""
    completions: dict[Literal["bash", "zsh", "fish"], str] = {}
    """Shell completion files by shell (relative to targets.toml), installed where each shell looks."""
    scripts: PackageScripts = PackageScripts()
    """Maintainer scripts."""
    depends: list[str] = []
    """Extra dependencies (the libc one comes from the audit), e.g. "ca-certificates"."""
    recommends: list[str] = []
    """Recommended packages."""
    conflicts: list[str] = []
    """Conflicting packages."""
    provides: list[str] = []
    """Virtual packages this one provides."""
    replaces: list[str] = []
    """Packages this one replaces."""
    libraries: list[str] = []
    """Sonames (globs) that `depends` covers: a dynamic library the audit finds that is neither libc's nor listed here
    is an error."""


class Config(Strict):
    project: Project
    """The Go module and how to build it."""
    defaults: Settings = Settings()
    """Settings for every target unless a matrix axis or include says otherwise."""
    matrix: dict[str, MatrixSpec] = Field(min_length=1)
    """Named matrices: each the product of its axes, plus include, minus exclude."""
    override: list[Override] = []
    """Per-target settings, matched by id globs, later wins."""
    image: ImageTable | None = None
    """Images: one FROM-scratch image per selected Linux target, joined under one tag."""
    release: Release = Release()
    """What `gobuildx release` puts in dist/release/."""
    sign: SignTable | None = None
    """Signatures and provenance of the release (docs/trust.md)."""
    package: PackageTable | None = None
    """Linux packages: deb, rpm, apk and archlinux, with the libc dependency from the audit (docs/package.md)."""
    audit: AuditPolicy = AuditPolicy()
    """How strict the linkage audit is."""
    smoke: SmokeTable = SmokeTable()
    """How `gobuildx smoke` checks each artifact."""


class LoadedConfig(BaseModel):
    """A validated Config with the file it came from (paths resolve against it)."""

    model_config = ConfigDict(frozen=True)

    path: Path
    config: Config

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def module_dir(self) -> Path:
        return (self.root / self.config.project.dir).resolve()

    @property
    def dist_dir(self) -> Path:
        return (self.root / self.config.project.dist).resolve()


MAX_BYTES = 4 << 20  # a targets.toml is a few KiB; refuse a larger file before reading it


def load(path: Path) -> LoadedConfig:
    """Read and validate targets.toml; every problem is reported at once."""
    path = path.absolute()
    data = parse(path, read_text(path))
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([explain(path, err) for err in exc.errors()]) from None
    except RecursionError:
        raise ConfigError([f"{path}: a value is nested too deeply"]) from None
    return LoadedConfig(path=path.resolve(), config=config)


def read_text(path: Path) -> str:
    """The file's text, or one ConfigError saying why it cannot be a targets.toml: missing, a
    directory, a symlink loop, unreadable, too large (checked before reading), not UTF-8."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file (create one with `gobuildx init`)"]) from None
    except OSError as exc:  # ELOOP for a symlink loop, EACCES, ENAMETOOLONG
        raise ConfigError([f"{path}: cannot read it: {exc.strerror or exc}"]) from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError([f"{path}: is a directory, not a targets.toml file"])
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError([f"{path}: not a regular file"])
    if info.st_size > MAX_BYTES:
        raise ConfigError([f"{path}: {info.st_size} bytes is too large for a targets.toml (limit {MAX_BYTES})"])
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)  # the file may have grown since stat
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read it: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError([f"{path}: larger than {MAX_BYTES} bytes, too large for a targets.toml"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text: {exc}"]) from None


def parse(path: Path, text: str) -> dict[str, Any]:
    """TOML to a dict; tomllib recurses once per nesting level, so a deep `[[[[...]]]]`
    would end in RecursionError: that is one line of error like any other syntax error."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: not valid TOML: an array or table is nested too deeply"]) from None


def key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def explain(path: Path, err: Any) -> str:
    """One message for one pydantic error: file, key path, bad value, allowed values."""
    loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
    where = f"{path}: {key_path(loc) or '(top level)'}"
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        allowed = sorted(_fields_at(loc[:-1]))
        return _with_suggestion(f"{where}: unknown key", str(loc[-1]), allowed)
    if kind == "missing":
        return f"{where}: required key is missing"
    if kind == "literal_error":
        allowed = _literal_values(err)
        return _with_suggestion(f"{where}: {_show(value)} is not allowed", str(value), allowed)
    return f"{where}: {err['msg']} (got {_show(value)})"


_REPR = reprlib.Repr()  # keyword arguments only from Python 3.12
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict = 3, 200, 80, 6, 6


def _show(value: Any) -> str:
    """A bad value as the message shows it: short, and safe for a value nested thousands deep."""
    return _REPR.repr(value)


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (part.endswith("]") or part in {"str", "bool", "list[str]", "none", "null"})


def _literal_values(err: Any) -> list[str]:
    expected = err.get("ctx", {}).get("expected", "")
    return [v.strip().strip("'\"") for v in expected.replace(" or ", ",").split(",") if v.strip()]


def _with_suggestion(message: str, value: str, allowed: list[str]) -> str:
    hint = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
    text = f"{message}; allowed: {', '.join(allowed)}"
    return text + (f"; did you mean {hint[0]!r}?" if hint else "")


def _fields_at(loc: tuple[Any, ...]) -> set[str]:
    """The keys a table at `loc` accepts, found by walking the models along the path."""
    model: Any = Config
    for part in loc:
        model = _step(model, part)
        if model is None:
            return set()
    if isinstance(model, type) and issubclass(model, BaseModel):
        return set(model.model_fields)
    return set()


def _step(model: Any, part: Any) -> Any:
    if isinstance(model, type) and issubclass(model, BaseModel):
        field = model.model_fields.get(str(part))
        return None if field is None else _unwrap(field.annotation)
    origin = typing.get_origin(model)
    args = typing.get_args(model)
    if origin in (list, dict) and args:
        return _unwrap(args[-1])
    return None


def _unwrap(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType):
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation
