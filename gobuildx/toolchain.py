"""C toolchains for cgo targets, behind one interface: explicit, system cross compiler, zig.

Resolution per target: an explicit `cc` wins; else a matching system compiler;
else `zig cc` from the ziglang wheel. Cgo-off targets get no C toolchain at all.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from gobuildx.errors import ToolchainMissing
from gobuildx.matrix import Target

Kind = Literal["explicit", "system", "zig"]

# GOARCH (and GOARM) -> (zig arch, GNU triple prefix of Debian's cross gcc)
LINUX_ARCH = {
    "amd64": ("x86_64", "x86_64-linux-gnu"),
    "386": ("x86", "i686-linux-gnu"),
    "arm64": ("aarch64", "aarch64-linux-gnu"),
    "riscv64": ("riscv64", "riscv64-linux-gnu"),
    "ppc64le": ("powerpc64le", "powerpc64le-linux-gnu"),
    "s390x": ("s390x", "s390x-linux-gnu"),
    "loong64": ("loongarch64", "loongarch64-linux-gnu"),
}
ARM_CPU = {"5": "arm926ej_s", "6": "arm1176jzf_s", "7": "generic+v7a"}
WINDOWS_ARCH = {"amd64": "x86_64", "386": "x86", "arm64": "aarch64"}


class CToolchain(BaseModel):
    """What a cgo build needs: CC/CXX and any extra environment or ldflags."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    cc: str
    cxx: str
    description: str
    zig_target: str | None = None
    extldflags: list[str] = []

    def env(self) -> dict[str, str]:
        return {"CC": self.cc, "CXX": self.cxx}


def zig_triple(target: Target) -> str:
    """The `zig cc -target` value: libc and glibc floor included."""
    if target.goos == "windows":
        arch = WINDOWS_ARCH.get(target.goarch)
        if arch is None:
            raise ToolchainMissing(f"{target.id}: zig has no Windows target for GOARCH={target.goarch}")
        return f"{arch}-windows-gnu"
    if target.goos != "linux":
        raise ToolchainMissing(_no_sdk(target))
    musl = target.libc in ("musl", "static")
    if target.goarch == "arm":
        abi = ("musleabi" if musl else "gnueabi") + ("" if target.goarm == "5" else "hf")
        triple = f"arm-linux-{abi}"
    else:
        if target.goarch not in LINUX_ARCH:
            raise ToolchainMissing(f"{target.id}: no C target triple known for GOARCH={target.goarch}; "
                                   "set `cc` for this target in an [[override]]")
        triple = f"{LINUX_ARCH[target.goarch][0]}-linux-{'musl' if musl else 'gnu'}"
    if target.libc == "glibc" and target.min_glibc:
        triple += f".{target.min_glibc}"
    return triple


def system_prefix(target: Target) -> str | None:
    """Debian's cross gcc prefix for a glibc target, e.g. `aarch64-linux-gnu`."""
    if target.goos != "linux" or target.libc != "glibc":
        return None
    if target.goarch == "arm":
        return "arm-linux-gnueabi" if target.goarm == "5" else "arm-linux-gnueabihf"
    return LINUX_ARCH.get(target.goarch, (None, None))[1]


def resolve(target: Target, host: tuple[str, str], environ: dict[str, str]) -> CToolchain | None:
    if not target.cgo:
        return None
    if target.cc:
        return CToolchain(kind="explicit", cc=target.cc, cxx=target.cxx or target.cc,
                          description=f"explicit cc: {target.cc}")
    system = _system(target, host, environ)
    if system:
        return system
    return _zig(target, environ)


def _system(target: Target, host: tuple[str, str], environ: dict[str, str]) -> CToolchain | None:
    """A system gcc, used only where it can honour the declaration.

    A glibc floor can't be promised by the host's gcc (it links against the
    installed glibc), so floors go to zig unless the user names a compiler.
    """
    prefix = system_prefix(target)
    if prefix is None or target.min_glibc:
        return None
    path = environ.get("PATH", "")
    native = (target.goos, target.goarch) == host
    for cc in ([f"{prefix}-gcc"] + (["gcc", "cc"] if native else [])):
        found = shutil.which(cc, path=path)
        if found:
            cxx = shutil.which(cc.replace("gcc", "g++"), path=path) or found
            return CToolchain(kind="system", cc=found, cxx=cxx, description=f"system {Path(found).name}")
    return None


def zig_command(environ: dict[str, str]) -> list[str]:
    """How to run zig: $GOBUILDX_ZIG, `zig` on PATH, or the ziglang wheel."""
    explicit = environ.get("GOBUILDX_ZIG")
    if explicit:
        return explicit.split()
    try:
        import ziglang  # type: ignore[import-not-found]  # noqa: F401
        return [sys.executable, "-m", "ziglang"]
    except ImportError:
        pass
    found = shutil.which("zig", path=environ.get("PATH", ""))
    if found:
        return [found]
    raise ToolchainMissing("cgo cross-compilation needs a C compiler: `pip install ziglang` "
                           "(gobuildx uses `zig cc`), or set `cc` for the target in an [[override]]")


def _zig(target: Target, environ: dict[str, str]) -> CToolchain:
    triple = zig_triple(target)
    zig = " ".join(zig_command(environ))
    cpu = f" -mcpu={ARM_CPU[target.goarm]}" if target.goarch == "arm" and target.goarm else ""
    cc = f"{zig} cc -target {triple}{cpu}"
    cxx = f"{zig} c++ -target {triple}{cpu}"
    ext = ["-static"] if target.goos == "linux" and target.libc in ("musl", "static") \
        and target.link == "static" else []
    return CToolchain(kind="zig", cc=cc, cxx=cxx, zig_target=triple,
                      description=f"zig cc -target {triple}{cpu}", extldflags=ext)


def _no_sdk(target: Target) -> str:
    if target.goos == "darwin":
        return (f"{target.id}: cgo for darwin needs the macOS SDK, which is not on this machine; "
                "build on macOS, or set `cc` (e.g. an osxcross o64-clang) for this target in an "
                "[[override]], or set cgo = false")
    return (f"{target.id}: no C toolchain for cgo on {target.goos}/{target.goarch}; set `cc` for "
            "this target in an [[override]], or set cgo = false")


def zig_cache_dir(environ: dict[str, str], cache_root: Path) -> Path:
    """One zig cache shared by every target and run ($ZIG_GLOBAL_CACHE_DIR wins)."""
    return Path(environ.get("ZIG_GLOBAL_CACHE_DIR") or cache_root / "zig")


def describe_all(targets: list[Target], host: tuple[str, str], environ: dict[str, str]) -> list[tuple[str, str]]:
    """(target id, toolchain or the reason there is none), for doctor and the build log."""
    rows = []
    for target in targets:
        try:
            tc = resolve(target, host, environ)
            rows.append((target.id, tc.description if tc else "none (cgo off)"))
        except ToolchainMissing as exc:
            rows.append((target.id, f"MISSING: {exc}"))
    return rows


def host_pair() -> tuple[str, str]:
    machine = os.uname().machine
    arch = {"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "armv7l": "arm",
            "riscv64": "riscv64", "ppc64le": "ppc64le", "s390x": "s390x"}.get(machine, machine)
    return ("linux" if sys.platform.startswith("linux") else sys.platform, arch)
