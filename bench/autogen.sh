#!/usr/bin/env bash
# bench/autogen.sh: autogenerate and check on a generated 500-table schema
# on SQLite (make bench). Each table has 8 columns of mixed types, a
# primary key, a unique constraint, an index, a check and (from the second
# table on) a foreign key to the previous table.
#
#   1. `revision --autogenerate` on an empty database (500 tables added)
#   2. `check` once that revision is applied (500 tables reflected, no
#      difference)
#   3. `check` after one column was added to the schema file (one line)
#
# Each figure is the median of RUNS runs (default 5), with the peak
# resident memory and CPU time (user + system) that /usr/bin/time -v
# reports for one more run. The target: each under 1 s. On a shared,
# loaded machine the wall time includes waiting for a core; the CPU time
# does not. Env: LMIGRATE_BIN, RUNS, TABLES (500).
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
root=$PWD

BIN=${LMIGRATE_BIN:-build/lmigrate}
case $BIN in /*) ;; *) BIN=$root/$BIN ;; esac
RUNS=${RUNS:-5}
TABLES=${TABLES:-500}

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "$BIN is not built (run make)"
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lmigrate-bench-autogen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"

now_us() { local t=${EPOCHREALTIME/[.,]/}; echo $((10#$t)); }

# The schema file: TABLES tables.
gen_schema() {
  local extra=$1
  {
    echo 'local s = ...'
    echo "for i = 1, $TABLES do"
    cat <<'LUA'
  local t = ("t%04d"):format(i)
  local cols = {
    { "id", "integer", primary_key = true },
    { "code", "string(40)", nullable = false },
    { "name", "text" },
    { "amount", "numeric(12,2)", server_default = "0" },
    { "active", "boolean", nullable = false, server_default = "1" },
    { "created_at", "timestamp", server_default = "CURRENT_TIMESTAMP" },
    { "note", "string(200)" },
  }
  if i > 1 then
    cols[#cols + 1] = { "parent_id", "integer", references = ("t%04d.id"):format(i - 1), on_delete = "CASCADE" }
  else
    cols[#cols + 1] = { "parent_id", "integer" }
  end
  s.create_table(t, table.unpack(cols))
  s.create_unique_constraint("uq_" .. t .. "_code", t, { "code" })
  s.create_index("ix_" .. t .. "_name", t, { "name" })
  s.create_check_constraint("ck_" .. t .. "_amount", t, "amount >= 0")
LUA
    echo 'end'
    echo "$extra"
  } > "$tmp/p/schema.lua"
}

mkdir -p "$tmp/p/versions"
echo 'return { url = "sqlite:bench.db", script_location = "versions" }' > "$tmp/p/lmigrate.lua"
gen_schema ""

# run_timed LABEL SETUP CMD...: the median of RUNS runs of CMD (in the
# project, SETUP run untimed before each), and the peak RSS of one more
# run under /usr/bin/time -v; prints a table row.
run_timed() {
  local label=$1 setup=$2; shift 2
  local times=() i t0 t1 rc
  for ((i = 0; i < RUNS; i++)); do
    (cd "$tmp/p" && eval "$setup")
    t0=$(now_us)
    rc=0
    (cd "$tmp/p" && "$@" >"$tmp/out" 2>"$tmp/err") || rc=$?
    t1=$(now_us)
    if [ "$rc" -gt 1 ]; then cat "$tmp/err" >&2; die "command failed: $*"; fi
    times+=($((t1 - t0)))
  done
  (cd "$tmp/p" && eval "$setup")
  (cd "$tmp/p" && /usr/bin/time -v "$@" >/dev/null 2>"$tmp/time") || true
  local rss cpu
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/time")
  cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { print (u + s) * 1000 }' "$tmp/time")
  local med
  med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  printf '| %-44s | %8.1f ms | %6.0f ms | %5.1f MB |\n' "$label" "$(echo "$med / 1000" | bc -l)" "$cpu" "$(echo "$rss / 1024" | bc -l)"
  [ "$med" -lt 1000000 ] || echo "bench: $label took more than 1 s" >&2
}

echo "autogenerate and check, $TABLES tables on SQLite (median of $RUNS runs)"
echo "(wall: median; CPU = user + system and peak RSS: /usr/bin/time -v of one more run)"
echo "| command | wall | CPU | peak RSS |"
echo "|---|---|---|---|"
run_timed "revision --autogenerate, empty database" \
  'rm -f bench.db versions/*.lua' \
  "$BIN" revision --autogenerate -m all --rev-id aaaaaaaaaaaa
(cd "$tmp/p" && rm -f bench.db versions/*.lua && "$BIN" -q revision --autogenerate -m all --rev-id aaaaaaaaaaaa >/dev/null &&
  "$BIN" -q upgrade head) || die "upgrade of the generated revision failed"
run_timed "check, database at head, no difference" ':' "$BIN" check
gen_schema 's.create_table("extra", { "id", "integer", primary_key = true })'
run_timed "check, one difference (exit 1)" ':' "$BIN" check
