/*
** runner.c: moving a database between revisions (lm_runner_migrate; see
** runner.h): the runner lock, the plan and the checks made before any
** write, the step loop, the report of an interrupt, the --sql capture,
** and the run context the other runner files share (runner_int.h).
** Invariants: the version table holds exactly the current heads; a
** downgrade plans as if a revision stuck in its data phase were applied,
** so it can be backed out; every planned file compiles, and every refusal
** (non-transactional or data revisions that cannot run in this mode, a
** missing downgrade, a blocking failed step) is reported, before the first
** write; before each step the version table is re-read under the write
** lock and the run re-plans when another runner moved it, so no revision
** is applied twice; the lock is released on every exit after it was taken,
** and only then; a --sql script reaches stdout only after the whole run
** succeeded; after an interrupt the runner says what the database holds.
*/
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "interrupt.h"
#include "log.h"
#include "lint.h"
#include "runner_int.h"
#include "sandbox.h"

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
  r->step = -1;
  r->phase = "schema";
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

int lm_run_capture_begin(struct lm_capture *cap) {
  int e;
  cap->tmp = NULL;
  cap->saved_fd = -1;
  if (fflush(stdout) != 0)
    return lm_error("write failure on standard output: %s", strerror(errno));
  if ((cap->tmp = tmpfile()) == NULL)
    return lm_error("--sql: cannot create a temporary file for the script: "
                    "%s", strerror(errno));
  if ((cap->saved_fd = dup(STDOUT_FILENO)) >= 0 &&
      dup2(fileno(cap->tmp), STDOUT_FILENO) >= 0)
    return 0;
  e = errno;
  if (cap->saved_fd >= 0) close(cap->saved_fd);
  fclose(cap->tmp);
  cap->tmp = NULL;
  cap->saved_fd = -1;
  return lm_error("--sql: cannot hold the script back in a temporary file: "
                  "%s", strerror(e));
}

int lm_run_capture_end(struct lm_capture *cap, int publish) {
  char buf[16384];
  size_t n;
  int rc = 0;
  if (cap->tmp == NULL) return 0;
  if (fflush(stdout) != 0 || ferror(stdout)) {
    /* Drop what stdio could not write, so it never reaches the real
    ** stdout later. */
    int e = errno;
    __fpurge(stdout);
    clearerr(stdout);
    if (publish)
      rc = lm_error("--sql: writing the script to a temporary file: %s",
                    strerror(e));
    publish = 0;
  }
  dup2(cap->saved_fd, STDOUT_FILENO);
  close(cap->saved_fd);
  if (publish) {
    rewind(cap->tmp);
    while ((n = fread(buf, 1, sizeof buf, cap->tmp)) > 0)
      if (fwrite(buf, 1, n, stdout) != n) break;  /* main reports it */
    if (ferror(cap->tmp))
      rc = lm_error("--sql: reading the script back from its temporary "
                    "file: %s", strerror(errno));
  }
  fclose(cap->tmp);
  cap->tmp = NULL;
  cap->saved_fd = -1;
  return rc;
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

/* Count revision `pending`, whose data phase a previous run started but
** did not finish, as applied in heads, so that a downgrade to a target
** below it backs it out (data_downgrade, downgrade, checkpoints, history)
** instead of leaving its schema change behind. Only when it is not
** applied and everything it builds on is; otherwise *pending becomes -1
** (a downgrade has nothing of it to back out). 0, or 1 after printing. */
static int count_pending(struct run *r, struct lm_idset *heads,
                         int *pending) {
  unsigned char *mark;
  const int *dep;
  int i, n, ok, p = *pending;
  if (p < 0) return 0;
  mark = calloc((size_t)lm_graph_count(r->g) + 1, 1);
  if (mark == NULL) return lm_error("out of memory");
  lm_graph_applied(r->g, heads, mark);
  ok = !mark[p];
  dep = lm_graph_parents(r->g, p, &n);
  for (i = 0; ok && i < n; i++) ok = mark[dep[i]];
  dep = lm_graph_deps(r->g, p, &n);
  for (i = 0; ok && i < n; i++) ok = mark[dep[i]];
  free(mark);
  if (!ok) *pending = -1;
  else if (lm_graph_step_heads(r->g, heads, p, LM_UP))
    return lm_error("out of memory");
  return 0;
}

/* The heads a plan starts from, read under the lock: the version table's
** and, for a downgrade, the revision in its data phase (*pending, read
** again too; see count_pending). check_table as for lm_run_read_heads.
** 0, or 1 after printing. */
static int read_plan_heads(struct run *r, const struct lm_migrate_opts *o,
                           struct lm_idset *heads, int *pending,
                           int check_table) {
  int dropped;
  if (lm_run_read_heads(r->h, heads, 0, NULL, check_table)) return 1;
  /* heads only: a row another row implies is rewritten away by the first
  ** step (tables written before the version table held heads only) */
  if ((dropped = lm_graph_normalize_heads(r->g, heads)) < 0)
    return lm_error("out of memory");
  r->rewrite_rows = dropped > 0;
  if (o->dir != LM_DOWN) return 0;
  return lm_run_read_pending_data(r->h, pending) ||
         count_pending(r, heads, pending);
}

/* A run whose plan is empty: say why. */
static void nothing_to_do(struct run *r, const struct lm_migrate_opts *o,
                          const struct lm_idset *heads, int pending) {
  char cur[512], note[160];
  lm_run_heads_str(r->g, heads, cur, sizeof cur);
  note[0] = '\0';
  if (pending >= 0 && lm_idset_has(heads, pending))
    snprintf(note, sizeof note, "; %s is in its data phase: `lmigrate "
             "upgrade` finishes it", lm_graph_rev(r->g, pending)->id);
  if (r->offline)
    printf("-- Nothing to do: the database is already at %s (target %s)\n",
           cur, o->target);
  else
    lm_info(r->h, "Nothing to %s: the database is already at %s (target "
            "%s)%s", o->dir == LM_UP ? "upgrade" : "downgrade", cur,
            o->target, note);
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
    /* --sql renders an upgrade's data phase (op_data_offline.c); a
    ** data_downgrade is not rendered. */
    if (data && ((o->offline && o->dir == LM_DOWN) || r->single_tx))
      return lm_error("%s: revision %s has a data phase, which commits batch "
                      "by batch against a live database; it cannot run %s",
                      rev->path, rev->id,
                      o->offline ? "in --sql (offline) mode for a downgrade "
                                   "(run the downgrade with lmigrate itself)"
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

/* After Ctrl-C / SIGTERM stopped the run where no failed step reported
** it: what the database holds now. done: revisions this run applied (or
** reverted), last: the last of them; committed: the run's changes are
** committed (with transaction_per_migration = false, only after the
** final commit). */
static void report_interrupt(struct run *r, int done, int last,
                             int committed) {
  const char *what = r->dir == LM_UP ? "applied" : "reverted";
  if (r->offline) {
    lm_error("interrupted; no SQL script was written");
  } else if (r->step >= 0) {
    lm_error("interrupted while revision %s was running, outside its "
             "revision code; run `lmigrate current` to see where the "
             "database is before running the command again",
             lm_graph_rev(r->g, r->step)->id);
  } else if (done > 0 && r->single_tx && !committed) {
    lm_error("interrupted; the run was one transaction "
             "(transaction_per_migration = false) and was rolled back: "
             "nothing was %s; run the command again", what);
  } else if (done == 0) {
    lm_error("interrupted before any revision was %s: the database was "
             "not changed; run the command again", what);
  } else {
    lm_error("interrupted; the %d revision%s %s by this run (the last: %s) "
             "stay%s %s, nothing after %s was changed; run the command "
             "again to continue", done, done == 1 ? "" : "s", what,
             lm_graph_rev(r->g, last)->id, done == 1 ? "s" : "", what,
             done == 1 ? "it" : "them");
  }
}

int lm_runner_migrate(struct lm_host *h, const struct lm_migrate_opts *o) {
  struct run r;
  struct lm_capture cap;
  struct lm_idset heads, seen, steps;
  struct lm_err err;
  int rc = 1, i, ready = 0, pending = -1, locked = 0, last = -1;
  int committed = 0;
  double t0, t_run = lm_now_ms();
  lm_idset_init(&heads);
  lm_idset_init(&seen);
  lm_idset_init(&steps);
  lm_err_clear(&err);
  cap.tmp = NULL;
  if (o->offline && lm_run_capture_begin(&cap)) return 1;
  if (lm_run_init(&r, h, o->offline)) goto done;
  r.dir = o->dir;
  if (r.be->lock(r.c, r.lock_key, &err)) {
    lm_error("%s", err.msg);
    goto done;
  }
  locked = 1;
  if (o->offline ? offline_heads(&r, o->from, &heads)
                 : read_plan_heads(&r, o, &heads, &pending, 1))
    goto done;
  if (!o->offline && lm_runner_check_failure(h, 1)) goto done;
  if (o->dir == LM_UP && lm_run_read_pending_data(h, &pending)) goto done;
  if (plan(&r, o, &heads, &steps)) goto done;
  /* Edited applied files are named whether or not anything runs. */
  if (!o->offline && o->dir == LM_UP && lm_runner_validate(h, 1) < 0)
    goto done;
  if (steps.n == 0) {
    nothing_to_do(&r, o, &heads, pending);
    rc = 0;
    goto done;
  }
  if (check_plan(&r, o, &steps)) goto done;
  /* config lint = "warn" | "error" | "off": lint what is about to run */
  if (!o->offline && o->dir == LM_UP && lm_lint_before_upgrade(h, &steps))
    goto done;
  if (lm_run_hook(&r, "before_upgrade", -1, 0, NULL)) goto done;
  if (r.single_tx && lm_run_tx(&r, r.be->begin)) goto done;
  if (!r.single_tx && !o->offline && lm_run_tx(&r, r.be->begin)) goto done;
  if (lm_run_ensure_tables(&r)) goto rollback;
  if (!r.single_tx && !o->offline && lm_run_tx(&r, r.be->commit)) goto done;
  if (r.single_tx && !o->offline) {
    /* The whole run holds the lock from here: plan again from what the
    ** version table says now. */
    if (read_plan_heads(&r, o, &heads, &pending, 1)) goto rollback;
    if (plan(&r, o, &heads, &steps)) goto rollback;
  }
  for (i = 0; i < steps.n; i++) {
    int idx = steps.v[i];
    int own_tx = !r.single_tx && lm_graph_rev(r.g, idx)->transactional;
    const struct lm_revision *rev = lm_graph_rev(r.g, idx);
    if (!o->offline && !r.single_tx && !r.be->has_session_lock) {
      /* Take the write lock, then check that no other runner moved the
      ** database since we planned; if one did, re-plan from its heads.
      ** (With a session lock held since planning nobody can have.) */
      if (lm_run_tx(&r, r.be->begin)) goto done;
      if (lm_run_copy_heads(&seen, &heads) ||
          read_plan_heads(&r, o, &heads, &pending, 0))
        goto rollback;
      if (!same_heads(&seen, &heads)) {
        if (lm_run_tx(&r, r.be->commit)) goto done;
        if (plan(&r, o, &heads, &steps)) goto done;
        lm_debug(h, "another runner moved the database; re-planned %d steps",
                 steps.n);
        i = -1;
        continue;
      }
      if (!own_tx && lm_run_tx(&r, r.be->commit)) goto done;
    } else if (own_tx && lm_run_tx(&r, r.be->begin)) {
      goto done;
    }
    if (lm_interrupted) goto rollback;  /* reported below */
    t0 = lm_now_ms();
    r.step = idx;
    r.rows = 0;
    /* The phase that runs first: a downgrade starts with data_downgrade,
    ** a resumed upgrade with data. */
    r.phase = (o->dir == LM_DOWN
                 ? (rev->has_data & LM_HAS_DATA_DOWNGRADE) != 0
                 : idx == pending) ? "data" : "schema";
    if (lm_run_hook(&r, "before_revision", idx, 0, NULL)) {
      lm_run_record_failure(&r, idx, o->dir == LM_UP ? "up" : "down", 0,
                            own_tx || r.single_tx);
      goto done;
    }
    if (lm_run_step(&r, idx, o->dir, &heads, idx == pending)) goto done;
    r.step = -1;
    if (idx == pending) pending = -1;
    ready++;
    last = idx;
    if (lm_run_hook(&r, "after_revision", idx, lm_now_ms() - t0, NULL)) {
      /* After an interrupt, report_interrupt says what stays. */
      if (!lm_interrupted && r.single_tx)
        lm_error("the run stopped after revision %s because the "
                 "after_revision hook failed; the whole run was rolled back "
                 "(transaction_per_migration = false), nothing was %s",
                 rev->id, o->dir == LM_UP ? "applied" : "reverted");
      else if (!lm_interrupted)
        lm_error("revision %s %s; the run stopped after it because the "
                 "after_revision hook failed", rev->id,
                 o->dir == LM_UP ? "is applied" : "was reverted");
      if (r.single_tx) goto rollback;
      goto done;
    }
  }
  if (r.single_tx && lm_run_tx(&r, r.be->commit)) goto done;
  committed = 1;
  if (ready == 0) nothing_to_do(&r, o, &heads, pending);
  rc = lm_run_hook(&r, "after_upgrade", -1, lm_now_ms() - t_run, NULL);
  goto done;
rollback:
  r.be->rollback(r.c, &err);
done:
  if (locked) r.be->unlock(r.c, r.lock_key, &err);
  if (rc != 0 && lm_interrupted) {
    if (!r.reported)
      report_interrupt(&r, ready, last, committed || !r.single_tx);
    rc = LM_RUNNER_INTERRUPTED((int)lm_interrupted);
  }
  if (o->offline && lm_run_capture_end(&cap, rc == 0)) rc = 1;
  lm_idset_free(&heads);
  lm_idset_free(&seen);
  lm_idset_free(&steps);
  lm_sb_free(&r.sql);
  return rc;
}
