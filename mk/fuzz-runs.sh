#!/bin/sh
# `make fuzz FUZZ_RUNS=N`: runs each fuzz target (or those named in FUZZ_TARGETS, e.g.
# "detect safety") for N executions under ASan+UBSan, one after another, on a corpus kept in
# build/fuzz/corpus/<target> and seeded from test/fuzz/corpus/<target>; FUZZ_MAX_LEN caps the
# input length (libFuzzer's -max_len; default: libFuzzer's own). Prints one line per target,
# "fuzz_x: N runs in S s (max_len L)", and exits 1 at the first target that finds a crash, a
# leak or a sanitizer report (its log: build/fuzz/log_<target>.txt).
set -eu
B=$1
RUNS=$2
for f in "$B"/fuzz/fuzz_*; do
  t=$(basename "$f")
  case "$t" in *.*) continue ;; esac
  if [ -n "${FUZZ_TARGETS:-}" ]; then
    keep=0
    for w in $FUZZ_TARGETS; do [ "fuzz_$w" = "$t" ] || [ "$w" = "$t" ] && keep=1; done
    [ "$keep" = 1 ] || continue
  fi
  mkdir -p "$B/fuzz/corpus/$t"
  log="$B/fuzz/log_$t.txt"
  start=$(date +%s)
  if ! "$f" -runs="$RUNS" -print_final_stats=1 ${FUZZ_MAX_LEN:+-max_len=$FUZZ_MAX_LEN} \
       "$B/fuzz/corpus/$t" "test/fuzz/corpus/$t" > "$log" 2>&1; then
    tail -n 40 "$log"
    echo "$t: FAILED after $(( $(date +%s) - start )) s (log: $log)"
    exit 1
  fi
  n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  echo "$t: ${n:-?} runs in $(( $(date +%s) - start )) s (max_len ${FUZZ_MAX_LEN:-default})"
done
