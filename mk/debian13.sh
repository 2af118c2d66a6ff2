#!/bin/sh
# Builds kt inside a Debian 13 (trixie) root and runs the unit and integration tests there.
#
# No container engine runs on our machines, so this proves the Dockerfile's build steps another
# way: a minbase trixie root made with debootstrap (cached per ISO week), the work tree copied in,
# then — as root inside the chroot, exactly like the Dockerfile's build stage — `make` (whose
# configure step installs libllhttp-dev 9.x, libmbedtls-dev 3.6 and the rest from trixie),
# `make san`, the unit tests and the integration tests under ASan+UBSan. This is what keeps the
# mbedTLS 3.6 / llhttp 9 build honest while the development machines run Debian 12. Each step has
# a timeout; logs go to $KT_DEB13_DIR/*.log and a failing step prints its tail.
#
# Environment: KT_DEB13_MIRROR (default http://deb.debian.org/debian), KT_DEB13_CACHE (default
# /var/cache/kt-debian13; "none" disables the cache), KT_DEB13_DIR (where the root is unpacked,
# default build/debian13), KT_DEB13_KEEP=1 keeps the unpacked root afterwards, KT_DEB13_INTEGRATION=0
# skips the integration tests (build/san/kt against the TLS mock upstream: TLS 1.3 on mbedTLS 3.6).
set -eu

cd "$(dirname "$0")/.."
SRC=$(pwd)
MIRROR=${KT_DEB13_MIRROR:-http://deb.debian.org/debian}
CACHE=${KT_DEB13_CACHE:-/var/cache/kt-debian13}
WORK=${KT_DEB13_DIR:-$SRC/build/debian13}
ROOT=$WORK/root
# The toolchain baked into the cached root; the library -dev packages are left to `make`
# (mk/configure.sh), as in the Dockerfile, so the configure step is exercised too.
INCLUDE=gcc,libc6-dev,make,pkg-config,python3,ca-certificates,openssl
WEEK=$(date -u +%G-w%V)
KEY=$(printf '%s %s' "$INCLUDE" "$MIRROR" | cksum | cut -d' ' -f1)

t_start=$(date +%s)
say() { printf 'debian13: %s\n' "$*"; }
elapsed() { echo "$(( $(date +%s) - t_start ))s"; }
fail() { say "FAILED: $* (after $(elapsed))"; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (debootstrap and chroot)"

mounted=""
cleanup() {
  for m in $mounted; do umount -l "$m" 2>/dev/null || true; done
  mounted=""
  if [ "${KT_DEB13_KEEP:-0}" != 1 ] && [ -d "$ROOT" ]; then remove_root; fi
}
# Never recurse into a mount (the bind-mounted host /dev above all): refuse while one is left.
remove_root() {
  if grep -q " $ROOT/" /proc/mounts 2>/dev/null; then
    say "not removing $ROOT: something is still mounted below it"; return 1
  fi
  rm -rf --one-file-system "$ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -qq >&2 || fail "apt-get update"
  timeout 300 apt-get install -y -qq --no-install-recommends debootstrap >&2 || fail "installing debootstrap"
fi

# Compression: zstd when the machine has it, else gzip (always there).
if command -v zstd >/dev/null 2>&1; then Z="--zstd"; EXT=tar.zst; else Z="-z"; EXT=tar.gz; fi
TARBALL=""
if [ "$CACHE" != none ] && mkdir -p "$CACHE" 2>/dev/null && [ -w "$CACHE" ]; then
  TARBALL=$CACHE/trixie-minbase-$KEY-$WEEK.$EXT
fi

# A stale mount from an interrupted run would make rm -rf dangerous: unmount first.
for m in "$ROOT/proc" "$ROOT/dev/pts" "$ROOT/dev"; do
  if grep -q " $m " /proc/mounts 2>/dev/null; then umount -l "$m" || fail "stale mount $m"; fi
done
remove_root || fail "stale mounts below $ROOT"
mkdir -p "$ROOT"

if [ -n "$TARBALL" ] && [ -f "$TARBALL" ]; then
  say "using cached root $TARBALL"
  timeout 300 tar -C "$ROOT" $Z -xpf "$TARBALL" || fail "unpacking the cached root"
else
  say "debootstrap --variant=minbase trixie from $MIRROR (no cache for $WEEK yet)"
  if ! timeout 1200 debootstrap --variant=minbase --include="$INCLUDE" trixie "$ROOT" "$MIRROR" \
      > "$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log"
    fail "debootstrap (log: $WORK/debootstrap.log)"
  fi
  chroot "$ROOT" apt-get clean
  if [ -n "$TARBALL" ]; then
    rm -f "$CACHE"/trixie-minbase-*."$EXT"   # older weeks
    if timeout 300 tar -C "$ROOT" $Z -cpf "$TARBALL.tmp" . ; then
      mv "$TARBALL.tmp" "$TARBALL"; say "cached the root as $TARBALL"
    else
      rm -f "$TARBALL.tmp"; say "could not write the cache (continuing)"
    fi
  fi
fi
say "root ready after $(elapsed)"

mount -t proc proc "$ROOT/proc" || fail "mounting /proc in the root"
mounted="$ROOT/proc"
# ASan wants /dev/null, /dev/urandom and friends: use the host's devices.
mount --bind /dev "$ROOT/dev" || fail "bind-mounting /dev"
mounted="$ROOT/dev $mounted"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true

# The work tree as git sees it (tracked and untracked, ignored files such as build/ left out).
mkdir -p "$ROOT/src/kt"
if git rev-parse --git-dir >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
    | tar -C "$SRC" --null -T - -cf - | tar -C "$ROOT/src/kt" -xf -
else
  tar -C "$SRC" --exclude=./build --exclude=node_modules -cf - . | tar -C "$ROOT/src/kt" -xf -
fi

step() {  # step NAME TIMEOUT SHELL-COMMAND: runs it as root inside the Debian 13 root, in /src/kt
  name=$1; limit=$2; shift 2
  t0=$(date +%s)
  if timeout "$limit" chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive sh -c "cd /src/kt && $1" > "$WORK/$name.log" 2>&1; then
    say "ok   $name ($(( $(date +%s) - t0 ))s)"
  else
    rc=$?
    tail -n 60 "$WORK/$name.log"
    [ "$rc" = 124 ] && fail "$name timed out after ${limit}s (log: $WORK/$name.log)"
    fail "$name exited $rc (log: $WORK/$name.log)"
  fi
}

step build 900 'make -j2'
step versions 30 'dpkg-query -W -f "\${Package} \${Version}\n" libllhttp-dev libmbedtls-dev libuv1-dev libcjson-dev libyaml-dev libpcre2-dev gcc; echo "debian_version $(cat /etc/debian_version)"; echo "kt $(build/kt version)"'
sed 's/^/debian13: built with /' "$WORK/versions.log"
# Every shipped config must load on Debian 13 too (shipped: examples/, k8s/ ConfigMaps are checked
# by make test; here the plain files). Placeholders for variables a config requires.
step validate 60 'for f in $(find examples test/configs -name "*.yaml" -path "*polic*" -o -name "*.yaml" -path "test/configs/*" 2>/dev/null | sort); do AZURE_OPENAI_ENDPOINT=https://example.invalid build/kt policy validate "$f" || exit 1; done'
step san 1200 'make -j2 san'
step unit 900 'python3 test/run_all.py --only unit --unit-dir build/san/unit'
grep -E '^unit ' "$WORK/unit.log" | sed 's/^/debian13: /'
summary=$(tail -n 1 "$WORK/unit.log")
say "unit tests on Debian 13: $summary"
case "$summary" in
  *" 0 failed"*) ;;
  *) fail "unit tests" ;;
esac
what="make, kt version, policy validate, make san and unit tests"
if [ "${KT_DEB13_INTEGRATION:-1}" = 1 ]; then
  step integration 900 'python3 test/run_all.py --only integration --kt build/san/kt'
  summary=$(tail -n 1 "$WORK/integration.log")
  say "integration tests on Debian 13 (TLS via mbedTLS 3.6): $summary"
  case "$summary" in
    *" 0 failed"*) ;;
    *) grep -E '(FAIL|ERROR):' "$WORK/integration.log" | head -20; fail "integration tests" ;;
  esac
  what="$what, integration tests"
fi
say "PASSED: $what on Debian 13 in $(elapsed)"
