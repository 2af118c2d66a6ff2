#!/bin/sh
# `make bench-image`: the benchmark on the build that ships. Builds the release build/kt inside the
# Debian 13 (trixie) root that `make debian13` uses (mk/debian13-root.sh: same cached debootstrap,
# same mounts and cleanup), installs Debian 13's nginx and wrk there, and runs `sh bench/run.sh
# build/kt` in it: kt on mbedTLS 3.6 (TLS 1.3 to the upstream) and llhttp 9, side by side with
# trixie's nginx on its OpenSSL, on this machine's loopback and pinned CPUs like `make bench`.
# The results are copied to build/bench/debian13/latest.json and latest.txt (kt's stderr to
# kt*.log there) and the table is printed.
#
# Exit 0 when the bench ran (including when it reports an invalid measurement, exit 3 of
# bench/run.sh: the table says why); 1 when it could not run (no root, build or bench failure).
# Environment: every BENCH_* variable is passed to the bench inside the root (bench/README.md);
# KT_BENCH13_TIMEOUT (seconds for the bench step, default 3600); the KT_DEB13_* variables of
# mk/debian13-root.sh, KT_DEB13_DIR defaulting to build/bench-debian13 here.
set -eu

cd "$(dirname "$0")/.."
TAG=bench-debian13
WORK=${KT_DEB13_DIR:-$(pwd)/build/bench-debian13}
OUT=$(pwd)/build/bench/debian13
. mk/debian13-root.sh   # say, fail, step; the root, its mounts and their cleanup
root_prepare

# What the bench needs beyond the cached root (python3 and openssl are in it; taskset is in
# util-linux, which is essential); kt's own build dependencies come with `make` (mk/configure.sh).
step deps 600 'apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx wrk util-linux python3-h2 && command -v taskset'
# The copied tree has no .git: name the commit measured in `kt version` (+dirty: uncommitted edits).
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then rev="$rev-dirty"; fi
step build 900 "make -j2 GIT_REV=$rev"
step versions 30 'echo "debian_version $(cat /etc/debian_version)"; dpkg-query -W -f "\${Package} \${Version}\n" libmbedtls-dev libllhttp-dev gcc nginx wrk; echo "kt $(build/kt version)"'
sed "s/^/$TAG: built with /" "$WORK/versions.log"

# env -i inside step: hand the BENCH_* knobs over explicitly, each value single-quoted.
exports=""
for v in $(env | sed -n 's/^\(BENCH_[A-Za-z0-9_]*\)=.*/\1/p' | sort -u); do
  eval "val=\${$v}"
  q=$(printf '%s' "$val" | sed "s/'/'\\\\''/g")
  exports="${exports}export $v='$q'; "
done
if [ -n "$exports" ]; then say "passing to the bench: $(echo "$exports" | sed 's/export //g; s/; */ /g')"; fi

say "running sh bench/run.sh build/kt in the root (log: $WORK/bench.log)"
step_rc bench "${KT_BENCH13_TIMEOUT:-3600}" "${exports}sh bench/run.sh build/kt"
rc=$STEP_RC
if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then
  tail -n 60 "$WORK/bench.log"
  [ "$rc" = 124 ] && fail "the bench timed out after ${KT_BENCH13_TIMEOUT:-3600}s (log: $WORK/bench.log)"
  fail "the bench could not run: bench/run.sh exited $rc (log: $WORK/bench.log)"
fi

mkdir -p "$OUT"
res=$ROOT/src/kt/build/bench
[ -f "$res/latest.json" ] && [ -f "$res/latest.txt" ] || fail "the bench wrote no results (log: $WORK/bench.log)"
cp "$res/latest.json" "$res/latest.txt" "$OUT/"
for f in "$res"/kt*.log; do if [ -f "$f" ]; then cp "$f" "$OUT/"; fi; done
cp "$WORK/bench.log" "$OUT/bench.log"
cat "$OUT/latest.txt"
if [ "$rc" = 3 ]; then say "NOTE: the bench reports an invalid measurement (see PROBLEM above)"; fi
say "results: $OUT/latest.json, $OUT/latest.txt (after $(elapsed), bench ${step_secs}s)"
