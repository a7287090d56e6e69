/*
** value.c: Lua <-> SQL values: the op.null sentinel, parameter lists
** ($1..$N) read from Lua arrays, and result rows pushed as Lua tables.
**
** Choices (see value.h):
** - A parameter list is read up to t.n when that is an integer (so
**   table.pack(...) keeps trailing nils), else up to #t (raw length); a nil
**   inside that range binds NULL, as op.null does. Because #t is unreliable
**   with trailing nils, write op.null there (or use table.pack).
** - Lua strings always bind as TEXT, whatever bytes they hold; there is no
**   guessing of BLOBs from invalid UTF-8. SQL BLOB columns come back as Lua
**   strings.
** - Integers (lua_isinteger) bind as integers, other numbers as floats,
**   booleans as booleans (the backend decides the spelling: 1/0, TRUE/FALSE).
*/
#include <lua.h>
#include <lauxlib.h>

#include "value.h"

/* The address of this constant is op.null. It is never written. */
static const char null_tag = 0;

void lm_value_pushnull(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&null_tag);
}

int lm_value_isnull(lua_State *L, int idx) {
  return lua_type(L, idx) == LUA_TLIGHTUSERDATA &&
         lua_touserdata(L, idx) == (void *)&null_tag;
}

int lm_value_from_lua(lua_State *L, int idx, struct lm_value *v) {
  v->type = LM_VNULL;
  v->i = 0;
  v->f = 0.0;
  v->s = NULL;
  v->n = 0;
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TNONE:
      return 0;
    case LUA_TLIGHTUSERDATA:
      return lm_value_isnull(L, idx) ? 0 : 1;
    case LUA_TBOOLEAN:
      v->type = LM_VBOOL;
      v->i = lua_toboolean(L, idx);
      return 0;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        v->type = LM_VINT;
        v->i = (long long)lua_tointeger(L, idx);
      } else {
        v->type = LM_VFLOAT;
        v->f = (double)lua_tonumber(L, idx);
      }
      return 0;
    case LUA_TSTRING:
      v->type = LM_VTEXT;
      v->s = lua_tolstring(L, idx, &v->n);
      return 0;
    default:
      return 1;
  }
}

void lm_value_checkparams(lua_State *L, int tidx, int argn,
                          struct lm_value **out, int *n) {
  lua_Integer len, i;
  struct lm_value *vals;
  tidx = lua_absindex(L, tidx);
  if (lua_isnoneornil(L, tidx)) {
    lua_newuserdatauv(L, 0, 0);
    *out = NULL;
    *n = 0;
    return;
  }
  luaL_checktype(L, tidx, LUA_TTABLE);
  if (lua_getfield(L, tidx, "n") == LUA_TNUMBER && lua_isinteger(L, -1)) {
    len = lua_tointeger(L, -1);
    if (len < 0) luaL_argerror(L, argn, "negative parameter count n");
  } else {
    len = (lua_Integer)lua_rawlen(L, tidx);
  }
  lua_pop(L, 1);
  if (len > 65535)
    luaL_argerror(L, argn, "too many SQL parameters (more than 65535)");
  vals = lua_newuserdatauv(L, (size_t)(len > 0 ? len : 1) * sizeof *vals, 0);
  for (i = 1; i <= len; i++) {
    int bad;
    lua_rawgeti(L, tidx, i);
    /* a string stays reachable through the table after the pop */
    bad = lm_value_from_lua(L, -1, &vals[i - 1]);
    if (bad) {
      const char *msg = lua_pushfstring(L, "%s not supported as SQL parameter %d",
                                        luaL_typename(L, -1), (int)i);
      luaL_argerror(L, argn, msg);
    }
    lua_pop(L, 1);
  }
  *out = vals;
  *n = (int)len;
}

void lm_value_push(lua_State *L, const struct lm_value *v) {
  switch (v->type) {
    case LM_VNULL:
      lm_value_pushnull(L);
      break;
    case LM_VINT:
      lua_pushinteger(L, (lua_Integer)v->i);
      break;
    case LM_VFLOAT:
      lua_pushnumber(L, (lua_Number)v->f);
      break;
    case LM_VTEXT:
    case LM_VBLOB:
      lua_pushlstring(L, v->s ? v->s : "", v->n);
      break;
    case LM_VBOOL:
      lua_pushboolean(L, v->i != 0);
      break;
  }
}

void lm_value_pushrow(lua_State *L, struct lm_cursor *cur) {
  const struct lm_backend *be = cur->conn->be;
  int i, ncols = be->cursor_ncols(cur);
  lua_createtable(L, 0, ncols);
  for (i = 0; i < ncols; i++) {
    struct lm_value v;
    const char *name = be->cursor_colname(cur, i);
    be->cursor_value(cur, i, &v);
    lm_value_push(L, &v);
    lua_setfield(L, -2, name ? name : "?");
  }
}
