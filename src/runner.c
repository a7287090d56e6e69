/*
** runner.c: moving a database between revisions (see runner.h).
** Invariants: the version table holds exactly the current heads (Alembic's
** row algebra); a revision's effects, its version rows and its history row
** commit together; a failure rolls that revision back, records a 'failed'
** history row in a transaction of its own, and stops with status 1.
*/
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "dialect.h"
#include "host.h"
#include "interrupt.h"
#include "log.h"
#include "op.h"
#include "runner.h"
#include "sandbox.h"
#include "sqlbuf.h"

/* What one command's run needs besides the host. */
struct run {
  struct lm_host *h;
  char lock_key[300];           /* "<schema>.<version_table>" */
  struct lm_conn *c;            /* borrowed from h */
  const struct lm_backend *be;  /* borrowed; static */
  const struct lm_graph *g;     /* borrowed from h */
  struct lm_sqlbuf sql;         /* scratch; owned */
  char who[320];
  int offline;
  int single_tx;                /* one transaction around the whole run */
  enum lm_direction dir;        /* of the command */
  char errmsg[LM_ERRMSG_MAX];   /* the last revision error, for on_error */
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* "2026-11-23 08:12:33.123Z": the current UTC time, for history rows. */
static void utc_stamp(char out[40]) {
  struct timespec ts;
  struct tm tm;
  char day[32];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm);
  snprintf(out, 40, "%.24s.%03dZ", day, (int)(ts.tv_nsec / 1000000));
}

static void who_am_i(char *out, size_t n) {
  const char *user = getenv("USER");
  char host[256];
  struct passwd *pw;
  if (user == NULL || *user == '\0') {
    pw = getpwuid(getuid());
    user = pw ? pw->pw_name : "unknown";
  }
  if (gethostname(host, sizeof host) != 0) strcpy(host, "localhost");
  host[sizeof host - 1] = '\0';
  snprintf(out, n, "%s@%s", user, host);
}

static struct lm_value text(const char *s) {
  struct lm_value v;
  memset(&v, 0, sizeof v);
  if (s == NULL) {
    v.type = LM_VNULL;
  } else {
    v.type = LM_VTEXT;
    v.s = s;
    v.n = strlen(s);
  }
  return v;
}

/* Append the (schema-qualified) quoted name of a bookkeeping table. */
static void add_table(struct run *r, const char *table) {
  const struct lm_config *cfg = &r->h->cfg;
  if (cfg->version_table_schema) {
    r->c->dialect->quote_ident(&r->sql, cfg->version_table_schema);
    lm_sb_addc(&r->sql, '.');
  }
  r->c->dialect->quote_ident(&r->sql, table);
}

/* Run the SQL in r->sql; prints the error and returns 1 on failure. */
static int run_sql(struct run *r, int np, const struct lm_value *p) {
  struct lm_err err;
  lm_err_clear(&err);
  if (!lm_sb_ok(&r->sql)) return lm_error("out of memory");
  if (r->be->exec(r->c, lm_sb_str(&r->sql), np, p, NULL, &err))
    return lm_error("%s", err.msg);
  return 0;
}

static int tx(struct run *r, int (*fn)(struct lm_conn *, struct lm_err *)) {
  struct lm_err err;
  lm_err_clear(&err);
  if (fn(r->c, &err)) return lm_error("%s", err.msg);
  return 0;
}

static int ensure_tables(struct run *r) {
  struct lm_err err;
  const struct lm_config *cfg = &r->h->cfg;
  char vt[300], ht[300];
  int exists = 0;
  lm_err_clear(&err);
  if (!r->offline) {
    if (r->be->table_exists(r->c, cfg->version_table_schema,
                            cfg->history_table, &exists, &err))
      return lm_error("%s", err.msg);
    if (exists) return 0;
  }
  snprintf(vt, sizeof vt, "%s%s%s",
           cfg->version_table_schema ? cfg->version_table_schema : "",
           cfg->version_table_schema ? "." : "", cfg->version_table);
  snprintf(ht, sizeof ht, "%s%s%s",
           cfg->version_table_schema ? cfg->version_table_schema : "",
           cfg->version_table_schema ? "." : "", cfg->history_table);
  lm_sb_reset(&r->sql);
  if (r->c->dialect->render_version_table(&r->sql, vt, &err))
    return lm_error("%s", err.msg);
  if (run_sql(r, 0, NULL)) return 1;
  lm_sb_reset(&r->sql);
  if (r->c->dialect->render_history_table(&r->sql, ht, &err))
    return lm_error("%s", err.msg);
  return run_sql(r, 0, NULL);
}

/* lm_runner_read_heads; check_table = 0 skips the existence query when
** the caller knows the table exists (the runner's per-step re-read). */
static int read_heads(struct lm_host *h, struct lm_idset *heads,
                      int unknown_ok, int *nunknown, int check_table) {
  const struct lm_backend *be = h->conn->be;
  struct lm_cursor *cur = NULL;
  struct lm_sqlbuf sql;
  struct lm_err err;
  int exists = 0, rc = 0, st;
  heads->n = 0;
  if (nunknown) *nunknown = 0;
  if (be->is_offline) return 0;
  lm_err_clear(&err);
  if (check_table &&
      be->table_exists(h->conn, h->cfg.version_table_schema,
                       h->cfg.version_table, &exists, &err))
    return lm_error("%s", err.msg);
  if (check_table && !exists) return 0;
  lm_sb_init(&sql);
  lm_sb_add(&sql, "SELECT version_num FROM ");
  if (h->cfg.version_table_schema) {
    h->conn->dialect->quote_ident(&sql, h->cfg.version_table_schema);
    lm_sb_addc(&sql, '.');
  }
  h->conn->dialect->quote_ident(&sql, h->cfg.version_table);
  if (!lm_sb_ok(&sql) ||
      be->query(h->conn, lm_sb_str(&sql), 0, NULL, &cur, &err)) {
    rc = lm_error("reading the version table: %s", err.msg);
    goto done;
  }
  while ((st = be->cursor_step(cur, &err)) == 1) {
    struct lm_value v;
    char id[80];
    int idx;
    be->cursor_value(cur, 0, &v);
    if (v.type != LM_VTEXT || v.n >= sizeof id) continue;
    memcpy(id, v.s, v.n);
    id[v.n] = '\0';
    idx = lm_graph_index(h->graph, id);
    if (idx < 0) {
      if (nunknown) {
        (*nunknown)++;
        lm_warn("the version table names revision '%s', which has no file "
                "in the version locations", id);
      }
      if (unknown_ok) continue;
      rc = lm_error("the version table names revision '%s', which is not in "
                    "the version locations (was its file deleted or not "
                    "deployed? `lmigrate stamp --purge REV` resets the "
                    "table)", id);
      goto done;
    }
    if (!lm_idset_has(heads, idx) && lm_idset_push(heads, idx)) {
      rc = lm_error("out of memory");
      goto done;
    }
  }
  if (st < 0) rc = lm_error("reading the version table: %s", err.msg);
done:
  be->cursor_close(cur);
  lm_sb_free(&sql);
  return rc;
}

int lm_runner_read_heads(struct lm_host *h, struct lm_idset *heads,
                         int unknown_ok, int *nunknown) {
  return read_heads(h, heads, unknown_ok, nunknown, 1);
}

/* Write the version-table rows that turn heads `from` into `to`. */
static int write_heads(struct run *r, const struct lm_idset *from,
                       const struct lm_idset *to) {
  const char *gone[64], *added[64];
  int ngone = 0, nadded = 0, i;
  for (i = 0; i < from->n; i++)
    if (!lm_idset_has(to, from->v[i]) && ngone < 64)
      gone[ngone++] = lm_graph_rev(r->g, from->v[i])->id;
  for (i = 0; i < to->n; i++)
    if (!lm_idset_has(from, to->v[i]) && nadded < 64)
      added[nadded++] = lm_graph_rev(r->g, to->v[i])->id;
  for (i = 0; i < ngone || i < nadded; i++) {
    struct lm_value p[2];
    int np;
    lm_sb_reset(&r->sql);
    if (i < ngone && i < nadded) {
      lm_sb_add(&r->sql, "UPDATE ");
      add_table(r, r->h->cfg.version_table);
      lm_sb_add(&r->sql, " SET version_num = $1 WHERE version_num = $2");
      p[0] = text(added[i]);
      p[1] = text(gone[i]);
      np = 2;
    } else if (i < ngone) {
      lm_sb_add(&r->sql, "DELETE FROM ");
      add_table(r, r->h->cfg.version_table);
      lm_sb_add(&r->sql, " WHERE version_num = $1");
      p[0] = text(gone[i]);
      np = 1;
    } else {
      lm_sb_add(&r->sql, "INSERT INTO ");
      add_table(r, r->h->cfg.version_table);
      lm_sb_add(&r->sql, " (version_num) VALUES ($1)");
      p[0] = text(added[i]);
      np = 1;
    }
    if (run_sql(r, np, p)) return 1;
  }
  return 0;
}

/* After revision idx is downgraded: forget its backfill checkpoints, so
** that upgrading it again walks its tables again. */
static int clear_checkpoints(struct run *r, int idx) {
  struct lm_value id = text(lm_graph_rev(r->g, idx)->id);
  struct lm_err err;
  int exists = 0;
  if (r->offline) return 0;
  lm_err_clear(&err);
  if (r->be->table_exists(r->c, NULL, LM_CHECKPOINT_TABLE, &exists, &err))
    return lm_error("%s", err.msg);
  if (!exists) return 0;
  lm_sb_reset(&r->sql);
  lm_sb_add(&r->sql, "DELETE FROM ");
  r->c->dialect->quote_ident(&r->sql, LM_CHECKPOINT_TABLE);
  lm_sb_add(&r->sql, " WHERE revision = $1");
  return run_sql(r, 1, &id);
}

/* Append one history row. duration_ms < 0 records NULL. */
static int write_history(struct run *r, int idx, const char *direction,
                         const char *outcome, double duration_ms,
                         const char *message) {
  const struct lm_revision *rev = lm_graph_rev(r->g, idx);
  struct lm_value p[8];
  char started[40];
  utc_stamp(started);
  lm_sb_reset(&r->sql);
  lm_sb_add(&r->sql, "INSERT INTO ");
  add_table(r, r->h->cfg.history_table);
  lm_sb_add(&r->sql, " (revision, direction, checksum, started_at, "
                     "duration_ms, run_by, outcome, message) VALUES "
                     "($1, $2, $3, $4, $5, $6, $7, $8)");
  p[0] = text(rev->id);
  p[1] = text(direction);
  p[2] = text(rev->checksum);
  p[3] = text(started);
  memset(&p[4], 0, sizeof p[4]);
  if (duration_ms < 0 || r->offline) {
    p[4].type = LM_VNULL;
  } else {
    p[4].type = LM_VINT;
    p[4].i = (long long)(duration_ms + 0.5);
  }
  p[5] = text(r->offline ? "sql-script" : r->who);
  p[6] = text(outcome);
  p[7] = text(message);
  return run_sql(r, 8, p);
}

static int same_heads(const struct lm_idset *a, const struct lm_idset *b) {
  int i;
  if (a->n != b->n) return 0;
  for (i = 0; i < a->n; i++)
    if (!lm_idset_has(b, a->v[i])) return 0;
  return 1;
}

static int copy_heads(struct lm_idset *dst, const struct lm_idset *src) {
  int i;
  dst->n = 0;
  for (i = 0; i < src->n; i++)
    if (lm_idset_push(dst, src->v[i])) return 1;
  return 0;
}

/* "a1b2c3, d4e5f6" for a message; "<base>" when empty. */
static void heads_str(const struct lm_graph *g, const struct lm_idset *s,
                      char *out, size_t n) {
  size_t len = 0;
  int i;
  out[0] = '\0';
  if (s->n == 0) {
    snprintf(out, n, "<base>");
    return;
  }
  for (i = 0; i < s->n && len + 4 < n; i++)
    len += (size_t)snprintf(out + len, n - len, "%s%s", i ? ", " : "",
                            lm_graph_rev(g, s->v[i])->id);
}

/* Progress line: a SQL comment in --sql mode (stdout is the script). */
static void announce(struct run *r, enum lm_direction dir, int idx,
                     double ms) {
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
  lm_info(r->h, "Running %s %s -> %s, %s (%.0f ms)",
          dir == LM_UP ? "upgrade" : "downgrade",
          dir == LM_UP ? parents : rev->id, dir == LM_UP ? rev->id : parents,
          rev->message ? rev->message : "", ms);
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
  int rc;
  memset(&ctx, 0, sizeof ctx);
  ctx.conn = r->c;
  ctx.transactional = in_tx;
  ctx.phase = fname;
  ctx.revision = lm_graph_rev(r->g, idx)->id;
  ctx.verbosity = r->h->verbosity;
  *lock_timeout = 0;
  if ((rc = lm_sandbox_push_field(r->h, idx, fname)) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    if (rc == LUA_TNONE) return 1;    /* the load error is printed */
    return lm_error("%s: revision %s has no %s function",
                    lm_graph_rev(r->g, idx)->path, lm_graph_rev(r->g, idx)->id,
                    fname);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->h->xref);
  lm_op_push(L, &ctx, lua_gettop(L));
  lua_remove(L, -2);
  rc = lm_host_pcall(r->h, 1, 0);
  if (rc == 0) {
    /* Ops queued for one SQLite table rebuild run now, at the end of the
    ** revision function, inside its transaction. */
    struct lm_err err;
    lm_err_clear(&err);
    if (lm_op_flush(L, &ctx, &err)) {
      memcpy(ctx.sqlstate, err.sqlstate, sizeof ctx.sqlstate);
      lua_pushstring(L, err.msg);
      rc = 1;
    }
  }
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

/* Call config hook `name` when the config defines it, with a context
** table: command direction, revision (idx >= 0) and its message, phase,
** the URL without its password, elapsed_ms, and error for on_error.
** Returns 0, or 1 after printing the hook's error (file:line). */
static int call_hook(struct run *r, const char *name, int idx, double ms,
                     const char *error) {
  lua_State *L = r->h->L;
  if (r->h->cfg.hooks_ref == LUA_NOREF || r->offline) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->h->cfg.hooks_ref);
  if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
    lua_pop(L, 2);
    return 0;
  }
  lua_remove(L, -2);
  lua_createtable(L, 0, 8);
  lua_pushstring(L, name);
  lua_setfield(L, -2, "hook");
  lua_pushstring(L, r->dir == LM_UP ? "up" : "down");
  lua_setfield(L, -2, "direction");
  lua_pushstring(L, lm_host_url_display(r->h));
  lua_setfield(L, -2, "url");
  lua_pushinteger(L, (lua_Integer)(ms + 0.5));
  lua_setfield(L, -2, "elapsed_ms");
  if (idx >= 0) {
    const struct lm_revision *rev = lm_graph_rev(r->g, idx);
    lua_pushstring(L, rev->id);
    lua_setfield(L, -2, "revision");
    lua_pushstring(L, rev->message ? rev->message : "");
    lua_setfield(L, -2, "message");
    lua_pushstring(L, rev->path);
    lua_setfield(L, -2, "path");
  }
  if (error) {
    lua_pushstring(L, error);
    lua_setfield(L, -2, "error");
  }
  if (lm_host_pcall(r->h, 1, 0)) {
    lm_error("%s (in the %s hook)", lua_tostring(L, -1), name);
    snprintf(r->errmsg, sizeof r->errmsg, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return 1;
  }
  return 0;
}

/* After a failed step: roll back and record the failure on its own.
** direction is the history row's: "up", "down", or "data" for a failed
** data phase (whose schema change stays committed). */
static void record_failure(struct run *r, int idx, const char *direction,
                           double ms, int in_tx) {
  const struct lm_revision *rev = lm_graph_rev(r->g, idx);
  struct lm_err err;
  lm_err_clear(&err);
  if (in_tx) r->be->rollback(r->c, &err);
  if (call_hook(r, "on_error", idx, ms, r->errmsg[0] ? r->errmsg : "failed"))
    lm_warn("the on_error hook itself failed (above)");
  if (r->offline) return;
  if (r->single_tx) {
    lm_error("revision %s (%s) failed; the whole run was rolled back, "
             "nothing was applied", rev->id, rev->path);
    return;
  }
  if (r->be->begin(r->c, &err) == 0) {
    if (write_history(r, idx, direction, "failed", ms, rev->message) == 0)
      r->be->commit(r->c, &err);
    else
      r->be->rollback(r->c, &err);
  }
  if (strcmp(direction, "data") == 0)
    lm_error("the data phase of revision %s (%s) failed: its schema change "
             "is committed, the revision is not marked applied; fix the "
             "cause and run the command again: it resumes the data phase "
             "(backfills continue from their last checkpoint)", rev->id,
             rev->path);
  else if (in_tx)
    lm_error("revision %s (%s) failed and was rolled back; revisions "
             "before it stay applied", rev->id, rev->path);
  else
    lm_error("non-transactional revision %s (%s) failed part-way: what its "
             "ops did before the failure was NOT rolled back; inspect the "
             "database, then `lmigrate stamp` or fix and re-run", rev->id,
             rev->path);
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
      record_failure(r, idx, label, now_ms() - t0, in_tx);
      return 1;
    }
    rc = call_revision(r, idx, fname, in_tx, retry, &timed_out);
    if (rc == 0) return 0;
    if (!(timed_out && retry) || lm_interrupted) {
      record_failure(r, idx, label, now_ms() - t0, in_tx);
      return 1;
    }
    /* A lock wait timed out: another session holds a lock the revision
    ** needs. Give the application its lock back, wait, try again. */
    attempt++;
    lm_warn("revision %s: lock wait timed out after %d ms; rolled back, "
            "retry %d of %d", rev->id, r->h->cfg.ddl_lock_timeout_ms,
            attempt, r->h->cfg.lock_retries);
    if (tx(r, r->be->rollback)) return 1;
    backoff(attempt);
    if (tx(r, r->be->begin)) return 1;
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
  record_failure(r, idx, "data", now_ms() - t0, 0);
  return 1;
}

/* Run one step; heads is updated on success. The caller has already
** opened the step's own transaction when it needs one. A revision with a
** data phase: upgrade commits (history row 'data', version table not yet
** moved), data runs, then the version rows and the 'applied' row commit;
** data_pending says a previous run got as far as the data phase, so only
** data and the rest run. A downgrade runs data_downgrade first. */
static int run_step(struct run *r, int idx, enum lm_direction dir,
                    struct lm_idset *heads, int data_pending) {
  const struct lm_revision *rev = lm_graph_rev(r->g, idx);
  struct lm_idset next;
  int own_tx = !r->single_tx && rev->transactional;
  int in_tx = r->single_tx || rev->transactional;
  int data = rev->has_data &
             (dir == LM_UP ? LM_HAS_DATA : LM_HAS_DATA_DOWNGRADE);
  double t0 = now_ms();
  int rc = 1;
  lm_idset_init(&next);
  if (r->offline) announce(r, dir, idx, 0);
  if (data && (dir == LM_DOWN || data_pending)) {
    /* The data phase runs outside the step's transaction. */
    if (own_tx && tx(r, r->be->commit)) goto done;
    if (dir == LM_UP) lm_info(r->h, "Resuming the data phase of %s", rev->id);
    if (run_data(r, idx, dir, t0)) goto done;
    if (own_tx && tx(r, r->be->begin)) goto done;
  }
  if (!(dir == LM_UP && data_pending) &&
      run_schema(r, idx, dir, own_tx, in_tx, t0))
    goto done;
  if (dir == LM_UP && data && !data_pending) {
    /* Schema committed, data next: record where we are first. */
    if (!in_tx && tx(r, r->be->begin)) goto done;
    if (write_history(r, idx, "up", "data", now_ms() - t0, rev->message) ||
        tx(r, r->be->commit)) {
      record_failure(r, idx, "up", now_ms() - t0, 1);
      goto done;
    }
    if (run_data(r, idx, dir, t0)) goto done;
    in_tx = 0;      /* what follows opens its own transaction */
    own_tx = 0;
  } else if (dir == LM_UP && data_pending && own_tx) {
    in_tx = 0;
    own_tx = 0;
    if (tx(r, r->be->commit)) goto done;
  }
  if (copy_heads(&next, heads) || lm_graph_step_heads(r->g, &next, idx, dir)) {
    lm_error("out of memory");
    goto done;
  }
  if (!in_tx && tx(r, r->be->begin)) goto done;
  if ((dir == LM_DOWN && clear_checkpoints(r, idx)) ||
      write_heads(r, heads, &next) ||
      write_history(r, idx, dir == LM_UP ? "up" : "down", "applied",
                    now_ms() - t0, rev->message)) {
    record_failure(r, idx, dir == LM_UP ? "up" : "down", now_ms() - t0, 1);
    goto done;
  }
  if ((own_tx || !in_tx) && tx(r, r->be->commit)) {
    record_failure(r, idx, dir == LM_UP ? "up" : "down", now_ms() - t0, 1);
    goto done;
  }
  if (copy_heads(heads, &next)) goto done;
  if (!r->offline) announce(r, dir, idx, now_ms() - t0);
  rc = 0;
done:
  lm_idset_free(&next);
  return rc;
}

static int run_init(struct run *r, struct lm_host *h, int offline) {
  memset(r, 0, sizeof *r);
  lm_sb_init(&r->sql);
  if (h->conn == NULL && lm_host_connect(h, offline)) return 1;
  r->h = h;
  r->c = h->conn;
  r->be = h->conn->be;
  r->g = h->graph;
  r->offline = offline;
  r->single_tx = !h->cfg.transaction_per_migration;
  who_am_i(r->who, sizeof r->who);
  snprintf(r->lock_key, sizeof r->lock_key, "%s%s%s",
           h->cfg.version_table_schema ? h->cfg.version_table_schema : "",
           h->cfg.version_table_schema ? "." : "", h->cfg.version_table);
  return 0;
}

/* Starting heads for --sql FROM:TO (FROM may be "base"). */
static int offline_heads(struct run *r, const char *from,
                         struct lm_idset *heads) {
  struct lm_err err;
  lm_err_clear(&err);
  heads->n = 0;
  if (from == NULL) return 0;
  if (lm_graph_resolve(r->g, from, heads, &err))
    return lm_error("%s", err.msg);
  return 0;
}

/* A run whose plan is empty: say why. */
static void nothing_to_do(struct run *r, const struct lm_migrate_opts *o,
                          const struct lm_idset *heads) {
  char cur[512];
  heads_str(r->g, heads, cur, sizeof cur);
  if (r->offline)
    printf("-- Nothing to do: the database is already at %s (target %s)\n",
           cur, o->target);
  else
    lm_info(r->h, "Nothing to %s: the database is already at %s (target %s)",
            o->dir == LM_UP ? "upgrade" : "downgrade", cur, o->target);
}

/* The newest history row, when it records a failed non-transactional
** step whose file is unchanged since: such a revision may be half-applied,
** so the runner refuses to guess. Fills *idx (-1 when nothing blocks) and
** when (the row's started_at). Returns 0, or 1 after a database error. */
static int read_blocking_failure(struct lm_host *h, int *idx,
                                 char when[40]) {
  const struct lm_backend *be = h->conn->be;
  struct lm_cursor *cur = NULL;
  struct lm_sqlbuf sql;
  struct lm_err err;
  int exists = 0, st, rc = 0;
  *idx = -1;
  when[0] = '\0';
  if (be->is_offline) return 0;
  lm_err_clear(&err);
  if (be->table_exists(h->conn, h->cfg.version_table_schema,
                       h->cfg.history_table, &exists, &err))
    return lm_error("%s", err.msg);
  if (!exists) return 0;
  lm_sb_init(&sql);
  lm_sb_add(&sql, "SELECT revision, outcome, checksum, started_at FROM ");
  if (h->cfg.version_table_schema) {
    h->conn->dialect->quote_ident(&sql, h->cfg.version_table_schema);
    lm_sb_addc(&sql, '.');
  }
  h->conn->dialect->quote_ident(&sql, h->cfg.history_table);
  lm_sb_add(&sql, " ORDER BY id DESC LIMIT 1");
  if (!lm_sb_ok(&sql) ||
      be->query(h->conn, lm_sb_str(&sql), 0, NULL, &cur, &err)) {
    rc = lm_error("reading the history table: %s", err.msg);
    goto done;
  }
  st = be->cursor_step(cur, &err);
  if (st < 0) {
    rc = lm_error("reading the history table: %s", err.msg);
  } else if (st == 1) {
    struct lm_value v[4];
    char id[80];
    int i, r;
    for (i = 0; i < 4; i++) be->cursor_value(cur, i, &v[i]);
    if (v[0].type == LM_VTEXT && v[0].n < sizeof id &&
        v[1].type == LM_VTEXT && v[1].n == 6 &&
        memcmp(v[1].s, "failed", 6) == 0) {
      memcpy(id, v[0].s, v[0].n);
      id[v[0].n] = '\0';
      r = lm_graph_index(h->graph, id);
      if (r >= 0 && !lm_graph_rev(h->graph, r)->transactional &&
          v[2].type == LM_VTEXT && v[2].n == 64 &&
          memcmp(v[2].s, lm_graph_rev(h->graph, r)->checksum, 64) == 0) {
        *idx = r;
        if (v[3].type == LM_VTEXT)
          snprintf(when, 40, "%.*s", (int)v[3].n, v[3].s);
      }
    }
  }
done:
  be->cursor_close(cur);
  lm_sb_free(&sql);
  return rc;
}

/* The revision whose data phase a previous run started but did not finish:
** the newest history row among applied/stamped/data rows says 'data'.
** *idx = -1 when there is none. 0, or 1 after a database error. */
static int read_pending_data(struct lm_host *h, int *idx) {
  const struct lm_backend *be = h->conn->be;
  struct lm_cursor *cur = NULL;
  struct lm_sqlbuf sql;
  struct lm_err err;
  int exists = 0, st, rc = 0;
  *idx = -1;
  if (be->is_offline) return 0;
  lm_err_clear(&err);
  if (be->table_exists(h->conn, h->cfg.version_table_schema,
                       h->cfg.history_table, &exists, &err))
    return lm_error("%s", err.msg);
  if (!exists) return 0;
  lm_sb_init(&sql);
  lm_sb_add(&sql, "SELECT revision, outcome FROM ");
  if (h->cfg.version_table_schema) {
    h->conn->dialect->quote_ident(&sql, h->cfg.version_table_schema);
    lm_sb_addc(&sql, '.');
  }
  h->conn->dialect->quote_ident(&sql, h->cfg.history_table);
  lm_sb_add(&sql, " WHERE outcome IN ('applied', 'stamped', 'data') "
                  "ORDER BY id DESC LIMIT 1");
  if (!lm_sb_ok(&sql) ||
      be->query(h->conn, lm_sb_str(&sql), 0, NULL, &cur, &err)) {
    rc = lm_error("reading the history table: %s", err.msg);
    goto done;
  }
  st = be->cursor_step(cur, &err);
  if (st < 0) {
    rc = lm_error("reading the history table: %s", err.msg);
  } else if (st == 1) {
    struct lm_value id, outcome;
    char buf[80];
    be->cursor_value(cur, 0, &id);
    be->cursor_value(cur, 1, &outcome);
    if (id.type == LM_VTEXT && id.n < sizeof buf && outcome.type == LM_VTEXT &&
        outcome.n == 4 && memcmp(outcome.s, "data", 4) == 0) {
      memcpy(buf, id.s, id.n);
      buf[id.n] = '\0';
      *idx = lm_graph_index(h->graph, buf);
    }
  }
done:
  be->cursor_close(cur);
  lm_sb_free(&sql);
  return rc;
}

int lm_runner_check_failure(struct lm_host *h, int refuse) {
  char when[40];
  int idx;
  const struct lm_revision *rev;
  if (read_blocking_failure(h, &idx, when)) return 1;
  if (idx < 0 && !refuse) {
    if (read_pending_data(h, &idx)) return 1;
    if (idx >= 0)
      printf("%s (in data phase: schema applied, data not finished; "
             "`lmigrate upgrade` resumes it)\n", lm_graph_rev(h->graph, idx)->id);
    return 0;
  }
  if (idx < 0) return 0;
  rev = lm_graph_rev(h->graph, idx);
  if (!refuse) {
    printf("%s (FAILED at %s: non-transactional, may be partly applied)\n",
           rev->id, when);
    return 0;
  }
  return lm_error("non-transactional revision %s (%s) failed at %s and may "
                  "be partly applied (for example an INVALID index left by "
                  "CREATE INDEX CONCURRENTLY). Nothing was run. Inspect the "
                  "database, then either finish or undo its work by hand and "
                  "`lmigrate stamp` the revision it is now at, or make the "
                  "revision's ops idempotent (if_not_exists / if_exists) and "
                  "run again: a changed file is retried", rev->id, rev->path,
                  when);
}

int lm_runner_migrate(struct lm_host *h, const struct lm_migrate_opts *o) {
  struct run r;
  struct lm_idset heads, seen, steps;
  struct lm_err err;
  int rc = 1, i, ready = 0, pending = -1;
  double t0, t_run = now_ms();
  lm_idset_init(&heads);
  lm_idset_init(&seen);
  lm_idset_init(&steps);
  lm_err_clear(&err);
  if (run_init(&r, h, o->offline)) goto done;
  if (r.be->lock(r.c, r.lock_key, &err)) {
    lm_error("%s", err.msg);
    goto unlock;
  }
  if (o->offline ? offline_heads(&r, o->from, &heads)
                 : lm_runner_read_heads(h, &heads, 0, NULL))
    goto unlock;
  if (!o->offline && lm_runner_check_failure(h, 1)) goto unlock;
  steps.n = 0;
    if (lm_graph_plan(r.g, &heads, o->target, o->dir, &steps, &err)) {
    lm_error("%s", err.msg);
    goto unlock;
  }
  if (steps.n == 0) {
    nothing_to_do(&r, o, &heads);
    rc = 0;
    goto unlock;
  }
  if (read_pending_data(h, &pending)) goto unlock;
  for (i = 0; i < steps.n; i++) {
    const struct lm_revision *rev = lm_graph_rev(r.g, steps.v[i]);
    int data = rev->has_data &
               (o->dir == LM_UP ? LM_HAS_DATA : LM_HAS_DATA_DOWNGRADE);
    /* Every planned file compiles before the first write (cached
    ** metadata leaves files uncompiled until they are needed). */
    if (lm_sandbox_compile(h, steps.v[i])) goto unlock;
    if (!rev->transactional && r.single_tx) {
      lm_error("%s: revision %s is non-transactional (transactional = "
               "false); it cannot run inside the single transaction of "
               "transaction_per_migration = false: run it on its own or set "
               "transaction_per_migration = true", rev->path, rev->id);
      goto unlock;
    }
    if (data && (o->offline || r.single_tx)) {
      lm_error("%s: revision %s has a data phase, which commits batch by "
               "batch against a live database; it cannot run %s", rev->path,
               rev->id, o->offline ? "in --sql (offline) mode"
                                   : "with transaction_per_migration = false");
      goto unlock;
    }
    if (o->dir == LM_DOWN && !rev->has_downgrade) {
      lm_error("%s: revision %s has no downgrade function, so it cannot be "
               "reverted; nothing was changed", rev->path, rev->id);
      goto unlock;
    }
  }
  if (!o->offline && o->dir == LM_UP && lm_runner_validate(h, 1) < 0)
    goto unlock;
  r.dir = o->dir;
  if (call_hook(&r, "before_upgrade", -1, 0, NULL)) goto unlock;
  if (r.single_tx && tx(&r, r.be->begin)) goto unlock;
  if (!r.single_tx && !o->offline && tx(&r, r.be->begin)) goto unlock;
  if (ensure_tables(&r)) goto rollback;
  if (!r.single_tx && !o->offline && tx(&r, r.be->commit)) goto unlock;
  if (r.single_tx && !o->offline) {
    /* The whole run holds the lock from here: plan again from what the
    ** version table says now. */
    if (lm_runner_read_heads(h, &heads, 0, NULL)) goto rollback;
    steps.n = 0;
    if (lm_graph_plan(r.g, &heads, o->target, o->dir, &steps, &err)) {
      lm_error("%s", err.msg);
      goto rollback;
    }
  }
  for (i = 0; i < steps.n; i++) {
    int idx = steps.v[i];
    int own_tx = !r.single_tx && lm_graph_rev(r.g, idx)->transactional;
    if (!o->offline && !r.single_tx && !r.be->has_session_lock) {
      /* Take the write lock, then check that no other runner moved the
      ** database since we planned; if one did, re-plan from its heads.
      ** (With a session lock held since planning nobody can have.) */
      if (tx(&r, r.be->begin)) goto unlock;
      if (copy_heads(&seen, &heads) || read_heads(h, &heads, 0, NULL, 0))
        goto rollback;
      if (!same_heads(&seen, &heads)) {
        if (tx(&r, r.be->commit)) goto unlock;
        steps.n = 0;
    if (lm_graph_plan(r.g, &heads, o->target, o->dir, &steps, &err)) {
          lm_error("%s", err.msg);
          goto unlock;
        }
        lm_debug(h, "another runner moved the database; re-planned %d steps",
                 steps.n);
        i = -1;
        continue;
      }
      if (!own_tx && tx(&r, r.be->commit)) goto unlock;
    } else if (own_tx && tx(&r, r.be->begin)) {
      goto unlock;
    }
    if (lm_interrupted) goto unlock;   /* main reports it; nothing half-done */
    t0 = now_ms();
    if (call_hook(&r, "before_revision", idx, 0, NULL)) {
      record_failure(&r, idx, o->dir == LM_UP ? "up" : "down", 0,
                     own_tx || r.single_tx);
      goto unlock;
    }
    if (run_step(&r, idx, o->dir, &heads, o->dir == LM_UP && idx == pending))
      goto unlock;
    if (call_hook(&r, "after_revision", idx, now_ms() - t0, NULL)) {
      lm_error("revision %s is applied; the run stopped after it because "
               "the after_revision hook failed", lm_graph_rev(r.g, idx)->id);
      goto unlock;
    }
    if (idx == pending) pending = -1;
    ready++;
  }
  if (r.single_tx && tx(&r, r.be->commit)) goto unlock;
  if (ready == 0) nothing_to_do(&r, o, &heads);
  rc = call_hook(&r, "after_upgrade", -1, now_ms() - t_run, NULL);
  goto unlock;
rollback:
  r.be->rollback(r.c, &err);
unlock:
  r.be->unlock(r.c, r.lock_key, &err);
done:
  lm_idset_free(&heads);
  lm_idset_free(&seen);
  lm_idset_free(&steps);
  lm_sb_free(&r.sql);
  return rc;
}

/* Recorded state per revision from the history table: the checksum of the
** last applied or stamped 'up' row, cleared by a later applied 'down'.
** sums[i] (graph index i) is owned; ghosts lists applied ids that have no
** file. Returns 0, or 1 after printing a database error. */
struct recorded {
  char **sums;        /* owned; lm_graph_count entries */
  char ghosts[8][80];
  int nghosts;
};

static int read_recorded(struct lm_host *h, struct recorded *rec) {
  const struct lm_backend *be = h->conn->be;
  struct lm_cursor *cur = NULL;
  struct lm_sqlbuf sql;
  struct lm_err err;
  int exists = 0, st, rc = 0, n = lm_graph_count(h->graph);
  memset(rec, 0, sizeof *rec);
  rec->sums = calloc((size_t)n + 1, sizeof *rec->sums);
  if (rec->sums == NULL) return lm_error("out of memory");
  lm_err_clear(&err);
  if (be->table_exists(h->conn, h->cfg.version_table_schema,
                       h->cfg.history_table, &exists, &err))
    return lm_error("%s", err.msg);
  if (!exists) return 0;
  lm_sb_init(&sql);
  lm_sb_add(&sql, "SELECT revision, direction, checksum FROM ");
  if (h->cfg.version_table_schema) {
    h->conn->dialect->quote_ident(&sql, h->cfg.version_table_schema);
    lm_sb_addc(&sql, '.');
  }
  h->conn->dialect->quote_ident(&sql, h->cfg.history_table);
  lm_sb_add(&sql, " WHERE outcome IN ('applied', 'stamped') ORDER BY id");
  if (!lm_sb_ok(&sql) ||
      be->query(h->conn, lm_sb_str(&sql), 0, NULL, &cur, &err)) {
    rc = lm_error("reading the history table: %s", err.msg);
    goto done;
  }
  while ((st = be->cursor_step(cur, &err)) == 1) {
    struct lm_value id, dir, sum;
    char buf[80];
    int idx;
    be->cursor_value(cur, 0, &id);
    if (id.type != LM_VTEXT || id.n >= sizeof buf) continue;
    memcpy(buf, id.s, id.n);
    buf[id.n] = '\0';
    be->cursor_value(cur, 1, &dir);
    be->cursor_value(cur, 2, &sum);
    idx = lm_graph_index(h->graph, buf);
    if (idx < 0) continue;
    free(rec->sums[idx]);
    rec->sums[idx] = NULL;
    if (dir.type == LM_VTEXT && dir.n == 2 && memcmp(dir.s, "up", 2) == 0 &&
        sum.type == LM_VTEXT && (rec->sums[idx] = strndup(sum.s, sum.n)) == NULL) {
      rc = lm_error("out of memory");
      goto done;
    }
  }
  if (st < 0) rc = lm_error("reading the history table: %s", err.msg);
done:
  be->cursor_close(cur);
  lm_sb_free(&sql);
  return rc;
}

int lm_runner_validate(struct lm_host *h, int as_warning) {
  struct recorded rec;
  struct lm_idset heads;
  unsigned char *applied = NULL;
  int i, n = lm_graph_count(h->graph), problems = 0, unknown = 0;
  lm_idset_init(&heads);
  if (lm_runner_read_heads(h, &heads, 1, &unknown)) {
    lm_idset_free(&heads);
    return -1;
  }
  if (read_recorded(h, &rec)) {
    problems = -1;
    goto done;
  }
  applied = calloc((size_t)n + 1, 1);
  if (applied == NULL) {
    problems = -1;
    lm_error("out of memory");
    goto done;
  }
  lm_graph_applied(h->graph, &heads, applied);
  problems += unknown;     /* each was named by read_heads */
  for (i = 0; i < n; i++) {
    const struct lm_revision *rev = lm_graph_rev(h->graph, i);
    if (!applied[i] || rec.sums[i] == NULL) continue;
    if (strcmp(rec.sums[i], rev->checksum) != 0) {
      problems++;
      if (as_warning)
        lm_warn("%s: revision %s changed after it was applied (checksum "
                "%.12s, applied %.12s); `lmigrate validate` lists all",
                rev->path, rev->id, rev->checksum, rec.sums[i]);
      else
        lm_error("%s: revision %s changed after it was applied (file "
                 "checksum %.12s..., applied %.12s...)", rev->path, rev->id,
                 rev->checksum, rec.sums[i]);
    }
  }
done:
  if (rec.sums)
    for (i = 0; i < n; i++) free(rec.sums[i]);
  free(rec.sums);
  free(applied);
  lm_idset_free(&heads);
  return problems;
}

int lm_runner_stamp(struct lm_host *h, const char *target, int purge,
                    int offline) {
  struct run r;
  struct lm_idset heads, want, next, one;
  struct lm_err err;
  unsigned char *anc = NULL, *mark = NULL;
  int rc = 1, i, j, n, locked = 0;
  lm_idset_init(&heads);
  lm_idset_init(&want);
  lm_idset_init(&next);
  lm_idset_init(&one);
  lm_err_clear(&err);
  if (run_init(&r, h, offline)) goto done;
  if (r.be->lock(r.c, r.lock_key, &err)) {
    lm_error("%s", err.msg);
    goto done;
  }
  locked = 1;
  n = lm_graph_count(r.g);
  if (lm_graph_resolve(r.g, target, &want, &err)) {
    lm_error("%s", err.msg);
    goto done;
  }
  anc = calloc((size_t)n + 1, 1);
  mark = calloc((size_t)n + 1, 1);
  if (anc == NULL || mark == NULL) {
    lm_error("out of memory");
    goto done;
  }
  if (tx(&r, r.be->begin)) goto done;
  if (ensure_tables(&r)) goto rollback;
  if (!offline && lm_runner_read_heads(h, &heads, purge, NULL)) goto rollback;
  /* Keep heads on branches the target does not touch; replace the rest. */
  lm_graph_applied(r.g, &want, anc);
  for (i = 0; i < want.n; i++)
    if (lm_idset_push(&next, want.v[i])) goto rollback;
  for (i = 0; !purge && want.n > 0 && i < heads.n; i++) {
    int related = anc[heads.v[i]];
    one.n = 0;
    lm_idset_push(&one, heads.v[i]);
    memset(mark, 0, (size_t)n);
    lm_graph_applied(r.g, &one, mark);
    for (j = 0; j < want.n; j++)
      if (mark[want.v[j]]) related = 1;
    if (!related && lm_idset_push(&next, heads.v[i])) goto rollback;
  }
  lm_sb_reset(&r.sql);
  lm_sb_add(&r.sql, "DELETE FROM ");
  add_table(&r, h->cfg.version_table);
  if (run_sql(&r, 0, NULL)) goto rollback;
  /* History: the revisions stamped on, and the heads stamped off (so that
  ** validate and the failure check see the change). */
  for (i = 0; i < heads.n; i++)
    if (!lm_idset_has(&next, heads.v[i]) &&
        write_history(&r, heads.v[i], "down", "stamped", 0, "stamp"))
      goto rollback;
  for (i = 0; i < want.n; i++)
    if (write_history(&r, want.v[i], "up", "stamped", 0, "stamp"))
      goto rollback;
  heads.n = 0;
  if (write_heads(&r, &heads, &next)) goto rollback;
  if (tx(&r, r.be->commit)) goto done;
  {
    char cur[512];
    heads_str(r.g, &next, cur, sizeof cur);
    if (offline) printf("-- Stamped %s\n", cur);
    else lm_info(h, "Stamped %s", cur);
  }
  rc = 0;
  goto done;
rollback:
  r.be->rollback(r.c, &err);
done:
  if (locked) r.be->unlock(r.c, r.lock_key, &err);
  free(anc);
  free(mark);
  lm_idset_free(&heads);
  lm_idset_free(&want);
  lm_idset_free(&next);
  lm_idset_free(&one);
  lm_sb_free(&r.sql);
  return rc;
}
