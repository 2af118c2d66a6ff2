# Sourced (not run) by mk/debian13.sh and mk/bench-debian13.sh: prepares a Debian 13 (trixie) root.
#
# No container engine runs on our machines, so the Dockerfile's build stage is reproduced with a
# minbase trixie root made by debootstrap (cached per ISO week as a tarball), /proc and the host's
# /dev mounted in it, and the work tree copied to /src/kt. `step` then runs a command as root
# inside the root; logs go to $WORK/NAME.log and a failing step prints its tail. The mounts and
# the unpacked root are removed on exit, whatever happens (trap).
#
# The caller cds to the work tree and sets, before sourcing:
#   TAG   prefix of every message ("debian13")
#   WORK  where the root is unpacked (its own default, overridable with KT_DEB13_DIR)
# Environment: KT_DEB13_MIRROR (default http://deb.debian.org/debian), KT_DEB13_CACHE (default
# /var/cache/kt-debian13; "none" disables the cache), KT_DEB13_KEEP=1 keeps the unpacked root.
# Then: root_prepare (root ready, mounted, tree copied), step NAME TIMEOUT SHELL-COMMAND, and
# step_rc (the same, but returns the command's exit status in STEP_RC instead of failing).

SRC=$(pwd)
MIRROR=${KT_DEB13_MIRROR:-http://deb.debian.org/debian}
CACHE=${KT_DEB13_CACHE:-/var/cache/kt-debian13}
ROOT=$WORK/root
# The toolchain baked into the cached root; the library -dev packages are left to `make`
# (mk/configure.sh), as in the Dockerfile, so the configure step is exercised too. redis-server
# and redis-tools: the shared-state integration tests start a real Redis.
INCLUDE=gcc,libc6-dev,make,pkg-config,python3,ca-certificates,openssl,redis-server,redis-tools
WEEK=$(date -u +%G-w%V)
KEY=$(printf '%s %s' "$INCLUDE" "$MIRROR" | cksum | cut -d' ' -f1)

t_start=$(date +%s)
say() { printf '%s: %s\n' "$TAG" "$*"; }
elapsed() { echo "$(( $(date +%s) - t_start ))s"; }
fail() { say "FAILED: $* (after $(elapsed))"; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (debootstrap and chroot)"

mounted=""
cleanup() {
  for m in $mounted; do umount -l "$m" 2>/dev/null || true; done
  mounted=""
  unmount_below
  if [ "${KT_DEB13_KEEP:-0}" != 1 ] && [ -d "$ROOT" ]; then remove_root; fi
}
# What a step left mounted below the root (`ip netns add` inside it mounts its /run/netns), deepest
# first; umount never deletes anything, so this is safe where rm -rf below a mount is not.
unmount_below() {
  for m in $(awk -v r="$ROOT/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
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

# The cached trixie root unpacked in $ROOT, or a fresh one debootstrapped (and cached).
root_unpack() {
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
  unmount_below
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
}

root_mount() {
  mount -t proc proc "$ROOT/proc" || fail "mounting /proc in the root"
  mounted="$ROOT/proc"
  # ASan wants /dev/null, /dev/urandom and friends: use the host's devices.
  mount --bind /dev "$ROOT/dev" || fail "bind-mounting /dev"
  mounted="$ROOT/dev $mounted"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
}

# The work tree as git sees it (tracked and untracked, ignored files such as build/ left out).
root_copy_tree() {
  mkdir -p "$ROOT/src/kt"
  if git rev-parse --git-dir >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
      | tar -C "$SRC" --null -T - -cf - | tar -C "$ROOT/src/kt" -xf -
  else
    tar -C "$SRC" --exclude=./build --exclude=node_modules -cf - . | tar -C "$ROOT/src/kt" -xf -
  fi
}

root_prepare() {
  mkdir -p "$WORK"
  root_unpack
  root_mount
  root_copy_tree
}

step_rc() {  # step_rc NAME TIMEOUT SHELL-COMMAND: runs it as root inside the root, in /src/kt
  name=$1; limit=$2; shift 2
  t0=$(date +%s)
  STEP_RC=0
  timeout "$limit" chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive sh -c "cd /src/kt && $1" > "$WORK/$name.log" 2>&1 \
    || STEP_RC=$?
  step_secs=$(( $(date +%s) - t0 ))
}

step() {  # step NAME TIMEOUT SHELL-COMMAND: step_rc, and any failure is fatal
  step_rc "$@"
  if [ "$STEP_RC" = 0 ]; then
    say "ok   $name (${step_secs}s)"
  else
    tail -n 60 "$WORK/$name.log"
    [ "$STEP_RC" = 124 ] && fail "$name timed out after ${limit}s (log: $WORK/$name.log)"
    fail "$name exited $STEP_RC (log: $WORK/$name.log)"
  fi
}
