#!/usr/bin/env bash
# The steps of ci/github/release.yml, runnable anywhere (a laptop, another CI system, the tests):
#
#   gobuildx-ci.sh install            install gobuildx ($GOBUILDX_SPEC), then run ci/setup.sh if the project has one
#   gobuildx-ci.sh plan               print the shard matrix; with $GITHUB_OUTPUT set, also write `matrix=<json>` there
#   gobuildx-ci.sh build I/N          build shard I of N into dist/ (one runner)
#   gobuildx-ci.sh services           start what images and smoke tests need (ci/services.sh), if the project has it
#   gobuildx-ci.sh release [DIR]      merge the runners' dist folders (DIR/*, default shards/*), then
#                                     audit + image + smoke + release on the merged artifacts, then verify
#
# Settings (environment): GOBUILDX_MATRIX (default: all), GOBUILDX_SHARDS (default: 3),
# GOBUILDX_SPEC (pip requirement; default: this checkout if it is gobuildx itself, else "gobuildx"),
# GOBUILDX_RELEASE_ARGS (extra arguments for `gobuildx release`, e.g. --allow-failures).
set -euo pipefail

MATRIX=${GOBUILDX_MATRIX:-all}
SHARDS=${GOBUILDX_SHARDS:-3}

log() { printf '\n== %s\n' "$*" >&2; }

install() {
  local spec=${GOBUILDX_SPEC:-}
  if [ -z "$spec" ]; then
    if [ -f pyproject.toml ] && grep -q '^name = "gobuildx"' pyproject.toml; then spec=.; else spec=gobuildx; fi
  fi
  log "pip install $spec"
  python -m pip install --disable-pip-version-check -q "$spec"
  if [ -x ci/setup.sh ]; then
    log "ci/setup.sh (the project's own setup)"
    ci/setup.sh
  fi
  gobuildx --version
  go version
}

plan() {
  local json
  json=$(gobuildx matrix --matrix "$MATRIX" --format github --shards "$SHARDS")
  echo "$json"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "matrix=$json" >>"$GITHUB_OUTPUT"
  fi
}

build() {
  local shard=${1:?usage: gobuildx-ci.sh build I/N}
  log "gobuildx build --shard $shard"
  gobuildx build --matrix "$MATRIX" --shard "$shard"
}

services() {
  if [ -x ci/services.sh ]; then
    log "ci/services.sh (Docker engine, registry, QEMU)"
    if [ "$(id -u)" = 0 ]; then ci/services.sh; else sudo -E ci/services.sh; fi
  else
    log "no ci/services.sh: images and emulated smoke tests use what the runner has"
  fi
}

release() {
  local shards=${1:-shards}
  log "gobuildx merge --dir '$shards/*'"
  gobuildx merge --matrix "$MATRIX" --dir "$shards/*" --no-release
  log "gobuildx release (audit, image, smoke on the merged artifacts; nothing is compiled)"
  # shellcheck disable=SC2086
  gobuildx release --matrix "$MATRIX" ${GOBUILDX_RELEASE_ARGS:-}
  log "gobuildx verify dist/release"
  gobuildx verify dist/release
  (cd dist/release && sha256sum -c --quiet SHA256SUMS)
}

step=${1:-}
shift || true
case "$step" in
  install | plan | build | services | release) "$step" "$@" ;;
  *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
