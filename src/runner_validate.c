/*
** runner_validate.c: checking what the history table recorded against the
** revision files as they are now: lm_runner_validate (applied revisions
** whose file changed since) and lm_runner_check_failure (a failed
** non-transactional step that may be half-applied, or an unfinished data
** phase).
** Invariants: read-only; never opens a transaction or takes the lock (the
** caller may hold both); prints its own messages.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "host.h"
#include "log.h"
#include "runner_int.h"

void lm_run_name_invalid_indexes(struct lm_conn *c) {
  char list[512];
  struct lm_err err;
  lm_err_clear(&err);
  if (c == NULL || c->be->invalid_indexes == NULL ||
      c->be->invalid_indexes(c, list, sizeof list, &err) || list[0] == '\0')
    return;
  lm_error("INVALID index left by a failed CREATE INDEX CONCURRENTLY: %s. "
           "It slows every write to its table and answers no query: drop it "
           "(op.drop_index(name, { concurrently = true, if_exists = true }) "
           "or DROP INDEX CONCURRENTLY) before building it again", list);
}

/* The FAILED state of `validate`: a failed non-transactional revision
** blocks the next upgrade; say so as an error. 1 when there is one. */
static int failed_state(struct lm_host *h) {
  char when[40];
  int idx;
  if (lm_run_read_blocking_failure(h, &idx, when) || idx < 0) return 0;
  lm_error("revision %s (%s) is FAILED since %s: non-transactional, it may "
           "be partly applied, and `lmigrate upgrade` refuses to run until "
           "it is resolved (finish or undo its work, then `lmigrate stamp`, "
           "or make it idempotent and re-run)",
           lm_graph_rev(h->graph, idx)->id, lm_graph_rev(h->graph, idx)->path,
           when);
  lm_run_name_invalid_indexes(h->conn);
  return 1;
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
  if (lm_run_read_recorded(h, &rec)) {
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
  problems += unknown;     /* each was named by lm_runner_read_heads */
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
  if (!as_warning) problems += failed_state(h);
done:
  lm_run_recorded_free(h, &rec);
  free(applied);
  lm_idset_free(&heads);
  return problems;
}

int lm_runner_check_failure(struct lm_host *h, int refuse) {
  char when[40];
  int idx;
  const struct lm_revision *rev;
  if (lm_run_read_blocking_failure(h, &idx, when)) return 1;
  if (idx < 0 && !refuse) {
    if (lm_run_read_pending_data(h, &idx)) return 1;
    if (idx >= 0)
      printf("%s (in data phase: schema applied, data not finished; "
             "`lmigrate upgrade` resumes it, a downgrade below it backs it "
             "out)\n", lm_graph_rev(h->graph, idx)->id);
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
