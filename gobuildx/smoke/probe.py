"""The smoke check `gobuildx init` proposes: the first usual argument the host's binary answers.

The default check runs a binary with no arguments and stdin closed; an interactive program
then fails without a terminal ("inappropriate ioctl for device") and a daemon runs until the
timeout. So init builds the host's own target and runs it, contained as a smoke run is
(util/sandbox, stdin closed, the process group killed after PROBE_TIMEOUT_S), with each of
CANDIDATES in turn; the first that exits 0 and prints something becomes [smoke].args.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from gobuildx.smoke.runners.base import Check
from gobuildx.smoke.runners.process import Invocation, Outcome, run_logged
from gobuildx.util import sandbox

CANDIDATES: tuple[tuple[str, ...], ...] = (("--version",), ("-version",), ("version",), ("--help",), ("-h",))
PROBE_TIMEOUT_S = 3.0
PROBE_LIMITS = sandbox.Limits(memory_mib=512, processes=64, file_size_mib=16)


@dataclass(frozen=True)
class Tried:
    """One probe run: its arguments and what it did."""

    args: tuple[str, ...]
    exit_code: int | None
    timed_out: bool
    output: str

    @property
    def works(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and bool(self.output.strip())

    def describe(self) -> str:
        if self.timed_out:
            return f"{' '.join(self.args)}: still running after {PROBE_TIMEOUT_S:g} s"
        said = "printed nothing" if not self.output.strip() else f"printed {len(self.output.strip())} characters"
        return f"{' '.join(self.args)}: exit code {self.exit_code}, {said}"


def run_once(binary: Path, args: tuple[str, ...], work: Path, environ: dict[str, str]) -> Tried:
    """One contained run of `binary args`, stdin closed, killed after PROBE_TIMEOUT_S."""
    check = Check(args=list(args), timeout_s=PROBE_TIMEOUT_S)
    inv = Invocation(argv=[str(binary), *args], env={"PATH": "/usr/bin:/bin"}, cwd=work, contained=True)
    spec = sandbox.Spec(limits=PROBE_LIMITS, label="init-probe")
    box = sandbox.contain(inv.argv, inv.env, work, spec, environ)
    try:
        outcome: Outcome = run_logged(inv, work / "probe.log", check, box)
        code = box.program_exit(outcome.exit_code)
    finally:
        box.close()
    return Tried(args=args, exit_code=code, timed_out=outcome.timed_out, output=outcome.output)


def probe(binary: Path, environ: dict[str, str]) -> tuple[Tried | None, list[Tried]]:
    """The first candidate that works (None: none did), and every run tried up to it."""
    tried: list[Tried] = []
    with tempfile.TemporaryDirectory(prefix="gobuildx-probe-") as tmp:
        work = Path(tmp)
        work.chmod(0o777)  # the contained run may be another uid; the directory is its own
        for args in CANDIDATES:
            result = run_once(binary, args, work, environ)
            tried.append(result)
            if result.works:
                return result, tried
    return None, tried


def smoke_comment(chosen: Tried | None, tried: list[Tried], binary: str) -> str:
    """The comment above the [smoke] table init writes (or in its place, when none worked)."""
    lines = [f"# `gobuildx init` ran the host's {binary} (sandboxed, stdin closed, {PROBE_TIMEOUT_S:g} s each):"]
    lines += [f"#   {t.describe()}" for t in tried]
    if chosen is None:
        lines.append("# none worked, so no [smoke] table: add one with the args your program answers, e.g.")
        lines.append('# [smoke]\n# args = ["--version"]\n# expect = "..."')
    else:
        lines.append(f"# the first that exits 0 with output is the check: {' '.join(chosen.args)}")
    return "\n".join(lines) + "\n"
