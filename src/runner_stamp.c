/*
** runner_stamp.c: `stamp TARGET... [--purge] [--sql [FROM:]TO]`: set the
** version table to one or more targets without running any revision code.
** Invariants: under the runner lock and in one transaction, the version
** table ends up holding the targets' heads plus the current heads on
** branches the targets do not touch (all of them replaced with --purge),
** heads only, written as the rows that change (UPDATE, DELETE, INSERT),
** and the history table gains a 'stamped' row per revision stamped on
** ('up') and per head stamped off ('down': no longer applied), so that
** validate and the failure check see the change; a revision left in its
** data phase gets a 'stamped' row too, which ends that phase. Moving the
** version table backwards is allowed (it is deliberate) but named in a
** warning first; --sql prints the script only when the stamp succeeded.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "interrupt.h"
#include "log.h"
#include "runner_int.h"

/* Warn before a stamp that moves the version table backwards: name the
** revisions applied before (mark_before) and not after (mark_after),
** newest first, whose changes stay in the database. */
static void warn_unapplied(struct run *r, const char *target,
                           const unsigned char *mark_before,
                           const unsigned char *mark_after) {
  struct lm_idset lost;
  char list[1024];
  size_t len = 0;
  int i, j, n = lm_graph_count(r->g), shown = 0;
  lm_idset_init(&lost);
  for (i = 0; i < n; i++)
    if (mark_before[i] && !mark_after[i] && lm_idset_push(&lost, i)) {
      lm_idset_free(&lost);
      return;         /* out of memory: the stamp itself reports it */
    }
  /* newest first: insertion sort on the topological position */
  for (i = 1; i < lost.n; i++)
    for (j = i; j > 0 && lm_graph_topo_pos(r->g, lost.v[j]) >
                         lm_graph_topo_pos(r->g, lost.v[j - 1]); j--) {
      int t = lost.v[j];
      lost.v[j] = lost.v[j - 1];
      lost.v[j - 1] = t;
    }
  list[0] = '\0';
  for (i = 0; i < lost.n && len + 80 < sizeof list; i++, shown++)
    len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                            i ? ", " : "", lm_graph_rev(r->g, lost.v[i])->id);
  if (shown < lost.n)
    snprintf(list + len, sizeof list - len, " and %d more", lost.n - shown);
  if (lost.n > 0)
    lm_warn("stamp %s marks %d applied revision%s as not applied: %s; "
            "stamp runs no downgrade, so their changes stay in the "
            "database (`lmigrate downgrade %s` reverts them)", target,
            lost.n, lost.n == 1 ? "" : "s", list, target);
  lm_idset_free(&lost);
}

/* Resolve every target into want (no duplicates) and decide which of the
** current heads stay: keep[i] = 0 for a head a target replaces (one on the
** same lineage as a revision it names, or, for L@base and REV-N landing on
** base, one on L's lineage; plain base replaces every head). The rest stay,
** as Alembic keeps the rows of branches a stamp does not touch. 0, or 1
** after printing. */
static int stamp_plan(struct run *r, const struct lm_stamp_opts *o,
                      const struct lm_idset *heads, struct lm_idset *want,
                      unsigned char *keep) {
  struct lm_idset one, t;
  struct lm_err err;
  unsigned char *anc, *mark;
  int i, j, k, lin, rc = 1, n = lm_graph_count(r->g);
  lm_idset_init(&one);
  lm_idset_init(&t);
  lm_err_clear(&err);
  anc = calloc((size_t)n + 1, 1);
  mark = calloc((size_t)n + 1, 1);
  if (anc == NULL || mark == NULL) {
    lm_error("out of memory");
    goto done;
  }
  for (i = 0; i < heads->n; i++) keep[i] = 1;
  for (k = 0; k < o->ntargets; k++) {
    t.n = 0;
    if (lm_graph_resolve_lineage(r->g, o->targets[k], &t, &lin, &err)) {
      if (o->ntargets > 1) lm_error("stamp %s: %s", o->targets[k], err.msg);
      else lm_error("%s", err.msg);
      goto done;
    }
    for (i = 0; i < t.n; i++)
      if (!lm_idset_has(want, t.v[i]) && lm_idset_push(want, t.v[i])) {
        lm_error("out of memory");
        goto done;
      }
    /* anc: what this target implies, plus L's ancestors for L@base */
    one.n = 0;
    for (i = 0; i < t.n; i++) lm_idset_push(&one, t.v[i]);
    if (t.n == 0 && lin >= 0) lm_idset_push(&one, lin);
    memset(anc, 0, (size_t)n);
    lm_graph_applied(r->g, &one, anc);
    for (i = 0; i < heads->n; i++) {
      int related = t.n == 0 && lin < 0;        /* plain base: every head */
      if (anc[heads->v[i]]) related = 1;
      one.n = 0;
      lm_idset_push(&one, heads->v[i]);
      memset(mark, 0, (size_t)n);
      lm_graph_applied(r->g, &one, mark);
      for (j = 0; j < t.n; j++)
        if (mark[t.v[j]]) related = 1;
      if (t.n == 0 && lin >= 0 && mark[lin]) related = 1;
      if (related) keep[i] = 0;
    }
  }
  rc = 0;
done:
  free(anc);
  free(mark);
  lm_idset_free(&one);
  lm_idset_free(&t);
  return rc;
}

int lm_runner_stamp(struct lm_host *h, const struct lm_stamp_opts *o) {
  struct run r;
  struct lm_capture cap;
  struct lm_idset heads, want, next;
  struct lm_err err;
  unsigned char *keep = NULL, *mark = NULL, *before = NULL;
  char what[512];
  size_t wl = 0;
  int rc = 1, i, n, locked = 0, pending = -1, offline = o->offline;
  lm_idset_init(&heads);
  lm_idset_init(&want);
  lm_idset_init(&next);
  lm_err_clear(&err);
  cap.tmp = NULL;
  what[0] = '\0';
  for (i = 0; i < o->ntargets && wl + 70 < sizeof what; i++)
    wl += (size_t)snprintf(what + wl, sizeof what - wl, "%s%.64s",
                           i ? " " : "", o->targets[i]);
  if (offline && lm_run_capture_begin(&cap)) return 1;
  if (lm_run_init(&r, h, offline)) goto done;
  if (r.be->lock(r.c, r.lock_key, &err)) {
    lm_error("%s", err.msg);
    goto done;
  }
  locked = 1;
  n = lm_graph_count(r.g);
  mark = calloc((size_t)n + 1, 1);
  before = calloc((size_t)n + 1, 1);
  if (mark == NULL || before == NULL) {
    lm_error("out of memory");
    goto done;
  }
  if (lm_run_tx(&r, r.be->begin)) goto done;
  if (lm_run_ensure_tables(&r)) goto rollback;
  if (!offline && lm_runner_read_heads(h, &heads, o->purge, NULL))
    goto rollback;
  if (offline && o->from != NULL &&
      lm_graph_resolve(r.g, o->from, &heads, &err)) {
    lm_error("stamp --sql %s:...: %s", o->from, err.msg);
    goto rollback;
  }
  if (lm_run_read_pending_data(h, &pending)) goto rollback;
  keep = calloc((size_t)heads.n + 1, 1);
  if (keep == NULL) {
    lm_error("out of memory");
    goto rollback;
  }
  if (stamp_plan(&r, o, &heads, &want, keep)) goto rollback;
  /* next: the targets and the heads they leave alone, heads only */
  for (i = 0; i < want.n; i++)
    if (lm_idset_push(&next, want.v[i])) goto oom;
  for (i = 0; !o->purge && i < heads.n; i++)
    if (keep[i] && !lm_idset_has(&next, heads.v[i]) &&
        lm_idset_push(&next, heads.v[i]))
      goto oom;
  if (lm_graph_normalize_heads(r.g, &next) < 0) goto oom;
  lm_graph_applied(r.g, &heads, before);
  memset(mark, 0, (size_t)n);
  lm_graph_applied(r.g, &next, mark);
  warn_unapplied(&r, what, before, mark);
  if (pending >= 0 && !mark[pending])
    lm_warn("revision %s was in its data phase; stamp %s marks it as not "
            "applied and ends its data phase, but its schema change and "
            "what its data phase committed stay in the database",
            lm_graph_rev(r.g, pending)->id, what);
  /* History: the revisions stamped on, and the heads stamped off (not
  ** those that stay applied below the new heads: their checksums still
  ** count for validate). */
  for (i = 0; i < heads.n; i++)
    if (!mark[heads.v[i]] &&
        lm_run_write_history(&r, heads.v[i], "down", "stamped", 0, "stamp"))
      goto rollback;
  for (i = 0; i < want.n; i++)
    if (lm_run_write_history(&r, want.v[i], "up", "stamped", 0, "stamp"))
      goto rollback;
  /* A stamp ends an unfinished data phase: a 'stamped' row after its
  ** 'data' row (the one above when the target names it). */
  if (pending >= 0 && !lm_idset_has(&want, pending) &&
      lm_run_write_history(&r, pending, mark[pending] ? "up" : "down",
                           "stamped", 0, "stamp"))
    goto rollback;
  /* --purge empties the table (rows naming no file included); otherwise
  ** only the rows that change are written, so --sql touches no row of a
  ** branch the stamp leaves alone */
  if (o->purge) {
    if (lm_run_delete_heads(&r)) goto rollback;
    heads.n = 0;
  }
  if (lm_run_write_heads(&r, &heads, &next)) goto rollback;
  if (lm_run_tx(&r, r.be->commit)) goto done;
  {
    char cur[512];
    lm_run_heads_str(r.g, &next, cur, sizeof cur);
    if (offline) printf("-- Stamped %s\n", cur);
    else lm_info(h, "Stamped %s", cur);
  }
  rc = 0;
  goto done;
oom:
  lm_error("out of memory");
rollback:
  r.be->rollback(r.c, &err);
done:
  if (locked) r.be->unlock(r.c, r.lock_key, &err);
  if (rc != 0 && lm_interrupted) {
    lm_error("interrupted; nothing was stamped, the version table is as it "
             "was");
    rc = LM_RUNNER_INTERRUPTED((int)lm_interrupted);
  }
  if (offline && lm_run_capture_end(&cap, rc == 0)) rc = 1;
  free(keep);
  free(mark);
  free(before);
  lm_idset_free(&heads);
  lm_idset_free(&want);
  lm_idset_free(&next);
  lm_sb_free(&r.sql);
  return rc;
}
