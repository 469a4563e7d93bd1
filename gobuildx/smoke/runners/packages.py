"""The `package` smoke level: each Linux package installed by its own package manager, then the
installed binary run as the artifact runners run it (native, or QEMU for a foreign CPU).

* deb:   the real dpkg installs it into a Debian root of the package's architecture
         (debroot.py; a copy per run, so the cache stays clean), and lintian reviews it;
* rpm:   the real rpm reads it (-qip, -qlp) and installs it into an empty root;
* archlinux: the real pacman (Debian's pacman-package-manager) installs it into an empty root;
* apk:   no apk client exists on this host: its structure is read and the verdict is SKIPPED
         with that reason, never passed.

These runners have kind "package": they run in addition to the artifact runner, for every
target whose manifest record lists a package of their format.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from gobuildx.model.package import PackageFormat, PackageRecord
from gobuildx.project import nfpm
from gobuildx.smoke.runners import debroot
from gobuildx.smoke.runners.base import Availability, Job, Runner, SmokeResult
from gobuildx.smoke.runners.native import NativeRunner
from gobuildx.smoke.runners.process import CommandRunner, execute, tail
from gobuildx.smoke.runners.qemu import QEMU_ARCH, QemuRunner
from gobuildx.smoke.runners.tools import version, which

STEP_TIMEOUT_S = 300.0
# lintian tags that cannot apply to a package built outside a Debian source package:
LINTIAN_SUPPRESS = (
    # Go links statically by design. lintian exempts Go binaries only through the source
    # package's Build-Depends on golang-go, and a binary-only deb has no source package.
    "statically-linked-binary",
)
# lintian knows glibc's libc.so.6 only: a binary linked against musl's libc.so (the package
# then depends on musl) is "not linked against libc" to it.
LINTIAN_SUPPRESS_MUSL = ("program-not-linked-against-libc",)


def package_of(job: Job, fmt: PackageFormat) -> PackageRecord | None:
    rec = job.record
    if rec is None or rec.packages is None:
        return None
    return next((p for p in rec.packages.written if p.format == fmt), None)


def package_path(job: Job, p: PackageRecord) -> Path:
    assert job.dist is not None
    return job.dist / p.path


# The PATH the install tools run with: the system's, /usr/local included (where availability()
# may have found one), never the user's whole PATH (a project's bin/ with its own `dpkg`).
TOOL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Step:
    """A command of an install, its output kept for the result (the log has everything)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.commands: list[list[str]] = []
        self.output = ""
        log.parent.mkdir(parents=True, exist_ok=True)
        log.unlink(missing_ok=True)

    def run(self, argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
        self.commands.append(argv)
        try:
            proc = subprocess.run(
                argv,
                env=env or {"PATH": TOOL_PATH, "LANG": "C.UTF-8"},
                capture_output=True,
                text=True,
                timeout=STEP_TIMEOUT_S,
                check=False,
            )
            code, text = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            code, text = -9, f"no result in {STEP_TIMEOUT_S:g} s"
        except OSError as exc:
            code, text = 127, str(exc)
        with open(self.log, "a") as out:
            out.write(f"$ {' '.join(argv)}\n{text}\n[exit {code}]\n")
        self.output += text
        return code, text


class PackageRunner(Runner):
    kind = "package"
    fmt: PackageFormat
    tool: str

    def install_stand_in(
        self, job: Job, p: PackageRecord, step: Step, extra: list[str], install: list[str]
    ) -> SmokeResult | str | None:
        """Install the libc stand-in (libc_stand_in) with `install` + its path, and remove the
        file after: the note for the result, None when the package needs no libc, or the
        failed result."""
        made = libc_stand_in(job, p, step, extra)
        if made is None or isinstance(made, SmokeResult):
            return made
        try:
            code, _ = step.run([*install, str(made)])
        finally:
            shutil.rmtree(made.parent, ignore_errors=True)
        if code != 0:
            return self.failed(job, step, "cannot install the libc stand-in package")
        return f"{', '.join(p.libc_depends)}: checked against a stand-in for the C library it runs with here"

    def applies(self, job: Job) -> bool:
        return job.target.goos == "linux" and package_of(job, self.fmt) is not None

    def availability(self, environ: dict[str, str]) -> Availability:
        found = which(self.tool, environ)
        if not found:
            return Availability(
                runner=self.name, available=False, detail=f"{self.tool} not on PATH", install=self.install
            )
        return Availability(
            runner=self.name,
            available=True,
            version=version([found, "--version"], environ),
            detail=found,
            install=self.install,
        )

    def begin(self, job: Job) -> tuple[PackageRecord, Step]:
        """The job's package of this runner's format, and the log of this run's steps."""
        p = package_of(job, self.fmt)
        assert p is not None  # applies() chose this job for it
        return p, Step(job.work_dir.parent / f"{job.target.id}-{self.name}.log")

    def failed(self, job: Job, step: Step, reason: str) -> SmokeResult:
        return SmokeResult(
            runner=self.name,
            binary=job.binary,
            status="failed",
            reason=reason,
            command=step.commands[-1] if step.commands else [],
            output=tail(step.output),
            log=str(step.log),
        )

    def run_installed(self, job: Job, root: Path, notes: list[str], sysroot: Path | None = None) -> SmokeResult:
        """The installed binary, run as the artifact runners run an artifact (its smoke check)."""
        p = package_of(job, self.fmt)
        assert p is not None
        installed = root / p.bindir.lstrip("/") / job.binary
        environ = dict(job.environ)
        if sysroot is not None:  # QEMU's -L: the root's own loader and libraries
            environ[f"GOBUILDX_SYSROOT_{job.target.goarch.upper()}"] = str(sysroot)
        moved = job.model_copy(update={"artifact": installed, "environ": environ})
        runner: CommandRunner = next((r for r in (NativeRunner(), QemuRunner()) if r.applies(moved)), NativeRunner())
        why = runner.unsupported(moved)
        if why:
            return self.skipped(job, f"installed; cannot run {installed.relative_to(root)} here: {why}")
        inv = runner.invocation(moved)
        ran = f"ran the installed {p.bindir.rstrip('/')}/{job.binary} ({runner.name})"
        inv = inv.model_copy(update={"notes": [*notes, ran]})
        result = execute(self.name, moved, inv)
        return result.model_copy(update={"reason": f"{p.name} installed; {result.reason}"})


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def scratch_root(job: Job, fmt: str) -> Path:
    """Where one install goes: beside the job's work dir (the sandboxed run owns that dir)."""
    return job.work_dir.parent / f".{job.target.id}-{fmt}-root"


class DebRunner(PackageRunner):
    name = "deb"
    fmt = "deb"
    tool = "dpkg"
    install = "apt-get install dpkg debootstrap"

    def availability(self, environ: dict[str, str]) -> Availability:
        a = super().availability(environ)
        if a.available and not which("debootstrap", environ):
            return a.model_copy(update={"available": False, "detail": "debootstrap not on PATH"})
        if a.available and os.geteuid() != 0:
            return a.model_copy(update={"available": False, "detail": "debootstrap and dpkg --root need root"})
        return a

    def run(self, job: Job) -> SmokeResult:
        p, step = self.begin(job)
        host_arch = _deb_host_arch()
        if p.arch not in debroot.SUITE_ARCHES:
            return self.skipped(
                job, f"not installed here: Debian {debroot.SUITE} has no {p.arch} port to make a root of"
            )
        try:
            base = debroot.ensure(job.cache_dir, p.arch, host_arch, job.environ, step.log)
        except debroot.RootFailed as exc:
            return self.failed(job, step, f"no Debian {debroot.SUITE} {p.arch} root: {exc}")
        scripts = deb_scripts(package_path(job, p))
        if base.foreign and scripts and not binfmt_ready(job.target.goarch):
            return self.skipped(
                job,
                f"not installed here: its maintainer scripts ({', '.join(scripts)}) would run chrooted into the "
                f"{p.arch} root, which needs binfmt_misc for QEMU, not set up on this host",
            )
        scratch = scratch_root(job, "deb")
        notes = [f"Debian {debroot.SUITE} {p.arch} root from debootstrap ({base.path})"]
        if base.foreign:
            # The root's architecture is a foreign one of the host's dpkg (debroot added it): no
            # --force-architecture. Maintainer scripts would run chrooted into it (see above).
            notes.append("foreign root: debootstrap's first stage, packages entered from their control files")
        try:
            installed, code, text = self._install(base.path, scratch, package_path(job, p), p.package, step, notes)
            if code == MOUNT_FAILED:
                return self.failed(job, step, "cannot copy or mount the cached root")
            if code != 0:
                return self.failed(job, step, f"dpkg --install failed: {_first_error(text)}")
            if "Status: install ok installed" not in text:
                return self.failed(job, step, f"dpkg does not list {p.package} as installed")
            notes.append(f"dpkg --install into the root: {p.package} {p.version} installed ok")
            return self.run_installed(job, installed, notes, sysroot=base.path if base.foreign else None)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _install(
        self, base: Path, scratch: Path, deb: Path, name: str, step: Step, notes: list[str]
    ) -> tuple[Path, int, str]:
        """dpkg --install into the cached root without changing it: an overlay (the cached root
        below, a fresh upper layer, in a mount namespace of its own) where the host can mount
        one, else a whole copy (about 4 s for 200 MB). Returns where the installed files are,
        dpkg's exit code and output (--install, then --status)."""
        shutil.rmtree(scratch, ignore_errors=True)
        upper, ovl, merged = scratch / "upper", scratch / "work", scratch / "merged"
        for d in (upper, ovl, merged):
            d.mkdir(parents=True)
        mounted = scratch / "mounted"  # made once the overlay is up: dpkg's own failure is not a mount's
        script = (
            'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" || exit 90; : > "$7"; '
            'dpkg --root="$4" --install "$5" && dpkg --root="$4" --status "$6"'
        )
        # --pid --fork --kill-child: a timeout that kills unshare ends dpkg too (the namespace's
        # init dies and takes every process in it), before the scratch dir is removed under it
        argv = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--propagation", "private"]
        argv += ["sh", "-c", script, "sh"]
        code, text = step.run([*argv, str(base), str(upper), str(ovl), str(merged), str(deb), name, str(mounted)])
        # Anything that stopped before dpkg ran (no overlay, or unshare itself refused: a
        # container without CAP_SYS_ADMIN) falls back to a copy.
        if code == 0 or mounted.exists():
            notes.append("installed on an overlay of the cached root (the cache stays as it was)")
            return upper, code, text  # the upper layer holds what dpkg wrote: the installed binary
        shutil.rmtree(scratch, ignore_errors=True)
        root = scratch / "root"
        scratch.mkdir(parents=True)
        code, _ = step.run(["cp", "-a", "--reflink=auto", str(base), str(root)])
        if code != 0:
            return root, MOUNT_FAILED, ""
        notes.append("installed on a copy of the cached root (no overlay mount here)")
        code, text = step.run(["dpkg", f"--root={root}", "--install", str(deb)])
        if code != 0:
            return root, code, text
        code, status = step.run(["dpkg", f"--root={root}", "--status", name])
        return root, code, text + status


MOUNT_FAILED = 90  # the install script's exit code when the overlay cannot be mounted


MAINTAINER_SCRIPTS = ("preinst", "postinst", "prerm", "postrm")


def deb_scripts(deb: Path) -> list[str]:
    """The maintainer scripts a .deb holds (its control archive, read with dpkg-deb)."""
    proc = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=False)
    if proc.returncode != 0:
        return []
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        names = {PurePosixPath(m.name).name for m in tar.getmembers()}
    return [s for s in MAINTAINER_SCRIPTS if s in names]


def binfmt_ready(goarch: str) -> bool:
    """Whether the kernel runs this CPU's programs through QEMU itself (binfmt_misc), as a
    chroot into a foreign root needs."""
    qemu = QEMU_ARCH.get(goarch)
    entry = Path("/proc/sys/fs/binfmt_misc") / f"qemu-{qemu}"
    try:
        return qemu is not None and entry.read_text().startswith("enabled")
    except OSError:
        return False


def _deb_host_arch() -> str:
    proc = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=False)
    return proc.stdout.strip() or "amd64"


def _first_error(text: str) -> str:
    lines = [ln for ln in text.splitlines() if "error" in ln.lower() or "depend" in ln.lower()]
    return (lines[0] if lines else text.strip().splitlines()[-1] if text.strip() else "").strip()[:300]


class LintianRunner(PackageRunner):
    name = "lintian"
    fmt = "deb"
    tool = "lintian"
    install = "apt-get install lintian"

    def run(self, job: Job) -> SmokeResult:
        p, step = self.begin(job)
        tags = LINTIAN_SUPPRESS + (LINTIAN_SUPPRESS_MUSL if "musl" in p.libc_depends else ())
        argv = ["lintian", "--suppress-tags", ",".join(tags), str(package_path(job, p))]
        code, text = step.run(argv, {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(job.work_dir)})
        errors = [ln for ln in text.splitlines() if ln.startswith("E: ")]
        warnings = [ln for ln in text.splitlines() if ln.startswith("W: ")]
        if errors or code not in (0, 1):
            return self.failed(job, step, f"lintian: {len(errors)} error(s): {errors[0] if errors else text[-200:]}")
        detail = f", {len(warnings)} warning(s)" if warnings else ""
        return SmokeResult(
            runner=self.name,
            binary=job.binary,
            status="passed",
            reason=f"lintian: no errors{detail} on {p.name}",
            command=argv,
            output=tail(text),
            log=str(step.log),
            notes=[f"suppressed: {t} (cannot apply to this package: see LINTIAN_SUPPRESS)" for t in tags],
        )


def host_glibc() -> str | None:
    """The glibc the installed binary runs with here (the host's; QEMU's sysroots are the same Debian's)."""
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        return None
    m = re.match(r"glibc (\d+\.\d+)", text)
    return m.group(1) if m else None


class RpmRunner(PackageRunner):
    name = "rpm"
    fmt = "rpm"
    tool = "rpm"
    install = "apt-get install rpm"

    def run(self, job: Job) -> SmokeResult:
        p, step = self.begin(job)
        pkg = package_path(job, p)
        for query in ("-qip", "-qlp"):
            code, _ = step.run(["rpm", query, str(pkg)])
            if code != 0:
                return self.failed(job, step, f"rpm {query} cannot read {p.name}")
        root = _fresh(scratch_root(job, "rpm"))
        try:
            code, _ = step.run(["rpm", "--root", str(root), "--initdb"])
            if code != 0:
                return self.failed(job, step, "rpm --initdb failed")
            notes = [f"rpm -qip and -qlp read {p.name}; installed into an empty root"]
            install = ["rpm", "--root", str(root), "--install", "--ignorearch", "--nosignature"]
            stood = self.install_stand_in(job, p, step, ["libgcc", "libstdc++"], install)
            if isinstance(stood, SmokeResult):
                return stood
            notes += [stood] if stood else []
            argv = ["rpm", "--root", str(root), "--install", "--nosignature"]
            if not _same_cpu(job):
                argv.append("--ignorearch")  # a foreign CPU's package into this host's root
                notes.append("--ignorearch: an aarch64 (etc.) package installed by the host's rpm")
            others = [d for d in p.depends if d not in p.libc_depends]
            if others:
                argv.append("--nodeps")  # an empty root has none of the user's own dependencies
                notes.append(f"--nodeps: an empty root has none of {', '.join(others)}")
            _, scripts = step.run(["rpm", "-qp", "--scripts", str(pkg)])
            if scripts.strip():
                # rpm runs scriptlets chrooted into the root, which has no /bin/sh: they would
                # fail (rpm only warns), so they are not run, and the result says so
                argv.append("--noscripts")
                notes.append("--noscripts: its scriptlets need a shell, which an empty root has not (not run)")
            code, text = step.run([*argv, str(pkg)])
            if code != 0 or "scriptlet failed" in text:
                return self.failed(job, step, f"rpm --install failed: {text.strip().splitlines()[-1:]}")
            code, _ = step.run(["rpm", "--root", str(root), "-q", p.package])
            if code != 0:
                return self.failed(job, step, f"rpm -q does not find {p.package} installed")
            return self.run_installed(job, root, notes)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def libc_stand_in(job: Job, p: PackageRecord, step: Step, extra: list[str]) -> Path | SmokeResult | None:
    """An empty root has no C library package for `glibc >= 2.17` (or `musl`) to be checked
    against: a stand-in package of the same format (made by nfpm) provides it, glibc at the
    version the installed binary really runs with here, so the package manager itself decides
    whether the declared floor is met (never a --nodeps for it). None: no libc dependency."""
    if not p.libc_depends:
        return None
    provides = list(extra)
    for dep in p.libc_depends:
        name = re.match(r"[\w.+-]+", dep)
        if name is None:
            continue
        if name.group(0) == "glibc":
            have = host_glibc()
            if have is None:
                return SmokeResult(
                    runner=p.format,
                    binary=job.binary,
                    status="skipped",
                    reason="the host's glibc version is unknown: nothing to check the libc dependency against",
                )
            provides.append(f"glibc = {have}" if p.format == "rpm" else f"glibc={have}")
        else:
            provides.append(name.group(0))  # musl: unversioned, as the dependency is
    exe = nfpm.ensure(job.cache_dir, job.environ)
    work = job.work_dir.parent / f".{job.target.id}-{p.format}-stand-in"
    dest = work / f"stand-in{nfpm.EXTENSIONS[p.format]}"
    cfg = {
        "name": "gobuildx-libc-stand-in",
        "arch": p.arch,
        "version": host_glibc() or "1.0",
        "maintainer": "gobuildx <gobuildx@localhost>",
        "description": "stands for the C library the smoke run uses",
        "provides": provides,
        "rpm": {"buildhost": "gobuildx"},
    }
    step.commands.append(["nfpm", "package", "--packager", p.format, "(libc stand-in)"])
    nfpm.package(exe, nfpm.Job(config=cfg, packager=p.format, dest=dest, work_dir=work, epoch=0))
    return dest


def _same_cpu(job: Job) -> bool:
    return job.target.goarch == job.host.goarch


class PacmanRunner(PackageRunner):
    name = "pacman"
    fmt = "archlinux"
    tool = "pacman"
    install = "apt-get install pacman-package-manager"

    def availability(self, environ: dict[str, str]) -> Availability:
        a = super().availability(environ)
        if not a.available:
            return a
        # `pacman --version` draws its logo first: the version is on a later line
        proc = subprocess.run(["pacman", "--version"], capture_output=True, text=True, env=environ, check=False)
        m = re.search(r"Pacman v\S+", proc.stdout)
        return a.model_copy(update={"version": m.group(0) if m else a.version})

    def run(self, job: Job) -> SmokeResult:
        p, step = self.begin(job)
        pkg = package_path(job, p)
        root = _fresh(scratch_root(job, "pacman"))
        try:
            db = root / "var/lib/pacman"
            db.mkdir(parents=True)
            conf = root.parent / f".{job.target.id}-pacman.conf"
            # Architecture: the package's (a foreign CPU's package into this host's root);
            # no signature for a local file built here; no hooks, no scripts' chroot needs.
            conf.write_text(f"[options]\nArchitecture = {p.arch}\nLocalFileSigLevel = Never\nSigLevel = Never\n")
            argv = ["pacman", "--config", str(conf), "--root", str(root), "--dbpath", str(db), "--noconfirm"]
            argv += ["--noscriptlet", "--cachedir", str(root / "cache"), "--logfile", str(root / "pacman.log")]
            notes = [f"pacman -U into an empty root (Architecture = {p.arch})"]
            stood = self.install_stand_in(job, p, step, ["gcc-libs"], [*argv, "-U"])
            if isinstance(stood, SmokeResult):
                return stood
            notes += [stood] if stood else []
            others = [d for d in p.depends if d not in p.libc_depends]
            if others:
                argv += ["--nodeps", "--nodeps"]  # -dd: an empty root has none of the user's own dependencies
                notes.append(f"--nodeps: an empty root has none of {', '.join(others)}")
            if _has_install_script(pkg):
                notes.append("--noscriptlet: its .INSTALL needs a shell, which an empty root has not (not run)")
            code, text = step.run([*argv, "-U", str(pkg)])
            if code != 0:
                return self.failed(job, step, f"pacman -U failed: {text.strip().splitlines()[-1:]}")
            code, _ = step.run(["pacman", "--root", str(root), "--dbpath", str(db), "-Q", p.package])
            if code != 0:
                return self.failed(job, step, f"pacman -Q does not find {p.package}")
            return self.run_installed(job, root, notes)
        finally:
            shutil.rmtree(root, ignore_errors=True)
            (root.parent / f".{job.target.id}-pacman.conf").unlink(missing_ok=True)


def _has_install_script(pkg: Path) -> bool:
    """Whether an archlinux package (a zstd tar, listed by GNU tar with zstd) holds an .INSTALL script."""
    proc = subprocess.run(["tar", "--zstd", "-tf", str(pkg)], capture_output=True, text=True, check=False)
    return ".INSTALL" in proc.stdout.split()


class ApkRunner(PackageRunner):
    """No apk client can be had here: Debian 12 packages no apk-tools, and the Go module proxy
    this machine reaches serves no version of github.com/chainguard-dev/go-apk nor
    chainguard.dev/apko (checked 2026-12-01). Read the package's structure and say so, SKIPPED."""

    name = "apk"
    fmt = "apk"
    tool = "tar"
    install = "(none on Debian 12: Alpine's apk-tools is not packaged for Debian)"

    def availability(self, environ: dict[str, str]) -> Availability:
        return Availability(
            runner=self.name,
            available=True,
            version=None,
            detail="no apk client here: a structure check, reported skipped (never passed)",
            install=self.install,
        )

    def run(self, job: Job) -> SmokeResult:
        p = package_of(job, self.fmt)
        assert p is not None
        problems, members = apk_structure(package_path(job, p).read_bytes(), f"{p.bindir.strip('/')}/{job.binary}")
        if problems:
            return SmokeResult(
                runner=self.name, binary=job.binary, status="failed", reason=f"{p.name}: {'; '.join(problems)}"
            )
        return self.skipped(
            job,
            f"not installed here: no apk client on this Debian host (apk-tools is Alpine's only); structure checked: "
            f".PKGINFO and {len(members)} files, {p.bindir.strip('/')}/{job.binary} among them",
        )


def apk_structure(data: bytes, member: str) -> tuple[list[str], list[str]]:
    """An apk is gzip streams concatenated: [signature], control (.PKGINFO), data. Read them all."""
    members: list[str] = []
    problems: list[str] = []
    pkginfo = ""
    rest = data
    streams = 0
    while rest:
        d = zlib.decompressobj(16 + 15)
        try:
            raw = d.decompress(rest)
        except zlib.error as exc:
            problems.append(f"gzip stream {streams + 1} is broken: {exc}")
            break
        rest = d.unused_data
        streams += 1
        with tarfile.open(fileobj=io.BytesIO(raw + b"\0" * 1024), mode="r:") as tar:
            for m in tar.getmembers():
                members.append(m.name)
                if m.name == ".PKGINFO":
                    f = tar.extractfile(m)
                    pkginfo = f.read().decode() if f else ""
    if not pkginfo:
        problems.append("no .PKGINFO")
    elif not re.search(r"^pkgname = ", pkginfo, re.MULTILINE):
        problems.append(".PKGINFO names no pkgname")
    if member not in members:
        problems.append(f"{member} is not in it")
    return problems, [m for m in members if not m.startswith(".")]


def runners() -> list[Runner]:
    return [DebRunner(), LintianRunner(), RpmRunner(), PacmanRunner(), ApkRunner()]
