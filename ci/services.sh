#!/usr/bin/env bash
# Start the services the image tests need, idempotently, and wait until they answer:
#   - a Docker engine (dockerd, vfs storage, no bridge/iptables) on /var/run/docker.sock
#   - a container registry (Debian's docker-registry) on 127.0.0.1:5000, no auth
# Installs the Debian packages first when they are missing (fresh CI machine).
# Prints how to reach both. Safe to run any number of times.
set -euo pipefail

STATE=${GOBUILDX_SERVICES_DIR:-/var/lib/gobuildx-services}
REGISTRY_ADDR=${GOBUILDX_REGISTRY_ADDR:-127.0.0.1:5000}
SOCK=/var/run/docker.sock
PKGS="docker.io docker-registry qemu-user-static ca-certificates tzdata curl"

need_install=""
command -v dockerd >/dev/null || need_install=1
command -v docker-registry >/dev/null || need_install=1
command -v qemu-aarch64-static >/dev/null || need_install=1
command -v curl >/dev/null || need_install=1
if [ -n "$need_install" ]; then
  echo "services: installing $PKGS" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
fi
mkdir -p "$STATE/registry" "$STATE/docker"

engine_up() { curl -sf --max-time 3 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }
registry_up() { curl -sf --max-time 3 "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; }

wait_for() {  # name, check function, seconds
  local i
  for ((i = 0; i < $3 * 4; i++)); do
    if "$2"; then return 0; fi
    sleep 0.25
  done
  echo "services: $1 did not answer within $3 s; see $STATE/$1.log" >&2
  tail -n 20 "$STATE/$1.log" >&2 || true
  return 1
}

if ! engine_up; then
  rm -f /var/run/docker.pid
  setsid nohup dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
    --host "unix://$SOCK" >"$STATE/docker.log" 2>&1 </dev/null &
  wait_for docker engine_up 60
fi

if ! registry_up; then
  cat >"$STATE/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/registry/data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
  setsid nohup docker-registry serve "$STATE/registry/config.yml" \
    >"$STATE/registry.log" 2>&1 </dev/null &
  wait_for registry registry_up 30
fi

echo "docker engine: DOCKER_HOST=unix://$SOCK ($(curl -sf --unix-socket "$SOCK" http://localhost/version | sed -n 's/.*"Version":"\([^"]*\)".*/\1/p' | head -n1))"
echo "registry:      http://$REGISTRY_ADDR/v2/ (push to $REGISTRY_ADDR/<name>:<tag>, no auth)"
echo "logs:          $STATE/docker.log $STATE/registry.log"
