#!/bin/sh
# fuzz/run.sh BUILD NAME...: run each libFuzzer harness BUILD/fuzz/NAME for
# FUZZ_SECONDS (default 60) over its seed corpus fuzz/corpus/NAME, writing
# new inputs to BUILD/corpus/NAME and any crash, leak or timeout to
# BUILD/artifacts/NAME/. The harnesses run one after the other (one core).
# Exit status 1 when any harness found something (its artifact is named).
set -u
build=$1
shift
secs=${FUZZ_SECONDS:-60}
status=0
for name in "$@"; do
  mkdir -p "$build/corpus/$name" "$build/artifacts/$name" "fuzz/corpus/$name"
  printf '==> %s (%ss)\n' "$name" "$secs"
  if ! "$build/fuzz/$name" -max_total_time="$secs" -timeout=10 \
       -rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=1 \
       -artifact_prefix="$build/artifacts/$name/" \
       "$build/corpus/$name" "fuzz/corpus/$name" 2>"$build/$name.log"; then
    status=1
    tail -n 40 "$build/$name.log" >&2
    echo "fuzz: $name found a problem: see $build/artifacts/$name/ and $build/$name.log" >&2
  else
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$build/$name.log"
  fi
done
exit $status
