/*
** op_catalog.c: what a walk learns from the catalog before its first
** batch (op_walk.h): the table's columns with their declared types, NOT
** NULL flags and array-friendliness (S_TYPES, S_NOTNULL, S_UNNEST), the
** check that the key is unique and NOT NULL (so keyset pagination visits
** every row exactly once), and a row estimate for the progress bar. Runs
** outside any batch transaction; raises on failure (the walk's __close
** cleans up).
*/
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <lua.h>
#include <lauxlib.h>

#include "op_int.h"
#include "op_walk.h"
#include "value.h"

/* Fill S_TYPES (column -> declared type), S_NOTNULL (column -> true) and
** S_UNNEST (column -> true; PostgreSQL only, see op_walk.h). */
void lm_walk_load_columns(lua_State *L, struct walk *w) {
  static const char pg_sql[] =
    "SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod),"
    " a.attnotnull, t.typtype IN ('b', 'e', 'r', 'm') AND t.typcategory <> "
    "'A' AND t.typdelim = ',' FROM pg_catalog.pg_attribute a JOIN "
    "pg_catalog.pg_type t ON t.oid = a.atttypid WHERE a.attrelid = "
    "to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped";
  static const char sq_sql[] =
    "SELECT name, type, \"notnull\" OR (pk > 0 AND upper(type) = 'INTEGER' "
    "AND (SELECT count(*) FROM pragma_table_info($1) WHERE pk > 0) = 1) "
    "FROM pragma_table_info($1)";
  struct lm_sqlbuf *sb = lm_op_newsb(L);
  struct lm_value p;
  struct lm_err err;
  struct wcur *wc;
  int st, n = 0;
  if (w->pg) walk_qi(w, sb, w->table);
  else lm_sb_add(sb, w->table);
  lm_walk_text(&p, lm_sb_str(sb));
  if (lm_walk_query(L, w, w->pg ? pg_sql : sq_sql, 1, &p, &wc, &err))
    lm_walk_error(L, w, err.msg);
  while ((st = w->be->cursor_step(wc->cur, &err)) == 1) {
    struct lm_value v[4];
    int i;
    for (i = 0; i < (w->pg ? 4 : 3); i++)
      w->be->cursor_value(wc->cur, i, &v[i]);
    lm_value_push(L, &v[0]);
    lm_value_push(L, &v[1]);
    lua_rawset(L, S_TYPES);
    lm_value_push(L, &v[0]);
    lua_pushboolean(L, v[2].type != LM_VNULL && v[2].i != 0);
    lua_rawset(L, S_NOTNULL);
    if (w->pg && v[3].type != LM_VNULL && v[3].i != 0) {
      lm_value_push(L, &v[0]);
      lua_pushboolean(L, 1);
      lua_rawset(L, S_UNNEST);
    }
    n++;
  }
  lm_walk_closecur(wc);
  if (st < 0) lm_walk_error(L, w, err.msg);
  lua_pop(L, 2);
  if (n == 0) lm_walk_error(L, w, "no such table");
}

/* 1 when the column exists in S_TYPES. */
int lm_walk_has_column(lua_State *L, const char *col) {
  int t = lua_getfield(L, S_TYPES, col);
  lua_pop(L, 1);
  return t != LUA_TNIL;
}

int lm_walk_key_index(struct walk *w, const char *col) {
  int i;
  for (i = 0; i < w->nkeys; i++)
    if (strcmp(w->keys[i], col) == 0) return i;
  return -1;
}

/* Raise unless the key columns are exactly the columns of a unique,
** non-partial index (or the rowid) and are NOT NULL. */
void lm_walk_check_key(lua_State *L, struct walk *w) {
  static const char pg_sql[] =
    "SELECT i.indexrelid::bigint, a.attname::text FROM pg_catalog.pg_index i "
    "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(n, o) "
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND "
    "a.attnum = k.n WHERE i.indrelid = to_regclass($1) AND i.indisunique "
    "AND i.indpred IS NULL AND i.indexprs IS NULL AND k.o <= i.indnkeyatts "
    "ORDER BY 1, k.o";
  static const char sq_sql[] =
    "SELECT il.name, ii.name FROM pragma_index_list($1) AS il, "
    "pragma_index_info(il.name) AS ii WHERE il.\"unique\" AND NOT il.partial "
    "ORDER BY il.seq, ii.seqno";
  struct lm_sqlbuf *sb;
  struct lm_value p, v[2];
  struct lm_err err;
  struct wcur *wc;
  char cur_ix[256] = "";
  unsigned seen = 0;
  int st, i, count = 0, bad = 0, found = 0;
  for (i = 0; i < w->nkeys; i++) {
    if (!lm_walk_has_column(L, w->keys[i]))
      luaL_error(L, "op.%s \"%s\": key column \"%s\" does not exist",
                 w->fname, w->table, w->keys[i]);
    if (lm_walk_key_index(w, w->keys[i]) != i)
      luaL_error(L, "op.%s \"%s\": key column \"%s\" is listed twice",
                 w->fname, w->table, w->keys[i]);
  }
  /* SQLite: the INTEGER PRIMARY KEY (rowid alias) is unique without an
  ** index; lm_walk_load_columns marked it NOT NULL. */
  sb = lm_op_newsb(L);
  if (w->pg) walk_qi(w, sb, w->table);
  else lm_sb_add(sb, w->table);
  lm_walk_text(&p, lm_sb_str(sb));
  if (lm_walk_query(L, w, w->pg ? pg_sql : sq_sql, 1, &p, &wc, &err))
    lm_walk_error(L, w, err.msg);
  for (;;) {
    char ix[256];
    st = w->be->cursor_step(wc->cur, &err);
    if (st == 1) {
      w->be->cursor_value(wc->cur, 0, &v[0]);
      w->be->cursor_value(wc->cur, 1, &v[1]);
      if (v[0].type == LM_VINT) snprintf(ix, sizeof ix, "%lld", v[0].i);
      else snprintf(ix, sizeof ix, "%.*s", (int)v[0].n, v[0].s ? v[0].s : "");
    }
    if (st != 1 || strcmp(ix, cur_ix) != 0) {
      if (cur_ix[0] && !bad && count == w->nkeys &&
          seen == (1u << w->nkeys) - 1)
        found = 1;
      if (st != 1) break;
      snprintf(cur_ix, sizeof cur_ix, "%s", ix);
      seen = 0;
      count = 0;
      bad = 0;
    }
    count++;
    if (v[1].type != LM_VTEXT) {
      bad = 1;
    } else {
      char col[256];
      int k;
      snprintf(col, sizeof col, "%.*s", (int)v[1].n, v[1].s);
      k = lm_walk_key_index(w, col);
      if (k < 0) bad = 1;
      else seen |= 1u << k;
    }
  }
  lm_walk_closecur(wc);
  if (st < 0) lm_walk_error(L, w, err.msg);
  lua_pop(L, 2);
  if (!found && !w->pg && w->nkeys == 1) {
    lua_getfield(L, S_NOTNULL, w->keys[0]);
    lua_getfield(L, S_TYPES, w->keys[0]);
    /* a lone INTEGER PRIMARY KEY: lm_walk_load_columns marked it NOT NULL */
    if (lua_toboolean(L, -2) && lua_type(L, -1) == LUA_TSTRING &&
        strcasecmp(lua_tostring(L, -1), "INTEGER") == 0) {
      static const char pk_sql[] =
        "SELECT count(*) FROM pragma_table_info($1) WHERE pk > 0 AND name = $2";
      struct lm_value pp[2];
      lm_walk_text(&pp[0], w->table);
      lm_walk_text(&pp[1], w->keys[0]);
      if (lm_walk_query(L, w, pk_sql, 2, pp, &wc, &err) == 0 &&
          w->be->cursor_step(wc->cur, &err) == 1) {
        w->be->cursor_value(wc->cur, 0, &v[0]);
        found = v[0].type == LM_VINT && v[0].i == 1;
      }
      lm_walk_closecur(wc);
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
  }
  if (!found)
    luaL_error(L, "op.%s \"%s\": the key must be unique: no primary key or "
               "unique index (without WHERE or expressions) covers exactly "
               "the key column%s; add one, or pass a key that has one",
               w->fname, w->table, w->nkeys > 1 ? "s" : "");
  for (i = 0; i < w->nkeys; i++) {
    int nn;
    lua_getfield(L, S_NOTNULL, w->keys[i]);
    nn = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!nn)
      luaL_error(L, "op.%s \"%s\": key column \"%s\" must be NOT NULL (rows "
                 "with a NULL key would never be visited)", w->fname,
                 w->table, w->keys[i]);
  }
}

/* w->total: pg_class.reltuples on PostgreSQL (never a scan), count(*) on
** SQLite; -1 when unknown. */
void lm_walk_estimate(lua_State *L, struct walk *w) {
  struct lm_sqlbuf *sb = lm_op_newsb(L);
  struct lm_value p, v;
  struct lm_err err;
  struct wcur *wc;
  int np = 0;
  w->total = -1;
  if (w->pg) {
    struct lm_sqlbuf *name = lm_op_newsb(L);
    walk_qi(w, name, w->table);
    lm_walk_text(&p, lm_sb_str(name));
    np = 1;
    lm_sb_add(sb, "SELECT reltuples::bigint FROM pg_catalog.pg_class "
              "WHERE oid = to_regclass($1)");
  } else {
    lm_sb_add(sb, "SELECT count(*) FROM ");
    walk_qi(w, sb, w->table);
    lua_pushnil(L);
  }
  if (lm_walk_query(L, w, lm_sb_str(sb), np, &p, &wc, &err) == 0 &&
      w->be->cursor_step(wc->cur, &err) == 1) {
    w->be->cursor_value(wc->cur, 0, &v);
    if (v.type == LM_VINT && v.i >= 0) w->total = v.i;
  }
  lm_walk_closecur(wc);
  lua_pop(L, 3);
}
