/*
** op.h: the `op` module handed to revision functions. Implemented in C,
** bound to one connection (real or offline) through a context the runner
** owns. Every op renders through conn->dialect and runs through conn->be.
*/
#ifndef LM_OP_H
#define LM_OP_H

#include <lua.h>

#include "backend.h"
#include "err.h"

/* Where op.backfill / op.each_batch keep their checkpoints (one row per
** revision and walk); the runner clears a revision's rows when it is
** downgraded, so upgrading again walks again. */
#define LM_CHECKPOINT_TABLE "lmigrate_backfill"

struct lm_opctx {
  struct lm_conn *conn;   /* borrowed; set to NULL when the revision ends,
                          ** after which every op raises "op used outside
                          ** of its revision" */
  int transactional;      /* the running revision runs inside a transaction */
  const char *phase;      /* "upgrade", "downgrade", "data",
                          ** "data_downgrade"; borrowed */
  const char *revision;   /* the running revision's id; borrowed */
  int verbosity;          /* -1 quiet, 0 normal, 1 verbose (progress) */
  char sqlstate[6];       /* out: SQLSTATE of the last database error an
                          ** op raised ("" if none), so the runner can
                          ** retry a lock timeout */
  long long rows;         /* out: rows op.backfill / op.each_batch wrote
                          ** through this context in batches that
                          ** committed (the hooks' ctx.rows); the runner
                          ** zeroes it */
  int offline_stop;       /* out: under --sql, a data op emitted a stop
                          ** point (the lmigrate command that runs it
                          ** moves the version table, not the script) */
  int max_replica_lag_ms; /* op.backfill / op.each_batch pause while a
                          ** replica lags more (op_lag.c); 0 = off */
  char *const *replica_urls;  /* borrowed from the config; replicas polled
                          ** directly (nreplica_urls of them) */
  int nreplica_urls;
};

/* Push a new op table bound to ctx (borrowed; must outlive every call
** through the table, or have ctx->conn set to NULL first). xidx is the
** stack index of the -x table to expose as op.x (0: an empty table). */
void lm_op_push(lua_State *L, struct lm_opctx *ctx, int xidx);

/* End the binding of every op table pushed for ctx: close the op.rows
** cursors still open for it and set ctx->conn = NULL; afterwards every op
** call through those tables raises "op used outside of its revision".
** Call when the revision phase ends, before ctx goes away. */
void lm_op_release(lua_State *L, struct lm_opctx *ctx);

/* Run the alterations still queued for a SQLite table rebuild (ops that
** need one are batched per table and run when another op comes, or
** here). Call once the revision function has returned successfully,
** before lm_op_release. Returns 0, or non-zero with err filled: its
** message starts with the file:line of the first queued op. Does not
** raise. Rebuild warnings are printed as "lmigrate: warning: ...". */
int lm_op_flush(lua_State *L, struct lm_opctx *ctx, struct lm_err *err);

/* Register the "lmigrate.rows" (and other) metatables; call once per
** lua_State before lm_op_push. Idempotent. */
void lm_op_openlib(lua_State *L);

#endif
