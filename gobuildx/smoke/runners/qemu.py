"""Run a foreign-CPU Linux artifact with qemu-<arch>-static (no binfmt_misc needed).

Dynamic artifacts get `-L <sysroot>` where their interpreter exists (Debian's
libc6-<arch>-cross); a declared CPU level runs on the lowest CPU that claims it.
"""

from __future__ import annotations

from pathlib import Path

from gobuildx.project import platforms
from gobuildx.project.matrix import Target
from gobuildx.smoke.runners.base import Availability, Job
from gobuildx.smoke.runners.process import CommandRunner, Invocation, base_env
from gobuildx.smoke.runners.tools import elf_interpreter, version, which

PACKAGE = "apt-get install qemu-user-static"

# GOARCH -> qemu-<name>-static, from the per-GOARCH table.
QEMU_ARCH = {a.goarch: a.qemu for a in platforms.ARCHES.values() if a.qemu}


def cpu_for(target: Target) -> str | None:
    if target.goarch == "amd64" and target.goamd64:
        return platforms.AMD64_QEMU_CPU.get(target.goamd64)
    if target.goarch == "arm" and target.goarm:
        level = platforms.ARM_LEVELS.get(target.goarm)
        return level.qemu_cpu if level else None
    return None


def sysroot_for(goarch: str, interp: str, environ: dict[str, str]) -> tuple[str | None, str]:
    """A directory where `interp` exists (for -L), or (None, package to install)."""
    override = environ.get(f"GOBUILDX_SYSROOT_{goarch.upper()}")
    rows = platforms.ARCHES[goarch].sysroots if goarch in platforms.ARCHES else ()
    candidates = list(dict.fromkeys(s.path for s in rows))
    package = " ".join(dict.fromkeys(s.package for s in rows))
    for root in ([override] if override else []) + candidates:
        if (Path(root) / interp.lstrip("/")).exists():
            return root, package
    if "musl" in interp:
        package = f"a {goarch} musl root (set GOBUILDX_SYSROOT_{goarch.upper()} to it)"
    return None, package or f"a {goarch} sysroot (set GOBUILDX_SYSROOT_{goarch.upper()})"


class QemuRunner(CommandRunner):
    name = "qemu"
    install = PACKAGE

    def applies(self, job: Job) -> bool:
        t = job.target
        if t.goos != "linux" or job.host.goos != "linux" or t.goarch not in QEMU_ARCH:
            return False
        return t.goarch != job.host.goarch or bool(t.goamd64)

    def availability(self, environ: dict[str, str]) -> Availability:
        tool = which("qemu-aarch64-static", environ)
        if not tool:
            return Availability(runner=self.name, available=False, detail="qemu-*-static not on PATH", install=PACKAGE)
        arches = sorted(a for a in QEMU_ARCH.values() if which(f"qemu-{a}-static", environ))
        return Availability(
            runner=self.name,
            available=True,
            version=version([tool, "--version"], environ),
            detail=f"{Path(tool).parent}: {' '.join(arches)}",
            install=PACKAGE,
        )

    def unsupported(self, job: Job) -> str | None:
        t = job.target
        exe = f"qemu-{QEMU_ARCH[t.goarch]}-static"
        if not which(exe, job.environ):
            return f"runner unavailable: {exe} not on PATH; install: {PACKAGE}"
        if t.goarch == "amd64" and t.goamd64 and t.goamd64 not in platforms.AMD64_QEMU_CPU:
            return f"QEMU cannot emulate a GOAMD64={t.goamd64} CPU (AVX-512) on this host"
        interp = elf_interpreter(job.artifact)
        if interp:
            root, package = sysroot_for(t.goarch, interp, job.environ)
            if root is None:
                return f"dynamic artifact needs {interp}; no sysroot has it; install: {package}"
        return None

    def invocation(self, job: Job) -> Invocation:
        t = job.target
        argv = [which(f"qemu-{QEMU_ARCH[t.goarch]}-static", job.environ) or "qemu"]
        notes = []
        cpu = cpu_for(t)
        if cpu:
            argv += ["-cpu", cpu]
            notes.append(f"QEMU -cpu {cpu}: the lowest CPU of the declared level")
        interp = elf_interpreter(job.artifact)
        if interp:
            root, _ = sysroot_for(t.goarch, interp, job.environ)
            argv += ["-L", str(root)]
            notes.append(f"dynamic: {interp} from -L {root}")
        argv += [str(job.artifact), *job.check.args]
        return Invocation(
            argv=argv, env=base_env(job), cwd=job.work_dir, notes=notes, contained=True, readable=[job.artifact]
        )  # QEMU reads the artifact: the sandbox's uid must be able to
