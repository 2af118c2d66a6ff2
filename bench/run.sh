#!/bin/sh
# `make bench`: sh bench/run.sh PATH/TO/kt
# Benchmarks kt against nginx as a plain reverse proxy, side by side, on this machine's loopback;
# prints a table and writes build/bench/latest.json. See bench/README.md.
# `sh bench/run.sh nginx` puts a second nginx in the kt slot (checks the harness itself).
# Tuning (environment): BENCH_ROUNDS=5 BENCH_DURATION=5 BENCH_LAT_DURATION=3 BENCH_CONNECTIONS=50
#   BENCH_STREAMS=500 BENCH_STREAM_SECONDS=10 BENCH_PROXY_CPU=0 BENCH_LOAD_CPU=1 BENCH_POLICIES=1
# Exit: 0 measured (targets met or not), 2 could not run, 3 a measurement was invalid.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
if [ $# -ne 1 ]; then
  echo "usage: sh bench/run.sh PATH/TO/kt | nginx" >&2
  exit 2
fi
# Only when one is missing (test-deps.sh also wants the test suite's node and npm, which the
# bench does not need: the Debian 13 root of `make bench-image` has nginx and wrk, no node).
if ! command -v nginx >/dev/null 2>&1 || ! command -v wrk >/dev/null 2>&1; then
  sh "$root/mk/test-deps.sh" nginx wrk || exit 2
fi
for tool in taskset openssl python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool is missing" >&2; exit 2; }
done
# 500 client streams + 500 upstream connections per proxy, plus the listeners.
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true
exec python3 "$here/bench.py" --kt "$1" --out "$root/build/bench"
