/*
** core.h: the pieces of the Lua module `lmigrate.core` (build/lmigrate/core.so),
** used by unit specs to exercise the pure-C parts. Each lm_core_* adds its
** functions to the table on top of the stack.
*/
#ifndef LM_CORE_H
#define LM_CORE_H

#include <lua.h>

void lm_core_graph(lua_State *L);    /* core_graph.c: graph(...) */
void lm_core_url(lua_State *L);      /* core_url.c: url_parse, url_redact */
void lm_core_op(lua_State *L);       /* core_op.c: render, connect, null */
void lm_core_rebuild(lua_State *L);  /* core_rebuild.c: rebuild */
void lm_core_types(lua_State *L);    /* core_types.c: map_type */
void lm_core_host(lua_State *L);     /* core_host.c: run (the Lua API) */

int luaopen_lmigrate_core(lua_State *L);
/* luaL_checkstring that refuses a string holding a NUL byte (the C side
** would see it cut there). */
const char *lm_core_checkstring(lua_State *L, int arg);

#endif
