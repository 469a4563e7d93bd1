"""Run an artifact built for the host's own OS and CPU directly."""

from __future__ import annotations

import platform
from pathlib import Path

from gobuildx.smoke.runners.base import Availability, Job
from gobuildx.smoke.runners.process import CommandRunner, Invocation, base_env
from gobuildx.smoke.runners.tools import elf_interpreter

MUSL_PACKAGE = "apt-get install musl"


class NativeRunner(CommandRunner):
    name = "native"
    install = "(built in)"

    def applies(self, job: Job) -> bool:
        t = job.target
        if t.goos != job.host.goos or t.goamd64:
            return False  # a declared CPU level is checked on the lowest CPU of that level, under QEMU
        # An amd64 Linux kernel runs i386 programs itself (qemu-i386 7.2 cannot run Go's 386 runtime).
        return t.goarch == job.host.goarch or (t.goos, t.goarch, job.host.goarch) == ("linux", "386", "amd64")

    def availability(self, environ: dict[str, str]) -> Availability:
        return Availability(
            runner=self.name, available=True, version=platform.platform(), detail="runs host-native artifacts directly"
        )

    def unsupported(self, job: Job) -> str | None:
        interp = elf_interpreter(job.artifact) if job.target.goos == "linux" else None
        if interp and not Path(interp).exists():
            hint = f"; install: {MUSL_PACKAGE}" if "musl" in interp else ""
            return f"its interpreter {interp} is not on this host{hint}"
        return None

    def invocation(self, job: Job) -> Invocation:
        return Invocation(
            argv=[str(job.artifact), *job.check.args], env=base_env(job), cwd=job.work_dir, contained=True
        )
