"""C toolchains for cgo targets, behind one interface: explicit, system cross compiler, zig.

Resolution per target: an explicit `cc` wins; else a system gcc that can honour the
declared libc; else `zig cc` (the ziglang wheel, $GOBUILDX_ZIG or `zig` on PATH).
Cgo-off targets get no C toolchain at all. `libc_gate` keeps zig's first-time libc
builds under control: one at a time per libc (threads and processes), announced.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from gobuildx.errors import ToolchainMissing
from gobuildx.project import platforms
from gobuildx.project.matrix import Target
from gobuildx.util.dirs import user_cache_dir
from gobuildx.util.files import sibling
from gobuildx.util.lock import file_lock

Kind = Literal["explicit", "system", "zig"]

# What a first-time zig libc build costs on 2 cores: glibc is stubs and a few objects,
# musl and mingw-w64 are whole C libraries (measured: docs/libc.md).
FIRST_BUILD = {"glibc": "~30 s on 2 cores", "other": "~2-3 min on 2 cores"}


class CToolchain(BaseModel):
    """What a cgo build needs: CC/CXX, extra external-linker flags, and zig's libc identity."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    cc: str
    cxx: str
    description: str
    zig_target: str | None = None
    extldflags: list[str] = []
    libc_key: str | None = None  # one zig libc build: zig identity, triple, cpu, link mode

    def env(self) -> dict[str, str]:
        return {"CC": self.cc, "CXX": self.cxx}

    def for_link(self, strip: bool) -> CToolchain:
        """This toolchain for a link with or without Go's `-s`.

        Go passes `-s` to the linker before cgo's `-g`, which makes `zig cc` keep debug
        info, so a stripped zig link also gets `-Wl,--strip-all`. zig builds its libc
        stripped or not to match, so the two are different libc builds (libc_key).
        """
        if self.kind != "zig" or not strip:
            return self
        return self.model_copy(
            update={"extldflags": [*self.extldflags, "-Wl,--strip-all"], "libc_key": f"{self.libc_key}_stripped"}
        )

    def go_ldflags(self) -> list[str]:
        """The `go build -ldflags` entries this toolchain needs.

        zig always links (external linking: the C compiler's libc and floor, never Go's
        internal linker, which knows neither).
        """
        ext = self.extldflags
        flags = ["-linkmode=external"] if ext or self.kind == "zig" else []
        if ext:  # one -ldflags word: cmd/go splits -ldflags with quotes around whole words only
            word = "-extldflags=" + " ".join(ext)
            flags.append(word if len(ext) == 1 else f"'{word}'")
        return flags


def resolve(target: Target, host: tuple[str, str], environ: dict[str, str]) -> CToolchain | None:
    """The C toolchain of one target, or ToolchainMissing saying what to install or set."""
    if not target.cgo:
        return None
    if target.cc:
        return CToolchain(
            kind="explicit",
            cc=target.cc,
            cxx=target.cxx or target.cc,
            description=f"explicit cc: {target.cc}",
            extldflags=_link_flags(target),
        )
    return _system(target, host, environ) or _zig(target, environ)


# --- C target triples -------------------------------------------------------------------


def zig_triple(target: Target) -> str:
    """The `zig cc -target` value, libc and glibc floor included: `aarch64-linux-gnu.2.17`."""
    if target.goos == "windows":
        arch = platforms.ARCHES[target.goarch].zig_windows if target.goarch in platforms.ARCHES else None
        if arch is None:
            raise ToolchainMissing(
                f"{target.id}: zig has no Windows C target for GOARCH="
                f"{target.goarch}; set `cc` in an [[override]] or cgo = false"
            )
        return f"{arch}-windows-gnu"
    if target.goos != "linux":
        raise ToolchainMissing(_no_c_target(target))
    musl = target.libc in ("musl", "static")
    zig_arch = platforms.ARCHES[target.goarch].zig if target.goarch in platforms.ARCHES else None
    if target.goarch == "arm":
        triple = "arm-linux-" + ("musl" if musl else "gnu") + platforms.ARM_LEVELS[target.goarm or "7"].zig_abi
    elif zig_arch is not None:
        triple = f"{zig_arch}-linux-{'musl' if musl else 'gnu'}"
    else:
        raise ToolchainMissing(
            f"{target.id}: no C target triple known for GOARCH={target.goarch}; "
            "set `cc` for this target in an [[override]], or cgo = false"
        )
    if target.libc == "glibc" and target.min_glibc:
        triple += f".{target.min_glibc}"
    return triple


def zig_cpu(target: Target) -> str | None:
    """The `-mcpu` that matches GOARM (the triple alone would mean the oldest ARM)."""
    if target.goos == "linux" and target.goarch == "arm":
        return platforms.ARM_LEVELS[target.goarm or "7"].zig_cpu
    return None


def system_prefix(target: Target) -> str | None:
    """Debian's cross gcc prefix for a glibc target, e.g. `aarch64-linux-gnu`."""
    if target.goos != "linux" or target.libc != "glibc":
        return None
    if target.goarch == "arm":
        return platforms.ARM_LEVELS[target.goarm or "7"].gcc
    return platforms.ARCHES[target.goarch].gcc if target.goarch in platforms.ARCHES else None


def _link_flags(target: Target) -> list[str]:
    """`-static` for the fully static links (libc static with cgo; musl unless dynamic), and
    `-dynamic` for dynamic musl, which `zig cc` would otherwise link statically."""
    if target.goos != "linux":
        return []
    if target.libc == "static" or (target.libc == "musl" and target.link == "static"):
        return ["-static"]
    return ["-dynamic"] if target.libc == "musl" else []


# --- system gcc ---------------------------------------------------------------------------


def _system(target: Target, host: tuple[str, str], environ: dict[str, str]) -> CToolchain | None:
    """A system gcc, used only where it can honour the declaration.

    Only glibc targets without a floor qualify: a gcc links against whatever glibc its
    sysroot has, so it cannot promise `min_glibc`; musl and static go to zig (a static
    glibc link is not portable: NSS needs shared libraries at run time).
    """
    prefix = system_prefix(target)
    if prefix is None or target.min_glibc:
        return None
    path = environ.get("PATH", "")
    native = (target.goos, target.goarch) == host
    for cc in [f"{prefix}-gcc"] + (["gcc", "cc"] if native else []):
        found = shutil.which(cc, path=path)
        if found:
            cxx = shutil.which(cc.replace("gcc", "g++"), path=path) if "gcc" in cc else None
            return CToolchain(
                kind="system",
                cc=found,
                cxx=cxx or found,
                description=f"system {Path(found).name} (glibc of its sysroot)",
            )
    return None


# --- zig ------------------------------------------------------------------------------------


def zig_command(environ: dict[str, str]) -> list[str]:
    """How to run zig: $GOBUILDX_ZIG, the ziglang wheel (pinned in the cache), or `zig` on PATH."""
    explicit = environ.get("GOBUILDX_ZIG")
    if explicit:
        return explicit.split()
    version = _wheel_version()
    if version:
        pinned = _pinned_wheel_zig(version, environ)
        return [str(pinned)] if pinned else [sys.executable, "-m", "ziglang"]
    found = shutil.which("zig", path=environ.get("PATH", ""))
    if found:
        return [found]
    raise ToolchainMissing(
        "cgo cross-compilation needs a C compiler: `pip install ziglang` "
        "(gobuildx uses `zig cc`), set GOBUILDX_ZIG=/path/to/zig, "
        "or set `cc` for the target in an [[override]]"
    )


def _pinned_wheel_zig(version: str, environ: dict[str, str]) -> Path | None:
    """The wheel's zig at a path that outlives the venv: `<cache>/ziglang-<version>/zig`.

    zig keys its cache on the path of its own lib directory, so the zig inside a venv
    recompiles every libc (minutes each) whenever the venv is recreated, e.g. in each
    fresh CI clone; so would Go's cache, which keys cgo work on the CC string. The copy
    is made of hard links where the filesystem allows (no extra space), once per version.
    """
    root = user_cache_dir(environ) / f"ziglang-{version}"
    exe = root / "zig"
    if exe.is_file():
        return exe
    origin = metadata.distribution("ziglang").locate_file("ziglang")
    source = Path(str(origin))
    if not (source / "zig").is_file():
        return None
    tmp = sibling(root)
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source, tmp, copy_function=_link_or_copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
        try:
            os.rename(tmp, root)
        except OSError:  # another process pinned it first
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    return exe if exe.is_file() else None


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _wheel_version() -> str | None:
    try:
        return metadata.version("ziglang")
    except metadata.PackageNotFoundError:
        return None


def _zig_identity(command: list[str]) -> str:
    """Which zig this is, cheaply: the wheel version, or the binary's path, size and mtime."""
    if command[1:] == ["-m", "ziglang"]:
        return f"ziglang-{_wheel_version()}"
    if Path(command[0]).parent.name.startswith("ziglang-"):
        return Path(command[0]).parent.name + "-pinned"  # its own zig cache namespace
    try:
        st = os.stat(shutil.which(command[0]) or command[0])
        raw = f"{command}:{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        raw = str(command)
    return "zig-" + hashlib.sha256(raw.encode()).hexdigest()[:12]


def _zig(target: Target, environ: dict[str, str]) -> CToolchain:
    triple = zig_triple(target)
    command = zig_command(environ)
    zig = " ".join(command)
    cpu = zig_cpu(target)
    flags = f"-target {triple}" + (f" -mcpu={cpu}" if cpu else "")
    ext = _link_flags(target)
    mode = "static" if ext == ["-static"] else "dynamic"
    key = f"{_zig_identity(command)}_{triple}_{cpu or 'baseline'}_{mode}".replace("+", "-")
    return CToolchain(
        kind="zig",
        cc=f"{zig} cc {flags}",
        cxx=f"{zig} c++ {flags}",
        zig_target=triple,
        extldflags=ext,
        libc_key=key,
        description=f"zig cc {' '.join([flags, *ext])}",
    )


def _no_c_target(target: Target) -> str:
    if target.goos in ("darwin", "ios"):
        return (
            f"{target.id}: cgo for {target.goos} needs Apple's macOS SDK, which is not on this "
            "machine (zig ships no Apple SDK); build this target on macOS, or set `cc` (e.g. "
            "osxcross's o64-clang) for it in an [[override]], or set cgo = false"
        )
    return (
        f"{target.id}: no C toolchain for cgo on {target.goos}/{target.goarch}; set `cc` for "
        "this target in an [[override]], or set cgo = false"
    )


def zig_cache_dir(environ: dict[str, str], cache_root: Path) -> Path:
    """One zig cache shared by every target and run ($ZIG_GLOBAL_CACHE_DIR wins)."""
    return Path(environ.get("ZIG_GLOBAL_CACHE_DIR") or cache_root / "zig")


# --- zig's first-time libc builds -------------------------------------------------------------


def first_build_cost(tc: CToolchain) -> str:
    return FIRST_BUILD["glibc" if "-linux-gnu" in (tc.zig_target or "") else "other"]


def _ready_marker(cache: Path, key: str) -> Path:
    return cache / "gobuildx-libc" / f"{key}.ready"


def libc_cached(tc: CToolchain | None, cache: Path) -> bool:
    """True unless tc is zig and its libc has never been built successfully in this cache."""
    return not (tc and tc.libc_key) or _ready_marker(cache, tc.libc_key).exists()


@contextmanager
def libc_gate(
    tc: CToolchain | None, cache: Path, target_id: str, note: Callable[[str], None]
) -> Iterator[Callable[[], None]]:
    """Hold the build of a zig libc that is not cached yet, so it is compiled once at a time.

    A file lock (flock: exclusive between threads and processes alike) per libc; the
    holder announces the first-time build and calls the yielded `built()` on success,
    which records the libc as cached. Builds of cached libcs pass straight through.
    """
    if tc is None or tc.libc_key is None or libc_cached(tc, cache):
        yield lambda: None
        return
    marker = _ready_marker(cache, tc.libc_key)

    def waiting() -> None:
        note(f"{target_id}: waiting for another build that is compiling zig's libc for {tc.zig_target}")

    with file_lock(marker.with_suffix(".lock"), on_wait=waiting):
        if not marker.exists():
            note(
                f"{target_id}: first-time build of zig's libc for {tc.zig_target} "
                f"({first_build_cost(tc)}); cached in {cache} for every later build"
            )
        yield lambda: marker.touch()


# --- reporting ------------------------------------------------------------------------------


def describe_all(
    targets: list[Target],
    host: tuple[str, str],
    environ: dict[str, str],
    zig_cache: Path | None = None,
    strip: bool = True,
) -> list[tuple[str, str]]:
    """(target id, toolchain or the reason there is none), for doctor and the build log.

    zig toolchains whose libc was never built in the shared zig cache say so (for a
    stripped link, gobuildx's default `-s`, unless strip=False).
    """
    cache = zig_cache or zig_cache_dir(environ, user_cache_dir(environ))
    rows = []
    for target in targets:
        try:
            tc = resolve(target, host, environ)
        except ToolchainMissing as exc:
            rows.append((target.id, f"MISSING: {exc}"))
            continue
        text = tc.description if tc else "none (cgo off)"
        if tc and not libc_cached(tc.for_link(strip), cache):
            text += f"  [libc not built yet: first build {first_build_cost(tc)}]"
        rows.append((target.id, text))
    return rows


def host_pair() -> tuple[str, str]:
    machine = os.uname().machine
    arch = platforms.goarch_of_uname(machine) or machine
    return ("linux" if sys.platform.startswith("linux") else sys.platform, arch)
