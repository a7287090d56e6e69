#!/bin/sh
# scripts/deps.sh: install the Debian packages lmigrate needs to build and
# test, non-interactively. A no-op (well under a second) when they are all
# installed; `apt-get update` runs only when a first install attempt fails.
# Extra packages may be named on the command line (e.g. `deps.sh luarocks`).
set -eu

PKGS="liblua5.4-dev lua5.4 lua-busted lua-dkjson graphviz libsqlite3-dev sqlite3 libpq-dev libssl-dev pkg-config postgresql postgresql-client time $*"

missing=""
for p in $PKGS; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps.sh: missing packages:$missing (no apt-get here; install them yourself)" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "deps.sh: missing packages:$missing; run as root or install sudo" >&2
    exit 1
  fi
fi

echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
APT="$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends"
# shellcheck disable=SC2086
if ! $APT $missing </dev/null; then
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
  $APT $missing </dev/null
fi
