"""Real binaries for the audit tests, built once per session.

Pure-Go ones come from examples/hello (GOOS/GOARCH only); cgo ones from the tiny
program in tests/integration/audit/cprog, with the host gcc (dynamic and static glibc) and
with zig (glibc 2.17, static musl) through the shared zig cache. A cold zig
cache costs ~25 s for the glibc 2.17 stubs and ~150-300 s for musl on 2 cores;
warm, every build here is seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from gobuildx.project.toolchain import zig_command
from tests.conftest import go_program, need

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
CPROG = HERE / "cprog"
HELLO = REPO / "examples" / "hello"
ZIG = " ".join([*zig_command(dict(os.environ)), "cc"])  # the zig gobuildx uses, pinned in its cache
BUILD_TIMEOUT_S = 900


def zig_cache() -> str:
    return os.environ.get("ZIG_GLOBAL_CACHE_DIR") or str(Path.home() / ".cache" / "gobuildx" / "zig")


def go_build(src: Path, out: Path, env: dict[str, str], ldflags: str = "") -> Path:
    """`go build` with an explicit environment; the failure output goes into the assertion."""
    path = f"{Path(go_program()).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    base = {
        k: os.environ[k] for k in ("HOME", "GOCACHE", "GOPATH", "GOMODCACHE", "GOPROXY", "TMPDIR") if k in os.environ
    }
    full = {
        **base,
        "PATH": path,
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=mod",
        "ZIG_GLOBAL_CACHE_DIR": zig_cache(),
        **env,
    }
    argv = [go_program(), "build", "-trimpath", "-o", str(out)] + (["-ldflags", ldflags] if ldflags else []) + ["."]
    proc = subprocess.run(argv, cwd=src, env=full, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert proc.returncode == 0, f"{' '.join(argv)} with {env}:\n{proc.stderr}"
    return out


@pytest.fixture(scope="session")
def bins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> a real binary. Timings per build go to stdout (`pytest -s`)."""
    out = tmp_path_factory.mktemp("audit-bins")
    static_ld = "-linkmode=external -extldflags=-static"
    recipes: list[tuple[str, Path, dict[str, str], str]] = [
        ("pure", HELLO, {"GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0"}, "-s -w"),
        ("pure-arm64", HELLO, {"GOOS": "linux", "GOARCH": "arm64", "CGO_ENABLED": "0"}, "-s -w"),
        ("windows.exe", HELLO, {"GOOS": "windows", "GOARCH": "amd64", "CGO_ENABLED": "0"}, "-s -w"),
        ("darwin", HELLO, {"GOOS": "darwin", "GOARCH": "arm64", "CGO_ENABLED": "0"}, "-s -w"),
        ("openbsd", HELLO, {"GOOS": "openbsd", "GOARCH": "amd64", "CGO_ENABLED": "0"}, "-s -w"),
        ("wasip1.wasm", HELLO, {"GOOS": "wasip1", "GOARCH": "wasm"}, ""),
        ("js.wasm", HELLO, {"GOOS": "js", "GOARCH": "wasm"}, ""),
        ("cgo-glibc", CPROG, {"CGO_ENABLED": "1", "CC": "gcc"}, ""),
        ("cgo-glibc-static", CPROG, {"CGO_ENABLED": "1", "CC": "gcc"}, static_ld),
        (
            "zig-glibc2.17",
            CPROG,
            {"CGO_ENABLED": "1", "GOOS": "linux", "GOARCH": "amd64", "CC": f"{ZIG} -target x86_64-linux-gnu.2.17"},
            "",
        ),
        (
            "zig-musl",
            CPROG,
            {"CGO_ENABLED": "1", "GOOS": "linux", "GOARCH": "amd64", "CC": f"{ZIG} -target x86_64-linux-musl"},
            static_ld,
        ),
    ]
    built: dict[str, Path] = {}
    for name, src, env, ldflags in recipes:
        t0 = time.monotonic()
        built[name] = go_build(src, out / name, env, ldflags)
        print(f"[audit fixture] built {name} in {time.monotonic() - t0:.1f}s")
    built["cxx"] = _cxx(out)
    built["ls"] = Path("/bin/ls")
    return built


def _cxx(out: Path) -> Path:
    """A real C++ program: it needs GLIBCXX_ versions from libstdc++ (and GCC_ from libgcc_s)."""
    gxx = shutil.which("g++")
    need(gxx, "g++ is not installed (apt-get install g++)")
    assert gxx is not None
    src = out / "hello.cc"
    src.write_text(
        "#include <iostream>\n#include <stdexcept>\n#include <string>\n"
        'int main(int argc, char**) { try { if (argc > 5) throw std::runtime_error("x"); }\n'
        " catch (const std::exception& e) { std::cout << e.what(); }\n"
        ' std::cout << std::string("hello c++") << std::endl; }\n'
    )
    exe = out / "cxx"
    subprocess.run([gxx, "-O1", "-o", str(exe), str(src)], check=True, timeout=300, env={"PATH": os.environ["PATH"]})
    return exe


def run_tool(argv: list[str]) -> str:
    """stdout+stderr of a classic tool (file, readelf, ldd, go version -m) with a C locale."""
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"], "LC_ALL": "C"}
    )
    return proc.stdout + proc.stderr
