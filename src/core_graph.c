/*
** core_graph.c: the `graph(list)` constructor of lmigrate.core and the
** "lmigrate.graph" userdata, so unit specs can drive the pure-C revision
** graph (graph.c). Conversion only: Lua tables <-> lm_revision / lm_idset.
** C memory is boxed in userdata with __gc before anything may raise.
*/
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "core.h"
#include "graph.h"

#define GRAPH_MT "lmigrate.graph"
#define SETS_MT "lmigrate.graph.sets"
#define NSETS 2

struct luagraph {
  struct lm_graph *g;   /* owned; lm_graph_free; NULL once freed */
};

struct sets {
  struct lm_idset s[NSETS];   /* owned; freed by __gc */
};

static int sets_gc(lua_State *L) {
  struct sets *b = luaL_checkudata(L, 1, SETS_MT);
  int i;
  for (i = 0; i < NSETS; i++) lm_idset_free(&b->s[i]);
  return 0;
}

/* Push a box of NSETS empty idsets freed by __gc; returns them. */
static struct lm_idset *newsets(lua_State *L) {
  struct sets *b = lua_newuserdatauv(L, sizeof *b, 0);
  int i;
  for (i = 0; i < NSETS; i++) lm_idset_init(&b->s[i]);
  if (luaL_newmetatable(L, SETS_MT)) {
    lua_pushcfunction(L, sets_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return b->s;
}

static struct lm_graph *checkgraph(lua_State *L) {
  struct luagraph *lg = luaL_checkudata(L, 1, GRAPH_MT);
  if (lg->g == NULL) luaL_error(L, "attempt to use a freed graph");
  return lg->g;
}

static int graph_gc(lua_State *L) {
  struct luagraph *lg = luaL_checkudata(L, 1, GRAPH_MT);
  lm_graph_free(lg->g);
  lg->g = NULL;
  return 0;
}

/* Push an array of the ids of s. */
static void push_ids(lua_State *L, const struct lm_graph *g,
                     const struct lm_idset *s) {
  int i;
  lua_createtable(L, s->n, 0);
  for (i = 0; i < s->n; i++) {
    lua_pushstring(L, lm_graph_rev(g, s->v[i])->id);
    lua_rawseti(L, -2, i + 1);
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Push the ids of s sorted by id (for head sets, whose order is free). */
static void push_ids_sorted(lua_State *L, const struct lm_graph *g,
                            const struct lm_idset *s) {
  int i;
  const char **v = lua_newuserdatauv(L, sizeof *v * (size_t)(s->n + 1), 0);
  for (i = 0; i < s->n; i++) v[i] = lm_graph_rev(g, s->v[i])->id;
  qsort(v, (size_t)s->n, sizeof *v, cmp_str);
  lua_createtable(L, s->n, 0);
  for (i = 0; i < s->n; i++) {
    lua_pushstring(L, v[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_remove(L, -2);
}

/* Read the array of ids at arg into s (each id or unambiguous prefix). */
static void check_ids(lua_State *L, const struct lm_graph *g, int arg,
                      struct lm_idset *s) {
  int i, n, idx;
  struct lm_err err;
  luaL_checktype(L, arg, LUA_TTABLE);
  n = (int)luaL_len(L, arg);
  for (i = 1; i <= n; i++) {
    const char *id;
    lua_rawgeti(L, arg, i);
    id = lua_tostring(L, -1);
    if (id == NULL) luaL_argerror(L, arg, "array of revision ids expected");
    if (lm_graph_find(g, id, &idx, &err)) luaL_error(L, "%s", err.msg);
    lua_pop(L, 1);
    if (lm_idset_push(s, idx)) luaL_error(L, "out of memory");
  }
}

static enum lm_direction check_dir(lua_State *L, int arg) {
  static const char *const names[] = {"up", "down", NULL};
  return luaL_checkoption(L, arg, NULL, names) == 0 ? LM_UP : LM_DOWN;
}

typedef int (*selector)(const struct lm_graph *, struct lm_idset *);

static int select_ids(lua_State *L, selector f) {
  struct lm_graph *g = checkgraph(L);
  struct lm_idset *s = newsets(L);
  if (f(g, &s[0])) return luaL_error(L, "out of memory");
  push_ids(L, g, &s[0]);
  return 1;
}

static int graph_heads(lua_State *L) { return select_ids(L, lm_graph_heads); }
static int graph_bases(lua_State *L) { return select_ids(L, lm_graph_bases); }
static int graph_branchpoints(lua_State *L) {
  return select_ids(L, lm_graph_branchpoints);
}
static int graph_mergepoints(lua_State *L) {
  return select_ids(L, lm_graph_mergepoints);
}

static int graph_count(lua_State *L) {
  lua_pushinteger(L, lm_graph_count(checkgraph(L)));
  return 1;
}

static int graph_find(lua_State *L) {
  struct lm_graph *g = checkgraph(L);
  struct lm_err err;
  int idx;
  if (lm_graph_find(g, luaL_checkstring(L, 2), &idx, &err))
    return luaL_error(L, "%s", err.msg);
  lua_pushstring(L, lm_graph_rev(g, idx)->id);
  return 1;
}

/* graph:plan(current_heads, target, "up"|"down") -> ids in run order */
static int graph_plan(lua_State *L) {
  struct lm_graph *g = checkgraph(L);
  const char *target = luaL_checkstring(L, 3);
  enum lm_direction dir = check_dir(L, 4);
  struct lm_idset *s = newsets(L);
  struct lm_err err;
  check_ids(L, g, 2, &s[0]);
  if (lm_graph_plan(g, &s[0], target, dir, &s[1], &err))
    return luaL_error(L, "%s", err.msg);
  push_ids(L, g, &s[1]);
  return 1;
}

/* graph:step_heads(heads, id, "up"|"down") -> new heads, sorted */
static int graph_step_heads(lua_State *L) {
  struct lm_graph *g = checkgraph(L);
  const char *id = luaL_checkstring(L, 3);
  enum lm_direction dir = check_dir(L, 4);
  struct lm_idset *s = newsets(L);
  struct lm_err err;
  int idx;
  check_ids(L, g, 2, &s[0]);
  if (lm_graph_find(g, id, &idx, &err)) return luaL_error(L, "%s", err.msg);
  if (lm_graph_step_heads(g, &s[0], idx, dir))
    return luaL_error(L, "out of memory");
  push_ids_sorted(L, g, &s[0]);
  return 1;
}

static int graph_resolve(lua_State *L) {
  struct lm_graph *g = checkgraph(L);
  const char *target = luaL_checkstring(L, 2);
  struct lm_idset *s = newsets(L);
  struct lm_err err;
  if (lm_graph_resolve(g, target, &s[0], &err))
    return luaL_error(L, "%s", err.msg);
  push_ids(L, g, &s[0]);
  return 1;
}

/* graph:range(current_heads, "A:B") -> ids, newest first */
static int graph_range(lua_State *L) {
  struct lm_graph *g = checkgraph(L);
  const char *range = luaL_checkstring(L, 3);
  struct lm_idset *s = newsets(L);
  struct lm_err err;
  check_ids(L, g, 2, &s[0]);
  if (lm_graph_range(g, &s[0], range, &s[1], &err))
    return luaL_error(L, "%s", err.msg);
  push_ids(L, g, &s[1]);
  return 1;
}

static int graph_labels(lua_State *L) {
  struct lm_graph *g = checkgraph(L);
  struct lm_err err;
  int idx, n, i;
  const char *const *v;
  if (lm_graph_find(g, luaL_checkstring(L, 2), &idx, &err))
    return luaL_error(L, "%s", err.msg);
  v = lm_graph_branch_labels(g, idx, &n);
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    lua_pushstring(L, v[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* Push the edge list of the revision at arg 2. */
static int edges(lua_State *L, const int *(*f)(const struct lm_graph *, int,
                                               int *)) {
  struct lm_graph *g = checkgraph(L);
  struct lm_err err;
  int idx, n, i;
  const int *v;
  if (lm_graph_find(g, luaL_checkstring(L, 2), &idx, &err))
    return luaL_error(L, "%s", err.msg);
  v = f(g, idx, &n);
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    lua_pushstring(L, lm_graph_rev(g, v[i])->id);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int graph_parents(lua_State *L) { return edges(L, lm_graph_parents); }
static int graph_children(lua_State *L) { return edges(L, lm_graph_children); }
static int graph_deps(lua_State *L) { return edges(L, lm_graph_deps); }

/* A string or an array of strings at field `key` of the table at index t,
** checked; returns the count (the field stays popped). No allocation. */
static int check_strs(lua_State *L, int t, int i, const char *key) {
  int n = 0, k;
  int tp = lua_getfield(L, t, key);
  if (tp == LUA_TSTRING) n = 1;
  else if (tp == LUA_TTABLE) {
    n = (int)lua_rawlen(L, -1);
    for (k = 1; k <= n; k++) {
      if (lua_rawgeti(L, -1, k) != LUA_TSTRING)
        luaL_error(L, "graph: entry %d: %s[%d] must be a string", i, key, k);
      lua_pop(L, 1);
    }
  } else if (tp != LUA_TNIL) {
    luaL_error(L, "graph: entry %d: %s must be a string or an array", i, key);
  }
  lua_pop(L, 1);
  return n;
}

/* Copy the strings of field key into *out (n of them). 0 ok, 1 OOM. Only
** raw gets and strdup: nothing here raises. */
static int copy_strs(lua_State *L, int t, const char *key, char ***out,
                     int *nout) {
  int n, k;
  lua_pushstring(L, key);
  lua_rawget(L, t);
  n = lua_type(L, -1) == LUA_TSTRING ? 1 : lua_type(L, -1) == LUA_TTABLE
      ? (int)lua_rawlen(L, -1) : 0;
  *out = n ? calloc((size_t)n, sizeof **out) : NULL;
  *nout = 0;
  if (n && *out == NULL) {
    lua_pop(L, 1);
    return 1;
  }
  for (k = 0; k < n; k++) {
    const char *s;
    if (lua_type(L, -1) == LUA_TSTRING) s = lua_tostring(L, -1);
    else {
      lua_rawgeti(L, -1, k + 1);
      s = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
    (*out)[k] = strdup(s);
    if ((*out)[k] == NULL) {
      lua_pop(L, 1);
      return 1;
    }
    *nout = k + 1;
  }
  lua_pop(L, 1);
  return 0;
}

static char *copy_field(lua_State *L, int t, const char *key) {
  const char *s;
  char *r;
  lua_pushstring(L, key);
  lua_rawget(L, t);
  s = lua_tostring(L, -1);
  r = s ? strdup(s) : NULL;
  lua_pop(L, 1);
  return r;
}

/* graph(list) -> lmigrate.graph */
static int core_graph(lua_State *L) {
  struct luagraph *lg;
  struct lm_err err;
  int i, n;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (int)lua_rawlen(L, 1);
  lg = lua_newuserdatauv(L, sizeof *lg, 0);
  lg->g = NULL;
  luaL_setmetatable(L, GRAPH_MT);
  lg->g = lm_graph_new();
  if (lg->g == NULL) return luaL_error(L, "out of memory");
  for (i = 1; i <= n; i++) {
    struct lm_revision *r;
    int t, bad;
    char badc;
    if (lua_rawgeti(L, 1, i) != LUA_TTABLE)
      return luaL_error(L, "graph: entry %d must be a table", i);
    t = lua_gettop(L);
    if (lua_getfield(L, t, "revision") != LUA_TSTRING)
      return luaL_error(L, "graph: entry %d: revision must be a string", i);
    if (!lm_revision_id_ok(lua_tostring(L, -1), &badc))
      return luaL_error(L, "graph: entry %d: invalid revision id '%s'", i,
                        lua_tostring(L, -1));
    lua_pop(L, 1);
    check_strs(L, t, i, "down_revision");
    check_strs(L, t, i, "depends_on");
    check_strs(L, t, i, "branch_labels");
    lua_getfield(L, t, "path");
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
      return luaL_error(L, "graph: entry %d: path must be a string", i);
    lua_pop(L, 1);
    /* checked: copy without raising */
    r = lm_revision_new();
    bad = r == NULL;
    if (!bad) {
      r->id = copy_field(L, t, "revision");
      r->path = copy_field(L, t, "path");
      r->message = copy_field(L, t, "message");
      bad = r->id == NULL ||
            copy_strs(L, t, "down_revision", &r->down, &r->ndown) ||
            copy_strs(L, t, "depends_on", &r->depends, &r->ndepends) ||
            copy_strs(L, t, "branch_labels", &r->labels, &r->nlabels);
    }
    if (bad) {
      lm_revision_free(r);
      return luaL_error(L, "out of memory");
    }
    if (lm_graph_add(lg->g, r, NULL, &err))
      return luaL_error(L, "%s", err.msg);
    lua_pop(L, 1);
  }
  if (lm_graph_build(lg->g, &err)) return luaL_error(L, "%s", err.msg);
  return 1;
}

static const luaL_Reg graph_methods[] = {
  {"heads", graph_heads},
  {"bases", graph_bases},
  {"branchpoints", graph_branchpoints},
  {"mergepoints", graph_mergepoints},
  {"count", graph_count},
  {"find", graph_find},
  {"plan", graph_plan},
  {"step_heads", graph_step_heads},
  {"resolve", graph_resolve},
  {"range", graph_range},
  {"labels", graph_labels},
  {"parents", graph_parents},
  {"children", graph_children},
  {"deps", graph_deps},
  {NULL, NULL}
};

void lm_core_graph(lua_State *L) {
  if (luaL_newmetatable(L, GRAPH_MT)) {
    luaL_newlib(L, graph_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, graph_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, core_graph);
  lua_setfield(L, -2, "graph");
}
