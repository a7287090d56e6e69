/*
** op_walk_batch.c: the SQL of a walk, built once into S_SQL1..S_SQL4 by
** lm_walk_build_sql, and one batch (op_walk.h). A batch begins a
** transaction, does its work (set form: one UPDATE of the key range
** (last, next]; row forms: select the rows, locked on PostgreSQL, then
** call the user's fn), writes the checkpoint and commits. On PostgreSQL
** the set form is one statement per batch instead (w->fast): a WITH that
** picks the next key range, updates it and writes the checkpoint, run in
** autocommit, so a batch is one round trip. Key values are always bound
** ($N), never spliced; identifiers are quoted by the dialect.
*/
#include <string.h>
#include <time.h>

#include <lua.h>
#include <lauxlib.h>

#include "op_int.h"
#include "op_walk.h"
#include "value.h"

/* ---------- SQL of a walk (built once) ---------- */

/* Append "k1", "k2" (each quoted), optionally qualified by the table and
** followed by suffix (" DESC"). */
static void add_keys(struct walk *w, struct lm_sqlbuf *sb, int qualify,
                     const char *suffix) {
  int i;
  for (i = 0; i < w->nkeys; i++) {
    if (i) lm_sb_add(sb, ", ");
    if (qualify) {
      walk_qi(w, sb, w->table);
      lm_sb_addc(sb, '.');
    }
    walk_qi(w, sb, w->keys[i]);
    if (suffix) lm_sb_add(sb, suffix);
  }
}

/* Append "(K) op ($first, ...)". */
void lm_walk_keycmp(struct walk *w, struct lm_sqlbuf *sb, const char *op,
                    int first, int qualify) {
  int i;
  lm_sb_addc(sb, '(');
  add_keys(w, sb, qualify, NULL);
  lm_sb_printf(sb, ") %s (", op);
  for (i = 0; i < w->nkeys; i++) lm_sb_printf(sb, "%s$%d", i ? ", " : "",
                                               first + i);
  lm_sb_addc(sb, ')');
}

static void add_keycmp(struct walk *w, struct lm_sqlbuf *sb, const char *op,
                       int first) {
  lm_walk_keycmp(w, sb, op, first, 0);
}

/* Append the WHERE clause: after the low key (lo), up to the high key
** (hi), and the user's where. Parameters: lo = $1.., hi = $nkeys+1... */
static void add_cond(struct walk *w, struct lm_sqlbuf *sb, int lo, int hi) {
  const char *sep = " WHERE ";
  if (lo) {
    lm_sb_add(sb, sep);
    add_keycmp(w, sb, ">", 1);
    sep = " AND ";
  }
  if (hi) {
    lm_sb_add(sb, sep);
    add_keycmp(w, sb, "<=", w->nkeys + 1);
    sep = " AND ";
  }
  if (w->where) {
    lm_sb_add(sb, sep);
    lm_sb_printf(sb, "(%s)", w->where);
  }
}

/* Append the checkpoint encoding of key column col (op_checkpoint.c:
** <tag><len>:<payload>) as SQL over lm_k, or return 0 when its type has
** no exact SQL spelling of that encoding (floats). */
static int add_encoding(lua_State *L, struct walk *w, struct lm_sqlbuf *sb,
                        const char *col) {
  const char *type;
  int ok = 1;
  lua_getfield(L, S_TYPES, col);
  type = lua_tostring(L, -1);
  if (type == NULL || strcmp(type, "real") == 0 ||
      strcmp(type, "double precision") == 0) {
    ok = 0;
  } else if (strcmp(type, "integer") == 0 || strcmp(type, "bigint") == 0 ||
             strcmp(type, "smallint") == 0) {
    lm_dialect_sqlf(w->d, sb, "'i' || length(%I::text) || ':' || %I::text",
                    col, col);
  } else if (strcmp(type, "boolean") == 0) {
    lm_dialect_sqlf(w->d, sb, "'B1:' || %I::int::text", col);
  } else if (strcmp(type, "bytea") == 0) {
    lm_dialect_sqlf(w->d, sb, "'b' || (2 * octet_length(%I))::text || ':' "
                    "|| encode(%I, 'hex')", col, col);
  } else {
    lm_dialect_sqlf(w->d, sb, "'t' || octet_length(%I::text)::text || ':' "
                    "|| %I::text", col, col);
  }
  lua_pop(L, 1);
  return ok;
}

/* The one-statement batch of the PostgreSQL set form into S_SQL3 (first
** batch) / S_SQL4 (after a key), replacing the UPDATEs; w->fast = 1.
** Parameters as in build_sql, plus revision, name, stamp after them. */
static void build_fast(lua_State *L, struct walk *w) {
  int lo, i, np = 2 * w->nkeys + 1;
  struct lm_sqlbuf *enc = lm_op_newsb(L);
  for (i = 0; i < w->nkeys; i++) {
    if (i) lm_sb_add(enc, " || ");
    if (!add_encoding(L, w, enc, w->keys[i])) {
      lua_pop(L, 1);
      return;
    }
  }
  for (lo = 0; lo <= 1; lo++) {
    struct lm_sqlbuf *sb = walk_sb(L, lo ? S_SQL4 : S_SQL3);
    lm_sb_reset(sb);
    lm_sb_printf(sb, "WITH lm_k AS (%s), ",
                 lm_sb_str(walk_sb(L, lo ? S_SQL2 : S_SQL1)));
    if (!lo) {
      /* The first batch bounds its range below too (by the first key):
      ** with only "<= (subquery)" the planner guesses a third of the
      ** table and scans all of it. */
      lm_sb_add(sb, "lm_f AS (SELECT ");
      add_keys(w, sb, 0, NULL);
      lm_sb_add(sb, " FROM ");
      walk_qi(w, sb, w->table);
      if (w->where) lm_sb_printf(sb, " WHERE (%s)", w->where);
      lm_sb_add(sb, " ORDER BY ");
      add_keys(w, sb, 0, NULL);
      lm_sb_add(sb, " LIMIT 1), ");
    }
    lm_sb_add(sb, "lm_u AS (UPDATE ");
    walk_qi(w, sb, w->table);
    lm_sb_printf(sb, " SET %s WHERE ", w->set);
    if (lo) {
      add_keycmp(w, sb, ">", 1);
      lm_sb_add(sb, " AND ");
    } else {
      lm_sb_addc(sb, '(');
      add_keys(w, sb, 0, NULL);
      lm_sb_add(sb, ") >= (SELECT ");
      add_keys(w, sb, 0, NULL);
      lm_sb_add(sb, " FROM lm_f) AND ");
    }
    lm_sb_addc(sb, '(');
    add_keys(w, sb, 0, NULL);
    lm_sb_add(sb, ") <= (SELECT ");
    add_keys(w, sb, 0, NULL);
    lm_sb_add(sb, " FROM lm_k)");
    if (w->where) lm_sb_printf(sb, " AND (%s)", w->where);
    lm_dialect_sqlf(w->d, sb, " RETURNING 1), lm_c AS (UPDATE %I SET %I = "
                    "(SELECT %s FROM lm_k), %I = %I + (SELECT count(*) FROM "
                    "lm_u), %I = CASE WHEN EXISTS (SELECT 1 FROM lm_k) THEN 0 "
                    "ELSE 1 END, %I = $%d WHERE %I = $%d AND %I = $%d) SELECT ",
                    LM_CHECKPOINT_TABLE, "last_key", lm_sb_str(enc),
                    "rows_done", "rows_done", "done", "updated_at", np + 3,
                    "revision", np + 1, "name", np + 2);
    add_keys(w, sb, 0, NULL);
    lm_sb_add(sb, ", (SELECT count(*) FROM lm_u) FROM lm_k");
  }
  lua_pop(L, 1);
  w->fast = 1;
}

/* SET form: SQL1/SQL2 find the batch's high key (first batch / after a
** checkpoint), SQL3/SQL4 update (lo, hi]. Row forms: SQL1/SQL2 select
** the batch rows, locked on PostgreSQL. */
void lm_walk_build_sql(lua_State *L, struct walk *w) {
  int lo, limit = 2 * w->nkeys + 1;
  for (lo = 0; lo <= 1; lo++) {
    struct lm_sqlbuf *sb = walk_sb(L, lo ? S_SQL2 : S_SQL1);
    lm_sb_add(sb, "SELECT ");
    add_keys(w, sb, 0, NULL);
    if (w->kind == W_SET) {
      lm_sb_add(sb, " FROM (SELECT ");
      add_keys(w, sb, 0, NULL);
    } else if (lua_getfield(L, S_OPTS, "columns") == LUA_TTABLE) {
      int i, n = (int)lua_rawlen(L, -1);
      for (i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        if (lm_walk_key_index(w, lua_tostring(L, -1)) < 0) {
          lm_sb_add(sb, ", ");
          walk_qi(w, sb, lua_tostring(L, -1));
        }
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    } else {
      lua_pop(L, 1);
      lm_sb_add(sb, ", *");
    }
    lm_sb_add(sb, " FROM ");
    walk_qi(w, sb, w->table);
    add_cond(w, sb, lo, 0);
    lm_sb_add(sb, " ORDER BY ");
    add_keys(w, sb, 0, NULL);
    lm_sb_printf(sb, " LIMIT $%d", limit);
    if (w->kind == W_SET) {
      lm_sb_add(sb, ") AS lm_b ORDER BY ");
      add_keys(w, sb, 0, " DESC");
      lm_sb_add(sb, " LIMIT 1");
      sb = walk_sb(L, lo ? S_SQL4 : S_SQL3);
      lm_sb_add(sb, "UPDATE ");
      walk_qi(w, sb, w->table);
      lm_sb_printf(sb, " SET %s", w->set);
      add_cond(w, sb, lo, 1);
    } else if (w->pg) {
      lm_sb_add(sb, " FOR NO KEY UPDATE");
    }
  }
  if (w->kind == W_SET && w->pg) build_fast(L, w);
  if (!lm_sb_ok(walk_sb(L, S_SQL1)) || !lm_sb_ok(walk_sb(L, S_SQL2)) ||
      !lm_sb_ok(walk_sb(L, S_SQL3)) || !lm_sb_ok(walk_sb(L, S_SQL4)))
    lm_walk_error(L, w, "out of memory");
}

/* ---------- one batch ---------- */

/* params[0..nkeys) from the key at slot (S_LAST/S_NEXT) with types t;
** strings stay borrowed from that table. */
void lm_walk_key_params(lua_State *L, struct walk *w, int slot,
                        const enum lm_vtype *t, struct lm_value *params) {
  int i;
  for (i = 0; i < w->nkeys; i++) {
    lua_rawgeti(L, slot, i + 1);
    lm_value_from_lua(L, -1, &params[i]);
    if (t[i] == LM_VBLOB && params[i].type == LM_VTEXT)
      params[i].type = LM_VBLOB;
    lua_pop(L, 1);
  }
}

/* The current cursor row's key columns (the first nkeys) into S_NEXT. */
static void read_next(lua_State *L, struct walk *w, struct lm_cursor *cur) {
  int i;
  for (i = 0; i < w->nkeys; i++) {
    struct lm_value v;
    w->be->cursor_value(cur, i, &v);
    w->ntype[i] = v.type;
    lm_value_push(L, &v);
    lua_rawseti(L, S_NEXT, i + 1);
  }
  w->has_next = 1;
}

/* The batch rows, selected (and on PostgreSQL locked) into a new table
** pushed on the stack; S_NEXT gets the last row's key. *n: row count. */
static int select_rows(lua_State *L, struct walk *w,
                       const struct lm_value *params, int np, int *n,
                       struct lm_err *err) {
  struct wcur *wc;
  int st, ridx;
  lua_newtable(L);
  ridx = lua_gettop(L);
  *n = 0;
  if (lm_walk_query(L, w, lm_sb_str(walk_sb(L, w->has_last ? S_SQL2 : S_SQL1)),
                    np, params, &wc, err)) {
    lua_pop(L, 1);
    return 1;
  }
  while ((st = w->be->cursor_step(wc->cur, err)) == 1) {
    lm_value_pushrow(L, wc->cur);
    lua_rawseti(L, ridx, ++*n);
    read_next(L, w, wc->cur);
  }
  lm_walk_closecur(wc);
  lua_pop(L, 1);
  return st < 0;
}

/* The work of one batch inside its transaction. *rows: rows changed;
** *finished: no rows were left. 0, or 1 with err filled. */
static int batch_work(lua_State *L, struct walk *w, struct lm_value *params,
                      int np, long long *rows, int *finished,
                      struct lm_err *err) {
  struct wcur *wc;
  long long ch = 0;
  int st, n = 0;
  *rows = 0;
  *finished = 0;
  if (w->kind == W_SET) {
    if (lm_walk_query(L, w,
                      lm_sb_str(walk_sb(L, w->has_last ? S_SQL2 : S_SQL1)),
                      np, params, &wc, err))
      return 1;
    st = w->be->cursor_step(wc->cur, err);
    if (st == 1) read_next(L, w, wc->cur);
    lm_walk_closecur(wc);
    lua_pop(L, 1);
    if (st < 0) return 1;
    if (st == 0) {
      *finished = 1;
      return 0;
    }
    lm_walk_key_params(L, w, S_NEXT, w->ntype, params + w->nkeys);
    if (w->be->exec(w->c, lm_sb_str(walk_sb(L, w->has_last ? S_SQL4 : S_SQL3)),
                    np, params, &ch, err))
      return 1;
    *rows = ch;
    return 0;
  }
  if (select_rows(L, w, params, np, &n, err)) return 1;
  if (n == 0) {
    *finished = 1;
    lua_pop(L, 1);
    return 0;
  }
  if (w->kind == W_FN) {
    if (lm_walk_apply_fn(L, w, lua_gettop(L), n, rows, err)) return 1;
  } else {
    lm_walk_guard(w, 1);
    lua_pushvalue(L, S_FN);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, S_OP);
    lm_walk_call(L, w, 2, 0);
    lm_walk_guard(w, 0);
    *rows = n;
  }
  lua_pop(L, 1);
  return 0;
}

/* The PostgreSQL set form's batch: one statement in autocommit (see
** build_fast). Same contract as lm_walk_run_batch. */
static int run_fast(lua_State *L, struct walk *w, struct lm_value *params,
                    int np, int top) {
  struct wcur *wc = NULL;
  struct lm_err err;
  char stamp[32];
  time_t now = time(NULL);
  struct tm tm;
  long long rows = 0;
  int st = -1, i;
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  lm_walk_text(&params[np], w->revision);
  lm_walk_text(&params[np + 1], w->name);
  lm_walk_text(&params[np + 2], stamp);
  lm_err_clear(&err);
  if (lm_walk_query(L, w, lm_sb_str(walk_sb(L, w->has_last ? S_SQL4 : S_SQL3)),
                    np + 3, params, &wc, &err) == 0)
    st = w->be->cursor_step(wc->cur, &err);
  if (st < 0) {
    /* the statement rolled itself back (autocommit): nothing to undo */
    if (lm_walk_db_failed(L, w, &err, 1) == 2) {
      lua_settop(L, top);
      return 2;
    }
  }
  if (st == 1) {
    struct lm_value v;
    read_next(L, w, wc->cur);
    w->be->cursor_value(wc->cur, w->nkeys, &v);
    rows = v.type == LM_VINT ? v.i : 0;
    for (i = 0; i < w->nkeys; i++) {
      lua_rawgeti(L, S_NEXT, i + 1);
      lua_rawseti(L, S_LAST, i + 1);
      w->ltype[i] = w->ntype[i];
    }
    w->has_last = 1;
  }
  lm_walk_closecur(wc);
  w->rows_done += rows;
  w->rows_run += rows;
  lua_settop(L, top);
  return st;
}

/* One batch in its own transaction: work + checkpoint, one commit.
** Returns 1 after a committed batch, 0 when the walk is over (its
** finished checkpoint committed), 2 after a lock timeout (rolled back, to
** be retried). Raises on other errors (__close rolls back). */
int lm_walk_run_batch(lua_State *L, struct walk *w) {
  int np = 2 * w->nkeys + 1, finished = 0, rc, i, top = lua_gettop(L);
  struct lm_value *params =
    lua_newuserdatauv(L, (size_t)(np + 3) * sizeof *params, 0);
  long long rows = 0;
  struct lm_err err;
  memset(params, 0, (size_t)(np + 3) * sizeof *params);
  if (w->has_last) lm_walk_key_params(L, w, S_LAST, w->ltype, params);
  lm_walk_int(&params[np - 1], w->batch);
  w->has_next = 0;
  if (w->fast) return run_fast(L, w, params, np, top);
  lm_err_clear(&err);
  if (w->be->begin(w->c, &err)) return lm_walk_db_failed(L, w, &err, 0);
  w->in_tx = 1;
  /* lock_timeout is the session's for the whole walk (op_data.c) */
  rc = batch_work(L, w, params, np, &rows, &finished, &err);
  if (rc == 0)
    rc = lm_walk_save_checkpoint(L, w, w->rows_done + rows, finished, &err);
  if (rc == 0 && (rc = w->be->commit(w->c, &err)) == 0) w->in_tx = 0;
  if (rc) {
    struct lm_err ignored;
    lm_err_clear(&ignored);
    w->be->rollback(w->c, &ignored);   /* a no-op outside a transaction */
    w->in_tx = 0;
    if (lm_walk_db_failed(L, w, &err, 1) == 2) {
      lua_settop(L, top);
      return 2;
    }
  }
  if (!finished) {
    for (i = 0; i < w->nkeys; i++) {
      lua_rawgeti(L, S_NEXT, i + 1);
      lua_rawseti(L, S_LAST, i + 1);
      w->ltype[i] = w->ntype[i];
    }
    w->has_last = 1;
  }
  w->rows_done += rows;
  w->rows_run += rows;
  lua_settop(L, top);
  return finished ? 0 : 1;
}
