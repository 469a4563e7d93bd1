"""Expanding named matrices into concrete targets, validating them, and selecting some."""

from __future__ import annotations

import difflib
import fnmatch
import itertools
import json
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from gobuildx.errors import ConfigError
from gobuildx.project import platforms
from gobuildx.project.config import (
    AuditPolicy,
    Libc,
    Link,
    LoadedConfig,
    MatrixSpec,
    Settings,
    SmokeTable,
    TargetSpec,
)
from gobuildx.project.goenv import Platform

T = TypeVar("T")
WASM_ARCHES = {"wasm"}
DEFAULT_GOARM = "7"
MIPS_ARCHES = ("mips", "mipsle", "mips64", "mips64le")
# The one variant key each GOARCH has in targets.toml, and the value Go builds when it is unset:
# a target with that value has the plain id (linux-386), another a suffix (linux-386-softfloat).
VARIANT_AXIS = {"arm": "goarm", "amd64": "goamd64", "386": "go386", "arm64": "goarm64"}
VARIANT_AXIS.update({a: "gomips" for a in MIPS_ARCHES})
GO_DEFAULT = {"go386": "sse2", "goarm64": "v8.0", "gomips": "hardfloat"}
# The oldest glibc that exists for each CPU (glibc ports arrived late for some);
# the same table as zig's `available_libcs` (lib/std/zig/target.zig), whose
# floor for every other CPU is its oldest supported glibc, 2.2.5.
GLIBC_FIRST = {a.goarch: a.glibc_first for a in platforms.ARCHES.values() if a.glibc_first}  # platforms.py
GLIBC_OLDEST = (2, 2, 5)


class Target(BaseModel):
    """One concrete build: a platform, a C library intent, and its merged overrides."""

    model_config = ConfigDict(frozen=True)

    id: str
    goos: str
    goarch: str
    goarm: str | None = None
    goamd64: str | None = None
    go386: str | None = None
    goarm64: str | None = None
    gomips: str | None = None
    cgo: bool = False
    libc: Libc = "static"
    min_glibc: str | None = None
    link: Link = "static"
    env: dict[str, str] = {}
    tags: list[str] = []
    ldflags: list[str] = []
    flags: list[str] = []
    cc: str | None = None
    cxx: str | None = None
    matrices: list[str] = []
    audit: AuditPolicy = AuditPolicy()  # [audit] merged with the matching overrides' `audit`
    smoke: SmokeTable = SmokeTable()  # [smoke] merged with the matching overrides' `smoke`

    @property
    def platform(self) -> str:
        return f"{self.goos}/{self.goarch}"

    def go_env(self) -> dict[str, str]:
        """The GOOS/GOARCH/variant/CGO_ENABLED environment, always explicit."""
        env = {"GOOS": self.goos, "GOARCH": self.goarch, "CGO_ENABLED": "1" if self.cgo else "0"}
        if self.goarm:
            env["GOARM"] = self.goarm
        if self.goamd64:
            env["GOAMD64"] = self.goamd64
        if self.go386:
            env["GO386"] = self.go386
        if self.goarm64:
            env["GOARM64"] = self.goarm64
        if self.gomips:
            env["GOMIPS64" if self.goarch.startswith("mips64") else "GOMIPS"] = self.gomips
        return env

    def exe_suffix(self) -> str:
        if self.goos == "windows":
            return ".exe"
        if self.goarch == "wasm":
            return ".wasm"
        return ""


def arch_label(goarch: str, goarm: str | None, goamd64: str | None) -> str:
    if goarch == "arm":
        return f"armv{goarm or DEFAULT_GOARM}"
    if goarch == "amd64" and goamd64 not in (None, "v1"):
        return f"amd64{goamd64}"
    return goarch


def target_id(
    goos: str,
    goarch: str,
    goarm: str | None,
    goamd64: str | None,
    cgo: bool,
    libc: str,
    min_glibc: str | None,
    link: str,
    go386: str | None = None,
    goarm64: str | None = None,
    gomips: str | None = None,
) -> str:
    """The stable id: `linux-arm64-musl`, `linux-armv7`, `windows-amd64`, `wasip1-wasm`,
    `linux-mips-softfloat`, `linux-arm64-v8.1-lse` (a GO386/GOARM64/GOMIPS other than Go's default)."""
    base = f"{goos}-{arch_label(goarch, goarm, goamd64)}" + variant_suffix(go386, goarm64, gomips)
    if libc == "musl":
        return base + ("-musl-dynamic" if link == "dynamic" else "-musl")
    if libc == "glibc":
        return base + f"-glibc{min_glibc or ''}"
    if libc == "static" and cgo:
        return base + "-cgo-static"
    if libc == "system" and cgo:
        return base + "-cgo"
    return base


def variant_suffix(go386: str | None, goarm64: str | None, gomips: str | None) -> str:
    """What a GO386, GOARM64 or GOMIPS other than Go's default adds to a target id."""
    for key, value in (("go386", go386), ("goarm64", goarm64), ("gomips", gomips)):
        if value and value != GO_DEFAULT[key]:
            return "-" + value.replace(",", "-")
    return ""


def default_libc(goos: str, goarch: str) -> Libc:
    if goarch in WASM_ARCHES:
        return "wasm"
    return "static" if goos == "linux" else "system"


class _Raw(BaseModel):
    """A target before validation, with the key path it came from (for error messages)."""

    goos: str
    goarch: str
    goarm: str | None
    goamd64: str | None
    go386: str | None = None
    goarm64: str | None = None
    gomips: str | None = None
    cgo: bool
    libc: Libc
    min_glibc: str | None
    link: Link | None
    origin: str
    matrix: str
    axes: dict[str, int] = {}

    def where(self, key: str) -> str:
        """The key path that produced `key`: `matrix.m.libc[2]`, or the include entry."""
        if key in self.axes:
            return f"{self.origin}.{key}[{self.axes[key]}]"
        return f"{self.origin}.{key}" if ".include[" in self.origin else self.origin


def expand(loaded: LoadedConfig, platforms: Sequence[Platform]) -> list[Target]:
    """Every target of every matrix, de-duplicated by id, or ConfigError listing every problem."""
    cfg = loaded.config
    problems: list[str] = []
    raws: list[_Raw] = []
    for name, spec in cfg.matrix.items():
        problems += _check_axes(loaded, name, spec, platforms)
        problems += _unused_axes(loaded, name, spec, cfg.defaults)
        raws += _expand_matrix(name, spec, cfg.defaults)
    by_id: dict[str, Target] = {}
    for raw in raws:
        found = _check_target(loaded, raw, platforms)
        if found:
            problems += [p for p in found if p not in problems]
            continue
        target = _finish(loaded, raw)
        if target.id in by_id:
            merged = by_id[target.id].matrices + [raw.matrix]
            by_id[target.id] = by_id[target.id].model_copy(update={"matrices": sorted(set(merged))})
        else:
            by_id[target.id] = target
    problems += _check_overrides(loaded, list(by_id))
    if problems:
        raise ConfigError(problems)
    return list(by_id.values())


def _or_none(values: Sequence[T] | None) -> list[T | None]:
    """An axis's values, or [None] for an axis not given (every combination still has one)."""
    return list(values) if values else [None]


def _expand_matrix(name: str, spec: MatrixSpec, defaults: Settings) -> list[_Raw]:
    out: list[_Raw] = []
    combos = itertools.product(
        enumerate(spec.goos), enumerate(spec.goarch), enumerate(spec.cgo or [None]), enumerate(spec.libc or [None])
    )
    for (_, goos), (_, goarch), (ci, cgo), (li, libc) in combos:
        axes = {k: i for k, i, given in (("cgo", ci, spec.cgo), ("libc", li, spec.libc)) if given}
        axis = VARIANT_AXIS.get(goarch)  # one variant key per GOARCH (goarm, goamd64, go386, ...)
        for variant in _or_none(getattr(spec, axis)) if axis else [None]:
            chosen_libc = libc or _default_for(defaults, goos, goarch)
            floors = _or_none(spec.min_glibc) if chosen_libc == "glibc" else [None]
            for floor in floors:
                picked = {axis: variant} if axis and variant else {}
                spec_like = TargetSpec(goos=goos, goarch=goarch, cgo=cgo, libc=libc, min_glibc=floor, **picked)
                raw = _raw(spec_like, defaults, f"matrix.{name}", name).model_copy(update={"axes": axes})
                if not any(_selected(raw, sel.model_dump(exclude_none=True)) for sel in spec.exclude):
                    out.append(raw)
    for i, inc in enumerate(spec.include):
        out.append(_raw(inc, defaults, f"matrix.{name}.include[{i}]", name))
    return out


def _default_for(defaults: Settings, goos: str, goarch: str) -> Libc:
    natural = default_libc(goos, goarch)
    if goos == "linux" and goarch not in WASM_ARCHES and defaults.libc:
        return defaults.libc
    return natural


def _raw(spec: TargetSpec, defaults: Settings, origin: str, matrix: str) -> _Raw:
    libc = spec.libc or _default_for(defaults, spec.goos, spec.goarch)
    floor = spec.min_glibc
    if floor is None and libc == "glibc":
        floor = defaults.min_glibc
    goarm = spec.goarm or (defaults.goarm or DEFAULT_GOARM if spec.goarch == "arm" else None)
    goamd64 = spec.goamd64 or (defaults.goamd64 if spec.goarch == "amd64" else None)
    go386 = spec.go386 or (defaults.go386 if spec.goarch == "386" else None)
    goarm64 = spec.goarm64 or (defaults.goarm64 if spec.goarch == "arm64" else None)
    gomips = spec.gomips or (defaults.gomips if spec.goarch in MIPS_ARCHES else None)
    cgo = spec.cgo if spec.cgo is not None else bool(defaults.cgo)
    if libc in ("glibc", "musl") and spec.cgo is None:
        cgo = True
    return _Raw(
        goos=spec.goos,
        goarch=spec.goarch,
        goarm=goarm,
        goamd64=goamd64,
        go386=go386,
        goarm64=goarm64,
        gomips=gomips,
        cgo=cgo,
        libc=libc,
        min_glibc=floor,
        link=spec.link or (defaults.link if libc == "musl" else None),
        origin=origin,
        matrix=matrix,
    )


def _selected(raw: _Raw, selector: dict[str, Any]) -> bool:
    for key, want in selector.items():
        if key == "id":
            if not fnmatch.fnmatchcase(_raw_id(raw), want):
                return False
        elif getattr(raw, key) != want:
            return False
    return True


def _raw_id(raw: _Raw) -> str:
    link = raw.link or "static"
    return target_id(
        raw.goos, raw.goarch, raw.goarm, raw.goamd64, raw.cgo, raw.libc, raw.min_glibc, link, *_variants(raw)
    )


def _variants(raw: _Raw) -> tuple[str | None, str | None, str | None]:
    return raw.go386, raw.goarm64, raw.gomips


def _check_axes(loaded: LoadedConfig, name: str, spec: MatrixSpec, platforms: Sequence[Platform]) -> list[str]:
    where = f"{loaded.path}: matrix.{name}"
    problems = []
    if not spec.include and not (spec.goos and spec.goarch):
        problems.append(f"{where}: a matrix needs both `goos` and `goarch` axes, or `include`")
    known_os = sorted({p.goos for p in platforms})
    known_arch = sorted({p.goarch for p in platforms})
    for axis, values, known in (("goos", spec.goos, known_os), ("goarch", spec.goarch, known_arch)):
        for i, value in enumerate(values):
            if value not in known:
                problems.append(_unknown(f"{where}.{axis}[{i}]", value, known, axis.upper()))
    for i, inc in enumerate(spec.include):
        for axis, value, known in (("goos", inc.goos, known_os), ("goarch", inc.goarch, known_arch)):
            if value not in known:
                problems.append(_unknown(f"{where}.include[{i}].{axis}", value, known, axis.upper()))
    return problems


def _unused_axes(loaded: LoadedConfig, name: str, spec: MatrixSpec, defaults: Settings) -> list[str]:
    """A variant axis that applies to no combination of the matrix is a mistake, not a no-op."""
    where = f"{loaded.path}: matrix.{name}"
    problems = []
    for axis in ("goarm", "goamd64", "go386", "goarm64", "gomips"):
        arches = [a for a, k in VARIANT_AXIS.items() if k == axis]
        if getattr(spec, axis) and not set(arches) & set(spec.goarch):
            names = " or ".join(f'"{a}"' for a in arches)
            problems.append(
                f"{where}.{axis}: applies only to goarch = {names}, which the goarch axis "
                f"{json.dumps(list(spec.goarch))} does not have; add {arches[0]!r} or remove {axis}"
            )
    glibc = any(
        (libc or _default_for(defaults, goos, goarch)) == "glibc"
        for goos, goarch, libc in itertools.product(spec.goos, spec.goarch, _or_none(spec.libc))
    )
    if spec.min_glibc and not glibc:
        libcs = json.dumps(list(spec.libc)) if spec.libc else "each platform's default"
        problems.append(
            f"{where}.min_glibc: applies only to glibc targets, and this matrix's axes make none "
            f'(goos {json.dumps(list(spec.goos))}, libc {libcs}); set libc = ["glibc"] (Linux) '
            "or remove min_glibc"
        )
    return problems


def _unknown(where: str, value: str, known: list[str], what: str) -> str:
    hint = difflib.get_close_matches(value, known, n=1, cutoff=0.5)
    text = f"{where}: {value!r} is not a {what} known to this Go; allowed: {', '.join(known)}"
    return text + (f"; did you mean {hint[0]!r}?" if hint else "")


def _check_target(loaded: LoadedConfig, raw: _Raw, platforms: Sequence[Platform]) -> list[str]:
    """Impossible combinations, each explained with what would be allowed."""
    known_os = {p.goos for p in platforms}
    known_arch = {p.goarch for p in platforms}
    if raw.goos not in known_os or raw.goarch not in known_arch:
        return []  # the axis checks already named the unknown GOOS/GOARCH
    what = f"{raw.goos}/{raw.goarch}"
    at = f"{loaded.path}: "
    pair = next((p for p in platforms if (p.goos, p.goarch) == (raw.goos, raw.goarch)), None)
    if pair is None:
        arches = sorted(p.goarch for p in platforms if p.goos == raw.goos)
        return [
            f"{at}{raw.where('goarch')}: {what} is not supported by this Go (`go tool dist list`); "
            f"allowed goarch for {raw.goos}: {', '.join(arches)}"
            f"{_exclude_hint(raw, goos=raw.goos, goarch=raw.goarch)}"
        ]
    problems = []
    libc_hint = _exclude_hint(raw, goos=raw.goos, libc=raw.libc)
    if raw.goarch in WASM_ARCHES:
        if raw.cgo:
            problems.append(
                f"{at}{raw.where('cgo')}: cgo = true on {what} is impossible: wasm has no "
                f"C toolchain; allowed cgo: false{_exclude_hint(raw, goarch='wasm', cgo=True)}"
            )
        if raw.libc != "wasm":
            problems.append(
                f"{at}{raw.where('libc')}: libc = {raw.libc!r} on {what} is impossible; allowed libc: wasm{libc_hint}"
            )
    elif raw.goos != "linux" and raw.libc != "system":
        problems.append(
            f"{at}{raw.where('libc')}: libc = {raw.libc!r} on {what} is impossible: "
            f"{raw.libc} is a Linux choice; allowed libc for {raw.goos}: system{libc_hint}"
        )
    elif raw.goos == "linux" and raw.libc not in ("static", "musl", "glibc"):
        problems.append(
            f"{at}{raw.where('libc')}: libc = {raw.libc!r} on {what} is impossible; "
            f"allowed libc for linux: static, musl, glibc{libc_hint}"
        )
    elif raw.cgo and not pair.cgo_supported:
        problems.append(
            f"{at}{raw.where('cgo')}: cgo = true on {what} is not supported by this Go; "
            f"allowed cgo: false{_exclude_hint(raw, goos=raw.goos, goarch=raw.goarch, cgo=True)}"
        )
    if raw.min_glibc and raw.libc != "glibc":
        problems.append(
            f"{at}{raw.where('min_glibc')}: min_glibc = {raw.min_glibc!r} on {what} with "
            f'libc = {raw.libc!r} is meaningless: a glibc floor needs libc = "glibc" '
            f'(and goos = "linux")'
        )
    if raw.min_glibc and raw.libc == "glibc":
        problems += _check_floor(at, raw)
    if raw.libc in ("glibc", "musl") and not raw.cgo:
        problems.append(
            f"{at}{raw.where('cgo')}: libc = {raw.libc!r} with cgo = false on {what}: a "
            f'pure-Go build links no C library; use libc = "static", or set cgo = true'
        )
    if raw.link and raw.libc != "musl":
        problems.append(
            f'{at}{raw.where("link")}: link = {raw.link!r} applies only to libc = "musl" (got libc = {raw.libc!r})'
        )
    if raw.goarm and raw.goarch != "arm":
        problems.append(f'{at}{raw.where("goarm")}: goarm = {raw.goarm!r} applies only to goarch = "arm"')
    if raw.goamd64 and raw.goarch != "amd64":
        problems.append(f'{at}{raw.where("goamd64")}: goamd64 = {raw.goamd64!r} applies only to goarch = "amd64"')
    for axis in ("go386", "goarm64", "gomips"):
        value = getattr(raw, axis)
        if value and VARIANT_AXIS.get(raw.goarch) != axis:
            allowed = ", ".join(a for a, k in VARIANT_AXIS.items() if k == axis)
            problems.append(f"{at}{raw.where(axis)}: {axis} = {value!r} applies only to goarch {allowed}")
    return problems


def lowest_glibc(goarch: str) -> tuple[int, ...]:
    """The lowest glibc floor a build for GOARCH can declare."""
    return GLIBC_FIRST.get(goarch, GLIBC_OLDEST)


def _check_floor(at: str, raw: _Raw) -> list[str]:
    floor = tuple(int(p) for p in (raw.min_glibc or "").split("."))
    lowest = lowest_glibc(raw.goarch)
    if floor >= lowest:
        return []
    text = ".".join(map(str, lowest))
    return [
        f"{at}{raw.where('min_glibc')}: min_glibc = {raw.min_glibc!r} is impossible on "
        f"{raw.goos}/{raw.goarch}: glibc exists for {raw.goarch} only from {text}; the lowest "
        f"possible floor for {raw.goarch} is {text!r}"
        f"{_exclude_hint(raw, goarch=raw.goarch, min_glibc=raw.min_glibc)}"
    ]


def _exclude_hint(raw: _Raw, **selector: object) -> str:
    """For axis products, the exclude rule that drops the impossible combination."""
    if ".include[" in raw.origin:
        return ""
    fields = ", ".join(f"{k} = {_toml(v)}" for k, v in selector.items())
    return f" (to drop it: add {{ {fields} }} to {raw.origin}.exclude)"


def _toml(value: object) -> str:
    return "true" if value is True else "false" if value is False else f'"{value}"'


def _finish(loaded: LoadedConfig, raw: _Raw) -> Target:
    link: Link = raw.link or ("dynamic" if raw.libc in ("glibc", "system") else "static")
    tid = target_id(
        raw.goos, raw.goarch, raw.goarm, raw.goamd64, raw.cgo, raw.libc, raw.min_glibc, link, *_variants(raw)
    )
    target = Target(
        id=tid,
        goos=raw.goos,
        goarch=raw.goarch,
        goarm=raw.goarm,
        goamd64=raw.goamd64,
        go386=raw.go386,
        goarm64=raw.goarm64,
        gomips=raw.gomips,
        cgo=raw.cgo,
        libc=raw.libc,
        min_glibc=raw.min_glibc,
        link=link,
        matrices=[raw.matrix],
    )
    return apply_overrides(loaded, target)


def apply_overrides(loaded: LoadedConfig, target: Target) -> Target:
    """Merge every [[override]] whose `match` globs the id, in file order (later wins)."""
    env: dict[str, str] = {}
    tags: list[str] = []
    ldflags: list[str] = []
    flags: list[str] = []
    cc, cxx = None, None
    audit = loaded.config.audit
    smoke = loaded.config.smoke
    for ov in loaded.config.override:
        if any(fnmatch.fnmatchcase(target.id, pat) for pat in ov.match):
            env.update(ov.env)
            tags += ov.tags
            ldflags += ov.ldflags
            flags += ov.flags
            cc = ov.cc or cc
            cxx = ov.cxx or cxx
            audit = audit.merged(ov.audit)
            smoke = smoke.merged(ov.smoke)
    return target.model_copy(
        update={
            "env": env,
            "tags": tags,
            "ldflags": ldflags,
            "flags": flags,
            "cc": cc,
            "cxx": cxx,
            "audit": audit,
            "smoke": smoke,
        }
    )


def _check_overrides(loaded: LoadedConfig, ids: list[str]) -> list[str]:
    problems = []
    for i, ov in enumerate(loaded.config.override):
        for j, pat in enumerate(ov.match):
            if not any(fnmatch.fnmatchcase(t, pat) for t in ids):
                problems.append(no_match(f"{loaded.path}: override[{i}].match[{j}]", pat, ids))
    return problems


def no_match(where: str, pattern: str, ids: Iterable[str]) -> str:
    ids = sorted(ids)
    hint = difflib.get_close_matches(pattern, ids, n=1, cutoff=0.5)
    text = f"{where}: {pattern!r} matches no target; targets: {', '.join(ids)}"
    return text + (f"; did you mean {hint[0]!r}?" if hint else "")


def select(
    loaded: LoadedConfig, targets: Sequence[Target], matrix: str = "all", patterns: Sequence[str] = ()
) -> list[Target]:
    """Targets of one matrix (or all), narrowed by ids or shell-style globs."""
    names = list(loaded.config.matrix)
    if matrix != "all" and matrix not in names:
        hint = difflib.get_close_matches(matrix, names, n=1)
        raise ConfigError(
            [
                f"--matrix {matrix!r}: no such matrix in {loaded.path}; allowed: all, {', '.join(names)}"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
            ]
        )
    chosen = [t for t in targets if matrix == "all" or matrix in t.matrices]
    if not patterns:
        return chosen
    problems = [
        no_match(f"--target {p!r}", p, [t.id for t in chosen])
        for p in patterns
        if not any(fnmatch.fnmatchcase(t.id, p) for t in chosen)
    ]
    if problems:
        raise ConfigError(problems)
    return [t for t in chosen if any(fnmatch.fnmatchcase(t.id, p) for p in patterns)]
