#!/usr/bin/env bash
# bench/run.sh: wall-clock benchmark of the lmigrate CLI (make bench).
#
#   1. `lmigrate heads` over 1,000 and 10,000 chained revisions (load + resolve)
#   2. `lmigrate upgrade head` of 1,000 revisions on a fresh SQLite file, vs
#      the same SQL (`upgrade head --sql`) piped into the sqlite3 CLI
#   3. `lmigrate current` vs one `sqlite3 db "SELECT version_num FROM lmigrate_version"`
#
# Each figure is the median of RUNS runs (default 5; 3 for the upgrades).
# Env: LMIGRATE_BIN (default build/lmigrate), RUNS, N_SMALL (1000),
# N_LARGE (10000), BENCH_KEEP=1 to keep the temp directory.
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
root=$PWD

BIN=${LMIGRATE_BIN:-build/lmigrate}
case $BIN in /*) ;; *) BIN=$root/$BIN ;; esac
RUNS=${RUNS:-5}
UP_RUNS=${UP_RUNS:-3}
N_SMALL=${N_SMALL:-1000}
N_LARGE=${N_LARGE:-10000}
LUA=${LUA:-lua5.4}

die() { echo "bench: $*" >&2; exit 1; }

[ -x "$BIN" ] || die "$BIN is not built (run make; the CLI must link first)"
"$BIN" --version >/dev/null 2>&1 || die "$BIN --version fails: the CLI does not work yet"
command -v sqlite3 >/dev/null || die "sqlite3 CLI missing (make deps)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lmigrate-bench.XXXXXX")
if [ -z "${BENCH_KEEP:-}" ]; then trap 'rm -rf "$tmp"' EXIT; else echo "bench: keeping $tmp"; fi
# The revision cache lives with the benchmark, not in ~/.cache.
export XDG_CACHE_HOME="$tmp/cache"

# now_us: wall clock in microseconds, without forking (bash 5 EPOCHREALTIME).
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo $((10#$t)); }

# measure RUNS SETUP CMD...: run SETUP (untimed, a shell string) then CMD
# RUNS times; print the median wall time in microseconds. A failing CMD
# aborts the benchmark with its stderr.
measure() {
  local runs=$1 setup=$2; shift 2
  local times=() i t0 t1
  for ((i = 0; i < runs; i++)); do
    eval "$setup"
    t0=$(now_us)
    if ! "$@" >"$tmp/out" 2>"$tmp/err"; then
      echo "bench: command failed: $*" >&2
      cat "$tmp/err" >&2
      exit 1
    fi
    t1=$(now_us)
    times+=($((t1 - t0)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

ms() { awk -v us="$1" 'BEGIN { printf "%.1f ms", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

count_tables() {
  sqlite3 "$1" "SELECT count(*) FROM sqlite_master WHERE type='table' AND name GLOB 't_[0-9]*'"
}

echo "bench: generating $N_SMALL and $N_LARGE revisions in $tmp" >&2
$LUA bench/gen.lua "$tmp/small" "$N_SMALL"
$LUA bench/gen.lua "$tmp/large" "$N_LARGE"

declare -a rows=()
row() { rows+=("$(printf '%-38s %12s %14s %10s' "$1" "$2" "$3" "$4")"); }

# 1. heads
cd "$tmp/small"
"$BIN" heads >"$tmp/heads.out" 2>"$tmp/heads.err" || { cat "$tmp/heads.err" >&2; die "heads failed"; }
grep -q "$(printf '%012x' "$N_SMALL")" "$tmp/heads.out" || die "heads did not print the last revision: $(cat "$tmp/heads.out")"
t=$(measure "$RUNS" : env LMIGRATE_NO_CACHE=1 "$BIN" heads)
row "heads, $N_SMALL revisions (compiled)" "$(ms "$t")" "-" "-"
t=$(measure "$RUNS" : "$BIN" heads)
row "heads, $N_SMALL revisions (cached)" "$(ms "$t")" "-" "-"
cd "$tmp/large"
t=$(measure "$RUNS" : env LMIGRATE_NO_CACHE=1 "$BIN" heads)
row "heads, $N_LARGE revisions (compiled)" "$(ms "$t")" "-" "-"
"$BIN" heads >/dev/null   # fill the cache
t=$(measure "$RUNS" : "$BIN" heads)
row "heads, $N_LARGE revisions (cached)" "$(ms "$t")" "-" "-"

# 2. upgrade head vs sqlite3 on the same SQL
cd "$tmp/small"
"$BIN" -u "sqlite:$tmp/offline.db" upgrade head --sql >"$tmp/up.sql" 2>"$tmp/sql.err" \
  || { cat "$tmp/sql.err" >&2; die "upgrade head --sql failed"; }
t_up=$(measure "$UP_RUNS" 'rm -f "$tmp/up.db"' "$BIN" -q -u "sqlite:$tmp/up.db" upgrade head)
[ "$(count_tables "$tmp/up.db")" = "$N_SMALL" ] || die "upgrade head did not create $N_SMALL tables"
t_sql=$(measure "$UP_RUNS" 'rm -f "$tmp/cli.db"' sh -c 'exec sqlite3 -bail "$1" <"$2"' sh "$tmp/cli.db" "$tmp/up.sql")
[ "$(count_tables "$tmp/cli.db")" = "$N_SMALL" ] || die "the --sql script did not create $N_SMALL tables"
row "upgrade head, $N_SMALL revisions" "$(ms "$t_up")" "$(ms "$t_sql")" "$(ratio "$t_up" "$t_sql")"

# 3. current vs one SELECT
t_cur=$(measure "$RUNS" : "$BIN" -u "sqlite:$tmp/up.db" current)
t_sel=$(measure "$RUNS" : sqlite3 "$tmp/up.db" "SELECT version_num FROM lmigrate_version")
row "current ($N_SMALL revisions)" "$(ms "$t_cur")" "$(ms "$t_sel")" "$(ratio "$t_cur" "$t_sel")"

# 4. PostgreSQL: upgrade head vs psql applying the same SQL (one transaction
# per revision), each on a fresh database of the throwaway cluster that
# `make bench` starts (with-pg.sh). Skipped, saying so, without a server.
declare -a pgrows=()
if [ -n "${LMIGRATE_TEST_PG_URL:-}" ]; then
  command -v psql >/dev/null || die "psql missing (make deps)"
  pg_base=${LMIGRATE_TEST_PG_URL%/*}
  pg_fresh() {  # drop and create database $1
    psql -q -X -v ON_ERROR_STOP=1 "$LMIGRATE_TEST_PG_URL" \
      -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
  }
  pg_tables() {
    psql -X -At "$pg_base/$1" -c "SELECT count(*) FROM pg_tables WHERE tablename ~ '^t_[0-9]+$'"
  }
  "$BIN" -u "$pg_base/bench_offline" upgrade head --sql >"$tmp/up_pg.sql" 2>"$tmp/sql.err" \
    || { cat "$tmp/sql.err" >&2; die "upgrade head --sql (postgresql) failed"; }
  t_pg=$(measure "$UP_RUNS" 'pg_fresh bench_lm' "$BIN" -q -u "$pg_base/bench_lm" upgrade head)
  [ "$(pg_tables bench_lm)" = "$N_SMALL" ] || die "postgresql upgrade head did not create $N_SMALL tables"
  t_psql=$(measure "$UP_RUNS" 'pg_fresh bench_psql' psql -q -X -v ON_ERROR_STOP=1 -f "$tmp/up_pg.sql" "$pg_base/bench_psql")
  [ "$(pg_tables bench_psql)" = "$N_SMALL" ] || die "the postgresql --sql script did not create $N_SMALL tables"
  pgrows+=("$(printf '%-38s %12s %14s %10s' "upgrade head, $N_SMALL revisions" "$(ms "$t_pg")" "$(ms "$t_psql")" "$(ratio "$t_pg" "$t_psql")")")
else
  pgrows+=("(skipped: LMIGRATE_TEST_PG_URL unset; make bench starts a cluster)")
fi

echo
printf '%-38s %12s %14s %10s\n' "benchmark (median of runs)" "lmigrate" "sqlite3 CLI" "ratio"
printf '%s\n' "${rows[@]}"
echo
printf '%-38s %12s %14s %10s\n' "PostgreSQL (median of runs)" "lmigrate" "psql" "ratio"
printf '%s\n' "${pgrows[@]}"
