/*
** op_walk.h: the walk behind op.backfill and op.each_batch, shared by the
** files that implement it and used by nobody else:
**   op_data.c         options, setup, the batch loop, the entry points
**   op_walk.c         the walk object: __close, errors, cursors, user calls
**   op_catalog.c      the table's columns and types, key check, row estimate
**   op_walk_batch.c   the SQL built once per walk, and one batch
**   op_checkpoint.c   checkpoint rows in lmigrate_backfill, key encoding
**   op_backfill_fn.c  the fn form: call fn per row, write results back
**                     (op_pgarray.c: array literals for PostgreSQL)
**   op_progress.c     progress bar / lines on stderr
**   op_lag.c          the pause between batches while replicas lag
**
** A walk lives in the slots S_OPTS..S_TOP of the stack of the op call
** (fixed by walk_setup); every function here takes the lua_State with
** those slots in place and leaves the stack as it found it unless it says
** otherwise. Strings in struct walk are borrowed from S_OPTS.
** Invariant: the walk userdata (S_WALK) is a to-be-closed slot whose
** __close rolls back an open batch and restores ctx->transactional, so
** any function here may raise.
*/
#ifndef LM_OP_WALK_H
#define LM_OP_WALK_H

#include <lua.h>

#include "backend.h"
#include "clock.h"
#include "dialect.h"
#include "op.h"
#include "sqlbuf.h"

#define MAXKEYS 8

/* Stack slots of a walk, fixed by walk_setup. S_TYPES, S_NOTNULL and
** S_UNNEST are tables keyed by column name (see lm_walk_load_columns). */
enum { S_OPTS = 1, S_WALK, S_LAST, S_NEXT, S_TYPES, S_NOTNULL, S_UNNEST,
       S_FN, S_OP, S_SQL1, S_SQL2, S_SQL3, S_SQL4, S_SQLB, S_TOP = S_SQLB };

enum walk_kind { W_SET, W_FN, W_EACH };

struct walk {
  struct lm_opctx *ctx;           /* borrowed from the runner */
  struct lm_conn *c;              /* ctx->conn */
  const struct lm_backend *be;
  const struct lm_dialect *d;
  int pg;                         /* PostgreSQL spelling: casts, row locks */
  enum walk_kind kind;
  const char *fname;              /* "backfill", "each_batch" */
  int in_tx;                      /* a batch transaction is open */
  int guarded, saved_tx;          /* ctx->transactional forced to 1 */
  const char *table, *where, *set, *revision;
  const char *keys[MAXKEYS];
  int nkeys;
  long long batch, sleep_ms, target_ms, lock_timeout_ms;
  char name[256];
  int has_last, has_next;         /* S_LAST / S_NEXT hold a key */
  enum lm_vtype ltype[MAXKEYS], ntype[MAXKEYS];
  long long rows_done;            /* committed, over every run */
  long long rows_run;             /* committed in this run */
  int progress;                   /* 0 off, 1 periodic lines, 2 tty bar */
  int bar_dirty;                  /* a \r bar is on the terminal */
  long long total;                /* estimate, -1 unknown */
  double t0, last_print, max_batch_ms;
  int fast;                       /* PostgreSQL set form: one statement
                                  ** per batch, in autocommit */
  int session_limits;             /* lock_timeout is set on the session
                                  ** for the walk (reset when it ends) */
  struct lm_lag *lag;             /* borrowed from the lag box above S_TOP
                                  ** (op_lag.c); NULL: no replica check */
};

/* A cursor owned by a Lua userdata, so an error cannot leak it. */
struct wcur {
  struct lm_cursor *cur;          /* owned: be->cursor_close */
  const struct lm_backend *be;
};

/* The sqlbuf in a stack slot (S_SQL1..S_SQLB). */
static inline struct lm_sqlbuf *walk_sb(lua_State *L, int slot) {
  return (struct lm_sqlbuf *)lua_touserdata(L, slot);
}

/* Append name quoted as an identifier. */
static inline void walk_qi(struct walk *w, struct lm_sqlbuf *sb,
                           const char *name) {
  w->d->quote_ident(sb, name);
}

/* ---------- op_walk.c ---------- */

/* Push a new zeroed walk userdata whose __close ends the walk. */
struct walk *lm_walk_new(lua_State *L);
/* v = the text s borrowed (NULL: SQL NULL). */
void lm_walk_text(struct lm_value *v, const char *s);
/* v = the integer i. */
void lm_walk_int(struct lm_value *v, long long i);
/* Raise "op.<fname> "<table>": msg"; __close of the walk rolls back. */
int lm_walk_error(lua_State *L, struct walk *w, const char *msg);
/* Raise "interrupted: N rows done; ...". */
int lm_walk_interrupted(lua_State *L, struct walk *w);
/* After a failed database call: raise interrupted, or the error. Returns
** 2 (retry the batch) for a lock timeout the caller may retry. */
int lm_walk_db_failed(lua_State *L, struct walk *w, struct lm_err *err,
                      int may_retry);
/* Run a query; pushes a cursor box (closed by __gc or lm_walk_closecur). 0,
** or non-zero with err filled (the box is pushed either way). */
int lm_walk_query(lua_State *L, struct walk *w, const char *sql, int n,
                  const struct lm_value *params, struct wcur **out,
                  struct lm_err *err);
/* Close the box's cursor now (the box stays on the stack). */
void lm_walk_closecur(struct wcur *wc);
/* Force ctx->transactional on while user code runs inside a batch, so a
** nested op.backfill is refused (on = 1), or restore it (on = 0). */
void lm_walk_guard(struct walk *w, int on);
/* Call the function at the top - nargs - 1 with nargs; on error raise
** "interrupted" after an interrupt, else the fn's own message. */
void lm_walk_call(lua_State *L, struct walk *w, int nargs, int nres);

/* ---------- op_catalog.c ---------- */

/* Fill S_TYPES (column -> declared type), S_NOTNULL (column -> true) and,
** on PostgreSQL, S_UNNEST (column -> true when its values can travel as
** one typed array that unnest returns as one column: not an array,
** composite or domain type, and ',' separates its array elements); raise
** when the table does not exist. */
void lm_walk_load_columns(lua_State *L, struct walk *w);
/* 1 when the column exists in S_TYPES. */
int lm_walk_has_column(lua_State *L, const char *col);
/* The position of col in the key, or -1. */
int lm_walk_key_index(struct walk *w, const char *col);
/* Raise unless the key columns are exactly the columns of a unique,
** non-partial index (or the rowid) and are NOT NULL. */
void lm_walk_check_key(lua_State *L, struct walk *w);
/* w->total: pg_class.reltuples on PostgreSQL (never a scan), count(*) on
** SQLite; -1 when unknown. */
void lm_walk_estimate(lua_State *L, struct walk *w);

/* ---------- op_walk_batch.c ---------- */

/* Append "(K) op ($first, ...)", the key columns qualified by the table
** when qualify. */
void lm_walk_keycmp(struct walk *w, struct lm_sqlbuf *sb, const char *op,
                    int first, int qualify);
/* Fill S_SQL1..S_SQL4 with the walk's statements. */
void lm_walk_build_sql(lua_State *L, struct walk *w);
/* params[0..nkeys) from the key at slot (S_LAST/S_NEXT) with types t;
** strings stay borrowed from that table. */
void lm_walk_key_params(lua_State *L, struct walk *w, int slot,
                        const enum lm_vtype *t, struct lm_value *params);
/* One batch in its own transaction: work + checkpoint, one commit.
** Returns 1 after a committed batch, 0 when the walk is over (its
** finished checkpoint committed), 2 after a lock timeout (rolled back, to
** be retried). Raises on other errors (__close rolls back). */
int lm_walk_run_batch(lua_State *L, struct walk *w);

/* ---------- op_checkpoint.c ---------- */

/* Create the checkpoint table if missing, then read this walk's row (or
** insert a fresh one). Returns 1 when the walk finished in an earlier run. */
int lm_walk_load_checkpoint(lua_State *L, struct walk *w);
/* Write the checkpoint inside the open batch: the key at S_NEXT (or NULL
** and done = 1 when finished). 0, or non-zero with err filled. */
int lm_walk_save_checkpoint(lua_State *L, struct walk *w, long long rows,
                            int finished, struct lm_err *err);

/* ---------- op_backfill_fn.c ---------- */

/* fn form: call fn(row) for the n rows at ridx, then write the results
** grouped by the set of columns they assign. *rows: rows changed. 0, or
** 1 with err filled. */
int lm_walk_apply_fn(lua_State *L, struct walk *w, int ridx, int n,
                     long long *rows, struct lm_err *err);

/* ---------- op_progress.c ---------- */

/* Report progress on stderr: a bar redrawn with \r on a terminal, a line
** every 5 s otherwise; final = 1 prints the summary. */
void lm_walk_progress(struct walk *w, int final);

/* ---------- op_lag.c ---------- */

/* Set up the replica-lag check of the walk (option max_replica_lag, else
** the config's; replica_urls): when it is on (and the backend has
** replicas()), push a to-be-closed box above S_TOP that owns the
** connections to replica_urls, set w->lag, and take the first WAL
** sample; else push nothing. Raises when a replica cannot be reached or
** is not a replica, before any batch ran. */
void lm_lag_setup(lua_State *L, struct walk *w);
/* Between batches: while a replica's replay lag is over max_replica_lag,
** report the pause and wait (500 ms doubling to 5 s between checks);
** Ctrl-C interrupts it at once. A no-op when w->lag is NULL. */
void lm_lag_wait(lua_State *L, struct walk *w);

#endif
