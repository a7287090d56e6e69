#!/usr/bin/env bash
# asan-test.sh BUILD: the whole suite against the ASan/UBSan build in BUILD
# (make asan-test runs it under with-pg.sh).
#  - unit specs load BUILD/lib/lmigrate/core.so into the uninstrumented
#    lua5.4, so that interpreter gets libasan preloaded (leak checks off:
#    its own allocations are not ours);
#  - integration specs run BUILD/lmigrate, which carries its own ASan
#    runtime (leak checks on); nothing is preloaded there, because psql and
#    other system tools deadlock under a preloaded libasan.
# Ends with one combined "N passed, N failed" line; fails if either failed.
set -uo pipefail
exec </dev/null
build=${1:?usage: asan-test.sh BUILD}
libasan=$(${CC:-cc} -print-file-name=libasan.so)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export UBSAN_OPTIONS='halt_on_error=1:print_stacktrace=1'
export LMIGRATE_RUNNERS_ROUNDS=${LMIGRATE_RUNNERS_ROUNDS:-5}

env LMIGRATE_BIN="$build/lmigrate" LMIGRATE_CPATH="./$build/lib/?.so" \
    LMIGRATE_CHILD_ASAN_OPTIONS='detect_leaks=1:halt_on_error=1' \
    ASAN_OPTIONS='detect_leaks=0:halt_on_error=1' LD_PRELOAD="$libasan" \
    busted --lua=lua5.4 --run=unit -o spec/support/summary.lua | tee "$tmp/unit"
rc1=$?
env LMIGRATE_BIN="$build/lmigrate" ASAN_OPTIONS='detect_leaks=1:halt_on_error=1' \
    busted --lua=lua5.4 --run=integration -o spec/support/summary.lua | tee "$tmp/integration"
rc2=$?
awk '/^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3; n++ }
     END { if (n < 2) f++; printf "%d passed, %d failed\n", p, f }' \
    "$tmp/unit" "$tmp/integration"
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ]
