/*
** op_backfill_fn.c: the fn form of op.backfill (op_walk.h). fn(row) runs
** for every row of the batch and returns { column = value } (or nil to
** skip the row); the results are grouped by the set of columns they
** assign, and each group is written back with multi-row UPDATEs that
** join the values on the key. Values are always bound, never spliced.
** Everything runs inside the batch's transaction; fn runs guarded (a
** nested op.backfill is refused).
*/
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "op_walk.h"
#include "value.h"

#define MAXPARAMS 30000             /* under SQLite's 32766 and PG's 65535 */

static int is_blob_column(lua_State *L, struct walk *w, const char *col) {
  int blob = 0;
  if (lua_getfield(L, S_TYPES, col) == LUA_TSTRING) {
    const char *t = lua_tostring(L, -1);
    if (w->pg) blob = strcmp(t, "bytea") == 0;
    else blob = strcasestr(t, "BLOB") != NULL;
  }
  lua_pop(L, 1);
  return blob;
}

/* Write one group: the rows at indices idx[0..n) of the rows table at
** ridx, whose fn results (table at retidx) set exactly the columns
** cols[0..nc). One multi-row UPDATE per MAXPARAMS parameters. */
static int write_group(lua_State *L, struct walk *w, int ridx, int retidx,
                       const char **cols, int nc, const lua_Integer *idx,
                       int n, long long *changes, struct lm_err *err) {
  int per = MAXPARAMS / (w->nkeys + nc), m = w->nkeys + nc, start, j;
  unsigned char *blob = lua_newuserdatauv(L, (size_t)nc + 1, 0);
  struct lm_sqlbuf *sb = walk_sb(L, S_SQLB);
  for (j = 0; j < nc; j++)
    blob[j] = (unsigned char)is_blob_column(L, w, cols[j]);
  for (start = 0; start < n; start += per) {
    int cnt = n - start < per ? n - start : per, r, k, p = 0, top;
    int nrange = (w->has_last ? 2 : 1) * w->nkeys;
    struct lm_value *params =
      lua_newuserdatauv(L, (size_t)(cnt * m + nrange) * sizeof *params, 0);
    long long ch = 0;
    top = lua_gettop(L);
    lm_sb_reset(sb);
    lm_sb_add(sb, "UPDATE ");
    walk_qi(w, sb, w->table);
    lm_sb_add(sb, " SET ");
    for (j = 0; j < nc; j++) {
      if (j) lm_sb_add(sb, ", ");
      walk_qi(w, sb, cols[j]);
      if (w->pg) lm_sb_printf(sb, " = lm_v.lm_%d", w->nkeys + j + 1);
      else lm_sb_printf(sb, " = lm_v.column%d", w->nkeys + j + 1);
    }
    lm_sb_add(sb, " FROM (VALUES ");
    for (r = 0; r < cnt; r++) {
      lua_rawgeti(L, ridx, idx[start + r]);
      lua_rawgeti(L, retidx, idx[start + r]);
      lm_sb_add(sb, r ? ", (" : "(");
      for (k = 0; k < m; k++) {
        const char *col = k < w->nkeys ? w->keys[k] : cols[k - w->nkeys];
        /* the string stays referenced by its table after the pop */
        lua_getfield(L, k < w->nkeys ? -2 : -1, col);
        lm_value_from_lua(L, -1, &params[p]);
        lua_pop(L, 1);
        if (k >= w->nkeys && blob[k - w->nkeys] && params[p].type == LM_VTEXT)
          params[p].type = LM_VBLOB;
        p++;
        lm_sb_printf(sb, "%s$%d", k ? ", " : "", p);
        if (w->pg) {
          lua_getfield(L, S_TYPES, col);
          lm_sb_printf(sb, "::%s", lua_tostring(L, -1));
          lua_pop(L, 1);
        }
      }
      lm_sb_addc(sb, ')');
      lua_settop(L, top);
    }
    lm_sb_add(sb, ") AS lm_v");
    if (w->pg) {
      lm_sb_addc(sb, '(');
      for (k = 0; k < m; k++) lm_sb_printf(sb, "%slm_%d", k ? ", " : "", k + 1);
      lm_sb_addc(sb, ')');
    }
    lm_sb_add(sb, " WHERE ");
    for (k = 0; k < w->nkeys; k++) {
      if (k) lm_sb_add(sb, " AND ");
      walk_qi(w, sb, w->table);
      lm_sb_addc(sb, '.');
      walk_qi(w, sb, w->keys[k]);
      if (w->pg) lm_sb_printf(sb, " = lm_v.lm_%d", k + 1);
      else lm_sb_printf(sb, " = lm_v.column%d", k + 1);
    }
    /* the batch's key range, so the planner reaches the rows through the
    ** key's index instead of scanning the table */
    lm_sb_add(sb, " AND ");
    lm_walk_keycmp(w, sb, "<=", p + 1, 1);
    lm_walk_key_params(L, w, S_NEXT, w->ntype, params + p);
    p += w->nkeys;
    if (w->has_last) {
      lm_sb_add(sb, " AND ");
      lm_walk_keycmp(w, sb, ">", p + 1, 1);
      lm_walk_key_params(L, w, S_LAST, w->ltype, params + p);
      p += w->nkeys;
    }
    if (!lm_sb_ok(sb)) return lm_err_set(err, "out of memory");
    lm_err_clear(err);
    if (w->be->exec(w->c, lm_sb_str(sb), p, params, &ch, err)) return 1;
    *changes += ch;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
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
    if (write_group(L, w, ridx, retidx, cols, nc, idx, cnt, rows, err))
      return 1;
    lua_settop(L, order);
  }
  lua_settop(L, base);
  return 0;
}
