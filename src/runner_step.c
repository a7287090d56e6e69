/*
** runner_step.c: running one revision of a plan (lm_run_step): its
** function with a fresh op, the per-revision limits and lock-timeout
** retries, the data phase, its version and history rows, and the record
** of a failure (lm_run_record_failure).
** Invariants: a revision's effects, its version rows and its 'applied'
** history row commit together; a revision with a data phase first commits
** its schema change with a 'data' history row, runs data outside any
** transaction, then commits its version rows; a failure rolls back what
** is still open, and its 'failed' row is written in a transaction of its
** own (none with transaction_per_migration = false, where the whole run
** rolls back).
*/
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <lua.h>

#include "events.h"
#include "host.h"
#include "interrupt.h"
#include "log.h"
#include "op.h"
#include "runner_int.h"
#include "sandbox.h"

/* The line a revision starts with, printed before any of its SQL runs so
** a long step shows which revision is running: "Running upgrade X -> Y,
** message" (a SQL comment in --sql mode, where stdout is the script).
** Its duration follows on a line of its own when it ends (announce_done). */
static void announce(struct run *r, enum lm_direction dir, int idx) {
  const struct lm_revision *rev = lm_graph_rev(r->g, idx);
  char parents[512];
  size_t len = 0;
  int i;
  parents[0] = '\0';
  for (i = 0; i < rev->ndown && len + 4 < sizeof parents; i++)
    len += (size_t)snprintf(parents + len, sizeof parents - len, "%s%s",
                            i ? ", " : "", rev->down[i]);
  if (r->offline) {
    printf("-- Running %s %s -> %s, %s\n", dir == LM_UP ? "upgrade" : "downgrade",
           dir == LM_UP ? parents : rev->id, dir == LM_UP ? rev->id : parents,
           rev->message ? rev->message : "");
    return;
  }
  lm_info(r->h, "Running %s %s -> %s, %s",
          dir == LM_UP ? "upgrade" : "downgrade",
          dir == LM_UP ? parents : rev->id, dir == LM_UP ? rev->id : parents,
          rev->message ? rev->message : "");
}

/* The end of a revision announce() started: "  done in N ms". */
static void announce_done(struct run *r, double ms) {
  if (!r->offline) lm_info(r->h, "  done in %.0f ms", ms);
}

/* Call revision idx's function `fname` (upgrade, downgrade, data,
** data_downgrade) with a fresh op. On failure prints the script's error
** and returns 1; *lock_timeout is set when the failure was a lock wait that
** timed out, and such an error is only a warning when `retry` says the
** step will be retried. */
static int call_revision(struct run *r, int idx, const char *fname,
                         int in_tx, int retry, int *lock_timeout) {
  lua_State *L = r->h->L;
  struct lm_opctx ctx;
  struct lm_err err;
  /* The lock-hold guard watches transactional schema functions only: data
  ** phases and non-transactional revisions take no long strong locks. */
  int guarded = in_tx && !r->offline && r->be->hold_guard != NULL &&
                r->h->cfg.max_lock_hold_ms > 0;
  int rc;
  memset(&ctx, 0, sizeof ctx);
  ctx.conn = r->c;
  ctx.transactional = in_tx;
  ctx.phase = fname;
  ctx.revision = lm_graph_rev(r->g, idx)->id;
  ctx.verbosity = r->h->verbosity;
  ctx.max_replica_lag_ms = r->h->cfg.max_replica_lag_ms;
  ctx.replica_urls = r->h->cfg.replica_urls;
  ctx.nreplica_urls = r->h->cfg.nreplica_urls;
  *lock_timeout = 0;
  if ((rc = lm_sandbox_push_field(r->h, idx, fname)) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    if (rc == LUA_TNONE) return 1;    /* the load error is printed */
    return lm_error("%s: revision %s has no %s function",
                    lm_graph_rev(r->g, idx)->path, lm_graph_rev(r->g, idx)->id,
                    fname);
  }
  if (guarded && r->be->hold_guard(r->c, r->h->cfg.max_lock_hold_ms,
                                   r->h->cfg.statement_timeout_ms, &err)) {
    lua_pop(L, 1);
    return lm_error("%s", err.msg);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->h->xref);
  lm_op_push(L, &ctx, lua_gettop(L));
  lua_remove(L, -2);
  rc = lm_host_pcall(r->h, 1, 0);
  if (guarded) {
    /* Disarm; over budget between statements is a failure too. */
    lm_err_clear(&err);
    if (r->be->hold_release(r->c, &err) && rc == 0) {
      memcpy(ctx.sqlstate, err.sqlstate, sizeof ctx.sqlstate);
      lua_pushfstring(L, "%s: revision %s: %s", lm_graph_rev(r->g, idx)->path,
                      lm_graph_rev(r->g, idx)->id, err.msg);
      rc = 1;
    }
  }
  if (rc == 0) {
    /* Ops queued for one SQLite table rebuild run now, at the end of the
    ** revision function, inside its transaction. */
    lm_err_clear(&err);
    if (lm_op_flush(L, &ctx, &err)) {
      memcpy(ctx.sqlstate, err.sqlstate, sizeof ctx.sqlstate);
      lua_pushstring(L, err.msg);
      rc = 1;
    }
  }
  if (rc == 0 && lm_interrupted) {
    /* The signal arrived after the function returned: its transaction
    ** must not commit. */
    lua_pushliteral(L, "interrupted");
    rc = 1;
  }
  r->rows += ctx.rows;      /* committed batches count, also on failure */
  if (ctx.offline_stop) r->offline_stop = 1;
  lm_op_release(L, &ctx);
  if (rc) {
    *lock_timeout = r->be->lock_timeout_sqlstate != NULL &&
                    strcmp(ctx.sqlstate, r->be->lock_timeout_sqlstate) == 0;
    snprintf(r->errmsg, sizeof r->errmsg, "%s", lua_tostring(L, -1));
    if (*lock_timeout && retry)
      lm_warn("%s", lua_tostring(L, -1));
    else
      lm_error("%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return 1;
  }
  return 0;
}

/* Apply the configured per-revision limits (PostgreSQL lock_timeout and
** statement_timeout) to the open transaction. */
static int set_limits(struct run *r) {
  const struct lm_config *cfg = &r->h->cfg;
  struct lm_err err;
  if (r->be->set_limits == NULL) return 0;
  lm_err_clear(&err);
  if (r->be->set_limits(r->c, cfg->ddl_lock_timeout_ms,
                        cfg->statement_timeout_ms, 1, &err))
    return lm_error("%s", err.msg);
  return 0;
}

/* Sleep before retry `attempt` (1, 2, ...): 0.5 s doubling, capped at 8 s;
** returns early on Ctrl-C. */
static void backoff(int attempt) {
  long ms = 500L << (attempt > 5 ? 4 : attempt - 1);
  struct timespec ts;
  if (ms > 8000) ms = 8000;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  if (!lm_interrupted) nanosleep(&ts, NULL);
}

/* What a failure (after Ctrl-C / SIGTERM when sig != 0) left of
** revision idx; recorded: its 'failed' history row was written. */
static void report_failure(struct run *r, int idx, const char *direction,
                           int in_tx, int sig, int recorded) {
  const struct lm_revision *rev = lm_graph_rev(r->g, idx);
  const char *how = sig ? "was interrupted" : "failed";
  if (strcmp(direction, "data") == 0 && r->dir == LM_UP)
    lm_error("the data phase of revision %s (%s) %s: its schema change "
             "and what its data phase committed (backfill batches) stay, "
             "the revision is not marked applied; %s run `lmigrate "
             "upgrade` again: it resumes the data phase (backfills continue "
             "from their last checkpoint); or downgrade to a revision below "
             "it to back it out", rev->id, rev->path, how,
             sig ? "to go on," : "fix the cause and");
  else if (strcmp(direction, "data") == 0)
    lm_error("the data_downgrade of revision %s (%s) %s: what it committed "
             "stays, its downgrade did not run and the revision was not "
             "reverted; %s run the downgrade again (data_downgrade runs "
             "again first)", rev->id, rev->path, how,
             sig ? "to go on," : "fix the cause and");
  else if (in_tx)
    lm_error("revision %s (%s) %s and was rolled back%s; revisions%s "
             "before it stay %s%s", rev->id, rev->path, how,
             r->data_done ? " (what its data_downgrade committed stays)" : "",
             r->dir == LM_UP ? "" : " reverted",
             r->dir == LM_UP ? "applied" : "reverted",
             sig ? "; run the command again to continue" : "");
  else if (!sig && recorded)
    lm_error("non-transactional revision %s (%s) failed part-way: what its "
             "ops did before the failure was NOT rolled back; inspect the "
             "database, then `lmigrate stamp` or fix and re-run", rev->id,
             rev->path);
  else if (recorded)
    lm_error("non-transactional revision %s (%s) %s part-way: what its ops "
             "did before it stopped was NOT rolled back, and it is recorded "
             "as failed, so the next run refuses to start until you inspect "
             "the database and then `lmigrate stamp` the revision it is at, "
             "or change the revision (make its ops idempotent) and re-run",
             rev->id, rev->path, how);
  else
    lm_error("non-transactional revision %s (%s) %s part-way: what its ops "
             "did before it stopped was NOT rolled back, and it could not be "
             "recorded as failed (above), so the next run would start it "
             "again: inspect the database first, then `lmigrate stamp` the "
             "revision it is at, or fix the revision and re-run", rev->id,
             rev->path, how);
}

void lm_run_record_failure(struct run *r, int idx, const char *direction,
                           double ms, int in_tx) {
  const struct lm_revision *rev = lm_graph_rev(r->g, idx);
  struct lm_err err;
  int sig = lm_interrupted, recorded = 0;
  lm_err_clear(&err);
  /* After Ctrl-C the backends would cancel the statements below too: hold
  ** the signal back until the failure is rolled back and recorded (a
  ** second signal still stops them). */
  lm_interrupted = 0;
  if (in_tx) r->be->rollback(r->c, &err);
  if (!r->offline)
    lm_event_error(r->h, idx, direction, r->phase, ms,
                   r->errmsg[0] ? r->errmsg : "failed");
  if (lm_run_hook(r, "on_error", idx, ms, r->errmsg[0] ? r->errmsg : "failed"))
    lm_warn("the on_error hook itself failed (above)");
  if (r->offline) goto done;
  if (r->single_tx) {
    lm_error("revision %s (%s) %s; the whole run was rolled back "
             "(transaction_per_migration = false), nothing was %s%s",
             rev->id, rev->path, sig ? "was interrupted" : "failed",
             r->dir == LM_UP ? "applied" : "reverted",
             sig ? "; run the command again" : "");
    r->reported = sig != 0;
    goto done;
  }
  if (lm_run_tx(r, r->be->begin) == 0) {
    if (lm_run_write_history(r, idx, direction, "failed", ms,
                             rev->message) == 0 &&
        lm_run_tx(r, r->be->commit) == 0)
      recorded = 1;
    else
      r->be->rollback(r->c, &err);
  }
  report_failure(r, idx, direction, in_tx, sig, recorded);
  if (!in_tx && strcmp(direction, "data") != 0)
    lm_run_name_invalid_indexes(r->c);
  if (!sig) lm_run_stamp_hint(r, idx);
  r->reported = sig != 0;
done:
  if (lm_interrupted == 0) lm_interrupted = sig;
}

/* Run revision idx's schema function (upgrade/downgrade) in the open
** transaction (in_tx) or without one, retrying after lock timeouts when
** the step has its own transaction. Records the failure itself. */
static int run_schema(struct run *r, int idx, enum lm_direction dir,
                      int own_tx, int in_tx, double t0) {
  const struct lm_revision *rev = lm_graph_rev(r->g, idx);
  const char *fname = dir == LM_UP ? "upgrade" : "downgrade";
  const char *label = dir == LM_UP ? "up" : "down";
  int attempt = 0;
  for (;;) {
    int retry = own_tx && attempt < r->h->cfg.lock_retries, timed_out = 0;
    int rc;
    /* Limits guard the application against a revision's transaction
    ** queueing behind its locks. A non-transactional revision runs
    ** without them: CREATE INDEX CONCURRENTLY waits for running
    ** transactions by design, and cannot be retried. */
    if (in_tx && set_limits(r)) {
      lm_run_record_failure(r, idx, label, lm_now_ms() - t0, in_tx);
      return 1;
    }
    rc = call_revision(r, idx, fname, in_tx, retry, &timed_out);
    if (rc == 0) return 0;
    if (!(timed_out && retry) || lm_interrupted) {
      lm_run_record_failure(r, idx, label, lm_now_ms() - t0, in_tx);
      return 1;
    }
    /* A lock wait timed out: another session holds a lock the revision
    ** needs. Give the application its lock back, wait, try again. */
    attempt++;
    lm_warn("revision %s: lock wait timed out after %d ms; rolled back, "
            "retry %d of %d", rev->id, r->h->cfg.ddl_lock_timeout_ms,
            attempt, r->h->cfg.lock_retries);
    lm_event_warning(r->h, idx, "lock wait timed out; rolled back, retrying");
    if (lm_run_tx(r, r->be->rollback)) return 1;
    backoff(attempt);
    if (lm_run_tx(r, r->be->begin)) return 1;
  }
}

/* Run revision idx's data phase (data or data_downgrade) outside any
** transaction: op.backfill and friends commit batch by batch. */
static int run_data(struct run *r, int idx, enum lm_direction dir,
                    double t0) {
  int timed_out;
  if (call_revision(r, idx, dir == LM_UP ? "data" : "data_downgrade", 0, 0,
                    &timed_out) == 0)
    return 0;
  lm_run_record_failure(r, idx, "data", lm_now_ms() - t0, 0);
  return 1;
}

/* A revision with a data phase: upgrade commits (history row 'data',
** version table not yet moved), data runs, then the version rows and the
** 'applied' row commit; with data_pending only data and the rest run. A
** downgrade runs data_downgrade first; with data_pending (the revision is
** in its data phase, so the version table never listed it) it writes no
** version rows. */
int lm_run_step(struct run *r, int idx, enum lm_direction dir,
                struct lm_idset *heads, int data_pending) {
  const struct lm_revision *rev = lm_graph_rev(r->g, idx);
  const char *label = dir == LM_UP ? "up" : "down";
  struct lm_idset next;
  int own_tx = !r->single_tx && rev->transactional;
  int in_tx = r->single_tx || rev->transactional;
  int data = rev->has_data &
             (dir == LM_UP ? LM_HAS_DATA : LM_HAS_DATA_DOWNGRADE);
  double t0 = lm_now_ms();
  long long rows0 = r->rows;
  int rc = 1;
  lm_idset_init(&next);
  r->data_done = 0;
  r->offline_stop = 0;
  announce(r, dir, idx);
  if (!r->offline) lm_event_step(r->h, "start", idx, label, -1, -1);
  if (dir == LM_DOWN && data_pending)
    lm_info(r->h, "Backing out %s, which is in its data phase", rev->id);
  if (data && (dir == LM_DOWN || data_pending)) {
    /* The data phase runs outside the step's transaction. */
    if (own_tx && lm_run_tx(r, r->be->commit)) goto done;
    if (dir == LM_UP) lm_info(r->h, "Resuming the data phase of %s", rev->id);
    r->phase = "data";
    if (run_data(r, idx, dir, t0)) goto done;
    r->data_done = 1;
    if (own_tx && lm_run_tx(r, r->be->begin)) goto done;
  }
  if (!(dir == LM_UP && data_pending)) {
    r->phase = "schema";
    if (run_schema(r, idx, dir, own_tx, in_tx, t0)) goto done;
  }
  if (dir == LM_UP && data && !data_pending) {
    /* Schema committed, data next: record where we are first. */
    if (!in_tx && lm_run_tx(r, r->be->begin)) goto done;
    if (lm_run_write_history(r, idx, "up", "data", lm_now_ms() - t0,
                             rev->message) ||
        lm_run_tx(r, r->be->commit)) {
      lm_run_record_failure(r, idx, "up", lm_now_ms() - t0, 1);
      goto done;
    }
    r->phase = "data";
    if (run_data(r, idx, dir, t0)) goto done;
    r->data_done = 1;
    in_tx = 0;      /* what follows opens its own transaction */
    own_tx = 0;
    if (r->offline_stop) {
      /* --sql: `lmigrate upgrade` finishes this revision; the script goes
      ** on from the heads it leaves. */
      printf("-- (%s is marked applied by `lmigrate upgrade %s`, not by "
             "this script)\n\n", rev->id, rev->id);
      if (lm_run_copy_heads(&next, heads) ||
          lm_graph_step_heads(r->g, &next, idx, dir) ||
          lm_run_copy_heads(heads, &next)) {
        lm_error("out of memory");
        goto done;
      }
      rc = 0;
      goto done;
    }
  } else if (dir == LM_UP && data_pending && own_tx) {
    in_tx = 0;
    own_tx = 0;
    if (lm_run_tx(r, r->be->commit)) goto done;
  }
  if (dir == LM_UP && r->data_done) {
    /* A failure from here leaves the revision in its data phase. */
    label = "data";
  }
  if (lm_run_copy_heads(&next, heads) ||
      lm_graph_step_heads(r->g, &next, idx, dir)) {
    lm_error("out of memory");
    goto done;
  }
  if (!in_tx && lm_run_tx(r, r->be->begin)) goto done;
  if ((dir == LM_DOWN && lm_run_clear_checkpoints(r, idx)) ||
      (!(dir == LM_DOWN && data_pending) &&
       lm_run_write_heads(r, heads, &next)) ||
      lm_run_write_history(r, idx, dir == LM_UP ? "up" : "down", "applied",
                           lm_now_ms() - t0, rev->message)) {
    lm_run_record_failure(r, idx, label, lm_now_ms() - t0, 1);
    goto done;
  }
  if ((own_tx || !in_tx) && lm_run_tx(r, r->be->commit)) {
    lm_run_record_failure(r, idx, label, lm_now_ms() - t0, 1);
    goto done;
  }
  if (lm_run_copy_heads(heads, &next)) goto done;
  announce_done(r, lm_now_ms() - t0);
  if (!r->offline)
    lm_event_step(r->h, "done", idx, label, lm_now_ms() - t0,
                  r->rows - rows0);
  rc = 0;
done:
  lm_idset_free(&next);
  return rc;
}
