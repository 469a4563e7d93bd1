"""Build gobuildx's bcryptprimitives.dll (ProcessPrng for Wine < 9) once, into the cache."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from gobuildx.errors import ToolchainMissing
from gobuildx.project.toolchain import zig_command
from gobuildx.smoke.runners.tools import which
from gobuildx.util.files import sibling
from gobuildx.util.lock import file_lock

SOURCE = Path(__file__).resolve().parent / "shims" / "processprng.c"
DLL_NAME = "bcryptprimitives.dll"
BUILD_TIMEOUT_S = 1800.0  # zig's first Windows build compiles mingw's libc: minutes on 2 cores


class ShimError(Exception):
    pass


def shim_path(cache_dir: Path) -> Path:
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    return cache_dir / "shims" / f"bcryptprimitives-{digest}.dll"


def ensure_shim(cache_dir: Path, environ: dict[str, str]) -> tuple[Path, bool]:
    """The built DLL, and whether this call had to build it."""
    out = shim_path(cache_dir)
    if out.is_file():
        return out, False
    with file_lock(out.parent / ".build.lock"):
        if out.is_file():
            return out, False
        tmp = sibling(out)
        run_compiler(compiler(cache_dir, environ, tmp), environ, cache_dir)
        os.replace(tmp, out)
        for extra in tmp.parent.glob(f".{out.name}.tmp-*.lib"):
            extra.unlink(missing_ok=True)
        return out, True


def compiler(cache_dir: Path, environ: dict[str, str], output: Path) -> list[str]:
    """zig cc from the ziglang package (always here with gobuildx), else mingw-w64 gcc."""
    flags = ["-shared", "-O2", "-s", "-o", str(output), str(SOURCE)]
    try:
        return [*zig_command(environ), "cc", "-target", "x86_64-windows-gnu", *flags]
    except ToolchainMissing:
        gcc = which("x86_64-w64-mingw32-gcc", environ)
        if gcc:
            return [gcc, *flags]
    raise ShimError(
        "no C compiler for the ProcessPrng shim: pip install ziglang, or apt-get install gcc-mingw-w64-x86-64"
    )


def run_compiler(argv: list[str], environ: dict[str, str], cache_dir: Path) -> None:
    from gobuildx.project.toolchain import zig_cache_dir

    env = {
        "PATH": environ.get("PATH", "/usr/bin:/bin"),
        "HOME": environ.get("HOME", str(cache_dir)),
        "ZIG_GLOBAL_CACHE_DIR": str(zig_cache_dir(environ, cache_dir)),
    }
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ShimError(f"building the ProcessPrng shim timed out after {BUILD_TIMEOUT_S:g}s") from None
    if proc.returncode != 0:
        raise ShimError(f"building the ProcessPrng shim failed ({' '.join(argv)}):\n{proc.stderr[-2000:]}")
