/*
** core_types.c: core.map_type(dialect, type) -> the backend's spelling of
** a column type, through the dialect's own map_type (the rules op uses), so
** the Lua autogenerate model (lua/lmigrate/model.lua) normalises declared
** portable types exactly as op would render them. A verbatim type comes
** back unchanged; a portable type with too many arguments raises
** (column "name": type "text(10)" takes no arguments ...).
*/
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "core.h"
#include "dialect.h"
#include "sqlbuf.h"

#define TYPEBUF_MT "lmigrate.core.typebuf"

static int typebuf_gc(lua_State *L) {
  lm_sb_free((struct lm_sqlbuf *)luaL_checkudata(L, 1, TYPEBUF_MT));
  return 0;
}

/* map_type(dialect_name, type_string [, column_name]) -> backend type
** string; column_name only names the column in an error. */
static int core_map_type(lua_State *L) {
  const char *dname = luaL_checkstring(L, 1);
  size_t len;
  const char *type = luaL_checklstring(L, 2, &len);
  const struct lm_dialect *d;
  struct lm_column col;
  struct lm_sqlbuf *sb;
  struct lm_err err;
  int rc;
  if (strcmp(dname, "sqlite") == 0) d = &lm_dialect_sqlite;
  else if (strcmp(dname, "postgresql") == 0) d = &lm_dialect_pg;
  else return luaL_argerror(L, 1, "unknown dialect");
  if (len == 0 || strlen(type) != len)
    return luaL_argerror(L, 2, "type must be a non-empty string without NUL");
  memset(&col, 0, sizeof col);
  col.name = luaL_optstring(L, 3, "?");
  col.type = type;
  sb = lua_newuserdatauv(L, sizeof *sb, 0);
  lm_sb_init(sb);
  luaL_setmetatable(L, TYPEBUF_MT);
  lm_err_clear(&err);
  rc = d->map_type(sb, &col, &err);
  if (rc == 0 && !lm_sb_ok(sb)) rc = lm_err_set(&err, "out of memory");
  if (rc) {
    lm_sb_free(sb);
    lua_pushstring(L, err.msg);
    return lua_error(L);
  }
  lua_pushlstring(L, lm_sb_str(sb), sb->len);
  lm_sb_free(sb);
  return 1;
}

void lm_core_types(lua_State *L) {
  if (luaL_newmetatable(L, TYPEBUF_MT)) {
    lua_pushcfunction(L, typebuf_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, core_map_type);
  lua_setfield(L, -2, "map_type");
}
