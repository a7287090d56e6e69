#!/usr/bin/env bash
# bench/rebuild.sh: a SQLite table rebuild of ROWS rows (default 1,000,000)
# by lmigrate (lm_sqlite_rebuild through lmigrate.core's rebuild(), the same
# code op.alter_column runs) next to the same 12 steps typed by hand into
# the sqlite3 CLI. Reports wall seconds and peak memory (max RSS, from
# /usr/bin/time -v) for each, on identical copies of one database.
#
# The table: id INTEGER PRIMARY KEY, a TEXT NOT NULL, b INT, c REAL, with a
# plain and a partial index; the change: b becomes BIGINT NOT NULL DEFAULT 0.
# Env: ROWS, LUA (lua5.4), CPATH (./build/lib/?.so), BENCH_KEEP=1.
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
root=$PWD
ROWS=${ROWS:-1000000}
LUA=${LUA:-lua5.4}
CPATH=${CPATH:-$root/build/lib/?.so}

die() { echo "bench: $*" >&2; exit 1; }
command -v sqlite3 >/dev/null || die "sqlite3 CLI missing (make deps)"
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"
$LUA -e "package.cpath = '$CPATH;' .. package.cpath; assert(require('lmigrate.core').rebuild)" \
  || die "lmigrate.core with rebuild() not found in $CPATH (run make)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lmigrate-rebuild.XXXXXX")
if [ -z "${BENCH_KEEP:-}" ]; then trap 'rm -rf "$tmp"' EXIT; else echo "bench: keeping $tmp"; fi

sqlite3 "$tmp/base.db" >/dev/null <<SQL
PRAGMA journal_mode = DELETE;
CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b INT, c REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS)
INSERT INTO t (id, a, b, c) SELECT i, 'row ' || i, i % 1000, i * 0.5 FROM n;
CREATE INDEX ix_b ON t (b);
CREATE INDEX ix_a_part ON t (a) WHERE b > 900;
SQL
cp "$tmp/base.db" "$tmp/lm.db"
cp "$tmp/base.db" "$tmp/cli.db"

# run LABEL CMD...: time CMD, print "LABEL  seconds  peak MB"
run() {
  local label=$1; shift
  /usr/bin/time -v -o "$tmp/time.txt" "$@" >/dev/null
  local wall rss
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/time.txt")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time.txt")
  awk -v l="$label" -v w="$wall" -v r="$rss" 'BEGIN {
    n = split(w, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i];
    printf "%-34s %8.2f s %8.1f MB\n", l, s, r / 1024 }'
}

cat > "$tmp/lm.lua" <<LUA
package.cpath = "$CPATH;" .. package.cpath
local core = require "lmigrate.core"
local r = core.rebuild(arg[1], "t", {
  { kind = "alter_column", column = "b", type = "bigint", nullable = false, server_default = "0" },
}, { foreign_keys = true })
assert(#r.warnings == 0, table.concat(r.warnings, "\n"))
LUA

cat > "$tmp/cli.sql" <<'SQL'
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE lm_new_t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b BIGINT NOT NULL DEFAULT 0, c REAL);
INSERT INTO lm_new_t (id, a, b, c) SELECT id, a, b, c FROM t;
DROP TABLE t;
ALTER TABLE lm_new_t RENAME TO t;
CREATE INDEX ix_b ON t (b);
CREATE INDEX ix_a_part ON t (a) WHERE b > 900;
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
SQL

echo "rebuild of a $ROWS-row SQLite table (b INT -> BIGINT NOT NULL DEFAULT 0, 2 indexes)"
run "lmigrate (lm_sqlite_rebuild)" "$LUA" "$tmp/lm.lua" "$tmp/lm.db"
run "by hand in sqlite3 (12 steps)" sqlite3 -bail "$tmp/cli.db" ".read $tmp/cli.sql"
[ "$(sqlite3 "$tmp/lm.db" 'SELECT count(*), sum(b) FROM t')" = \
  "$(sqlite3 "$tmp/cli.db" 'SELECT count(*), sum(b) FROM t')" ] || die "results differ"
