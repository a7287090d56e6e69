/*
** reflect.c: the shared half of reflection (see reflect.h): the dispatch
** on the connection's backend, a cursor box that a Lua error cannot leak,
** the builders of the model's tables, and the test for lmigrate's own
** tables.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "reflect.h"

#define RQ_MT "lmigrate.reflect.cursor"

static int rq_gc(lua_State *L) {
  struct lm_rq *q = luaL_checkudata(L, 1, RQ_MT);
  if (q->cur) q->conn->be->cursor_close(q->cur);
  q->cur = NULL;
  return 0;
}

struct lm_rq *lm_rq_open(lua_State *L, struct lm_conn *c, const char *what,
                         const char *sql, int nparams,
                         const char *const *params) {
  struct lm_value v[4];
  struct lm_err err;
  struct lm_rq *q;
  int i;
  if (nparams > 4) luaL_error(L, "internal error: too many parameters");
  for (i = 0; i < nparams; i++) {
    memset(&v[i], 0, sizeof v[i]);
    v[i].type = LM_VTEXT;
    v[i].s = params[i];
    v[i].n = strlen(params[i]);
  }
  q = lua_newuserdatauv(L, sizeof *q, 0);
  q->conn = c;
  q->cur = NULL;
  if (luaL_newmetatable(L, RQ_MT)) {
    lua_pushcfunction(L, rq_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lm_err_clear(&err);
  if (c->be->query(c, sql, nparams, v, &q->cur, &err)) {
    if (q->cur) c->be->cursor_close(q->cur);
    q->cur = NULL;
    luaL_error(L, "cannot reflect the database (%s): %s", what, err.msg);
  }
  return q;
}

int lm_rq_step(lua_State *L, struct lm_rq *q) {
  struct lm_err err;
  int rc;
  if (q->cur == NULL) return 0;
  lm_err_clear(&err);
  rc = q->conn->be->cursor_step(q->cur, &err);
  if (rc == 1) return 1;
  q->conn->be->cursor_close(q->cur);
  q->cur = NULL;
  if (rc < 0) luaL_error(L, "cannot reflect the database: %s", err.msg);
  return 0;
}

const char *lm_rq_text(struct lm_rq *q, int i, char *buf) {
  struct lm_value v;
  q->conn->be->cursor_value(q->cur, i, &v);
  switch (v.type) {
  case LM_VNULL: return NULL;
  case LM_VINT:
  case LM_VBOOL:
    snprintf(buf, 32, "%lld", v.i);
    return buf;
  case LM_VFLOAT:
    snprintf(buf, 32, "%.17g", v.f);
    return buf;
  default:
    return v.s;
  }
}

long long lm_rq_int(struct lm_rq *q, int i) {
  struct lm_value v;
  q->conn->be->cursor_value(q->cur, i, &v);
  switch (v.type) {
  case LM_VINT:
  case LM_VBOOL: return v.i;
  case LM_VFLOAT: return (long long)v.f;
  case LM_VTEXT:
    if (v.n > 0 && (v.s[0] == 't' || v.s[0] == 'f')) return v.s[0] == 't';
    return strtoll(v.s, NULL, 10);
  default: return 0;
  }
}

void lm_reflect_setstr(lua_State *L, const char *key, const char *s) {
  if (s == NULL) return;
  lua_pushstring(L, s);
  lua_setfield(L, -2, key);
}

void lm_reflect_setbool(lua_State *L, const char *key, int b) {
  lua_pushboolean(L, b);
  lua_setfield(L, -2, key);
}

void lm_reflect_append(lua_State *L, int idx, const char *key) {
  idx = lua_absindex(L, idx);
  if (lua_getfield(L, idx, key) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, idx, key);
  }
  lua_rotate(L, -2, 1);                  /* list, value */
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  lua_pop(L, 1);
}

void lm_reflect_newtable(lua_State *L, const char *name, const char *schema) {
  static const char *const lists[] = {
    "columns", "uniques", "indexes", "foreign_keys", "checks", NULL
  };
  int i;
  lua_newtable(L);
  lm_reflect_setstr(L, "name", name);
  lm_reflect_setstr(L, "schema", schema);
  for (i = 0; lists[i]; i++) {
    lua_newtable(L);
    lua_setfield(L, -2, lists[i]);
  }
}

/* a and b name the same schema (NULL: the default one). */
static int same_schema(const char *a, const char *b) {
  if (a == NULL || b == NULL) return a == b;
  return strcmp(a, b) == 0;
}

int lm_reflect_is_own(const struct lm_reflect_opts *o, const char *schema,
                      const char *name) {
  if (strcmp(name, "lmigrate_backfill") == 0) return 1;
  if (!same_schema(schema, o->version_table_schema)) return 0;
  return (o->version_table && strcmp(name, o->version_table) == 0) ||
         (o->history_table && strcmp(name, o->history_table) == 0);
}

/* Push the sort key of the constraint table at idx: its name, columns
** (expressions too), referenced table and SQL, separated by \1. */
static void push_key(lua_State *L, int idx) {
  static const char *const fields[] = { "name", "columns", "ref_table",
                                        "sql", NULL };
  int f, n = 0;
  for (f = 0; fields[f]; f++) {
    int t = lua_getfield(L, idx, fields[f]);
    if (t == LUA_TSTRING) {
      n++;
    } else if (t == LUA_TTABLE) {
      int list = lua_gettop(L);
      lua_Integer i, len = (lua_Integer)lua_rawlen(L, list);
      for (i = 1; i <= len; i++) {
        if (lua_rawgeti(L, list, i) == LUA_TTABLE) {
          lua_getfield(L, -1, "expr");
          lua_remove(L, -2);
        }
        if (lua_type(L, -1) == LUA_TSTRING) {
          lua_pushliteral(L, ",");
          n += 2;
        } else {
          lua_pop(L, 1);
        }
      }
      lua_remove(L, list);
    } else {
      lua_pop(L, 1);
    }
    lua_pushliteral(L, "\1");
    n++;
  }
  lua_concat(L, n);
}

/* table.sort comparator: a's key < b's key. */
static int sort_less(lua_State *L) {
  push_key(L, 1);
  push_key(L, 2);
  lua_pushboolean(L, strcmp(lua_tostring(L, -2), lua_tostring(L, -1)) < 0);
  return 1;
}

void lm_reflect_sort(lua_State *L, int idx, const char *key) {
  idx = lua_absindex(L, idx);
  if (lua_getfield(L, idx, key) != LUA_TTABLE || lua_rawlen(L, -1) < 2) {
    lua_pop(L, 1);
    return;
  }
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_remove(L, -2);
  lua_insert(L, -2);
  lua_pushcfunction(L, sort_less);
  lua_call(L, 2, 0);
}

void lm_reflect_push(lua_State *L, struct lm_conn *c,
                     const struct lm_reflect_opts *o) {
  const char *name = c->be->name;
  if (c->be->is_offline)
    luaL_error(L, "cannot reflect a database in --sql (offline) mode");
  if (strcmp(name, "sqlite") == 0) lm_reflect_sqlite(L, c, o);
  else if (strcmp(name, "postgresql") == 0) lm_reflect_pg(L, c, o);
  else luaL_error(L, "reflection is not available for %s", name);
}
