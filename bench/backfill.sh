#!/usr/bin/env bash
# bench/backfill.sh: op.backfill throughput on PostgreSQL, side by side,
# RUNS rounds interleaved (each round runs the four steps once), reporting
# the median of each step (ratios, not absolute times: machines are noisy).
#
#   1. one UPDATE of the whole table (the upper bound, one huge transaction)
#   2. a hand-written PL/pgSQL loop of BATCH-row batches, one COMMIT each
#   3. op.backfill set form at its default target (batches sized to take
#      about 50 ms; one statement per batch, checkpoints included)
#   4. op.backfill fn form at its default target (Lua per row; one
#      UPDATE ... FROM unnest() per batch, each column one array parameter)
#
# Each step rewrites every row; VACUUM + CHECKPOINT run between steps so
# each starts from the same table state. Needs LMIGRATE_TEST_PG_URL (make
# bench runs under spec/support/with-pg.sh). Env: N (2000000), BATCH (10000,
# the PL/pgSQL loop's batch), RUNS (5), LMIGRATE_BIN, BENCH_KEEP=1.
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
root=$PWD
BIN=${LMIGRATE_BIN:-build/lmigrate}
case $BIN in /*) ;; *) BIN=$root/$BIN ;; esac
N=${N:-2000000}
BATCH=${BATCH:-10000}
RUNS=${RUNS:-5}
BASE=${LMIGRATE_TEST_PG_URL:?bench/backfill.sh needs LMIGRATE_TEST_PG_URL (run under spec/support/with-pg.sh)}

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "$BIN is not built (run make)"
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo $((10#$t)); }

db=lm_bench_bf_$$
prefix=${BASE%/*}
url="$prefix/$db"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lmigrate-bench-bf.XXXXXX")
cleanup() {
  psql -X -q -d "$BASE" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  [ -n "${BENCH_KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
export XDG_CACHE_HOME="$tmp/cache"
psql -X -q -d "$BASE" -c "CREATE DATABASE $db" >/dev/null
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$url" "$@" >/dev/null; }

echo "bench: $N rows, batches of $BATCH, PostgreSQL $(psql -X -A -t -d "$url" -c 'SHOW server_version')"
sql -c "CREATE TABLE t (id BIGINT PRIMARY KEY, a INTEGER NOT NULL, b TEXT)" \
    -c "INSERT INTO t (id, a) SELECT i, i % 1000 FROM generate_series(1, $N) i" \
    -c "VACUUM ANALYZE t"
settle() { sql -c "VACUUM t" -c "CHECKPOINT"; }

mkdir -p "$tmp/p/versions"
cat >"$tmp/p/lmigrate.lua" <<EOF
return { url = "$url", script_location = "versions" }
EOF
cat >"$tmp/p/versions/r1_base.lua" <<'EOF'
return { revision = "r1", down_revision = nil, message = "base",
  upgrade = function(op) end, downgrade = function(op) end }
EOF
cat >"$tmp/p/versions/r2_set.lua" <<EOF
return { revision = "r2", down_revision = "r1", message = "set form",
  upgrade = function(op) end, downgrade = function(op) end,
  data = function(op)
    op.backfill{ table = "t", key = "id", set = "b = 's' || a" }
  end }
EOF
cat >"$tmp/p/versions/r3_fn.lua" <<EOF
return { revision = "r3", down_revision = "r2", message = "fn form",
  upgrade = function(op) end, downgrade = function(op) end,
  data = function(op)
    op.backfill{ table = "t", key = "id", columns = { "a" },
      fn = function(row) return { b = "f" .. row.a } end }
  end }
EOF
(cd "$tmp/p" && "$BIN" -q upgrade r1) || die "upgrade r1 failed"

# timed LABEL CMD...: run CMD, append its wall time in µs to times_LABEL
times_single=() times_plpgsql=() times_set=() times_fn=()
timed() {
  local label=$1 t0 t1
  shift
  settle
  t0=$(now_us)
  "$@"
  t1=$(now_us)
  eval "times_$label+=($((t1 - t0)))"
}

longest_set=() longest_fn=()
longest() { sed -n 's/.*longest batch \([0-9]*\) ms.*/\1/p' "$1" | tail -1; }
for round in $(seq 1 "$RUNS"); do
  timed single sql -c "UPDATE t SET b = 'u' || a"
  timed plpgsql sql -c "DO \$\$ DECLARE lo BIGINT := 0; hi BIGINT; BEGIN
    LOOP
      SELECT max(id) INTO hi FROM (SELECT id FROM t WHERE id > lo ORDER BY id LIMIT $BATCH) s;
      EXIT WHEN hi IS NULL;
      UPDATE t SET b = 'p' || a WHERE id > lo AND id <= hi;
      lo := hi;
      COMMIT;
    END LOOP; END \$\$"
  timed set bash -c "cd '$tmp/p' && '$BIN' upgrade r2 2>'$tmp/set.err' >/dev/null"
  timed fn bash -c "cd '$tmp/p' && '$BIN' upgrade r3 2>'$tmp/fn.err' >/dev/null"
  [ "$(psql -X -A -t -d "$url" -c "SELECT count(*) FROM t WHERE b IS DISTINCT FROM 'f' || a")" = 0 ] ||
    die "the fn backfill left rows unchanged"
  longest_set+=("$(longest "$tmp/set.err")")
  longest_fn+=("$(longest "$tmp/fn.err")")
  # back to r1 for the next round (clears the walks' checkpoints)
  (cd "$tmp/p" && "$BIN" -q downgrade r1) || die "downgrade r1 failed"
  echo "bench: round $round of $RUNS done" >&2
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
maxof() { printf '%s\n' "$@" | sort -n | tail -1; }
rate() { awk -v n="$N" -v us="$1" 'BEGIN { printf "%.0f", n / (us / 1e6) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * b / a }'; }

for s in single plpgsql set fn; do eval "us_$s=\$(median \"\${times_$s[@]}\")"; done
printf '%-40s %10s %12s %10s\n' "step (median of $RUNS)" "seconds" "rows/s" "vs UPDATE"
for s in single plpgsql set fn; do
  us=$(eval echo "\$us_$s")
  case $s in
    single) label="single UPDATE of the whole table" ;;
    plpgsql) label="PL/pgSQL loop, COMMIT per batch" ;;
    set) label="op.backfill set (checkpoints, lmigrate)" ;;
    fn) label="op.backfill fn (Lua per row)" ;;
  esac
  printf '%-40s %10.2f %12s %10s\n' "$label" "$(awk -v u="$us" 'BEGIN{print u/1e6}')" \
    "$(rate "$us")" "$(ratio "$us" "$us_single")"
done
for s in single plpgsql set fn; do
  eval "echo \"runs $s (s): \$(printf '%s ' \"\${times_$s[@]}\" | awk '{ for (i = 1; i <= NF; i++) printf \"%.2f \", \$i / 1e6 }')\""
done
echo "longest batch (max of $RUNS runs): set form $(maxof "${longest_set[@]}") ms, fn form $(maxof "${longest_fn[@]}") ms"
echo "op.backfill set / PL/pgSQL loop: $(ratio "$us_set" "$us_plpgsql")"
