/*
** runner.c: moving a database between revisions (lm_runner_migrate; see
** runner.h): the runner lock, the plan and the checks made before any
** write, the step loop, and the run context the other runner files share
** (runner_int.h).
** Invariants: the version table holds exactly the current heads; every
** planned file compiles, and every refusal (non-transactional or data
** revisions that cannot run in this mode, a missing downgrade, a blocking
** failed step) is reported, before the first write; before each step the
** version table is re-read under the write lock and the run re-plans when
** another runner moved it, so no revision is applied twice; the lock is
** released on every exit after it was taken.
*/
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "interrupt.h"
#include "log.h"
#include "runner_int.h"
#include "sandbox.h"

double lm_run_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* "user@host" for history rows: $USER, else the password entry. */
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

int lm_run_init(struct run *r, struct lm_host *h, int offline) {
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
  lm_run_table_name(h, h->cfg.version_table, r->lock_key, sizeof r->lock_key);
  return 0;
}

int lm_run_tx(struct run *r, int (*fn)(struct lm_conn *, struct lm_err *)) {
  struct lm_err err;
  lm_err_clear(&err);
  if (fn(r->c, &err)) return lm_error("%s", err.msg);
  return 0;
}

static int same_heads(const struct lm_idset *a, const struct lm_idset *b) {
  int i;
  if (a->n != b->n) return 0;
  for (i = 0; i < a->n; i++)
    if (!lm_idset_has(b, a->v[i])) return 0;
  return 1;
}

int lm_run_copy_heads(struct lm_idset *dst, const struct lm_idset *src) {
  int i;
  dst->n = 0;
  for (i = 0; i < src->n; i++)
    if (lm_idset_push(dst, src->v[i])) return 1;
  return 0;
}

void lm_run_heads_str(const struct lm_graph *g, const struct lm_idset *s,
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
  lm_run_heads_str(r->g, heads, cur, sizeof cur);
  if (r->offline)
    printf("-- Nothing to do: the database is already at %s (target %s)\n",
           cur, o->target);
  else
    lm_info(r->h, "Nothing to %s: the database is already at %s (target %s)",
            o->dir == LM_UP ? "upgrade" : "downgrade", cur, o->target);
}

/* Everything that would stop a step, checked for the whole plan before
** the first write: every file compiles, and each revision can run in this
** mode and direction. 0, or 1 after printing why not. */
static int check_plan(struct run *r, const struct lm_migrate_opts *o,
                      const struct lm_idset *steps) {
  int i;
  for (i = 0; i < steps->n; i++) {
    const struct lm_revision *rev = lm_graph_rev(r->g, steps->v[i]);
    int data = rev->has_data &
               (o->dir == LM_UP ? LM_HAS_DATA : LM_HAS_DATA_DOWNGRADE);
    /* Every planned file compiles before the first write (cached
    ** metadata leaves files uncompiled until they are needed). */
    if (lm_sandbox_compile(r->h, steps->v[i])) return 1;
    if (!rev->transactional && r->single_tx)
      return lm_error("%s: revision %s is non-transactional (transactional "
                      "= false); it cannot run inside the single transaction "
                      "of transaction_per_migration = false: run it on its "
                      "own or set transaction_per_migration = true",
                      rev->path, rev->id);
    if (data && (o->offline || r->single_tx))
      return lm_error("%s: revision %s has a data phase, which commits batch "
                      "by batch against a live database; it cannot run %s",
                      rev->path, rev->id,
                      o->offline ? "in --sql (offline) mode"
                                 : "with transaction_per_migration = false");
    if (o->dir == LM_DOWN && !rev->has_downgrade)
      return lm_error("%s: revision %s has no downgrade function, so it "
                      "cannot be reverted; nothing was changed", rev->path,
                      rev->id);
  }
  return 0;
}

/* Plan from heads to the target into steps. 0, or 1 after printing. */
static int plan(struct run *r, const struct lm_migrate_opts *o,
                const struct lm_idset *heads, struct lm_idset *steps) {
  struct lm_err err;
  lm_err_clear(&err);
  steps->n = 0;
  if (lm_graph_plan(r->g, heads, o->target, o->dir, steps, &err))
    return lm_error("%s", err.msg);
  return 0;
}

int lm_runner_migrate(struct lm_host *h, const struct lm_migrate_opts *o) {
  struct run r;
  struct lm_idset heads, seen, steps;
  struct lm_err err;
  int rc = 1, i, ready = 0, pending = -1;
  double t0, t_run = lm_run_now_ms();
  lm_idset_init(&heads);
  lm_idset_init(&seen);
  lm_idset_init(&steps);
  lm_err_clear(&err);
  if (lm_run_init(&r, h, o->offline)) goto done;
  if (r.be->lock(r.c, r.lock_key, &err)) {
    lm_error("%s", err.msg);
    goto unlock;
  }
  if (o->offline ? offline_heads(&r, o->from, &heads)
                 : lm_runner_read_heads(h, &heads, 0, NULL))
    goto unlock;
  if (!o->offline && lm_runner_check_failure(h, 1)) goto unlock;
  if (plan(&r, o, &heads, &steps)) goto unlock;
  if (steps.n == 0) {
    nothing_to_do(&r, o, &heads);
    rc = 0;
    goto unlock;
  }
  if (lm_run_read_pending_data(h, &pending)) goto unlock;
  if (check_plan(&r, o, &steps)) goto unlock;
  if (!o->offline && o->dir == LM_UP && lm_runner_validate(h, 1) < 0)
    goto unlock;
  r.dir = o->dir;
  if (lm_run_hook(&r, "before_upgrade", -1, 0, NULL)) goto unlock;
  if (r.single_tx && lm_run_tx(&r, r.be->begin)) goto unlock;
  if (!r.single_tx && !o->offline && lm_run_tx(&r, r.be->begin)) goto unlock;
  if (lm_run_ensure_tables(&r)) goto rollback;
  if (!r.single_tx && !o->offline && lm_run_tx(&r, r.be->commit)) goto unlock;
  if (r.single_tx && !o->offline) {
    /* The whole run holds the lock from here: plan again from what the
    ** version table says now. */
    if (lm_runner_read_heads(h, &heads, 0, NULL)) goto rollback;
    if (plan(&r, o, &heads, &steps)) goto rollback;
  }
  for (i = 0; i < steps.n; i++) {
    int idx = steps.v[i];
    int own_tx = !r.single_tx && lm_graph_rev(r.g, idx)->transactional;
    if (!o->offline && !r.single_tx && !r.be->has_session_lock) {
      /* Take the write lock, then check that no other runner moved the
      ** database since we planned; if one did, re-plan from its heads.
      ** (With a session lock held since planning nobody can have.) */
      if (lm_run_tx(&r, r.be->begin)) goto unlock;
      if (lm_run_copy_heads(&seen, &heads) ||
          lm_run_read_heads(h, &heads, 0, NULL, 0))
        goto rollback;
      if (!same_heads(&seen, &heads)) {
        if (lm_run_tx(&r, r.be->commit)) goto unlock;
        if (plan(&r, o, &heads, &steps)) goto unlock;
        lm_debug(h, "another runner moved the database; re-planned %d steps",
                 steps.n);
        i = -1;
        continue;
      }
      if (!own_tx && lm_run_tx(&r, r.be->commit)) goto unlock;
    } else if (own_tx && lm_run_tx(&r, r.be->begin)) {
      goto unlock;
    }
    if (lm_interrupted) goto unlock;   /* main reports it; nothing half-done */
    t0 = lm_run_now_ms();
    if (lm_run_hook(&r, "before_revision", idx, 0, NULL)) {
      lm_run_record_failure(&r, idx, o->dir == LM_UP ? "up" : "down", 0,
                            own_tx || r.single_tx);
      goto unlock;
    }
    if (lm_run_step(&r, idx, o->dir, &heads,
                    o->dir == LM_UP && idx == pending))
      goto unlock;
    if (lm_run_hook(&r, "after_revision", idx, lm_run_now_ms() - t0, NULL)) {
      lm_error("revision %s is applied; the run stopped after it because "
               "the after_revision hook failed", lm_graph_rev(r.g, idx)->id);
      goto unlock;
    }
    if (idx == pending) pending = -1;
    ready++;
  }
  if (r.single_tx && lm_run_tx(&r, r.be->commit)) goto unlock;
  if (ready == 0) nothing_to_do(&r, o, &heads);
  rc = lm_run_hook(&r, "after_upgrade", -1, lm_run_now_ms() - t_run, NULL);
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
