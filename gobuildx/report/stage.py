"""dist/report.html: the build matrix as one self-contained page, rendered from dist/manifest.json.

The page is a pure function of the manifest (no second source of truth): no network, no
external assets, no JavaScript (the grid and its per-row details are `<details>` elements).

Public API, for the stages:

    refresh(dist: Path) -> Path | None
        Re-render dist/report.html from dist/manifest.json, atomically. Returns the page's
        path, or None when dist/ has no manifest yet. Call it at the end of every stage.

    timed(dist: Path, name: str) -> ContextManager[None]
        `with report.timed(dist, "audit"): ...` records the stage's wall time in
        `Manifest.stages` and then calls refresh(dist), also when the stage raises.

    render(m: Manifest) -> str
        The page as a string (no I/O).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from gobuildx.model.audit import AuditReport, AuditResult, glibc_callouts, runs_on_text
from gobuildx.model.image import ImageRecord
from gobuildx.model.manifest import Manifest, StageTiming, TargetRecord
from gobuildx.model.release import MANIFEST, RELEASE_DIR, SUMS, ReleaseManifest, ReleaseTarget
from gobuildx.model.smoke import SmokeRecord
from gobuildx.model.trust import SIGNATURE_SUFFIXES, attestations_name
from gobuildx.project import manifest_file
from gobuildx.util.dirs import user_cache_dir
from gobuildx.util.files import write_atomic

REPORT = "report.html"
STAGES = ("build", "audit", "image", "package", "smoke", "release")

Tone = Literal["ok", "bad", "warn", "muted", "info"]
ICON: dict[Tone, str] = {"ok": "\u2714", "bad": "\u2718", "warn": "\u26a0", "muted": "", "info": ""}
COLUMNS = (
    ("build", "Build"),
    ("linkage", "libc / linkage"),
    ("cgo", "cgo"),
    ("size", "Size"),
    ("image", "Image"),
    ("packages", "Packages"),
    ("runner", "Smoke runner"),
    ("smoke", "Smoke"),
)
OS_COLOURS = {
    "linux": "#2f6fb0",
    "windows": "#7a4fb5",
    "darwin": "#5b6470",
    "freebsd": "#b0482f",
    "wasip1": "#2f8f7a",
    "js": "#b08a2f",
}


# ---------------------------------------------------------------- view model


@dataclass(frozen=True)
class Cell:
    text: str
    tone: Tone = "muted"
    hint: str = ""  # the cell's title: why it says what it says
    note: str = ""  # small print after the value
    badge: bool = True  # a coloured pill; False for plain numbers

    @property
    def icon(self) -> str:
        return ICON[self.tone]


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    mono: bool = False
    href: str | None = None  # relative to dist/


@dataclass(frozen=True)
class Block:
    """Preformatted text in a row's details: a log tail, a smoke output."""

    label: str
    text: str
    tone: Tone = "muted"


@dataclass(frozen=True)
class Row:
    id: str
    tone: Tone
    rank: int  # failures first
    cells: dict[str, Cell]
    facts: list[Fact]
    blocks: list[Block]

    @property
    def open(self) -> bool:
        return self.tone == "bad"


@dataclass(frozen=True)
class Flag:
    tone: Tone
    target: str
    text: str


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    colour: str
    note: str = ""  # tooltip detail


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    tone: Tone = "info"


@dataclass(frozen=True)
class Page:
    title: str
    meta: list[Fact]
    tiles: list[Tile]
    flags: list[Flag]
    columns: Sequence[tuple[str, str]]
    rows: list[Row]
    sizes: list[Bar]
    stages: list[Bar]
    gobuildx: str
    legend: list[tuple[str, str]] = field(default_factory=list)


# ---------------------------------------------------------------- formatting


def human_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.2f} GiB"


def human_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"


# ---------------------------------------------------------------- cells


def build_cell(r: TargetRecord) -> Cell:
    if r.status == "failed":
        first = (r.error or "failed").splitlines()[0]
        return Cell("failed", "bad", hint=first)
    if r.status == "skipped":
        return Cell("skipped", "muted", hint=r.error or "")
    if r.cached:
        return Cell("up to date", "ok", hint="inputs unchanged since the last build; not recompiled")
    return Cell("built", "ok", note=human_duration(r.duration_s))


def declared_linkage(r: TargetRecord) -> Cell:
    """What targets.toml asked for, until the audit has looked at the artifact."""
    hint = "declared in targets.toml; the audit has not checked it"
    if r.libc == "glibc":
        floor = f" \u2265 {r.min_glibc}" if r.min_glibc else ""
        return Cell(f"dynamic glibc{floor}", "warn", hint=hint, note="declared")
    if r.libc == "musl":
        return Cell(
            f"musl, {'dynamic' if r.link == 'dynamic' else 'static'}",
            "warn" if r.link == "dynamic" else "ok",
            hint=hint,
            note="declared",
        )
    if r.libc == "static":
        return Cell("static", "ok", hint=hint, note="declared")
    if r.libc == "wasm":
        return Cell("wasm module", "info", hint=hint, note="declared")
    return Cell(f"{r.goos} system libs", "info", hint=hint, note="declared")


def glibc_dependent(a: AuditResult) -> bool:
    """Needs a glibc at run time (dynamically), or carries one statically (not portable either)."""
    return a.dynamic_glibc or any(f.static_glibc for f in a.artifacts)


def audit_linkage(a: AuditResult, r: TargetRecord) -> Cell:
    hint = "; ".join(a.problems + a.warnings) or f"declared {a.declared}; audit {a.verdict}"
    note = r.libc if r.libc in ("musl", "glibc") and r.libc not in a.linkage else ""
    if a.verdict == "fail":
        return Cell(a.linkage or "audit failed", "bad", hint=hint, note=note or "audit: fail")
    if a.verdict == "warn" or glibc_dependent(a):
        return Cell(a.linkage, "warn", hint=hint, note=note)
    tone: Tone = "ok" if a.static else "info"
    return Cell(a.linkage, tone, hint=hint, note=note)


def linkage_cell(r: TargetRecord) -> Cell:
    if r.audit is not None:
        return audit_linkage(r.audit, r)
    declared = declared_linkage(r)
    if r.status != "ok":  # no artifact: only what was asked for, without a verdict colour
        return Cell(declared.text, "muted", hint=declared.hint, note=declared.note)
    return declared


def cgo_cell(r: TargetRecord) -> Cell:
    if r.cgo:
        return Cell("on", "info", hint=r.c_toolchain or "")
    return Cell("off", "muted")


def size_cell(r: TargetRecord) -> Cell:
    total = sum(a.size for a in r.artifacts)
    if not r.artifacts:
        return Cell("\u2013", "muted", badge=False)
    note = f"{len(r.artifacts)} files" if len(r.artifacts) > 1 else ""
    return Cell(human_size(total), "info", hint=f"{total} bytes", note=note, badge=False)


def image_cell(r: TargetRecord) -> Cell:
    image = r.image
    if image is None:
        return Cell("not run", "muted")
    short = image.digest.split(":")[-1][:10]
    return Cell(
        short,
        "info",
        hint=f"{image.repository}@{image.digest} ({image.platform})",
        note=("pushed, signed" if image.signed else "pushed") if image.pushed else "",
    )


def packages_cell(r: TargetRecord) -> Cell:
    pk = r.packages
    if pk is None or not pk.written:
        return Cell("not run" if pk is None else "none", "muted")
    short = {"deb": "deb", "rpm": "rpm", "apk": "apk", "archlinux": "arch"}
    deb = next((p for p in pk.written if p.format == "deb"), pk.written[0])
    return Cell(
        " ".join(short[p.format] for p in pk.written),
        "info",
        hint="; ".join(f"{p.name}: {', '.join(p.depends) or 'no dependencies'}" for p in pk.written),
        note=", ".join(deb.libc_depends) or "no libc dependency",
    )


def package_facts(r: TargetRecord) -> list[Fact]:
    pk = r.packages
    if pk is None:
        return []
    out = [
        Fact(
            f"package {p.format}",
            f"{p.path} ({p.arch}; depends: {', '.join(p.depends) or 'none'})",
            mono=True,
            href=relative_link(p.path),
        )
        for p in pk.written
    ]
    return out + [Fact(f"package {s.format}", f"not packaged: {s.reason}") for s in pk.skipped]


def smoke_cells(r: TargetRecord) -> tuple[Cell, Cell]:
    smoke = r.smoke
    if smoke is None:
        return Cell("\u2013", "muted", badge=False), Cell("not run", "muted")
    runners = ", ".join(dict.fromkeys(res.runner for res in smoke.results)) or "\u2013"
    tone: Tone = {"passed": "ok", "failed": "bad", "skipped": "warn"}[smoke.status]
    reasons = "; ".join(f"{res.runner}: {res.reason}" for res in smoke.results)
    return (
        Cell(runners, "info", badge=False),
        Cell(smoke.status, tone, hint=reasons, note=human_duration(smoke.duration_s) if smoke.duration_s else ""),
    )


# ---------------------------------------------------------------- rows


def trust_facts(dist: Path) -> dict[str, list[Fact]]:
    """Per target, the signatures and attestations dist/release/ holds for it. Present, not
    verified: `gobuildx verify --key` checks them (docs/trust.md)."""
    folder = dist / RELEASE_DIR
    try:
        rm = ReleaseManifest.model_validate_json((folder / MANIFEST).read_bytes())
        names = {p.name for p in folder.iterdir()}
    except (OSError, ValueError):
        return {}
    through_sums = [m for m, suffix in SIGNATURE_SUFFIXES.items() if SUMS + suffix in names]
    out = {}
    for t in rm.targets:
        own = [m for m, suffix in SIGNATURE_SUFFIXES.items() if t.archive.name + suffix in names]
        signed = ", ".join(own) or (f"{', '.join(through_sums)} (through {SUMS})" if through_sums else "unsigned")
        attested = "smoke and audit" if attestations_name(t.archive.name) in names else "no"
        out[t.id] = [Fact("release signed", signed), Fact("attested", attested), Fact("reproduced", _reproduced(rm, t))]
    return out


def _reproduced(rm: ReleaseManifest, t: ReleaseTarget) -> str:
    """What `release --rebuild` recorded for the target (the release's word, not checked here)."""
    if rm.rebuild is None or t.reproduced is None:
        return "not rebuilt (gobuildx release --rebuild, or verify --rebuild)"
    commit = rm.rebuild.commit[:12]
    if t.reproduced:
        return f"yes: rebuilt from {commit} in a fresh clone, identical"
    return f"no: rebuilt from {commit}, differs (diffoscope report in dist/rebuild/)"


def row(r: TargetRecord, trust: Sequence[Fact] = ()) -> Row:
    runner, smoke = smoke_cells(r)
    cells = {
        "build": build_cell(r),
        "linkage": linkage_cell(r),
        "cgo": cgo_cell(r),
        "size": size_cell(r),
        "image": image_cell(r),
        "packages": packages_cell(r),
        "runner": runner,
        "smoke": smoke,
    }
    tones = [c.tone for c in cells.values()]
    tone: Tone = "bad" if "bad" in tones else "warn" if "warn" in tones else "ok"
    rank = 0 if r.status == "failed" else 1 if tone == "bad" else 2 if tone == "warn" else 3
    return Row(id=r.id, tone=tone, rank=rank, cells=cells, facts=facts(r) + list(trust), blocks=blocks(r))


def relative_link(path: str) -> str | None:
    """A link inside dist/ (artifacts, logs), never a URL with a scheme or an absolute path."""
    return None if ":" in path or path.startswith(("/", "\\")) or ".." in path.split("/") else path


def go_env(r: TargetRecord) -> str:
    env = [f"GOOS={r.goos}", f"GOARCH={r.goarch}"]
    env += [f"GOARM={r.goarm}"] if r.goarm else []
    env += [f"GOAMD64={r.goamd64}"] if r.goamd64 else []
    mips = "GOMIPS64" if r.goarch.startswith("mips64") else "GOMIPS"
    env += [f"{k}={v}" for k, v in (("GO386", r.go386), ("GOARM64", r.goarm64), (mips, r.gomips)) if v]
    return " ".join(env + [f"CGO_ENABLED={int(r.cgo)}"])


def facts(r: TargetRecord) -> list[Fact]:
    out = [
        Fact("build", go_env(r), mono=True),
        Fact("libc", f"{r.libc}" + (f" (floor {r.min_glibc})" if r.min_glibc else "") + f", link {r.link}"),
        Fact("C toolchain", r.c_toolchain or "none (cgo off)"),
    ]
    for a in r.artifacts:
        out += [
            Fact(
                f"artifact {a.binary}",
                f"{a.path} ({human_size(a.size)}, {a.size} bytes)",
                mono=True,
                href=relative_link(a.path),
            ),
            Fact(f"sha256 {a.binary}", a.sha256, mono=True),
        ]
    if r.inputs:
        out.append(Fact("inputs digest", r.inputs, mono=True))
    if r.log:
        out.append(Fact("build log", r.log, mono=True, href=relative_link(r.log)))
    return out + audit_facts(r.audit) + image_facts(r.image) + package_facts(r) + smoke_facts(r.smoke)


def audit_facts(a: AuditResult | None) -> list[Fact]:
    if a is None:
        return [Fact("audit", "not run")]
    out = [Fact("audit", f"{a.verdict} \u2014 declared {a.declared}"), Fact("linkage", a.linkage)]
    singles = (
        ("file", a.file),
        ("interpreter", a.interpreter),
        ("libc found", a.libc),
        ("highest GLIBC", f"GLIBC_{a.highest_glibc}" if a.highest_glibc else None),
        ("Go (build info)", a.go_version),
    )
    out += [Fact(label, value, mono=True) for label, value in singles if value]
    lists = (
        ("needed libraries", a.needed),
        ("symbols raising the floor", a.floor_symbols),
        ("GLIBC_PRIVATE", a.glibc_private),
        ("C++ runtime", a.cxx),
        ("libgcc", a.gcc),
    )
    out += [Fact(label, ", ".join(values), mono=True) for label, values in lists if values]
    out.append(Fact("runs on", runs_on_text(a.runs_on)))
    out += build_settings(a)
    out += [Fact(f"audit {f.level}", f"{f.message} [{f.code}]") for f in a.findings]
    return out


def build_settings(a: AuditResult) -> list[Fact]:
    """The `go build` flags and environment the binary itself records (`go version -m`)."""
    out = []
    for f in a.artifacts:
        if f.go is None:
            continue
        settings = [f"{k}={v}" for k, v in f.go.settings.items() if k != "DefaultGODEBUG"]
        name = Path(f.path).name
        out.append(Fact(f"build settings ({name})", " ".join(settings) or "none recorded", mono=True))
        if f.go.main:
            out.append(Fact(f"main module ({name})", f.go.main, mono=True))
    return out


def image_facts(image: ImageRecord | None) -> list[Fact]:
    if image is None:
        return [Fact("image", "not run")]
    out = [
        Fact("image", f"{image.repository}@{image.digest}", mono=True),
        Fact(
            "image platform",
            f"{image.platform}, {human_size(image.size)}, built with {image.builder}"
            + (", pushed" if image.pushed else ""),
        ),
        Fact("image entrypoint", " ".join(image.entrypoint), mono=True),
    ]
    if image.local_tags:
        out.append(Fact("image tags", ", ".join(image.local_tags), mono=True))
    if image.libraries:
        out.append(Fact("image libraries", ", ".join(image.libraries), mono=True))
    return out


def smoke_facts(smoke: SmokeRecord | None) -> list[Fact]:
    if smoke is None:
        return [Fact("smoke", "not run")]
    out = []
    for res in smoke.results:
        detail = f"{res.status}: {res.reason}"
        if res.exit_code is not None:
            detail += f" (exit {res.exit_code}, {human_duration(res.duration_s)})"
        out.append(Fact(f"smoke {res.runner}", detail))
        if res.command:
            out.append(Fact(f"{res.runner} command", " ".join(res.command), mono=True))
        out += [Fact(f"{res.runner} note", note) for note in res.notes]
    return out


def blocks(r: TargetRecord) -> list[Block]:
    out = []
    if r.error:
        out.append(Block("build error and log tail", r.error, "bad"))
    smoke = r.smoke
    for res in smoke.results if smoke is not None else []:
        if res.output:
            tone: Tone = "bad" if res.status == "failed" else "muted"
            out.append(Block(f"smoke output ({res.runner}, {res.status})", res.output, tone))
    return out


# ---------------------------------------------------------------- page


def flags(m: Manifest) -> list[Flag]:
    """What needs a look, worst first: failures, then every glibc dependency, then warnings."""
    bad: list[Flag] = []
    glibc: list[Flag] = []
    warn: list[Flag] = []
    for r in m.targets:
        if r.status == "failed":
            bad.append(Flag("bad", r.id, f"build failed: {build_cell(r).hint}"))
        for res in r.smoke.results if r.smoke is not None else []:
            if res.status == "failed":
                bad.append(Flag("bad", r.id, f"smoke failed ({res.runner}): {res.reason}"))
            elif res.status == "skipped":
                warn.append(Flag("warn", r.id, f"smoke skipped ({res.runner}): {res.reason}"))
        a = r.audit
        if a is None:
            if r.status == "ok" and r.libc == "glibc":
                glibc.append(
                    Flag(
                        "warn",
                        r.id,
                        f"dynamic glibc \u2265 {r.min_glibc or '?'} declared; "
                        "run `gobuildx audit` for the symbols that set the floor",
                    )
                )
            continue
        bad += [Flag("bad", r.id, f"audit: {p}") for p in a.problems]
        glibc += [
            Flag("warn", r.id, line.split(": ", 1)[1])
            for line in glibc_callouts(AuditReport(verdict=a.verdict, results=[a]))
        ]
        warn += [Flag("warn", r.id, f"audit: {w}") for w in a.warnings]
    return bad + glibc + warn


def tiles(m: Manifest) -> list[Tile]:
    count = {s: sum(1 for t in m.targets if t.status == s) for s in ("ok", "failed", "skipped")}
    total = sum(a.size for t in m.targets for a in t.artifacts)
    out = [
        Tile("targets", str(len(m.targets))),
        Tile("built", str(count["ok"]), "ok" if count["ok"] else "muted"),
        Tile("failed", str(count["failed"]), "bad" if count["failed"] else "ok"),
    ]
    if count["skipped"]:
        out.append(Tile("skipped", str(count["skipped"]), "warn"))
    audits = [t.audit.verdict for t in m.targets if t.audit is not None]
    out.append(_verdict_tile("audit passed", [v == "pass" for v in audits], [v == "fail" for v in audits]))
    smokes = [s.status for s in (t.smoke for t in m.targets) if s is not None]
    out.append(_verdict_tile("smoke passed", [v == "passed" for v in smokes], [v == "failed" for v in smokes]))
    images = sum(1 for t in m.targets if t.image is not None)
    out.append(Tile("images", str(images) if images else "not run", "info" if images else "muted"))
    out.append(Tile("artifacts", human_size(total)))
    return out


def _verdict_tile(label: str, passed: list[bool], failed: list[bool]) -> Tile:
    if not passed:
        return Tile(label.split()[0], "not run", "muted")
    tone: Tone = "bad" if any(failed) else "ok" if all(passed) else "warn"
    return Tile(label, f"{sum(passed)}/{len(passed)}", tone)


def size_bars(m: Manifest) -> list[Bar]:
    sized = [(t, sum(a.size for a in t.artifacts)) for t in m.targets if t.artifacts]
    sized.sort(key=lambda p: (-p[1], p[0].id))
    return [Bar(t.id, float(n), human_size(n), OS_COLOURS.get(t.goos, "#6b7280")) for t, n in sized]


def stage_bars(m: Manifest) -> list[Bar]:
    latest = {s.name: s for s in m.stages}
    names = list(STAGES) + [n for n in latest if n not in STAGES]
    return [
        Bar(
            n,
            latest[n].duration_s,
            human_duration(latest[n].duration_s),
            "#2f6fb0",
            note=f"started {latest[n].started}",
        )
        if n in latest
        else Bar(n, 0.0, "not run", "#9ca3af")
        for n in names
    ]


def page(m: Manifest, trust: dict[str, list[Fact]] | None = None) -> Page:
    rows = sorted((row(t, (trust or {}).get(t.id, ())) for t in m.targets), key=lambda rw: (rw.rank, rw.id))
    meta = [
        Fact("version", m.version),
        Fact("commit", m.commit[:12], mono=True),
        Fact("date", m.date),
        Fact("Go", m.go),
        Fact("gobuildx", m.gobuildx),
    ]
    legend = [(goos, colour) for goos, colour in OS_COLOURS.items() if any(t.goos == goos for t in m.targets)]
    if m.image is not None:
        meta.append(Fact("image index", f"{', '.join(m.image.tags)} @ {m.image.digest}", mono=True))
    return Page(
        title=f"{m.project} {m.version}",
        meta=meta,
        tiles=tiles(m),
        flags=flags(m),
        columns=COLUMNS,
        rows=rows,
        sizes=size_bars(m),
        stages=stage_bars(m),
        gobuildx=m.gobuildx,
        legend=legend,
    )


if TYPE_CHECKING:
    from jinja2 import Environment


def environment() -> Environment:
    """Jinja with its compiled template cached on disk: compiling costs ~0.1 s, every stage renders.

    Imported here, not at module level: most commands never render a page.
    """
    from jinja2 import (
        Environment,
        FileSystemBytecodeCache,
        PackageLoader,
        StrictUndefined,
        select_autoescape,
    )

    cache = user_cache_dir() / "jinja"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        bytecode: FileSystemBytecodeCache | None = FileSystemBytecodeCache(str(cache))
    except OSError:
        bytecode = None
    return Environment(
        loader=PackageLoader("gobuildx.report", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=bytecode,
    )


def render(m: Manifest, trust: dict[str, list[Fact]] | None = None) -> str:
    return environment().get_template("report.html").render(page=page(m, trust), icon=ICON)


# ---------------------------------------------------------------- files


def path_in(dist: Path) -> Path:
    return dist / REPORT


def refresh(dist: Path) -> Path | None:
    """Re-render dist/report.html from dist/manifest.json; None when there is no manifest."""
    m = manifest_file.read(dist)
    if m is None:
        return None
    out = path_in(dist)
    write_atomic(out, render(m, trust_facts(dist)).encode(), durable=False)  # regenerated from the manifest at will
    return out


def record_stage(dist: Path, name: str, started: datetime, duration_s: float) -> None:
    """Replace the timing of stage `name` in the manifest (no-op without a manifest)."""
    if manifest_file.read(dist) is None:
        return
    timing = StageTiming(name=name, started=started.strftime("%Y-%m-%dT%H:%M:%SZ"), duration_s=round(duration_s, 3))

    def change(old: Manifest | None) -> Manifest:
        assert old is not None  # checked above; a manifest is never deleted by a stage
        others = [s for s in old.stages if s.name != name]
        return old.model_copy(update={"stages": [*others, timing]})

    manifest_file.update(dist, change)


@contextmanager
def timed(dist: Path, name: str) -> Iterator[None]:
    """Time a stage, record it in the manifest, and refresh the report, even if the stage raises."""
    started = datetime.now(UTC)
    t0 = time.monotonic()
    try:
        yield
    except BaseException:
        # The stage's own error is the one to show: when the disk that failed it is full or
        # read-only, the timing and the page cannot be written either, and that must not
        # replace it.
        with suppress(OSError):
            _record_and_refresh(dist, name, started, time.monotonic() - t0)
        raise
    _record_and_refresh(dist, name, started, time.monotonic() - t0)


def _record_and_refresh(dist: Path, name: str, started: datetime, duration_s: float) -> None:
    record_stage(dist, name, started, duration_s)
    refresh(dist)
