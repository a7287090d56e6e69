/*
** runner_int.h: what the runner's files share and nobody else uses: the
** per-command run context and the functions one runner file calls in
** another. Not for other modules: use runner.h.
**
**   runner.c           lm_runner_migrate: lock, plan, checks, the step loop
**   runner_step.c      one revision step: its transaction, limits and
**                      lock-timeout retries, the data phase, failure records
**   runner_store.c     the version, history and checkpoint tables (all the
**                      runner's SQL on them)
**   runner_hooks.c     config hooks and their context table
**   runner_stamp.c     lm_runner_stamp
**   runner_validate.c  lm_runner_validate, lm_runner_check_failure
*/
#ifndef LM_RUNNER_INT_H
#define LM_RUNNER_INT_H

#include <stddef.h>
#include <stdio.h>

#include "clock.h"
#include "err.h"
#include "graph.h"
#include "runner.h"
#include "sqlbuf.h"

struct lm_backend;
struct lm_conn;
struct lm_host;

/* What one command's run needs besides the host. Lives on the caller's
** stack from lm_run_init to lm_sb_free(&r->sql). */
struct run {
  struct lm_host *h;
  char lock_key[300];           /* "<schema>.<version_table>" */
  struct lm_conn *c;            /* borrowed from h */
  const struct lm_backend *be;  /* borrowed; static */
  const struct lm_graph *g;     /* borrowed from h */
  struct lm_sqlbuf sql;         /* scratch; owned */
  char who[320];                /* "user@host" for history rows */
  int offline;
  int single_tx;                /* one transaction around the whole run */
  enum lm_direction dir;        /* of the command */
  char errmsg[LM_ERRMSG_MAX];   /* the last revision error, for on_error */
  /* The revision being run, for hooks and interrupt reports: */
  int step;                     /* its graph index; -1 between revisions */
  const char *phase;            /* "schema" or "data": the phase the next
                                ** revision hook is about; static */
  long long rows;               /* rows its op.backfill / op.each_batch
                                ** wrote in this run (ctx.rows) */
  int data_done;                /* its data phase (data, data_downgrade)
                                ** finished in this run */
  int reported;                 /* an interrupt's outcome was reported */
  int rewrite_rows;             /* the version table holds rows that are no
                                ** heads (a dependency written by an older
                                ** lmigrate): the next lm_run_write_heads
                                ** rewrites it to exactly the heads */
  int offline_stop;             /* --sql: its data phase emitted a stop
                                ** point; `lmigrate upgrade` writes its
                                ** version rows, not the script */
};

/* --sql output held back until the run has succeeded (see
** lm_run_capture_begin). */
struct lm_capture {
  FILE *tmp;                    /* owned; fclose; NULL when not capturing */
  int saved_fd;                 /* owned; the real stdout, dup()ed */
};

/* ---- runner.c: the run context ---- */

/* Fill r for host h, connecting first when h is not connected yet. r->sql
** is initialised before anything can fail, so the caller always frees it
** with lm_sb_free. Returns 0, or 1 after printing the error. */
int lm_run_init(struct run *r, struct lm_host *h, int offline);
/* Call a transaction method of the backend (begin, commit, rollback);
** prints its error and returns 1 on failure. */
int lm_run_tx(struct run *r, int (*fn)(struct lm_conn *, struct lm_err *));
/* dst = src; 0, or 1 when out of memory. */
int lm_run_copy_heads(struct lm_idset *dst, const struct lm_idset *src);
/* "a1b2c3, d4e5f6" for a message; "<base>" when empty. */
void lm_run_heads_str(const struct lm_graph *g, const struct lm_idset *s,
                      char *out, size_t n);

/* Point stdout (the --sql script, and the runner's comments in it) at a
** temporary file until lm_run_capture_end, so that a run failing midway
** prints no partial script. 0, or 1 after printing the error. */
int lm_run_capture_begin(struct lm_capture *cap);
/* Restore stdout; with publish, copy the captured script to it. Always
** releases cap. 0, or 1 after printing the error (the script was lost). */
int lm_run_capture_end(struct lm_capture *cap, int publish);

/* ---- runner_step.c: one revision ---- */

/* Run step idx of the plan in direction dir; heads is updated on success.
** The caller has already opened the step's own transaction when it needs
** one. data_pending: a previous run got as far as this revision's data
** phase (upgrade: only its data phase and what follows run; downgrade:
** heads counts it as applied although the version table does not, so no
** version row changes). Records a failure itself; returns 0 or 1. */
int lm_run_step(struct run *r, int idx, enum lm_direction dir,
                struct lm_idset *heads, int data_pending);
/* After a failed step: roll back (in_tx), call on_error, record the
** failure in a transaction of its own and say what state the revision is
** left in (after Ctrl-C / SIGTERM too, then setting r->reported).
** direction is the history row's: "up", "down", or "data" for a failed
** data phase (data or data_downgrade). */
void lm_run_record_failure(struct run *r, int idx, const char *direction,
                           double ms, int in_tx);

/* ---- runner_hooks.c ---- */

/* Call config hook `name` when the config defines it (never offline).
** idx >= 0 names the revision (and r->phase, r->rows describe it); error
** is on_error's message or NULL. Returns 0, or 1 after printing the
** hook's error (also kept in r->errmsg). */
int lm_run_hook(struct run *r, const char *name, int idx, double ms,
                const char *error);

/* ---- runner_store.c: the bookkeeping tables ---- */

/* "<schema>.<table>", or "<table>" without a version_table_schema. */
void lm_run_table_name(const struct lm_host *h, const char *table, char *out,
                       size_t n);
/* Create the version and history tables unless the history table exists
** (offline: always, into the script). 0, or 1 after printing the error. */
int lm_run_ensure_tables(struct run *r);
/* lm_runner_read_heads; check_table = 0 skips the existence query when
** the caller knows the table exists (the runner's per-step re-read). */
int lm_run_read_heads(struct lm_host *h, struct lm_idset *heads,
                      int unknown_ok, int *nunknown, int check_table);
/* Delete every version-table row (stamp). 0, or 1 after printing. */
int lm_run_delete_heads(struct run *r);
/* Write the version-table rows that turn heads `from` into `to` (any
** number of them: UPDATEs paired first, then DELETEs or INSERTs); with
** r->rewrite_rows, delete every row and insert `to` instead, once.
** 0, or 1 after printing the error. */
int lm_run_write_heads(struct run *r, const struct lm_idset *from,
                       const struct lm_idset *to);
/* Append one history row for revision idx. duration_ms < 0 records NULL
** (as does offline). 0, or 1 after printing the error. */
int lm_run_write_history(struct run *r, int idx, const char *direction,
                         const char *outcome, double duration_ms,
                         const char *message);
/* After revision idx is downgraded: forget its backfill checkpoints, so
** that upgrading it again walks its tables again. */
int lm_run_clear_checkpoints(struct run *r, int idx);
/* The newest history row, when it records a failed non-transactional
** step whose file is unchanged since: such a revision may be half-applied,
** so the runner refuses to guess. Fills *idx (-1 when nothing blocks) and
** when (the row's started_at). Returns 0, or 1 after a database error. */
int lm_run_read_blocking_failure(struct lm_host *h, int *idx, char when[40]);
/* Name, as an error, the INVALID indexes of c's database (what a failed
** CREATE INDEX CONCURRENTLY leaves), where the backend can tell. */
void lm_run_name_invalid_indexes(struct lm_conn *c);
/* The revision whose data phase a previous run started but did not finish:
** the newest history row among applied/stamped/data rows says 'data'.
** *idx = -1 when there is none. 0, or 1 after a database error. */
int lm_run_read_pending_data(struct lm_host *h, int *idx);

/* Recorded state per revision from the history table: the checksum of the
** last applied or stamped 'up' row, cleared by a later applied 'down'. */
struct recorded {
  char **sums;        /* owned, and each entry; lm_graph_count entries;
                      ** lm_run_recorded_free */
};
/* Fill rec (sums[i] for graph index i). Returns 0, or 1 after printing a
** database error; rec needs lm_run_recorded_free either way. */
int lm_run_read_recorded(struct lm_host *h, struct recorded *rec);
void lm_run_recorded_free(struct lm_host *h, struct recorded *rec);

/* After base revision idx failed on upgrade: when the database holds a
** table lmigrate did not create, print a hint to `lmigrate stamp`
** (runner_hint.c). */
void lm_run_stamp_hint(struct run *r, int idx);

#endif
