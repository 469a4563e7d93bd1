"""wasip1/wasm under the wasmtime package; js/wasm under Node with Go's wasm_exec_node.js."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

from gobuildx.smoke.runners.base import Availability, Job
from gobuildx.smoke.runners.process import CommandRunner, Invocation, base_env
from gobuildx.smoke.runners.tools import version, which

NO_SOCKETS = "server mode needs a listening socket, which {0} programs cannot open"


class WasmtimeRunner(CommandRunner):
    name = "wasmtime"
    install = "pip install wasmtime"

    def applies(self, job: Job) -> bool:
        return (job.target.goos, job.target.goarch) == ("wasip1", "wasm")

    def availability(self, environ: dict[str, str]) -> Availability:
        try:
            ver = importlib.metadata.version("wasmtime")
        except importlib.metadata.PackageNotFoundError:
            return Availability(
                runner=self.name, available=False, detail=f"not installed in {sys.executable}", install=self.install
            )
        return Availability(
            runner=self.name, available=True, version=f"wasmtime-py {ver}", detail=sys.executable, install=self.install
        )

    def unsupported(self, job: Job) -> str | None:
        if job.check.server:
            return NO_SOCKETS.format("wasip1")
        if not self.availability(job.environ).available:
            return f"runner unavailable: the wasmtime package is not installed; install: {self.install}"
        return None

    def invocation(self, job: Job) -> Invocation:
        argv = [sys.executable, "-m", "gobuildx.smoke.runners.wasi_main"]
        for key, value in job.check.env.items():
            argv += ["--env", f"{key}={value}"]
        argv += [str(job.artifact), *job.check.args]
        env = {
            "PATH": job.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": job.environ.get("HOME", str(job.cache_dir)),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        if "PYTHONPATH" in job.environ:
            env["PYTHONPATH"] = job.environ["PYTHONPATH"]
        return Invocation(argv=argv, env=env, cwd=job.work_dir)


def wasm_exec_node(goroot: Path) -> Path | None:
    """Go 1.24+ keeps it in lib/wasm; older Go in misc/wasm."""
    for rel in ("lib/wasm/wasm_exec_node.js", "misc/wasm/wasm_exec_node.js"):
        if (goroot / rel).is_file():
            return goroot / rel
    return None


class NodeRunner(CommandRunner):
    name = "node"
    install = "apt-get install nodejs"

    def applies(self, job: Job) -> bool:
        return (job.target.goos, job.target.goarch) == ("js", "wasm")

    def availability(self, environ: dict[str, str]) -> Availability:
        tool = which("node", environ)
        if not tool:
            return Availability(runner=self.name, available=False, detail="node not on PATH", install=self.install)
        return Availability(
            runner=self.name,
            available=True,
            version=version([tool, "--version"], environ),
            detail=tool,
            install=self.install,
        )

    def unsupported(self, job: Job) -> str | None:
        if job.check.server:
            return NO_SOCKETS.format("js/wasm")
        if not which("node", job.environ):
            return f"runner unavailable: node not on PATH; install: {self.install}"
        if wasm_exec_node(job.goroot) is None:
            return f"wasm_exec_node.js not found in {job.goroot}/lib/wasm or misc/wasm"
        return None

    def invocation(self, job: Job) -> Invocation:
        script = wasm_exec_node(job.goroot)
        argv = [which("node", job.environ) or "node", str(script), str(job.artifact), *job.check.args]
        # Sandboxed like a native run: Go's wasm_exec gives the program Node's whole `fs` module.
        # The script's folder: wasm_exec_node.js loads wasm_exec.js beside it.
        readable = [script.parent, job.artifact] if script else [job.artifact]
        return Invocation(argv=argv, env=base_env(job), cwd=job.work_dir, contained=True, readable=readable)
