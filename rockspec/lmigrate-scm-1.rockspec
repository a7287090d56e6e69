-- LuaRocks rockspec: `luarocks --lua-version=5.4 make rockspec/lmigrate-scm-1.rockspec`
-- builds with the Makefile (type "make"); the CLI goes to BINDIR (not
-- build.install.bin, which is for Lua scripts), core.so to LIBDIR/lmigrate/,
-- lua/lmigrate/*.lua to LUADIR/lmigrate/; the man page, the docs and the
-- shell completions under the rock's own directory (PREFIX/share/...):
--   export MANPATH="$(luarocks show --rock-dir lmigrate)/share/man:"
-- makes `man lmigrate` find it (README, "Installing").
rockspec_format = "3.0"
package = "lmigrate"
version = "scm-1"

source = {
  url = "git+https://github.com/lmigrate/lmigrate.git",
  branch = "main",
}

description = {
  summary = "Database schema migrations in Lua, run by one native binary",
  detailed = [[
lmigrate is a schema migration runner in the spirit of Alembic: a C host
embedding Lua 5.4 runs revision scripts written in Lua against PostgreSQL
(libpq) or SQLite. Ships the `lmigrate` CLI and the `lmigrate.core` module.
libpq is loaded at run time, only for postgresql:// URLs: SQLite users need
not install it.
]],
  homepage = "https://github.com/lmigrate/lmigrate",
  license = "MIT",
  labels = { "database", "migrations", "postgresql", "sqlite" },
}

dependencies = {
  "lua >= 5.4, < 5.5",
}

-- libpq is not linked (src/pq.c dlopen()s libpq.so.5 for postgresql://
-- URLs), so it is no external dependency; the build needs its header
-- libpq-fe.h (Debian/Ubuntu: libpq-dev), which LuaRocks' header search
-- would not find in /usr/include/postgresql. The Makefile asks
-- `pg_config --includedir`; elsewhere set PGSQL_INCDIR in the environment.
external_dependencies = {
  SQLITE = { header = "sqlite3.h", library = "sqlite3" },
}

build = {
  type = "make",
  build_target = "all",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LIBFLAG = "$(LIBFLAG)",
    LUA = "$(LUA)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    LUA_LIBDIR = "$(LUA_LIBDIR)",
    LUALIB = "$(LUALIB)",
    SQLITE_INCDIR = "$(SQLITE_INCDIR)",
    SQLITE_LIBDIR = "$(SQLITE_LIBDIR)",
  },
  install_target = "install",
  install_variables = {
    INST_PREFIX = "$(PREFIX)",
    INST_BINDIR = "$(BINDIR)",
    INST_LIBDIR = "$(LIBDIR)",
    INST_LUADIR = "$(LUADIR)",
    INST_CONFDIR = "$(CONFDIR)",
  },
  copy_directories = { "docs" },
}

test_dependencies = {
  "busted",
}

test = {
  type = "busted",
  flags = { "--run=all" },
}
