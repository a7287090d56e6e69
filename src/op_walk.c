/*
** op_walk.c: the walk object of op.backfill / op.each_batch (op_walk.h):
** its userdata and __close, the errors it raises, cursor boxes, and calls
** into user code. Whatever raises here leaves cleanup to __close: it rolls
** back an open batch and restores ctx->transactional, so an error (ours,
** the user's fn, an interrupt) leaves earlier batches committed and the
** connection outside a transaction. A cursor lives in a userdata whose
** __gc closes it, so an error between query and close leaks nothing.
*/
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <lua.h>
#include <lauxlib.h>

#include "interrupt.h"
#include "op_walk.h"

#define WALK_MT "lmigrate.walk"
#define WCUR_MT "lmigrate.walkcursor"

void lm_walk_text(struct lm_value *v, const char *s) {
  memset(v, 0, sizeof *v);
  v->type = s ? LM_VTEXT : LM_VNULL;
  v->s = s;
  v->n = s ? strlen(s) : 0;
}

void lm_walk_int(struct lm_value *v, long long i) {
  memset(v, 0, sizeof *v);
  v->type = LM_VINT;
  v->i = i;
}

/* Raise "op.<fname> "<table>": msg"; __close of the walk rolls back. */
int lm_walk_error(lua_State *L, struct walk *w, const char *msg) {
  if (w->bar_dirty) {
    fputc('\n', stderr);
    w->bar_dirty = 0;
  }
  return luaL_error(L, "op.%s \"%s\": %s", w->fname, w->table, msg);
}

int lm_walk_interrupted(lua_State *L, struct walk *w) {
  if (w->bar_dirty) {
    fputc('\n', stderr);
    w->bar_dirty = 0;
  }
  return luaL_error(L, "interrupted: %I rows done; run `lmigrate upgrade` "
                    "again to resume from the last checkpoint",
                    (lua_Integer)w->rows_done);
}

/* After a failed database call: raise interrupted, or the error. Returns
** 2 (retry the batch) for a lock timeout the caller may retry. */
int lm_walk_db_failed(lua_State *L, struct walk *w, struct lm_err *err,
                      int may_retry) {
  memcpy(w->ctx->sqlstate, err->sqlstate, sizeof w->ctx->sqlstate);
  if (lm_interrupted) return lm_walk_interrupted(L, w);
  if (may_retry && w->be->lock_timeout_sqlstate != NULL &&
      strcmp(err->sqlstate, w->be->lock_timeout_sqlstate) == 0)
    return 2;
  return lm_walk_error(L, w, err->msg);
}

/* __close of the walk: roll back an open batch, restore
** ctx->transactional. Idempotent. */
static int walk_close(lua_State *L) {
  struct walk *w = luaL_checkudata(L, 1, WALK_MT);
  struct lm_err err;
  if (w->in_tx) {
    lm_err_clear(&err);
    w->be->rollback(w->c, &err);
    w->in_tx = 0;
  }
  if (w->guarded) {
    w->ctx->transactional = w->saved_tx;
    w->guarded = 0;
  }
  if (w->session_limits) {
    /* back to the server's settings (see walk_run) */
    lm_err_clear(&err);
    w->be->set_limits(w->c, -1, -1, 0, &err);
    w->session_limits = 0;
  }
  return 0;
}

/* __gc of a cursor box. */
static int wcur_gc(lua_State *L) {
  struct wcur *wc = luaL_checkudata(L, 1, WCUR_MT);
  if (wc->cur) wc->be->cursor_close(wc->cur);
  wc->cur = NULL;
  return 0;
}

/* Push a new zeroed walk userdata whose __close ends the walk (and make
** sure the cursor box metatable exists). */
struct walk *lm_walk_new(lua_State *L) {
  struct walk *w = lua_newuserdatauv(L, sizeof *w, 0);
  memset(w, 0, sizeof *w);
  if (luaL_newmetatable(L, WALK_MT)) {
    lua_pushcfunction(L, walk_close);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  if (luaL_newmetatable(L, WCUR_MT)) {
    lua_pushcfunction(L, wcur_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  return w;
}

/* Run a query; pushes a cursor box (closed by __gc or lm_walk_closecur). 0, or
** non-zero with err filled (the box is pushed either way). */
int lm_walk_query(lua_State *L, struct walk *w, const char *sql, int n,
                  const struct lm_value *params, struct wcur **out,
                  struct lm_err *err) {
  struct wcur *wc = lua_newuserdatauv(L, sizeof *wc, 0);
  wc->cur = NULL;
  wc->be = w->be;
  luaL_setmetatable(L, WCUR_MT);
  *out = wc;
  lm_err_clear(err);
  return w->be->query(w->c, sql, n, params, &wc->cur, err);
}

void lm_walk_closecur(struct wcur *wc) {
  if (wc->cur) wc->be->cursor_close(wc->cur);
  wc->cur = NULL;
}

/* Force ctx->transactional on while user code runs inside a batch, so a
** nested op.backfill is refused (on = 1), or restore it (on = 0). */
void lm_walk_guard(struct walk *w, int on) {
  if (on && !w->guarded) {
    w->saved_tx = w->ctx->transactional;
    w->ctx->transactional = 1;
    w->guarded = 1;
  } else if (!on && w->guarded) {
    w->ctx->transactional = w->saved_tx;
    w->guarded = 0;
  }
}

/* Call the function at the top - nargs - 1 with nargs; on error raise
** "interrupted" after an interrupt, else the fn's own message. */
void lm_walk_call(lua_State *L, struct walk *w, int nargs, int nres) {
  if (lua_pcall(L, nargs, nres, 0) != LUA_OK) {
    if (lm_interrupted) lm_walk_interrupted(L, w);
    if (w->bar_dirty) {
      fputc('\n', stderr);
      w->bar_dirty = 0;
    }
    lua_error(L);
  }
}
