/*
** host_require.c: `require` for the Lua modules embedded from lua/
** (build/luamods.c). A package searcher placed right after the preload
** searcher maps a module name to lua/<name with dots as slashes>.lua or
** .../init.lua. Embedded modules win over files on LUA_PATH, so the binary
** always runs the Lua half it was built with; other modules (a project's
** own helpers) are found on package.path as usual. lmigrate.core (the C
** parts the Lua modules use, core.c) is preloaded from the binary itself.
*/
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "core.h"
#include "host.h"
#include "luamods.h"

/* The embedded module file for a dotted module name, or NULL. */
static const struct lm_template *find_module(lua_State *L, const char *name,
                                             const char **path) {
  static const char *const forms[] = { "%s.lua", "%s/init.lua" };
  const struct lm_template *t = NULL;
  size_t i;
  if (strchr(name, '/') != NULL || strchr(name, '\\') != NULL) return NULL;
  for (i = 0; i < sizeof forms / sizeof forms[0] && t == NULL; i++) {
    const char *rel = luaL_gsub(L, name, ".", "/");
    *path = lua_pushfstring(L, forms[i], rel);
    lua_remove(L, -2);
    t = lm_luamod_find(*path);
    if (t == NULL) lua_pop(L, 1);
  }
  return t;
}

/*
** Searcher: returns the module's loader and its pseudo path
** ("lua/lmigrate/schema.lua", also the chunk name), or a string saying
** where it looked. A module that fails to compile is a Lua error naming
** its file and line, as the standard Lua searcher does.
*/
static int embedded_searcher(lua_State *L) {
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  const char *path = NULL;
  const struct lm_template *t;
  if (strlen(name) != len) return 0;
  t = find_module(L, name, &path);
  if (t == NULL) {
    lua_pushfstring(L, "no embedded module '%s' in lmigrate", name);
    return 1;
  }
  lua_pushfstring(L, "lua/%s", path);
  if (luaL_loadbufferx(L, t->data, t->len,
                       lua_pushfstring(L, "@%s", lua_tostring(L, -1)),
                       "t") != LUA_OK)
    return luaL_error(L, "error loading module '%s' from %s:\n\t%s", name,
                      lua_tostring(L, -3), lua_tostring(L, -1));
  lua_remove(L, -2);            /* the "@..." chunk name */
  lua_insert(L, -2);            /* loader, then the path */
  return 2;
}

void lm_host_open_embedded(lua_State *L) {
  int n;
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");     /* the C core, as under plain lua5.4 */
  lua_pushcfunction(L, luaopen_lmigrate_core);
  lua_setfield(L, -2, "lmigrate.core");
  lua_pop(L, 1);
  lua_getfield(L, -1, "searchers");
  n = (int)lua_rawlen(L, -1);
  for (; n >= 2; n--) {           /* shift searchers[2..n] up by one */
    lua_rawgeti(L, -1, n);
    lua_rawseti(L, -2, n + 1);
  }
  lua_pushcfunction(L, embedded_searcher);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}
