/*
** autogen.c: the glue between the autogenerate commands and the Lua
** module lmigrate.autogen (see autogen.h): loading it, reflecting the
** database through reflect.h, loading the declared schema file, compare,
** describe, and the "at head" check made before comparing.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "autogen.h"
#include "graph.h"
#include "host.h"
#include "log.h"
#include "reflect.h"
#include "runner.h"
#include "sqlbuf.h"

/* Pop the error message at -1 after printing it; returns 1. */
static int report(lua_State *L) {
  lm_error("%s", lua_tostring(L, -1));
  lua_pop(L, 1);
  return 1;
}

int lm_ag_begin(struct lm_host *h, struct lm_ag *a) {
  lua_State *L = h->L;
  memset(a, 0, sizeof *a);
  a->h = h;
  a->base = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lmigrate.autogen");
  if (lm_host_pcall(h, 1, 1)) return report(L);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return lm_error("internal error: lmigrate.autogen is not a module table");
  }
  a->mod = lua_gettop(L);
  return 0;
}

void lm_ag_end(struct lm_ag *a) {
  if (a->h) lua_settop(a->h->L, a->base);
}

/* The ids of set (or "base" when empty), ", "-separated, into sb. */
static void list_ids(const struct lm_graph *g, const struct lm_idset *set,
                     struct lm_sqlbuf *sb) {
  int i;
  if (set->n == 0) lm_sb_add(sb, "base");
  for (i = 0; i < set->n; i++) {
    if (i) lm_sb_add(sb, ", ");
    lm_sb_add(sb, lm_graph_rev(g, set->v[i])->id);
  }
}

int lm_ag_require_head(struct lm_ag *a, const char *what) {
  struct lm_host *h = a->h;
  struct lm_idset db, gh;
  int rc, i, same;
  lm_idset_init(&db);
  lm_idset_init(&gh);
  rc = lm_runner_read_heads(h, &db, 0, NULL);
  if (rc == 0 && lm_graph_heads(h->graph, &gh) != 0)
    rc = lm_error("out of memory");
  if (rc == 0) {
    same = db.n == gh.n;
    for (i = 0; same && i < db.n; i++) same = lm_idset_has(&gh, db.v[i]);
    if (!same) {
      struct lm_sqlbuf at, want;
      lm_sb_init(&at);
      lm_sb_init(&want);
      list_ids(h->graph, &db, &at);
      list_ids(h->graph, &gh, &want);
      rc = lm_error("%s: the database is not at head (it is at %s; the "
                    "head%s %s %s): the comparison would report what the "
                    "pending revisions already do; run `lmigrate upgrade "
                    "heads` first", what, lm_sb_str(&at),
                    gh.n == 1 ? "" : "s", gh.n == 1 ? "is" : "are",
                    lm_sb_str(&want));
      lm_sb_free(&at);
      lm_sb_free(&want);
    }
  }
  lm_idset_free(&db);
  lm_idset_free(&gh);
  return rc;
}

/* Lua C function: push the model of the host's connection (upvalue 1:
** the host). Runs inside lm_host_pcall, so its errors are caught. */
static int reflect_fn(lua_State *L) {
  struct lm_host *h = lua_touserdata(L, lua_upvalueindex(1));
  struct lm_reflect_opts o;
  o.version_table = h->cfg.version_table;
  o.history_table = h->cfg.history_table;
  o.version_table_schema = h->cfg.version_table_schema;
  lm_reflect_push(L, h->conn, &o);
  return 1;
}

int lm_ag_push_reflection(struct lm_host *h) {
  lua_pushlightuserdata(h->L, h);
  lua_pushcclosure(h->L, reflect_fn, 1);
  if (lm_host_pcall(h, 0, 1)) return report(h->L);
  return 0;
}

int lm_ag_reflect(struct lm_ag *a) {
  int rc = lm_ag_push_reflection(a->h);
  if (rc == 0) a->reflected = lua_gettop(a->h->L);
  return rc;
}

int lm_ag_call(struct lm_ag *a, const char *fn, int nargs) {
  lua_State *L = a->h->L;
  if (lua_getfield(L, a->mod, fn) != LUA_TFUNCTION) {
    lua_pop(L, 1 + nargs);
    return lm_error("internal error: lmigrate.autogen.%s is missing", fn);
  }
  lua_insert(L, -1 - nargs);
  if (lm_host_pcall(a->h, nargs, 1)) return report(L);
  return 0;
}

int lm_ag_schema_readable(struct lm_host *h) {
  const char *path = h->cfg.schema;
  if (access(path, R_OK) != 0)
    return lm_error("schema file %s: %s; write the schema your database "
                    "should have there (see docs/autogenerate.md), set "
                    "`schema = \"path\"` in %s, or start from the database "
                    "with `lmigrate schema dump --output %s`", path,
                    strerror(errno), h->cfg.path ? h->cfg.path :
                    "lmigrate.lua", path);
  return 0;
}

int lm_ag_declared(struct lm_ag *a) {
  struct lm_host *h = a->h;
  lua_State *L = h->L;
  const char *path = h->cfg.schema;
  if (lm_ag_schema_readable(h)) return 1;
  lua_pushstring(L, path);
  lua_getfield(L, a->reflected, "dialect");
  lua_getfield(L, a->reflected, "default_schema");
  if (lm_ag_call(a, "load_schema", 3)) return 1;
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return lm_error("%s: the schema builder returned no model", path);
  }
  a->declared = lua_gettop(L);
  return 0;
}

int lm_ag_compare(struct lm_ag *a, int renames) {
  lua_State *L = a->h->L;
  lua_pushvalue(L, a->declared);
  lua_pushvalue(L, a->reflected);
  lua_createtable(L, 0, 2);
  lua_pushboolean(L, renames);
  lua_setfield(L, -2, "renames");
  if (a->h->cfg.autogen_include_ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->h->cfg.autogen_include_ref);
    lua_setfield(L, -2, "include");
  }
  if (lm_ag_call(a, "compare", 3)) return 1;
  a->changes = lua_gettop(L);
  return 0;
}

int lm_ag_has_differences(struct lm_ag *a) {
  lua_State *L = a->h->L;
  int yes;
  lua_pushvalue(L, a->changes);
  if (lm_ag_call(a, "has_differences", 1)) return -1;
  yes = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return yes;
}

int lm_ag_print_changes(struct lm_ag *a, int idx, const char *prefix) {
  lua_State *L = a->h->L;
  lua_Integer i, n;
  lua_pushvalue(L, idx);
  if (lm_ag_call(a, "describe", 1)) return 1;
  n = luaL_len(L, -1);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    if (lua_type(L, -1) == LUA_TSTRING)
      printf("%s%s\n", prefix, lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 0;
}
