-- LuaRocks rockspec: `luarocks --lua-version=5.4 make rockspec/lmigrate-scm-1.rockspec`
-- builds with the Makefile (type "make"); the CLI goes to BINDIR (not
-- build.install.bin, which is for Lua scripts), core.so to LIBDIR/lmigrate/,
-- lua/lmigrate/*.lua to LUADIR/lmigrate/.
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
]],
  homepage = "https://github.com/lmigrate/lmigrate",
  license = "MIT",
  labels = { "database", "migrations", "postgresql", "sqlite" },
}

dependencies = {
  "lua >= 5.4, < 5.5",
}

-- PGSQL checks the library only: Debian/Ubuntu keep libpq-fe.h in
-- /usr/include/postgresql, where LuaRocks' header search does not look.
-- The Makefile adds `pg_config --includedir` when PGSQL_INCDIR lacks it,
-- or pass PGSQL_INCDIR=... to luarocks.
external_dependencies = {
  PGSQL = { library = "pq" },
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
    PGSQL_INCDIR = "$(PGSQL_INCDIR)",
    PGSQL_LIBDIR = "$(PGSQL_LIBDIR)",
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
