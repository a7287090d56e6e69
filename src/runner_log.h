/*
** runner_log.h: reading the history table back for `lmigrate log`,
** `status` and their --json forms. Read-only.
*/
#ifndef LM_RUNNER_LOG_H
#define LM_RUNNER_LOG_H

struct lm_host;

/* One history row. Strings are owned (NULL for SQL NULL). */
struct lm_log_row {
  long long id;
  char *revision;       /* owned */
  char *direction;      /* owned: "up" or "down" */
  char *started_at;     /* owned: "2026-11-23 08:12:33.123Z" */
  long long duration_ms;  /* -1 when NULL (offline scripts, stamps) */
  char *run_by;         /* owned */
  char *outcome;        /* owned: applied, stamped, failed, data */
  char *message;        /* owned: the error of a failed step, or NULL */
};

/* The newest `limit` history rows (all with limit <= 0), newest first,
** into *rows (caller frees with lm_log_rows_free) and *n. A missing
** history table is no rows. Prints its own error; returns 0 or 1. The
** host must be connected. */
int lm_runner_read_log(struct lm_host *h, long long limit,
                       struct lm_log_row **rows, int *n);
void lm_log_rows_free(struct lm_log_row *rows, int n);   /* NULL-safe */

#endif
