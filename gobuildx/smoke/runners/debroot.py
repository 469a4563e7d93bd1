"""Debian roots made by debootstrap, cached per suite and architecture, for the deb smoke runner.

The host's own CPU gets a whole minbase root (debootstrap's two stages). A foreign CPU gets
debootstrap's first stage only (`--foreign`: the packages downloaded and unpacked by host
tools): the second stage runs the root's own programs, which needs binfmt_misc, and this
kind of host may not have it. The unpacked packages are then entered in the root's dpkg
database from their own control files, so the host's dpkg (`--root`) checks a package's
dependencies against what the root really holds. A root is made in a temporary sibling and
renamed into place under a lock: a killed debootstrap leaves nothing that looks finished.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from gobuildx.util.files import sibling
from gobuildx.util.lock import file_lock
from gobuildx.util.procs import kill_group, terminate_group

SUITE = "bookworm"
VARIANT = "minbase"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))
DEBOOTSTRAP_TIMEOUT_S = 1800.0
DONE = ".gobuildx-root-v4"  # written last inside a finished root (v3: with INCLUDE; foreign: file lists)
# Besides minbase: musl, the C library a dynamic musl binary's package depends on (its other
# libc-derived dependencies, libc6, libgcc-s1 and libstdc++6, are in minbase already).
INCLUDE = ("musl",)


# The architectures Debian 12 (bookworm) releases: debootstrap can make a root of no other.
SUITE_ARCHES = frozenset({"amd64", "arm64", "armel", "armhf", "i386", "mips64el", "mipsel", "ppc64el", "s390x"})


class RootFailed(Exception):
    """debootstrap could not make the root (no mirror, no root privileges, a download failed)."""


@dataclass(frozen=True)
class Root:
    path: Path
    arch: str  # Debian's name
    foreign: bool  # first stage only (see the module doc)


def mirror(environ: dict[str, str]) -> str:
    """GOBUILDX_DEBIAN_MIRROR, else the first Debian mirror apt is configured with here, else deb.debian.org."""
    if environ.get("GOBUILDX_DEBIAN_MIRROR"):
        return environ["GOBUILDX_DEBIAN_MIRROR"]
    for source in SOURCES:
        try:
            text = source.read_text()
        except OSError:
            continue
        for m in re.finditer(r"^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", text, re.MULTILINE):
            url = m.group(1)
            if url.rstrip("/").endswith("/debian"):
                return url.rstrip("/")
    return DEFAULT_MIRROR


def cache_path(cache_dir: Path, arch: str, suite: str = SUITE) -> Path:
    return cache_dir / "roots" / f"debian-{suite}-{VARIANT}-{arch}"


def ensure(cache_dir: Path, arch: str, host_arch: str, environ: dict[str, str], log: Path) -> Root:
    """The cached root of `arch`, made first if it is not there (minutes, about 40 MB of downloads)."""
    dest = cache_path(cache_dir, arch)
    foreign = arch != host_arch
    if (dest / DONE).is_file():
        return Root(dest, arch, foreign)
    with file_lock(dest.parent / f".{dest.name}.lock"):
        if (dest / DONE).is_file():
            return Root(dest, arch, foreign)
        tmp = sibling(dest)
        discard(tmp)
        argv = ["debootstrap", f"--variant={VARIANT}", f"--arch={arch}", f"--include={','.join(INCLUDE)}"]
        argv += ["--foreign"] if foreign else []
        argv += [SUITE, str(tmp), mirror(environ)]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
        try:
            _run(argv, env, log)
            if foreign:
                register_unpacked(tmp, arch, log)
            (tmp / DONE).write_text(f"{' '.join(argv[:-3])} {SUITE} <root> {argv[-1]}\n")
        except BaseException:
            discard(tmp)
            raise
        discard(dest)  # an unfinished one (no DONE) from a crash before rename
        os.replace(tmp, dest)
    return Root(dest, arch, foreign)


def _run(argv: list[str], env: dict[str, str], log: Path) -> None:
    """Run debootstrap in a mount namespace of its own: the second stage mounts the host's /proc
    and /sys inside the root and unmounts them only from its exit trap, which a SIGKILL (a
    timeout, a second Ctrl-C) skips; in the namespace those mounts end with the process, and
    never reach the host's ~/.cache (where removing the root would walk into them)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        try:
            proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", *argv],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise RootFailed(f"unshare {argv[0]}: {exc}") from None
        try:
            code = proc.wait(timeout=DEBOOTSTRAP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _stop(proc)
            raise RootFailed(f"{argv[0]}: no result in {DEBOOTSTRAP_TIMEOUT_S:g} s (log: {log})") from None
        except BaseException:  # an interrupt
            _stop(proc)
            raise
    if code != 0:
        raise RootFailed(f"{' '.join(argv[:4])} ... failed with exit code {code} (log: {log})")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM first, which debootstrap traps to unmount; SIGKILL what is left after 30 s."""
    terminate_group(proc, 30)
    kill_group(proc)


def mounts_under(path: Path) -> list[str]:
    """The mount points at or below `path` in this process's mount namespace (mountinfo's fifth
    field, with its octal escapes of spaces and tabs undone)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    points = [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4]) for line in lines]
    top = str(path).rstrip("/")
    return [p for p in points if p == top or p.startswith(top + "/")]


def discard(root: Path) -> None:
    """Remove a root (half-made or stale), never walking into something mounted inside it: a
    mount left there is unmounted first (lazily), and if that fails the root is left alone."""
    for point in sorted(mounts_under(root), reverse=True):
        subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)
    left = mounts_under(root)
    if left:
        raise RootFailed(f"{root}: still mounted inside it ({', '.join(left)}); not removed: unmount it by hand")
    shutil.rmtree(root, ignore_errors=True)


def register_unpacked(root: Path, arch: str, log: Path) -> None:
    """Enter the packages the first stage unpacked into the root's dpkg status, each from its own
    control file (`dpkg-deb --field`), and the root's architecture as a foreign one for the host's
    dpkg: then `dpkg --root` installs into it checking dependencies as in a finished root."""
    archives = sorted((root / "var/cache/apt/archives").glob("*.deb"))
    if not archives:
        raise RootFailed(f"{root}: debootstrap --foreign left no packages in var/cache/apt/archives")
    stanzas = []
    admin = root / "var/lib/dpkg"
    (admin / "info").mkdir(parents=True, exist_ok=True)
    # The first stage unpacks the `required` packages only; the `base` ones (minbase: INCLUDE)
    # are left for the second stage: unpack them the same way, so every package entered is there.
    base = (
        set((root / "debootstrap" / "base").read_text().split()) if (root / "debootstrap" / "base").is_file() else set()
    )
    for deb in archives:
        proc = subprocess.run(["dpkg-deb", "--field", str(deb)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RootFailed(f"dpkg-deb --field {deb.name}: {proc.stderr.strip()}")
        fields = proc.stdout.rstrip("\n")
        name = re.search(r"^Package:\s*(\S+)", fields, re.MULTILINE)
        if name and name.group(1) in base:
            unpacked = subprocess.run(["dpkg-deb", "--extract", str(deb), str(root)], capture_output=True, check=False)
            if unpacked.returncode != 0:
                raise RootFailed(f"dpkg-deb --extract {deb.name} failed")
        stanzas.append(_with_status(fields))
        # its file list, so dpkg sees a new package's files clash with the root's own
        (admin / "info" / f"{_info_name(fields)}.list").write_text("\n".join(_files_of(deb)) + "\n")
    (admin / "status").write_text("\n\n".join(stanzas) + "\n")
    with open(log, "ab") as out:
        out.write(f"registered {len(stanzas)} unpacked packages in {admin}/status\n".encode())
    added = subprocess.run(["dpkg", f"--root={root}", "--add-architecture", arch], capture_output=True, text=True)
    if added.returncode != 0:
        raise RootFailed(f"dpkg --root={root} --add-architecture {arch}: {added.stderr.strip()}")


def _info_name(fields: str) -> str:
    """dpkg's name for a package's info files: `name:arch` for a Multi-Arch: same package."""
    name = re.search(r"^Package:\s*(\S+)", fields, re.MULTILINE)
    arch = re.search(r"^Architecture:\s*(\S+)", fields, re.MULTILINE)
    same = re.search(r"^Multi-Arch:\s*same\b", fields, re.MULTILINE)
    base = name.group(1) if name else "unknown"
    return f"{base}:{arch.group(1)}" if same and arch else base


def _files_of(deb: Path) -> list[str]:
    """The paths a .deb installs, as dpkg lists them (/., /usr, /usr/bin/x)."""
    proc = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=False)
    if proc.returncode != 0:
        raise RootFailed(f"dpkg-deb --fsys-tarfile {deb.name} failed")
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        names = ["/" + m.name.removeprefix("./").rstrip("/") for m in tar.getmembers()]
    return ["/." if n == "/" else n for n in names]


def _with_status(fields: str) -> str:
    lines = fields.splitlines()
    return "\n".join([lines[0], "Status: install ok installed", *lines[1:]])
