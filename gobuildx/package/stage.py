"""The package stage: deb, rpm, apk and archlinux packages of the built Linux targets, made by nfpm.

gobuildx writes nfpm's config (contents, metadata, the libc dependency the audit found) and
runs nfpm once per package; nfpm writes the package. Every package is planned first: a
missing audit, a dynamic library no package provides, a format without a port for the CPU
are all known before the first package is written. Same inputs and build date (the
release's SOURCE_DATE_EPOCH) give the same bytes.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from gobuildx.errors import PackageFailed
from gobuildx.model.manifest import ArtifactRecord, Manifest, TargetRecord
from gobuildx.model.package import PACKAGES_DIR, PackageFormat, PackageRecord, PackageSkip, PackagesRecord
from gobuildx.package import depends
from gobuildx.project import checks, manifest_file, nfpm, platforms
from gobuildx.project.config import PackageTable
from gobuildx.project.context import ProjectContext
from gobuildx.project.matrix import Target
from gobuildx.util.files import gzip_reproducible, sha256_file, write_atomic

SCRATCH = ".package"
COMPLETIONS = {
    "bash": "/usr/share/bash-completion/completions/{name}",
    "zsh": "/usr/share/zsh/vendor-completions/_{name}",
    "fish": "/usr/share/fish/vendor_completions.d/{name}.fish",
}
SYSTEMD_DIR = "/usr/lib/systemd/system"


@dataclass(frozen=True)
class Planned:
    """One package, fully decided: nfpm's job and what the manifest will say about it."""

    target: str
    format: PackageFormat
    job: nfpm.Job
    package: str
    version: str
    arch: str
    libc_depends: list[str]
    depends: list[str]
    bindir: str


@dataclass
class Plan:
    packages: list[Planned] = field(default_factory=list)
    skipped: dict[str, list[PackageSkip]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    records: dict[str, PackagesRecord]

    @property
    def count(self) -> int:
        return sum(len(r.written) for r in self.records.values())


def selected(table: PackageTable, targets: Sequence[Target]) -> list[Target]:
    return [
        t
        for t in targets
        if t.goos == "linux" and t.goarch != "wasm" and any(fnmatch.fnmatchcase(t.id, g) for g in table.targets)
    ]


def package_name(ctx: ProjectContext, table: PackageTable) -> str:
    return table.name or checks.default_package_name(ctx.loaded.config.project.name)


def debian_version(version: str) -> str:
    """The version as every format accepts it: no leading v (lintian, pacman and apk want a
    digit first); nfpm splits a semver prerelease (1.2.3-rc1) itself."""
    return version[1:] if version[:1] == "v" and version[1:2].isdigit() else version


def plan(ctx: ProjectContext, targets: Sequence[Target], m: Manifest, epoch: int) -> Plan:
    table = ctx.loaded.config.package
    assert table is not None
    out = Plan()
    name = package_name(ctx, table)
    version = debian_version(m.version)
    if not version[:1].isdigit():
        out.problems.append(
            f"version {m.version!r}: a package version must start with a digit (Debian policy 5.6.12; "
            "dpkg refuses the package); tag a release such as v1.2.3, or set project.version"
        )
        return out
    static_entries = _static_contents(ctx, table, ctx.dist / SCRATCH, name, epoch)
    for t in selected(table, targets):
        rec = m.target(t.id)
        if rec is None or rec.status != "ok" or not rec.artifacts:
            out.problems.append(f"{t.id}: not built; run `gobuildx build`")
            continue
        if rec.audit is None:
            out.problems.append(f"{t.id}: not audited: the libc dependency comes from the audit; run `gobuildx audit`")
            continue
        for fmt in table.formats:
            only = table.format_targets.get(fmt)
            if only is not None and not any(fnmatch.fnmatchcase(t.id, g) for g in only):
                why = f"package.format_targets.{fmt} does not select it"
                out.skipped.setdefault(t.id, []).append(PackageSkip(format=fmt, reason=why))
                continue
            arch = platforms.package_arch(fmt, t.goarch, t.goarm)
            if arch is None:
                why = f"{fmt} has no {t.goarch}{'v' + t.goarm if t.goarm else ''} port (docs/package.md)"
                out.skipped.setdefault(t.id, []).append(PackageSkip(format=fmt, reason=why))
                continue
            derived = depends.derive(fmt, rec.audit, table.libraries)
            if derived.problems:
                out.problems += derived.problems
                continue
            deps = derived.depends + [d for d in table.depends if d not in derived.depends]
            work = ctx.dist / SCRATCH / t.id
            dest = ctx.dist / PACKAGES_DIR / f"{name}_{version}_{t.id}{nfpm.EXTENSIONS[fmt]}"
            config = _config(ctx, table, rec, t, fmt, name, version, arch, deps, static_entries, epoch)
            job = nfpm.Job(config=config, packager=fmt, dest=dest, work_dir=work, epoch=epoch)
            out.packages.append(Planned(t.id, fmt, job, name, version, arch, derived.depends, deps, table.bindir))
    return out


def build(ctx: ProjectContext, targets: Sequence[Target], jobs: int = 0) -> Result:
    """Plan every package, refuse them all if one cannot be made, build them, record them."""
    if ctx.loaded.config.package is None:
        raise PackageFailed(f"{ctx.loaded.path}: no [package] table (docs/package.md)")
    m = manifest_file.require(ctx.dist)
    epoch = m.epoch
    p = plan(ctx, targets, m, epoch)
    if p.problems:
        raise PackageFailed(
            f"no package written: {len(p.problems)} problem(s):\n  " + "\n  ".join(sorted(dict.fromkeys(p.problems)))
        )
    exe = nfpm.ensure(ctx.cache_dir, ctx.environ)
    (ctx.dist / PACKAGES_DIR).mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        written = list(pool.map(lambda one: _make(exe, one), p.packages))
    records: dict[str, PackagesRecord] = {}
    for t in selected(ctx.loaded.config.package, targets):
        if m.target(t.id) is None:
            continue
        mine = [w for w in written if w[0] == t.id]
        records[t.id] = PackagesRecord(written=[r for _, r in mine], skipped=p.skipped.get(t.id, []))
    _record(ctx.dist, records)
    return Result(records=records)


def _make(exe: Path, one: Planned) -> tuple[str, PackageRecord]:
    nfpm.package(exe, one.job)
    dest = one.job.dest
    return one.target, PackageRecord(
        format=one.format,
        name=dest.name,
        path=f"{PACKAGES_DIR}/{dest.name}",
        package=one.package,
        version=one.version,
        arch=one.arch,
        size=dest.stat().st_size,
        sha256=sha256_file(dest),
        libc_depends=one.libc_depends,
        depends=one.depends,
        bindir=one.bindir,
    )


def _record(dist: Path, records: dict[str, PackagesRecord]) -> None:
    def change(mf: Manifest | None) -> Manifest:
        assert mf is not None
        mf.targets = [t.model_copy(update={"packages": records[t.id]}) if t.id in records else t for t in mf.targets]
        return mf

    manifest_file.update(dist, change)


def _static_contents(
    ctx: ProjectContext, table: PackageTable, scratch: Path, name: str, epoch: int
) -> list[dict[str, Any]]:
    """The contents every target's package shares: files, config files, dirs, symlinks, the
    systemd unit, man pages (gzipped reproducibly here: lintian wants them compressed), the
    completions and the copyright file Debian policy asks for."""
    root = ctx.loaded.root
    out: list[dict[str, Any]] = []
    for f in table.files:
        if f.type == "dir":
            entry: dict[str, Any] = {"dst": f.dst, "type": "dir"}
        elif f.type == "symlink":
            entry = {"src": f.src, "dst": f.dst, "type": "symlink"}
        else:
            assert f.src is not None
            entry = {"src": str(root / f.src), "dst": f.dst}
            if f.type == "config":
                entry["type"] = "config|noreplace"  # kept on upgrade when edited (a deb conffile, rpm noreplace)
        info: dict[str, Any] = {"owner": f.owner, "group": f.group}
        mode = f.mode or ("0755" if f.type == "dir" else None)
        if mode:
            info["mode"] = int(mode, 8)
        if f.type != "symlink":
            entry["file_info"] = info
        out.append(entry)
    if table.systemd_unit:
        unit = root / table.systemd_unit
        out.append(_file(unit, f"{SYSTEMD_DIR}/{unit.name}", 0o644))
    for page in table.man_pages:
        src = root / page
        section = src.suffix[1:2]
        gz = scratch / "man" / f"{src.name}.gz"
        write_atomic(gz, gzip_reproducible(src.read_bytes()), durable=False)
        out.append(_file(gz, f"/usr/share/man/man{section}/{src.name}.gz", 0o644))
    for shell, src_name in sorted(table.completions.items()):
        binary = ctx.loaded.config.project.binary_list()[0].name
        out.append(_file(root / src_name, COMPLETIONS[shell].format(name=binary), 0o644))
    copyright = scratch / "copyright"
    write_atomic(copyright, _copyright(table, name, epoch).encode(), durable=False)
    out.append(_file(copyright, f"/usr/share/doc/{name}/copyright", 0o644))
    return out


def _changelog(scratch: Path, table: PackageTable, version: str, epoch: int) -> Path:
    """The one-entry changelog (goreleaser/chglog's YAML) nfpm turns into the deb's changelog."""
    entry = {
        "semver": version,
        "date": datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "packager": table.maintainer,
        "changes": [{"commit": "", "note": f"Release {version}."}],
        "deb": {"urgency": "medium", "distributions": ["unstable"]},
    }
    path = scratch / f"changelog-{version}.yml"
    write_atomic(path, (json.dumps([entry], indent=2) + "\n").encode(), durable=False)
    return path


def _file(src: Path, dst: str, mode: int) -> dict[str, Any]:
    return {"src": str(src), "dst": dst, "file_info": {"mode": mode, "owner": "root", "group": "root"}}


def _copyright(table: PackageTable, name: str, epoch: int) -> str:
    """A machine-readable debian/copyright (DEP-5) from [package]: Debian policy 12.5 asks every
    package for one, and lintian reports its absence as an error."""
    lines = [
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
        f"Upstream-Name: {name}",
        f"Upstream-Contact: {table.maintainer}",
    ]
    if table.homepage:
        lines.append(f"Source: {table.homepage}")
    holder = table.vendor or table.maintainer
    year = datetime.fromtimestamp(epoch, UTC).year  # the build date's: a notice needs a year (lintian)
    lines += ["", "Files: *", f"Copyright: {year} {holder}", f"License: {table.license or 'unknown'}"]
    return "\n".join(lines) + "\n"


def installed_binaries(dist: Path, bindir: str, artifacts: Sequence[ArtifactRecord]) -> list[tuple[Path, str]]:
    """(built file, path in the package) of each binary: installed under the binary's name,
    not its per-target file name (`yq_linux_amd64` is `/usr/bin/yq`: a package is for one
    architecture already, and the command a user types is the binary's name). GoReleaser's
    nfpms keep the file name; docs/package.md says so."""
    return [(dist / a.path, str(PurePosixPath(bindir) / a.binary)) for a in artifacts]


def _config(
    ctx: ProjectContext,
    table: PackageTable,
    rec: TargetRecord,
    t: Target,
    fmt: PackageFormat,
    name: str,
    version: str,
    arch: str,
    deps: list[str],
    static_entries: list[dict[str, Any]],
    epoch: int,
) -> dict[str, Any]:
    """nfpm's config for one package (its YAML schema, written as JSON)."""
    binaries = [_file(src, dst, 0o755) for src, dst in installed_binaries(ctx.dist, table.bindir, rec.artifacts)]
    summary = table.description.strip().partition("\n")[0]
    config: dict[str, Any] = {
        "name": name,
        "arch": arch,
        "platform": "linux",
        "version": version,
        "release": "1",
        "section": table.section,
        "priority": table.priority,
        "maintainer": table.maintainer,
        "description": table.description.strip(),
        "mtime": datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "contents": binaries + static_entries,
        "umask": 0o022,
        "depends": deps,
        "recommends": list(table.recommends),
        "conflicts": list(table.conflicts),
        "provides": list(table.provides),
        "replaces": list(table.replaces),
        # Not the machine's host name: the same inputs must give the same rpm header.
        "rpm": {"buildhost": "gobuildx", "packager": table.maintainer, "summary": summary},
        "archlinux": {"packager": table.maintainer},
    }
    for key, value in (("homepage", table.homepage), ("license", table.license), ("vendor", table.vendor)):
        if value:
            config[key] = value
    scripts = {k: str(ctx.loaded.root / v) for k, v in table.scripts.model_dump(exclude_none=True).items()}
    if scripts:
        config["scripts"] = scripts
    if fmt == "deb":
        # nfpm writes changelog.Debian.gz from it (Debian policy 12.7; lintian: no-changelog).
        config["changelog"] = str(_changelog(ctx.dist / SCRATCH, table, version, epoch))
    variant = platforms.package_arch_variant(t.goarch, t.goamd64)
    if variant and fmt == "deb":
        config["deb"] = {"arch_variant": variant}
    return config
