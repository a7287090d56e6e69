/*
** runner_hooks.c: calling the config's hooks (before_upgrade,
** before_revision, after_revision, after_upgrade, on_error) with their
** context table.
** Invariants: a hook runs only online and only when the config defines
** it; it goes through the one protected boundary (lm_host_pcall); the Lua
** stack is left as it was found, whatever the outcome.
*/
#include <stdio.h>

#include <lauxlib.h>
#include <lua.h>

#include "host.h"
#include "log.h"
#include "runner_int.h"

/* The context table: command direction, the URL without its password,
** elapsed_ms; for a revision hook (idx >= 0) its revision, message, path,
** phase (r->phase: "schema" or "data", the phase the hook is about) and
** rows (r->rows: rows its backfills wrote in this run); error for
** on_error. */
int lm_run_hook(struct run *r, const char *name, int idx, double ms,
                const char *error) {
  lua_State *L = r->h->L;
  if (r->h->cfg.hooks_ref == LUA_NOREF || r->offline) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->h->cfg.hooks_ref);
  if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
    lua_pop(L, 2);
    return 0;
  }
  lua_remove(L, -2);
  lua_createtable(L, 0, 10);
  lua_pushstring(L, name);
  lua_setfield(L, -2, "hook");
  lua_pushstring(L, r->dir == LM_UP ? "up" : "down");
  lua_setfield(L, -2, "direction");
  lua_pushstring(L, lm_host_url_display(r->h));
  lua_setfield(L, -2, "url");
  lua_pushinteger(L, (lua_Integer)(ms + 0.5));
  lua_setfield(L, -2, "elapsed_ms");
  if (idx >= 0) {
    const struct lm_revision *rev = lm_graph_rev(r->g, idx);
    lua_pushstring(L, rev->id);
    lua_setfield(L, -2, "revision");
    lua_pushstring(L, rev->message ? rev->message : "");
    lua_setfield(L, -2, "message");
    lua_pushstring(L, rev->path);
    lua_setfield(L, -2, "path");
    lua_pushstring(L, r->phase);
    lua_setfield(L, -2, "phase");
    lua_pushinteger(L, (lua_Integer)r->rows);
    lua_setfield(L, -2, "rows");
  }
  if (error) {
    lua_pushstring(L, error);
    lua_setfield(L, -2, "error");
  }
  if (lm_host_pcall(r->h, 1, 0)) {
    lm_error("%s (in the %s hook)", lua_tostring(L, -1), name);
    snprintf(r->errmsg, sizeof r->errmsg, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return 1;
  }
  return 0;
}
