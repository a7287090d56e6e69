#!/usr/bin/env bash
#
# pgreplica.sh: a throwaway PostgreSQL primary with one streaming replica,
# for the replica-lag specs (same style as pgtmp.sh: no docker, no system
# service, trust auth, fsync off, free TCP ports on 127.0.0.1, sockets in
# the temp dir). The primary runs with wal_level = replica; the replica is
# a `pg_basebackup -R` copy of it (standby.signal + primary_conninfo) that
# reports its replay position every second (wal_receiver_status_interval
# = 1), so the primary's pg_stat_replication stays fresh.
#
#   pgreplica.sh start   start the pair (or reuse the running one); print
#                        the primary URL, then the replica URL (two lines)
#   pgreplica.sh env     print `export LMIGRATE_TEST_PG_PRIMARY_URL=...` and
#                        `export LMIGRATE_TEST_PG_REPLICA_URL=...` for eval
#   pgreplica.sh check   exit 0 when the server binaries are installed, else
#                        print why and exit 3 (specs skip on that)
#   pgreplica.sh stop    stop both and remove the directory (no-op when none)
#
# Both URLs name the database lmigrate_test. State (temp dir, URLs) lives
# in $LMIGRATE_PGREPLICA_STATE, default /tmp/lmigrate-pgreplica.<uid>.state.
# As root the servers run as the `postgres` system user. Never reads stdin.

set -eu

STATE=${LMIGRATE_PGREPLICA_STATE:-/tmp/lmigrate-pgreplica.$(id -u).state}
DB=lmigrate_test

die() {
  echo "pgreplica.sh: $*" >&2
  exit 1
}

# The newest /usr/lib/postgresql/N/bin holding initdb, pg_ctl and
# pg_basebackup, or pg_config's bindir; "" when there is none.
find_bindir() {
  local d best="" bestv=-1 v
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/pg_basebackup" ] ||
      continue
    v=${d#/usr/lib/postgresql/}
    v=${v%%/*}
    v=${v%%.*}
    case $v in *[!0-9]* | "") v=0 ;; esac
    if [ "$v" -gt "$bestv" ]; then
      best=$d
      bestv=$v
    fi
  done
  if [ -z "$best" ] && command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_basebackup" ] && best=$d
  fi
  echo "$best"
}

bindir_or_die() {
  BIN=$(find_bindir)
  [ -n "$BIN" ] || die "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) not found in /usr/lib/postgresql/*/bin; install them with: apt-get install postgresql (scripts/deps.sh does)"
}

# Run a server command as the clusters' owner (postgres when we are root).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

load_state() {
  TD=""
  PRIMARY=""
  REPLICA=""
  [ -f "$STATE" ] || return 1
  # shellcheck disable=SC1090
  . "$STATE"
  [ -n "$TD" ] && [ -n "$PRIMARY" ] && [ -n "$REPLICA" ]
}

is_running() {
  [ -d "$TD/primary" ] && [ -d "$TD/replica" ] || return 1
  as_owner "$BIN/pg_ctl" -D "$TD/primary" status >/dev/null 2>&1 </dev/null &&
    as_owner "$BIN/pg_ctl" -D "$TD/replica" status >/dev/null 2>&1 </dev/null
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A free port above $1.
free_port() {
  local p=$1 tries=0
  while [ $tries -lt 50 ]; do
    p=$((p + 1))
    tries=$((tries + 1))
    port_free "$p" && { echo "$p"; return 0; }
  done
  die "no free port found above $1"
}

# Write a server's own settings to $TD/$1.conf and include them last from
# its postgresql.conf (the last setting wins, so the replica's copy of the
# primary's include is overridden).
server_conf() {
  local name=$1 port=$2
  shift 2
  {
    echo "# lmigrate pgreplica.sh ($name)"
    echo "unix_socket_directories = '$TD'"
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = on"
    echo "max_connections = 50"
    for s in "$@"; do echo "$s"; done
  } >"$TD/$name.conf"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$TD/$name.conf"
  echo "include_if_exists = '$TD/$name.conf'" >>"$TD/$name/postgresql.conf"
}

fail_start() {
  tail -n 20 "$TD/$1.log" >&2 2>/dev/null || true
  as_owner "$BIN/pg_ctl" -D "$TD/replica" -m immediate stop >/dev/null 2>&1 </dev/null || true
  as_owner "$BIN/pg_ctl" -D "$TD/primary" -m immediate stop >/dev/null 2>&1 </dev/null || true
  rm -rf "$TD"
  die "$2"
}

cmd_start() {
  local pport rport n=0 psql
  bindir_or_die
  if load_state && is_running; then
    echo "$PRIMARY"
    echo "$REPLICA"
    return 0
  fi
  [ -f "$STATE" ] && cmd_stop
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 ||
      die "running as root needs the 'postgres' system user (apt-get install postgresql creates it)"
  fi
  TD=$(mktemp -d "${TMPDIR:-/tmp}/lmigrate-pgreplica.XXXXXX")
  [ "$(id -u)" -eq 0 ] && chown postgres: "$TD"
  # initdb -A trust also trusts replication connections from 127.0.0.1
  if ! as_owner "$BIN/initdb" --nosync -A trust -E UTF8 -U postgres \
      -D "$TD/primary" >"$TD/initdb.log" 2>&1 </dev/null; then
    cat "$TD/initdb.log" >&2
    rm -rf "$TD"
    die "initdb failed"
  fi
  pport=$(free_port $((20000 + RANDOM % 30000)))
  server_conf primary "$pport" "wal_level = replica" "max_wal_senders = 5" \
    "wal_keep_size = '64MB'"
  as_owner "$BIN/pg_ctl" -D "$TD/primary" -w -t 30 -l "$TD/primary.log" \
    start >/dev/null 2>&1 </dev/null || fail_start primary "could not start the primary"
  psql="$BIN/psql -X -q -h $TD -U postgres -v ON_ERROR_STOP=1"
  $psql -p "$pport" -d postgres -c "CREATE DATABASE $DB" >/dev/null </dev/null ||
    fail_start primary "could not create database $DB"
  if ! as_owner "$BIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres \
      -D "$TD/replica" -R -X stream -c fast >"$TD/basebackup.log" 2>&1 </dev/null; then
    cat "$TD/basebackup.log" >&2
    fail_start primary "pg_basebackup failed"
  fi
  rport=$(free_port "$pport")
  server_conf replica "$rport" "hot_standby = on" \
    "wal_receiver_status_interval = 1"
  as_owner "$BIN/pg_ctl" -D "$TD/replica" -w -t 30 -l "$TD/replica.log" \
    start >/dev/null 2>&1 </dev/null || fail_start replica "could not start the replica"
  until [ "$($psql -p "$pport" -d postgres -A -t -c \
      "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" </dev/null)" = 1 ]; do
    n=$((n + 1))
    [ $n -lt 300 ] || fail_start replica "the replica did not start streaming within 30 s"
    sleep 0.1
  done
  PRIMARY="postgresql://postgres@127.0.0.1:$pport/$DB"
  REPLICA="postgresql://postgres@127.0.0.1:$rport/$DB"
  printf 'TD=%q\nPRIMARY=%q\nREPLICA=%q\n' "$TD" "$PRIMARY" "$REPLICA" >"$STATE"
  echo "$PRIMARY"
  echo "$REPLICA"
}

cmd_stop() {
  if ! load_state; then
    rm -f "$STATE"
    return 0
  fi
  BIN=$(find_bindir)
  if [ -n "$BIN" ]; then
    as_owner "$BIN/pg_ctl" -D "$TD/replica" -m immediate stop \
      >/dev/null 2>&1 </dev/null || true
    as_owner "$BIN/pg_ctl" -D "$TD/primary" -m immediate stop \
      >/dev/null 2>&1 </dev/null || true
  fi
  case $TD in
    */lmigrate-pgreplica.*) rm -rf "$TD" ;;
  esac
  rm -f "$STATE"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  check)
    [ -n "$(find_bindir)" ] || {
      echo "pgreplica.sh: PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) not found; install them with: apt-get install postgresql" >&2
      exit 3
    }
    ;;
  env)
    bindir_or_die
    load_state && is_running || die "no pair is running (run: $0 start)"
    printf 'export LMIGRATE_TEST_PG_PRIMARY_URL=%q\n' "$PRIMARY"
    printf 'export LMIGRATE_TEST_PG_REPLICA_URL=%q\n' "$REPLICA"
    ;;
  *)
    echo "usage: $0 start|stop|env|check" >&2
    exit 2
    ;;
esac
