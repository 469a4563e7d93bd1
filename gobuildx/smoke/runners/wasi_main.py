"""`python -m gobuildx.smoke.runners.wasi_main [--env K=V]... MODULE.wasm [ARGS...]`

Runs a wasip1 module with the wasmtime package, in its own process so the smoke stage can
time it out and kill it like any other program. Exits with the module's exit code; a trap
prints its message and exits 134 (like an abort).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import wasmtime

TRAP_EXIT = 134


def main(argv: list[str]) -> int:
    env: list[tuple[str, str]] = []
    while len(argv) >= 2 and argv[0] == "--env":
        key, _, value = argv[1].partition("=")
        env.append((key, value))
        argv = argv[2:]
    module_path, args = Path(argv[0]), argv[1:]
    config = wasmtime.Config()
    config.cache = True  # wasmtime's own compiled-module cache under $HOME/.cache/wasmtime
    engine = wasmtime.Engine(config)
    module = wasmtime.Module.from_file(engine, str(module_path))
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    wasi = wasmtime.WasiConfig()
    wasi.argv = [module_path.name, *args]
    wasi.env = env
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    wasi.preopen_dir(os.getcwd(), ".")
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    instance = linker.instantiate(store, module)
    start = instance.exports(store)["_start"]
    try:
        start(store)  # type: ignore[operator]
    except wasmtime.ExitTrap as exc:
        return exc.code
    except wasmtime.Trap as exc:
        print(f"wasm trap: {exc}", file=sys.stderr)
        return TRAP_EXIT
    return 0


if __name__ == "__main__":
    sys.stdout.flush()
    sys.exit(main(sys.argv[1:]))
