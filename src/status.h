/*
** status.h: where a database stands against the project, gathered once
** for `lmigrate status` (text and --json) and the Lua API: current heads,
** a blocking failure or unfinished data phase, pending revisions, and
** applied revisions whose file changed since.
*/
#ifndef LM_STATUS_H
#define LM_STATUS_H

#include "graph.h"

struct lm_host;

/* Exit statuses of `lmigrate status` (docs/cli.md). */
enum { LM_STATUS_OK = 0, LM_STATUS_PENDING = 3, LM_STATUS_BLOCKED = 4 };

struct lm_status {
  struct lm_idset heads;      /* owned: the version table, graph indices */
  int failed;                 /* graph index of a FAILED non-transactional
                              ** revision, or -1 */
  char failed_at[40];         /* its history row's started_at */
  int data_phase;             /* graph index left in its data phase, or -1 */
  struct lm_idset pending;    /* owned: what `upgrade heads` would run */
  struct lm_idset edited;     /* owned: applied revisions whose file
                              ** changed since */
  char **applied_sums;        /* owned, parallel to edited: the checksum
                              ** recorded when each was applied */
};

/* Fill st from the connected database. Prints its own error and returns
** 1 on failure (st is freed then), else 0; free with lm_status_free. */
int lm_status_read(struct lm_host *h, struct lm_status *st);
void lm_status_free(struct lm_status *st);
/* The exit status st stands for: LM_STATUS_BLOCKED, _PENDING or _OK. */
int lm_status_code(const struct lm_status *st);
/* "ok", "pending" or "blocked". */
const char *lm_status_word(const struct lm_status *st);

#endif
