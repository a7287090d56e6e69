/*
** op_backfill_fn.c: the fn form of op.backfill (op_walk.h). fn(row) runs
** for every row of the batch and returns { column = value } (or nil to
** skip the row); the results are grouped by the set of columns they
** assign, and each group is written back by UPDATEs that join the values
** on the key: on PostgreSQL one statement per group, each column bound as
** one array parameter (write_unnest); on SQLite multi-row VALUES lists of
** a few parameters each (write_values). Values are always bound, never
** spliced. Everything runs inside the batch's transaction; fn runs
** guarded (a nested op.backfill is refused).
*/
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "op_int.h"
#include "op_pgarray.h"
#include "op_walk.h"
#include "value.h"

/* Parameters per SQLite UPDATE: its parser looks each $N up in a linear
** list, so a statement costs the square of its parameter count (30000
** per statement ran 30 times slower than 128). */
#define SQLITE_PARAMS 128

/* One group of fn results to write: the rows at indices idx[0..n) of the
** rows table at ridx, whose results (table at retidx) set exactly the
** columns cols[0..nc). */
struct group {
  int ridx, retidx;
  const char **cols;              /* borrowed: strings on the Lua stack */
  int nc;
  const lua_Integer *idx;         /* borrowed: a userdata on the stack */
  int n;
};

/* The name of column k of a group's write: the keys, then g->cols. */
static const char *col_at(struct walk *w, const struct group *g, int k) {
  return k < w->nkeys ? w->keys[k] : g->cols[k - w->nkeys];
}

/* The declared type of col (borrowed from S_TYPES). */
static const char *col_type(lua_State *L, const char *col) {
  const char *t;
  lua_getfield(L, S_TYPES, col);
  t = lua_tostring(L, -1);
  lua_pop(L, 1);                  /* S_TYPES keeps the string */
  return t ? t : "";
}

static int is_blob_column(lua_State *L, struct walk *w, const char *col) {
  const char *t = col_type(L, col);
  if (w->pg) return strcmp(t, "bytea") == 0;
  return strcasestr(t, "BLOB") != NULL;
}

/* Column k of the row being written into *v: the row's value for a key
** column, fn's for the others (strings borrowed from those tables). The
** row and its fn result are at -2 and -1. */
static void group_value(lua_State *L, struct walk *w, const struct group *g,
                        int k, int blob, struct lm_value *v) {
  lua_getfield(L, k < w->nkeys ? -2 : -1, col_at(w, g, k));
  lm_value_from_lua(L, -1, v);
  lua_pop(L, 1);                  /* the string stays referenced */
  if (blob && v->type == LM_VTEXT) v->type = LM_VBLOB;
}

/* Append " AND <the batch's key range>" and fill its parameters from
** params[*p], so the planner reaches the rows through the key's index
** instead of scanning the table. */
static void add_range(lua_State *L, struct walk *w, struct lm_sqlbuf *sb,
                      struct lm_value *params, int *p) {
  lm_sb_add(sb, " AND ");
  lm_walk_keycmp(w, sb, "<=", *p + 1, 1);
  lm_walk_key_params(L, w, S_NEXT, w->ntype, params + *p);
  *p += w->nkeys;
  if (w->has_last) {
    lm_sb_add(sb, " AND ");
    lm_walk_keycmp(w, sb, ">", *p + 1, 1);
    lm_walk_key_params(L, w, S_LAST, w->ltype, params + *p);
    *p += w->nkeys;
  }
}

/* SQLite: one multi-row UPDATE ... FROM (VALUES ($1, $2), ...) per
** SQLITE_PARAMS parameters (at least one row each). */
static int write_values(lua_State *L, struct walk *w, const struct group *g,
                        long long *changes, struct lm_err *err) {
  int m = w->nkeys + g->nc, start, j;
  int per = SQLITE_PARAMS / m > 0 ? SQLITE_PARAMS / m : 1;
  int nrange = (w->has_last ? 2 : 1) * w->nkeys;
  unsigned char *blob = lua_newuserdatauv(L, (size_t)m, 0);
  struct lm_sqlbuf *sb = walk_sb(L, S_SQLB);
  /* a key read back as a blob must be bound as one, or it matches nothing */
  for (j = 0; j < m; j++)
    blob[j] = (unsigned char)(is_blob_column(L, w, col_at(w, g, j)) ||
                              (j < w->nkeys && w->ntype[j] == LM_VBLOB));
  for (start = 0; start < g->n; start += per) {
    int cnt = g->n - start < per ? g->n - start : per, r, k, p = 0, top;
    struct lm_value *params =
      lua_newuserdatauv(L, (size_t)(cnt * m + nrange) * sizeof *params, 0);
    long long ch = 0;
    top = lua_gettop(L);
    lm_sb_reset(sb);
    lm_sb_add(sb, "UPDATE ");
    walk_qi(w, sb, w->table);
    lm_sb_add(sb, " SET ");
    for (j = 0; j < g->nc; j++) {
      if (j) lm_sb_add(sb, ", ");
      walk_qi(w, sb, g->cols[j]);
      lm_sb_printf(sb, " = lm_v.column%d", w->nkeys + j + 1);
    }
    lm_sb_add(sb, " FROM (VALUES ");
    for (r = 0; r < cnt; r++) {
      lua_rawgeti(L, g->ridx, g->idx[start + r]);
      lua_rawgeti(L, g->retidx, g->idx[start + r]);
      lm_sb_add(sb, r ? ", (" : "(");
      for (k = 0; k < m; k++) {
        group_value(L, w, g, k, blob[k], &params[p]);
        lm_sb_printf(sb, "%s$%d", k ? ", " : "", ++p);
      }
      lm_sb_addc(sb, ')');
      lua_settop(L, top);
    }
    lm_sb_add(sb, ") AS lm_v WHERE ");
    for (k = 0; k < w->nkeys; k++) {
      if (k) lm_sb_add(sb, " AND ");
      walk_qi(w, sb, w->table);
      lm_sb_addc(sb, '.');
      walk_qi(w, sb, w->keys[k]);
      lm_sb_printf(sb, " = lm_v.column%d", k + 1);
    }
    add_range(L, w, sb, params, &p);
    if (!lm_sb_ok(sb)) return lm_err_set(err, "out of memory");
    lm_err_clear(err);
    if (w->be->exec(w->c, lm_sb_str(sb), p, params, &ch, err)) return 1;
    *changes += ch;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 0;
}

/* Append lm_v.lm_<k + 1>, cast to the column's type when it travels as
** text[] (see write_unnest). */
static void add_vcol(lua_State *L, struct walk *w, struct lm_sqlbuf *sb,
                     const struct group *g, int k, const unsigned char *typed) {
  lm_sb_printf(sb, "lm_v.lm_%d", k + 1);
  if (!typed[k]) lm_sb_printf(sb, "::%s", col_type(L, col_at(w, g, k)));
}

/* PostgreSQL: the whole group in one statement, one array parameter per
** column:
**   UPDATE t SET c = lm_v.lm_2 FROM unnest($1::bigint[], $2::text[])
**     AS lm_v(lm_1, lm_2) WHERE t.id = lm_v.lm_1 AND <key range>
** so the server parses and plans one small statement per batch instead
** of one with thousands of parameters. Each array is an array literal
** (op_pgarray.c) read with the column's own type (format_type, typmod
** included). A column whose values cannot travel as a typed array
** (S_UNNEST unset: arrays, composites, domains, ';'-delimited types)
** goes as text[] and is cast per row. */
static int write_unnest(lua_State *L, struct walk *w, const struct group *g,
                        long long *changes, struct lm_err *err) {
  int m = w->nkeys + g->nc, nrange = (w->has_last ? 2 : 1) * w->nkeys;
  int top = lua_gettop(L), k, r, p = 0, rc;
  struct lm_value *params =
    lua_newuserdatauv(L, (size_t)(m + nrange) * sizeof *params, 0);
  struct lm_sqlbuf **arr = lua_newuserdatauv(L, (size_t)m * sizeof *arr, 0);
  unsigned char *flags = lua_newuserdatauv(L, 2 * (size_t)m, 0);
  unsigned char *blob = flags, *typed = flags + m;
  struct lm_sqlbuf *sb = walk_sb(L, S_SQLB);
  long long ch = 0;
  luaL_checkstack(L, m + 4, "too many columns");
  for (k = 0; k < m; k++) {
    const char *col = col_at(w, g, k);
    blob[k] = (unsigned char)is_blob_column(L, w, col);
    lua_getfield(L, S_UNNEST, col);
    typed[k] = (unsigned char)lua_toboolean(L, -1);
    lua_pop(L, 1);
    arr[k] = lm_op_newsb(L);      /* freed by __gc, also on error */
    lm_sb_addc(arr[k], '{');
  }
  for (r = 0; r < g->n; r++) {
    lua_rawgeti(L, g->ridx, g->idx[r]);
    lua_rawgeti(L, g->retidx, g->idx[r]);
    for (k = 0; k < m; k++) {
      struct lm_value v;
      group_value(L, w, g, k, blob[k], &v);
      if (r) lm_sb_addc(arr[k], ',');
      if (lm_pgarray_add(arr[k], &v)) {
        lm_err_clear(err);
        return lm_err_set(err, "column \"%s\": text contains a NUL byte, "
                          "which PostgreSQL text cannot hold",
                          col_at(w, g, k));
      }
    }
    lua_pop(L, 2);
  }
  for (k = 0; k < m; k++) {
    lm_sb_addc(arr[k], '}');
    if (!lm_sb_ok(arr[k])) return lm_err_set(err, "out of memory");
    lm_walk_text(&params[p++], lm_sb_str(arr[k]));
  }
  lm_sb_reset(sb);
  lm_sb_add(sb, "UPDATE ");
  walk_qi(w, sb, w->table);
  lm_sb_add(sb, " SET ");
  for (k = w->nkeys; k < m; k++) {
    if (k > w->nkeys) lm_sb_add(sb, ", ");
    walk_qi(w, sb, col_at(w, g, k));
    lm_sb_add(sb, " = ");
    add_vcol(L, w, sb, g, k, typed);
  }
  lm_sb_add(sb, " FROM unnest(");
  for (k = 0; k < m; k++)
    lm_sb_printf(sb, "%s$%d::%s[]", k ? ", " : "", k + 1,
                 typed[k] ? col_type(L, col_at(w, g, k)) : "text");
  lm_sb_add(sb, ") AS lm_v(");
  for (k = 0; k < m; k++) lm_sb_printf(sb, "%slm_%d", k ? ", " : "", k + 1);
  lm_sb_add(sb, ") WHERE ");
  for (k = 0; k < w->nkeys; k++) {
    if (k) lm_sb_add(sb, " AND ");
    walk_qi(w, sb, w->table);
    lm_sb_addc(sb, '.');
    walk_qi(w, sb, w->keys[k]);
    lm_sb_add(sb, " = ");
    add_vcol(L, w, sb, g, k, typed);
  }
  add_range(L, w, sb, params, &p);
  if (!lm_sb_ok(sb)) return lm_err_set(err, "out of memory");
  lm_err_clear(err);
  rc = w->be->exec(w->c, lm_sb_str(sb), p, params, &ch, err);
  for (k = 0; k < m; k++) lm_sb_free(arr[k]);   /* now, not at the next GC */
  if (rc) return 1;
  *changes += ch;
  lua_settop(L, top);
  return 0;
}

static int cmpstr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Check one fn result (the table at the top) and push its signature: its
** column names sorted and joined by '\x1f'. */
static void result_sig(lua_State *L, struct walk *w, int maxcols) {
  const char **names = lua_newuserdatauv(L, (size_t)maxcols * sizeof *names, 0);
  int n = 0, i, t = lua_gettop(L) - 1;
  luaL_Buffer b;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    struct lm_value v;
    const char *col;
    if (lua_type(L, -2) != LUA_TSTRING)
      lm_walk_error(L, w, "fn must return a table of column = value (or "
                    "nil to skip the row), with column names as keys");
    col = lua_tostring(L, -2);
    if (strlen(col) != lua_rawlen(L, -2))
      lm_walk_error(L, w, lua_pushfstring(L, "fn returned column \"%s\" "
                                          "with a NUL byte in its name",
                                          col));
    if (!lm_walk_has_column(L, col))
      lm_walk_error(L, w, lua_pushfstring(L, "fn returned column \"%s\", "
                                          "which the table does not have",
                                          col));
    if (lm_walk_key_index(w, col) >= 0)
      lm_walk_error(L, w, lua_pushfstring(L, "fn must not change the key "
                                          "column \"%s\"", col));
    if (lm_value_from_lua(L, -1, &v))
      lm_walk_error(L, w, lua_pushfstring(L, "fn returned a %s for column "
                                          "\"%s\" (use a string, number, "
                                          "boolean or op.null)",
                                          luaL_typename(L, -1), col));
    lua_pop(L, 1);
    if (n < maxcols) names[n++] = col;
  }
  qsort(names, (size_t)n, sizeof *names, cmpstr);
  luaL_buffinit(L, &b);
  for (i = 0; i < n; i++) {
    if (i) luaL_addchar(&b, '\x1f');
    luaL_addstring(&b, names[i]);
  }
  luaL_pushresult(&b);
  lua_remove(L, -2);
}

/* fn form: call fn(row) for the n rows at ridx, then write the results
** grouped by the set of columns they assign. *rows: rows changed. */
int lm_walk_apply_fn(lua_State *L, struct walk *w, int ridx, int n,
                     long long *rows, struct lm_err *err) {
  int i, retidx, groups, order, norder = 0, maxcols = 0, base = lua_gettop(L);
  struct group g;
  lua_pushnil(L);
  while (lua_next(L, S_TYPES)) {
    maxcols++;
    lua_pop(L, 1);
  }
  lua_newtable(L);
  retidx = lua_gettop(L);
  lua_newtable(L);
  groups = lua_gettop(L);
  lua_newtable(L);
  order = lua_gettop(L);
  g.ridx = ridx;
  g.retidx = retidx;
  lm_walk_guard(w, 1);
  for (i = 1; i <= n; i++) {
    lua_pushvalue(L, S_FN);
    lua_rawgeti(L, ridx, i);
    lm_walk_call(L, w, 1, 1);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      continue;
    }
    if (!lua_istable(L, -1))
      lm_walk_error(L, w, lua_pushfstring(L, "fn must return a table of "
                    "column = value, or nil to skip the row; got %s",
                    luaL_typename(L, -1)));
    result_sig(L, w, maxcols);                  /* ret, sig */
    if (lua_rawlen(L, -1) == 0) {               /* {}: nothing to write */
      lua_pop(L, 2);
      continue;
    }
    lua_pushvalue(L, -2);
    lua_rawseti(L, retidx, i);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, groups) == LUA_TNIL) {    /* ret, sig, nil */
      lua_pop(L, 1);
      lua_newtable(L);                          /* ret, sig, group */
      lua_pushvalue(L, -2);
      lua_rawseti(L, order, ++norder);
      lua_pushvalue(L, -2);
      lua_pushvalue(L, -2);
      lua_rawset(L, groups);
    }
    lua_pushinteger(L, i);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    lua_pop(L, 3);
  }
  lm_walk_guard(w, 0);
  for (i = 1; i <= norder; i++) {
    const char **cols = lua_newuserdatauv(L, (size_t)maxcols * sizeof *cols, 0);
    lua_Integer *idx;
    const char *p;
    int nc = 0, cnt, j;
    lua_rawgeti(L, order, i);
    p = lua_tostring(L, -1);
    lua_pushvalue(L, -1);
    lua_rawget(L, groups);
    cnt = (int)lua_rawlen(L, -1);
    idx = lua_newuserdatauv(L, (size_t)cnt * sizeof *idx, 0);
    for (j = 0; j < cnt; j++) {
      lua_rawgeti(L, -2, j + 1);
      idx[j] = lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    /* the names, each a string left on the stack until this group ends */
    while (*p && nc < maxcols) {
      const char *e = strchr(p, '\x1f');
      size_t len = e ? (size_t)(e - p) : strlen(p);
      luaL_checkstack(L, 2, "too many columns");
      lua_pushlstring(L, p, len);
      cols[nc++] = lua_tostring(L, -1);
      p += len + (e ? 1 : 0);
    }
    g.cols = cols;
    g.nc = nc;
    g.idx = idx;
    g.n = cnt;
    if ((w->pg ? write_unnest : write_values)(L, w, &g, rows, err)) return 1;
    lua_settop(L, order);
  }
  lua_settop(L, base);
  return 0;
}
