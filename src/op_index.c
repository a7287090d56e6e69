/*
** op_index.c: the key columns of op.create_index: a column name, or a
** list mixing column names and expressions written { expr = "lower(email)" }
** (an expression index). Expressions are raw SQL, like `where`, rendered
** in parentheses by the dialect (lm_dialect_render_index_cols).
*/
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "op_int.h"

/* The expression of the { expr = "..." } table at stack index t (entry i
** of argument arg); raises for any other key or an empty expression. */
static const char *index_expr(lua_State *L, int arg, int t, int i) {
  const char *s = NULL;
  size_t len = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING ||
        strcmp(lua_tostring(L, -1), "expr") != 0)
      luaL_argerror(L, arg, lua_pushfstring(L, "column %d: an expression "
                    "is written { expr = \"sql\" } and takes no other key",
                    i));
  }
  if (lua_getfield(L, t, "expr") == LUA_TSTRING) s = lua_tolstring(L, -1, &len);
  lua_pop(L, 1);
  if (s == NULL || len == 0 || strlen(s) != len)
    luaL_argerror(L, arg, lua_pushfstring(L, "column %d: expr must be a "
                  "non-empty SQL expression", i));
  return s;
}

const char *const *lm_op_check_index_cols(lua_State *L, int arg, int *n,
                                          const unsigned char **is_expr) {
  const char **cols;
  unsigned char *ex;
  int i, any = 0;
  *is_expr = NULL;
  if (lua_type(L, arg) != LUA_TTABLE)
    return lm_op_check_cols(L, arg, n, "an index");
  *n = (int)lua_rawlen(L, arg);
  if (*n < 1)
    luaL_argerror(L, arg, "an index needs at least one column");
  cols = lua_newuserdatauv(L, (size_t)*n * (sizeof *cols + 1), 0);
  ex = (unsigned char *)(cols + *n);
  for (i = 0; i < *n; i++) {
    size_t len = 0;
    const char *s = NULL;
    int t = lua_rawgeti(L, arg, i + 1);
    ex[i] = 0;
    if (t == LUA_TSTRING) {
      s = lua_tolstring(L, -1, &len);
    } else if (t == LUA_TTABLE) {
      s = index_expr(L, arg, lua_gettop(L), i + 1);
      len = strlen(s);
      ex[i] = 1;
      any = 1;
    }
    lua_pop(L, 1);
    if (s == NULL || len == 0 || strlen(s) != len)
      luaL_argerror(L, arg, lua_pushfstring(L, "column %d must be a non-empty "
                    "column name", i + 1));
    cols[i] = s;
  }
  if (any) *is_expr = ex;
  return cols;
}
