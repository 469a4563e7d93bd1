"""Run Windows artifacts under Wine, in a prefix gobuildx creates once in its cache.

Each run gets a scratch prefix of its own (`scratch_prefix`): a copy of the few megabytes Wine
writes (its registry, the users' folders) beside links to the rest (C:\\windows, 687 MB), which
the sandbox shows read-only. So nothing a program does to its prefix reaches the next run, and
the program, run as an unprivileged uid, owns its prefix as Wine insists.

Wine 8 has no bcryptprimitives.dll, so Go >= 1.22 programs die at start ("bcryptprimitives.dll
not found"); gobuildx then puts its own DLL exporting ProcessPrng in the prefix's system32
and says so in every result's notes.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from pathlib import Path
from typing import IO

from gobuildx.smoke.runners.base import Availability, Job, SmokeResult
from gobuildx.smoke.runners.process import (
    CommandRunner,
    Invocation,
    base_env,
    execute,
    kill_group,
)
from gobuildx.smoke.runners.tools import version, which
from gobuildx.smoke.runners.wineshim import DLL_NAME, ShimError, ensure_shim
from gobuildx.util.files import write_atomic
from gobuildx.util.lock import file_lock

PACKAGE = "apt-get install wine64"
OVERRIDE = "GOBUILDX_WINE"  # the Wine loader or launcher to use, by absolute path
# Debian 12's wine64 package installs only the loader, here, and nothing on PATH: the `wine`
# launcher script comes with the separate `wine` package. Fedora-style layouts use lib64.
LOADER_DIRS = (Path("/usr/lib/wine"), Path("/usr/lib64/wine"))
WINE32_PACKAGE = "dpkg --add-architecture i386 && apt-get update && apt-get install wine32:i386"
# The big, read-only part of a prefix: linked from each scratch prefix, never copied.
SHARED = ("drive_c/windows", "drive_c/Program Files", "drive_c/Program Files (x86)")
BOOT_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 30.0
READY = ".gobuildx-ready"
_serial = itertools.count()  # scratch prefixes of one process, each run its own
SHIM_NOTE = (
    f"Wine lacks {DLL_NAME} (ProcessPrng, needed by Go >= 1.22): gobuildx supplied its own "
    "shim (ProcessPrng -> advapi32!SystemFunction036) in the prefix's system32"
)


class WineRunner(CommandRunner):
    name = "wine"
    install = PACKAGE

    def applies(self, job: Job) -> bool:
        return (
            job.target.goos == "windows"
            and job.target.goarch in ("amd64", "386")
            and job.host.goos == "linux"
            and job.host.goarch == "amd64"
        )

    def availability(self, environ: dict[str, str]) -> Availability:
        tool, why = find_wine(environ)
        if not tool:
            return Availability(runner=self.name, available=False, detail=why, install=PACKAGE)
        return Availability(
            runner=self.name,
            available=True,
            version=version([tool, "--version"], wine_env(environ)),
            detail=tool,
            install=PACKAGE,
        )

    def unsupported(self, job: Job) -> str | None:
        tool, why = find_wine(job.environ)
        if not tool:
            return f"runner unavailable: {why}; install: {PACKAGE}"
        if job.target.goarch == "386" and not Path("/usr/lib/wine/wine").exists():
            return f"runner unavailable: 32-bit Wine is not installed; install: {WINE32_PACKAGE}"
        return None

    def run(self, job: Job) -> SmokeResult:
        why = self.unsupported(job)
        if why:
            return self.skipped(job, why)
        try:
            inv = self.invocation(job)
        except (ShimError, PrefixError, OSError) as exc:
            return SmokeResult(
                runner=self.name,
                binary=job.binary,
                status="failed",
                reason=f"could not prepare Wine: {str(exc).splitlines()[0]}",
                output=str(exc)[-4000:],
            )
        try:
            return execute(self.name, job, inv)
        finally:
            shutil.rmtree(inv.owned[0], ignore_errors=True)  # the scratch prefix: this run's only

    def invocation(self, job: Job) -> Invocation:
        """Makes the run's scratch prefix (the caller removes it): Wine writes its registry and
        server state there."""
        template, notes = ensure_prefix(job.cache_dir, job.environ)
        prefix = scratch_prefix(template, job.work_dir / f".wine-prefix-{job.binary}-{os.getpid()}-{next(_serial)}")
        env = {**wine_env(job.environ), **base_env(job), "WINEPREFIX": str(prefix)}
        env.update(job.check.env)
        argv = [wine_program(job.environ), str(job.artifact), *job.check.args]
        return Invocation(
            argv=argv,
            env=env,
            cwd=job.work_dir,
            notes=notes,
            contained=True,
            owned=[prefix],
            readable=[template, job.artifact],
        )


class PrefixError(Exception):
    pass


def find_wine(environ: dict[str, str]) -> tuple[str | None, str]:
    """The Wine program to run, or None and why not: $GOBUILDX_WINE if set (and only it, so a
    wrong value is reported, not papered over), else `wine` or `wine64` on PATH, else the
    loader where the distribution installs it off PATH (Debian's wine64 package)."""
    explicit = environ.get(OVERRIDE)
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit, explicit
        return None, f"{OVERRIDE}={explicit} is not an executable file"
    for name in ("wine", "wine64"):
        found = which(name, environ)
        if found:
            return found, found
    for folder in LOADER_DIRS:
        loader = folder / "wine64"
        if loader.is_file() and os.access(loader, os.X_OK):
            return str(loader), str(loader)
    dirs = ", ".join(str(d) for d in LOADER_DIRS)
    return None, f"no wine or wine64 on PATH, no wine64 loader in {dirs}, and {OVERRIDE} is not set"


def wine_program(environ: dict[str, str]) -> str:
    return find_wine(environ)[0] or "wine"


def find_wineserver(environ: dict[str, str]) -> str:
    """The wineserver of the Wine that find_wine chose: beside its loader (Debian puts
    wineserver64 in /usr/lib/wine), else on PATH."""
    folder = Path(os.path.realpath(wine_program(environ))).parent
    for name in ("wineserver64", "wineserver"):
        if (folder / name).is_file() and os.access(folder / name, os.X_OK):
            return str(folder / name)
    return which("wineserver", environ) or "wineserver"


def wine_env(environ: dict[str, str]) -> dict[str, str]:
    """Headless, quiet Wine: no display, no debug channels, no Mono/Gecko installer prompts."""
    return {
        "PATH": environ.get("PATH", "/usr/bin:/bin"),
        "HOME": environ.get("HOME", "/root"),
        "WINEDEBUG": "-all",
        "WINEDLLOVERRIDES": "mscoree,mshtml=;winemenubuilder.exe=d",
    }


def prefix_dir(cache_dir: Path, environ: dict[str, str]) -> Path:
    ver = version([wine_program(environ), "--version"], wine_env(environ)) or "wine"
    return cache_dir / "wine" / f"prefix-{ver.split()[0].replace('/', '_')}"


def ensure_prefix(cache_dir: Path, environ: dict[str, str]) -> tuple[Path, list[str]]:
    """Create the prefix once (under a lock shared by every gobuildx process) and add the shim."""
    prefix = prefix_dir(cache_dir, environ)
    marker = prefix / READY
    if not marker.is_file():
        with file_lock(prefix.parent / f".{prefix.name}.lock"):
            if not marker.is_file():
                create_prefix(prefix, environ)
                install_shim_if_missing(prefix, cache_dir, environ)
                # atomically (a reader sees no marker or all of it); the prefix lock makes one writer
                write_atomic(marker, b"shim\n" if shim_installed(prefix) else b"builtin\n")
    notes = [SHIM_NOTE] if marker.read_text().strip() == "shim" else []
    return prefix, notes


def create_prefix(prefix: Path, environ: dict[str, str], timeout_s: float = BOOT_TIMEOUT_S) -> None:
    if prefix.exists():
        shutil.rmtree(prefix)  # a half-made prefix from an interrupted run
    prefix.parent.mkdir(parents=True, exist_ok=True)
    env = {**wine_env(environ), "WINEPREFIX": str(prefix)}
    wine = wine_program(environ)
    log = prefix.parent / f"{prefix.name}.wineboot.log"
    # Output to a file, not a pipe: Wine's services inherit it and outlive wineboot.
    with open(log, "wb") as out:
        try:
            code = run_in_own_group([wine, "wineboot", "--init"], env, out, timeout_s)
        except (OSError, subprocess.TimeoutExpired) as exc:
            stop_prefix(env, find_wineserver(environ))
            raise PrefixError(f"wineboot --init in {prefix} failed: {exc} (log: {log})") from None
    if code != 0 or not system32(prefix).is_dir():
        text = log.read_text(errors="replace")[-1500:]
        raise PrefixError(f"wineboot --init in {prefix} exited {code} (log: {log}): {text}")


def run_in_own_group(argv: list[str], env: dict[str, str], out: IO[bytes], timeout_s: float) -> int:
    """Run argv in a new session; on timeout (or any interruption) kill its whole process group
    (wineboot and the explorer it started), reap it and re-raise."""
    proc = subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        return proc.wait(timeout=timeout_s)
    except BaseException:
        kill_group(proc)
        raise


def stop_prefix(env: dict[str, str], server: str) -> None:
    """Kill what is left of the prefix in env: wineserver and its services each run in a session
    of their own, out of reach of the group kill. Best effort: wineboot has failed already."""
    try:
        subprocess.run(
            [server, "-k"], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=STOP_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        pass


def scratch_prefix(template: Path, dest: Path) -> Path:
    """A prefix for one run: the template copied but for SHARED, which are symlinks into it
    (read-only in the sandbox, since the template is not among the paths it may write)."""
    shared = {template / name for name in SHARED}
    if dest.exists():
        shutil.rmtree(dest)

    def skip(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if Path(folder) / n in shared} | ({READY} if Path(folder) == template else set())

    shutil.copytree(template, dest, symlinks=True, ignore=skip)
    for path in sorted(shared):
        if path.exists():
            (dest / path.relative_to(template)).symlink_to(path)
    return dest


def system32(prefix: Path) -> Path:
    return prefix / "drive_c" / "windows" / "system32"


def shim_installed(prefix: Path) -> bool:
    return (system32(prefix) / f"{DLL_NAME}.gobuildx").is_file()


def install_shim_if_missing(prefix: Path, cache_dir: Path, environ: dict[str, str]) -> None:
    dest = system32(prefix) / DLL_NAME
    if dest.exists():
        return  # Wine >= 9 ships its own
    dll, _ = ensure_shim(cache_dir, environ)
    shutil.copyfile(dll, dest)
    (system32(prefix) / f"{DLL_NAME}.gobuildx").write_text(f"{dll}\n")
