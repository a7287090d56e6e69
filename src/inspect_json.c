/*
** inspect_json.c: the --json output of the read commands (inspect_json.h,
** docs/json.md). Field names and meanings are shared: a revision is the
** same object wherever it appears, so scripts and the Lua API read every
** command alike.
*/
#include <stdio.h>
#include <stdlib.h>

#include "host.h"
#include "inspect_json.h"
#include "json.h"
#include "log.h"
#include "runner.h"
#include "runner_int.h"
#include "runner_log.h"
#include "status.h"

static int nchildren(const struct lm_graph *g, int idx) {
  int n = 0;
  lm_graph_children(g, idx, &n);
  return n;
}

static void str_array(struct lm_json *j, const char *k,
                      const char *const *v, int n) {
  int i;
  lm_json_key(j, k);
  lm_json_array(j);
  for (i = 0; i < n; i++) lm_json_str(j, v[i]);
  lm_json_end(j);
}

/* The revision object's fields, without the braces. */
static void revision_fields(struct lm_json *j, const struct lm_graph *g,
                            int idx) {
  const struct lm_revision *r = lm_graph_rev(g, idx);
  const char *const *labels;
  int nl = 0;
  lm_json_kstr(j, "revision", r->id);
  str_array(j, "down_revision", (const char *const *)r->down, r->ndown);
  str_array(j, "depends_on", (const char *const *)r->depends, r->ndepends);
  labels = lm_graph_branch_labels(g, idx, &nl);
  str_array(j, "branch_labels", labels, nl);
  lm_json_kstr(j, "message", r->message);
  lm_json_kstr(j, "path", r->path);
  lm_json_kstr(j, "create_date", r->create_date);
  lm_json_kbool(j, "transactional", r->transactional);
  lm_json_kbool(j, "head", nchildren(g, idx) == 0);
  lm_json_kbool(j, "branchpoint", nchildren(g, idx) > 1);
  lm_json_kbool(j, "mergepoint", r->ndown > 1);
}

void lm_json_revision(struct lm_json *j, const struct lm_graph *g, int idx,
                      int current) {
  lm_json_object(j);
  revision_fields(j, g, idx);
  if (current >= 0) lm_json_kbool(j, "current", current);
  lm_json_end(j);
}

void lm_json_emit_revs(struct lm_json *j, const struct lm_graph *g,
                       const struct lm_idset *s,
                       const unsigned char *current) {
  int i;
  lm_json_array(j);
  for (i = 0; i < s->n; i++)
    lm_json_revision(j, g, s->v[i], current ? current[s->v[i]] : -1);
  lm_json_end(j);
}

void lm_json_print_revs(const struct lm_graph *g, const struct lm_idset *s,
                        const unsigned char *current) {
  struct lm_json j;
  lm_json_init(&j, stdout);
  lm_json_emit_revs(&j, g, s, current);
  lm_json_done(&j);
}

/* A revision object with "state" (and "failed_at"). */
static void state_revision(struct lm_json *j, const struct lm_graph *g,
                           int idx, const char *state, const char *when) {
  lm_json_object(j);
  revision_fields(j, g, idx);
  lm_json_kstr(j, "state", state);
  if (when) lm_json_kstr(j, "failed_at", when);
  lm_json_end(j);
}

int lm_json_emit_current(struct lm_json *j, struct lm_host *h,
                         const struct lm_idset *heads) {
  char when[40];
  int i, failed = -1, data = -1;
  if (lm_run_read_blocking_failure(h, &failed, when)) return 1;
  if (failed < 0 && lm_run_read_pending_data(h, &data)) return 1;
  lm_json_array(j);
  for (i = 0; i < heads->n; i++)
    state_revision(j, h->graph, heads->v[i], "applied", NULL);
  if (failed >= 0) state_revision(j, h->graph, failed, "failed", when);
  if (data >= 0) state_revision(j, h->graph, data, "data", NULL);
  lm_json_end(j);
  return 0;
}

int lm_json_print_current(struct lm_host *h, const struct lm_idset *heads) {
  struct lm_json j;
  lm_json_init(&j, stdout);
  if (lm_json_emit_current(&j, h, heads)) return 1;
  lm_json_done(&j);
  return 0;
}

void lm_json_print_branches(const struct lm_graph *g,
                            const struct lm_idset *points) {
  struct lm_json j;
  int i, k;
  lm_json_init(&j, stdout);
  lm_json_array(&j);
  for (i = 0; i < points->n; i++) {
    int n = 0;
    const int *kids = lm_graph_children(g, points->v[i], &n);
    lm_json_object(&j);
    revision_fields(&j, g, points->v[i]);
    lm_json_key(&j, "children");
    lm_json_array(&j);
    for (k = 0; k < n; k++) lm_json_revision(&j, g, kids[k], -1);
    lm_json_end(&j);
    lm_json_end(&j);
  }
  lm_json_end(&j);
  lm_json_done(&j);
}

/* "edited": [{revision, path, checksum, applied_checksum}] */
static void edited_array(struct lm_json *j, const struct lm_graph *g,
                         const struct lm_status *st) {
  int i;
  lm_json_key(j, "edited");
  lm_json_array(j);
  for (i = 0; i < st->edited.n; i++) {
    const struct lm_revision *r = lm_graph_rev(g, st->edited.v[i]);
    lm_json_object(j);
    lm_json_kstr(j, "revision", r->id);
    lm_json_kstr(j, "path", r->path);
    lm_json_kstr(j, "checksum", r->checksum);
    lm_json_kstr(j, "applied_checksum", st->applied_sums[i]);
    lm_json_end(j);
  }
  lm_json_end(j);
}

int lm_json_print_validate(struct lm_host *h) {
  struct lm_status st;
  struct lm_json j;
  int rc;
  if (lm_status_read(h, &st)) return 1;
  lm_json_init(&j, stdout);
  lm_json_object(&j);
  lm_json_kbool(&j, "ok", st.edited.n == 0);
  edited_array(&j, h->graph, &st);
  lm_json_end(&j);
  lm_json_done(&j);
  rc = st.edited.n > 0;
  lm_status_free(&st);
  return rc;
}

void lm_json_print_status(struct lm_host *h, const struct lm_status *st) {
  struct lm_json j;
  lm_json_init(&j, stdout);
  lm_json_emit_status(&j, h, st);
  lm_json_done(&j);
}

void lm_json_emit_status(struct lm_json *j, struct lm_host *h,
                         const struct lm_status *st) {
  const struct lm_graph *g = h->graph;
  int i;
  lm_json_object(j);
  lm_json_kstr(j, "database", lm_host_url_display(h));
  lm_json_kstr(j, "state", lm_status_word(st));
  lm_json_kint(j, "exit", lm_status_code(st));
  lm_json_key(j, "current");
  lm_json_array(j);
  for (i = 0; i < st->heads.n; i++)
    state_revision(j, g, st->heads.v[i], "applied", NULL);
  if (st->failed >= 0)
    state_revision(j, g, st->failed, "failed", st->failed_at);
  if (st->data_phase >= 0)
    state_revision(j, g, st->data_phase, "data", NULL);
  lm_json_end(j);
  lm_json_key(j, "pending");
  lm_json_array(j);
  for (i = 0; i < st->pending.n; i++)
    lm_json_revision(j, g, st->pending.v[i], -1);
  lm_json_end(j);
  edited_array(j, g, st);
  lm_json_end(j);
}

void lm_json_print_log(const struct lm_log_row *rows, int n) {
  struct lm_json j;
  lm_json_init(&j, stdout);
  lm_json_emit_log(&j, rows, n);
  lm_json_done(&j);
}

void lm_json_emit_log(struct lm_json *j, const struct lm_log_row *rows,
                      int n) {
  int i;
  lm_json_array(j);
  for (i = 0; i < n; i++) {
    const struct lm_log_row *r = &rows[i];
    lm_json_object(j);
    lm_json_kint(j, "id", r->id);
    lm_json_kstr(j, "revision", r->revision);
    lm_json_kstr(j, "direction", r->direction);
    lm_json_kstr(j, "outcome", r->outcome);
    lm_json_kstr(j, "started_at", r->started_at);
    lm_json_key(j, "duration_ms");
    if (r->duration_ms < 0) lm_json_null(j);
    else lm_json_int(j, r->duration_ms);
    lm_json_kstr(j, "run_by", r->run_by);
    lm_json_kstr(j, "message", r->message);
    lm_json_end(j);
  }
  lm_json_end(j);
}
