/*
** core.c: luaopen_lmigrate_core, the module busted unit specs require.
** It assembles the table from the core_*.c parts; see core.h.
*/
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "core.h"

const char *lm_core_checkstring(lua_State *L, int arg) {
  size_t len;
  const char *s = luaL_checklstring(L, arg, &len);
  if (strlen(s) != len) luaL_argerror(L, arg, "contains a NUL byte");
  return s;
}

int luaopen_lmigrate_core(lua_State *L) {
  lua_newtable(L);
  lm_core_graph(L);
  lm_core_url(L);
  lm_core_op(L);
  lm_core_rebuild(L);
  lm_core_types(L);
  lm_core_host(L);
  lua_pushliteral(L, "0.1.0");
  lua_setfield(L, -2, "version");
  return 1;
}
