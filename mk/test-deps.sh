#!/bin/sh
# Installs what the test suite needs beyond the build (Debian packages; npm modules come from the
# committed lockfile in test/compat). Idempotent and quiet when everything is present.
set -eu
need=""
command -v python3 >/dev/null 2>&1 || need="$need python3"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
# the shared-state tests start a real Redis (test/integration/test_shared_state.py)
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
command -v redis-cli >/dev/null 2>&1 || need="$need redis-tools"
for tool in "$@"; do
  case "$tool" in
    nginx) command -v nginx >/dev/null 2>&1 || need="$need nginx-light" ;;
    wrk) command -v wrk >/dev/null 2>&1 || need="$need wrk" ;;
    promtool) command -v promtool >/dev/null 2>&1 || need="$need prometheus" ;;
    valgrind) command -v valgrind >/dev/null 2>&1 || need="$need valgrind" ;;
    clang) command -v clang >/dev/null 2>&1 || need="$need clang libclang-rt-14-dev" ;;
    inotify) command -v inotifywait >/dev/null 2>&1 || need="$need inotify-tools" ;;
    # training the learned scorers only (tools/train/), never for building
    sklearn) /usr/bin/python3 -c 'import sklearn, scipy' >/dev/null 2>&1 || need="$need python3-sklearn" ;;
  esac
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: missing:$need" >&2; exit 1
fi
echo "test-deps: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need >&2
