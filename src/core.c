/*
** core.c: luaopen_lmigrate_core, the module busted unit specs require.
** It assembles the table from the core_*.c parts; see core.h.
*/
#include <lua.h>
#include <lauxlib.h>

#include "core.h"

int luaopen_lmigrate_core(lua_State *L) {
  lua_newtable(L);
  lm_core_graph(L);
  lm_core_url(L);
  lm_core_op(L);
  lm_core_rebuild(L);
  lm_core_host(L);
  lua_pushliteral(L, "0.1.0");
  lua_setfield(L, -2, "version");
  return 1;
}
