#!/bin/sh
# Builds kt inside a Debian 13 (trixie) root and runs the unit and integration tests there.
#
# No container engine runs on our machines, so this proves the Dockerfile's build steps another
# way: a minbase trixie root made with debootstrap (cached per ISO week), the work tree copied in,
# then — as root inside the chroot, exactly like the Dockerfile's build stage — `make` (whose
# configure step installs libllhttp-dev 9.x, libmbedtls-dev 3.6 and the rest from trixie),
# `make san`, the unit tests and the integration tests under ASan+UBSan. This is what keeps the
# mbedTLS 3.6 / llhttp 9 build honest while the development machines run Debian 12. Each step has
# a timeout; logs go to $KT_DEB13_DIR/*.log and a failing step prints its tail. The root itself
# (debootstrap, cache, mounts, cleanup) is mk/debian13-root.sh, shared with mk/bench-debian13.sh.
#
# Environment: KT_DEB13_MIRROR (default http://deb.debian.org/debian), KT_DEB13_CACHE (default
# /var/cache/kt-debian13; "none" disables the cache), KT_DEB13_DIR (where the root is unpacked,
# default build/debian13), KT_DEB13_KEEP=1 keeps the unpacked root afterwards, KT_DEB13_INTEGRATION=0
# skips the integration tests (build/san/kt against the TLS mock upstream: TLS 1.3 on mbedTLS 3.6).
set -eu

cd "$(dirname "$0")/.."
TAG=debian13
WORK=${KT_DEB13_DIR:-$(pwd)/build/debian13}
. mk/debian13-root.sh   # say, fail, step; the root, its mounts and their cleanup
root_prepare

step build 900 'make -j2'
step versions 30 'dpkg-query -W -f "\${Package} \${Version}\n" libllhttp-dev libmbedtls-dev libnghttp2-dev libuv1-dev libcjson-dev libyaml-dev libpcre2-dev libhiredis-dev redis-server gcc; echo "debian_version $(cat /etc/debian_version)"; echo "kt $(build/kt version)"'
sed 's/^/debian13: built with /' "$WORK/versions.log"
# The Dockerfile's runtime stage installs every library build/kt links (no image is built here).
step runtime-libs 60 'sh mk/runtime-libs.sh'
say "$(tail -n 1 "$WORK/runtime-libs.log")"
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
  # test dependencies, so not in the cached root: the scripted HTTP/2 provider of test_http2.py and
  # the nginx (http_v2_module) that test_http2_front.py puts in front of the mock, as `make test` does
  step h2deps 300 'need=""; python3 -c "import h2" 2>/dev/null || need="python3-h2"; command -v nginx >/dev/null || need="$need nginx-light"; [ -z "$need" ] || { apt-get update -qq && apt-get install -y -qq --no-install-recommends $need; }'
  step integration 2100 'python3 test/run_all.py --only integration --kt build/san/kt'
  summary=$(tail -n 1 "$WORK/integration.log")
  say "integration tests on Debian 13 (TLS via mbedTLS 3.6): $summary"
  case "$summary" in
    *" 0 failed"*) ;;
    *) grep -E '(FAIL|ERROR):' "$WORK/integration.log" | head -20; fail "integration tests" ;;
  esac
  what="$what, integration tests"
fi
say "PASSED: $what on Debian 13 in $(elapsed)"
