#!/usr/bin/env bash
# with-pg.sh CMD...: run CMD with a throwaway PostgreSQL cluster
# (spec/support/pgtmp.sh) started before and stopped after, also when CMD
# fails or is interrupted. CMD sees LMIGRATE_TEST_PG_URL, and
# LMIGRATE_TEST_BACKENDS defaults to "sqlite,postgres" so every integration
# spec runs on both backends.
set -euo pipefail
exec </dev/null
here=$(cd "$(dirname "$0")" && pwd)
export LMIGRATE_PGTMP_STATE=${LMIGRATE_PGTMP_STATE:-$(mktemp -u /tmp/lmigrate-pgtmp.XXXXXX).state}
cleanup() { bash "$here/pgtmp.sh" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
LMIGRATE_TEST_PG_URL=$(bash "$here/pgtmp.sh" start)
export LMIGRATE_TEST_PG_URL
# The throwaway cluster uses trust auth over TCP: skip libpq's GSSAPI
# probing (slow per connection, and it deadlocks under make asan-test's
# preloaded libasan).
export PGGSSENCMODE=disable
export LMIGRATE_TEST_BACKENDS=${LMIGRATE_TEST_BACKENDS:-sqlite,postgres}
echo "with-pg.sh: PostgreSQL at $LMIGRATE_TEST_PG_URL" >&2
"$@"
