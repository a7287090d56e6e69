/*
** op_guard.c: the op table's metatable: reading a name the table does not
** have (`op.add_colum(...)`) is an error at that line, "unknown op
** 'add_colum' (did you mean 'add_column'?)", instead of the Lua message
** "attempt to call a nil value (field 'add_colum')". `dialect` and
** `offline`, absent when an op has no connection, read as nil.
*/
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "op_int.h"
#include "suggest.h"

#define MAXNAMES 96

/* __index(op, key): raise, naming the revision's file:line and the
** closest existing op. */
static int op_index(lua_State *L) {
  const char *names[MAXNAMES + 1];
  const char *key, *s;
  int n = 0;
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  key = lua_tostring(L, 2);
  if (strcmp(key, "dialect") == 0 || strcmp(key, "offline") == 0) return 0;
  lua_pushnil(L);
  while (n < MAXNAMES && lua_next(L, 1)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) names[n++] = lua_tostring(L, -1);
  }
  names[n] = NULL;
  s = lm_suggest(key, names);
  luaL_where(L, 2);
  if (s)
    lua_pushfstring(L, "unknown op '%s' (did you mean '%s'?)", key, s);
  else
    lua_pushfstring(L, "unknown op '%s'; see docs/revisions.md for the op "
                    "reference", key);
  lua_concat(L, 2);
  return lua_error(L);
}

void lm_op_guard(lua_State *L) {
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, op_index);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
}
