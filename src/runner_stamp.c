/*
** runner_stamp.c: `stamp TARGET [--purge] [--sql]`: set the version table
** to a target without running any revision code.
** Invariants: under the runner lock and in one transaction, the version
** table ends up holding the target's heads plus the current heads on
** branches the target does not touch (all of them replaced with --purge),
** and the history table gains a 'stamped' row per revision stamped on
** ('up') and per head stamped off ('down'), so that validate and the
** failure check see the change.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "log.h"
#include "runner_int.h"

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
  if (lm_run_init(&r, h, offline)) goto done;
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
  if (lm_run_tx(&r, r.be->begin)) goto done;
  if (lm_run_ensure_tables(&r)) goto rollback;
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
  if (lm_run_delete_heads(&r)) goto rollback;
  /* History: the revisions stamped on, and the heads stamped off. */
  for (i = 0; i < heads.n; i++)
    if (!lm_idset_has(&next, heads.v[i]) &&
        lm_run_write_history(&r, heads.v[i], "down", "stamped", 0, "stamp"))
      goto rollback;
  for (i = 0; i < want.n; i++)
    if (lm_run_write_history(&r, want.v[i], "up", "stamped", 0, "stamp"))
      goto rollback;
  heads.n = 0;
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
