#!/usr/bin/env bash
#
# pgtmp.sh: a throwaway PostgreSQL cluster for the specs (after ephemeralpg's
# pg_tmp). No docker, no system service: initdb into a temp dir, trust auth,
# fsync off, a free TCP port on 127.0.0.1, the socket in the temp dir.
#
#   pgtmp.sh start   start a cluster (or reuse the running one); print its URL
#   pgtmp.sh url     print the URL of the running cluster
#   pgtmp.sh env     print `export LMIGRATE_TEST_PG_URL=...` for eval
#   pgtmp.sh stop    stop it and remove its directory (no-op when none runs)
#
# State (temp dir, URL) lives in $LMIGRATE_PGTMP_STATE, default
# /tmp/lmigrate-pgtmp.<uid>.state. As root the cluster runs as the
# `postgres` system user, because initdb refuses to run as root.
# Never reads stdin.

set -eu

STATE=${LMIGRATE_PGTMP_STATE:-/tmp/lmigrate-pgtmp.$(id -u).state}
DB=lmigrate_test

die() {
  echo "pgtmp.sh: $*" >&2
  exit 1
}

# The newest /usr/lib/postgresql/N/bin holding initdb, or pg_config's bindir.
find_bindir() {
  local d best="" bestv=-1 v
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] || continue
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
    [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && best=$d
  fi
  [ -n "$best" ] || die "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin; install them with: apt-get install postgresql"
  echo "$best"
}

# Run a server command as the cluster's owner (postgres when we are root).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Load TD and URL from the state file; 1 when there is no state.
load_state() {
  TD=""
  URL=""
  [ -f "$STATE" ] || return 1
  # shellcheck disable=SC1090
  . "$STATE"
  [ -n "$TD" ] && [ -n "$URL" ]
}

is_running() {
  local bindir
  [ -d "$TD/data" ] || return 1
  bindir=$(find_bindir)
  as_owner "$bindir/pg_ctl" -D "$TD/data" status >/dev/null 2>&1 </dev/null
}

# 0 when nothing accepts connections on 127.0.0.1:$1.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_start() {
  local bindir port tries=0 started=0
  if load_state && is_running; then
    echo "$URL"
    return 0
  fi
  [ -f "$STATE" ] && cmd_stop
  bindir=$(find_bindir)
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 ||
      die "running as root needs the 'postgres' system user (apt-get install postgresql creates it)"
  fi
  TD=$(mktemp -d "${TMPDIR:-/tmp}/lmigrate-pgtmp.XXXXXX")
  [ "$(id -u)" -eq 0 ] && chown postgres: "$TD"
  if ! as_owner "$bindir/initdb" --nosync -A trust -E UTF8 -U postgres \
      -D "$TD/data" >"$TD/initdb.log" 2>&1 </dev/null; then
    cat "$TD/initdb.log" >&2
    rm -rf "$TD"
    die "initdb failed"
  fi
  port=$((20000 + RANDOM % 30000))
  while [ $tries -lt 20 ]; do
    tries=$((tries + 1))
    port=$((port + 1))
    port_free "$port" || continue
    {
      echo "# lmigrate pgtmp.sh"
      echo "unix_socket_directories = '$TD'"
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $port"
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
      echo "max_connections = 100"
    } >"$TD/pgtmp.conf"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$TD/pgtmp.conf"
    # the last setting wins: include_if_exists keeps a retry's port current
    grep -q "pgtmp.conf" "$TD/data/postgresql.conf" ||
      echo "include_if_exists = '$TD/pgtmp.conf'" >>"$TD/data/postgresql.conf"
    if as_owner "$bindir/pg_ctl" -D "$TD/data" -w -t 30 -l "$TD/log" start \
        >/dev/null 2>&1 </dev/null; then
      started=1
      break
    fi
  done
  if [ $started -ne 1 ]; then
    tail -n 20 "$TD/log" >&2 2>/dev/null || true
    rm -rf "$TD"
    die "could not start PostgreSQL (tried $tries ports)"
  fi
  if ! "$bindir/psql" -X -q -h "$TD" -p "$port" -U postgres -d postgres \
      -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DB" >/dev/null </dev/null; then
    as_owner "$bindir/pg_ctl" -D "$TD/data" -m immediate stop >/dev/null 2>&1 </dev/null || true
    rm -rf "$TD"
    die "could not create database $DB"
  fi
  URL="postgresql://postgres@127.0.0.1:$port/$DB"
  printf 'TD=%q\nURL=%q\n' "$TD" "$URL" >"$STATE"
  echo "$URL"
}

cmd_stop() {
  local bindir
  if ! load_state; then
    rm -f "$STATE"
    return 0
  fi
  if [ -d "$TD/data" ]; then
    bindir=$(find_bindir)
    as_owner "$bindir/pg_ctl" -D "$TD/data" -m immediate stop \
      >/dev/null 2>&1 </dev/null || true
  fi
  case $TD in
    */lmigrate-pgtmp.*) rm -rf "$TD" ;;
  esac
  rm -f "$STATE"
}

cmd_url() {
  load_state && is_running || die "no cluster is running (run: $0 start)"
  echo "$URL"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  url) cmd_url ;;
  env)
    cmd_url >/dev/null
    printf 'export LMIGRATE_TEST_PG_URL=%q\n' "$URL"
    ;;
  *)
    echo "usage: $0 start|stop|url|env" >&2
    exit 2
    ;;
esac
