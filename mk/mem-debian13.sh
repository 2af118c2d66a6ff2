#!/bin/sh
# Memory of the build that ships: builds the release build/kt inside the Debian 13 (trixie) root
# that `make debian13` uses (mk/debian13-root.sh: same cached debootstrap, mounts and cleanup) and
# runs bench/mem_streams.py there — 500 concurrent streams over HTTP/2 and over HTTP/1.1 to the
# upstream, with and without pii-detector + safety-filter — printing one JSON line per run. RSS
# does not depend on the machine's load, so unlike `make bench-image` this runs on a busy machine.
# Environment: MEM_STREAMS (default 500), the KT_DEB13_* variables of mk/debian13-root.sh,
# KT_DEB13_DIR defaulting to build/mem-debian13 here. Root only.
set -eu

cd "$(dirname "$0")/.."
TAG=mem-debian13
WORK=${KT_DEB13_DIR:-$(pwd)/build/mem-debian13}
N=${MEM_STREAMS:-500}
. mk/debian13-root.sh   # say, fail, step; the root, its mounts and their cleanup
root_prepare

step deps 600 'python3 -c "import h2" 2>/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-h2; }'
step build 900 'make -j2'
step versions 30 'echo "debian_version $(cat /etc/debian_version)"; dpkg-query -W -f "\${Package} \${Version}\n" libmbedtls-dev libnghttp2-dev libllhttp-dev; echo "kt $(build/kt version)"'
sed "s/^/$TAG: built with /" "$WORK/versions.log"
for run in "h2 --policies" "h2" "h1 --policies" "h1"; do
  set -- $run
  step "mem-$1${2:+-pol}" 300 "python3 bench/mem_streams.py --kt build/kt --n $N --proto $run"
  say "$(tail -n 1 "$WORK/mem-$1${2:+-pol}.log")"
done
say "done after $(elapsed)"
