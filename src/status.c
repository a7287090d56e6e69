/*
** status.c: gathering a database's status (status.h). Read-only: reads
** the version and history tables through the runner's readers and plans
** `upgrade heads` without running it.
*/
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "log.h"
#include "runner.h"
#include "runner_int.h"
#include "status.h"

void lm_status_free(struct lm_status *st) {
  int i;
  for (i = 0; st->applied_sums && i < st->edited.n; i++)
    free(st->applied_sums[i]);
  free(st->applied_sums);
  st->applied_sums = NULL;
  lm_idset_free(&st->heads);
  lm_idset_free(&st->pending);
  lm_idset_free(&st->edited);
}

/* Applied revisions whose recorded checksum differs from the file's. */
static int read_edited(struct lm_host *h, struct lm_status *st) {
  struct recorded rec;
  unsigned char *applied;
  int i, n = lm_graph_count(h->graph), rc = 0;
  applied = calloc((size_t)n + 1, 1);
  st->applied_sums = calloc((size_t)n + 1, sizeof *st->applied_sums);
  if (applied == NULL || st->applied_sums == NULL) {
    free(applied);
    return lm_error("out of memory");
  }
  if (lm_run_read_recorded(h, &rec)) {
    lm_run_recorded_free(h, &rec);
    free(applied);
    return 1;
  }
  lm_graph_applied(h->graph, &st->heads, applied);
  for (i = 0; i < n && rc == 0; i++) {
    const struct lm_revision *r = lm_graph_rev(h->graph, i);
    if (!applied[i] || rec.sums[i] == NULL ||
        strcmp(rec.sums[i], r->checksum) == 0)
      continue;
    if (lm_idset_push(&st->edited, i)) rc = lm_error("out of memory");
    else {
      st->applied_sums[st->edited.n - 1] = rec.sums[i];
      rec.sums[i] = NULL;
    }
  }
  lm_run_recorded_free(h, &rec);
  free(applied);
  return rc;
}

int lm_status_read(struct lm_host *h, struct lm_status *st) {
  struct lm_err err;
  int rc;
  memset(st, 0, sizeof *st);
  lm_idset_init(&st->heads);
  lm_idset_init(&st->pending);
  lm_idset_init(&st->edited);
  st->failed = st->data_phase = -1;
  lm_err_clear(&err);
  rc = lm_runner_read_heads(h, &st->heads, 0, NULL);
  if (rc == 0) rc = lm_run_read_blocking_failure(h, &st->failed,
                                                 st->failed_at);
  if (rc == 0 && st->failed < 0)
    rc = lm_run_read_pending_data(h, &st->data_phase);
  if (rc == 0 && lm_graph_count(h->graph) > 0 &&
      lm_graph_plan(h->graph, &st->heads, "heads", LM_UP, &st->pending,
                    &err))
    rc = lm_error("planning the pending revisions: %s", err.msg);
  if (rc == 0) rc = read_edited(h, st);
  if (rc) lm_status_free(st);
  return rc;
}

int lm_status_code(const struct lm_status *st) {
  if (st->failed >= 0 || st->data_phase >= 0) return LM_STATUS_BLOCKED;
  if (st->pending.n > 0) return LM_STATUS_PENDING;
  return LM_STATUS_OK;
}

const char *lm_status_word(const struct lm_status *st) {
  switch (lm_status_code(st)) {
    case LM_STATUS_BLOCKED: return "blocked";
    case LM_STATUS_PENDING: return "pending";
    default: return "ok";
  }
}
