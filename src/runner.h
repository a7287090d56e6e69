/*
** runner.h: applying plans. Each revision runs in its own transaction
** together with its version-table and history rows (or the whole command
** in one, with transaction_per_migration = false). Before every step the
** runner re-reads the version table under the write lock and re-plans if
** another runner moved it, so concurrent runners never apply a revision
** twice. Offline (--sql) runs the same code against the printing backend.
*/
#ifndef LM_RUNNER_H
#define LM_RUNNER_H

#include "graph.h"

struct lm_host;

struct lm_migrate_opts {
  enum lm_direction dir;
  const char *target;     /* the TARGET argument (TO for FROM:TO) */
  const char *from;       /* --sql FROM:TO: assumed starting point, or NULL */
  int offline;            /* --sql */
};

/* Exit status of lm_runner_migrate and lm_runner_stamp after Ctrl-C or
** SIGTERM (lm_interrupted) stopped them: 128 + the signal number, as a
** shell reports it. The runner returns it only after printing its own
** account of the interrupt (what the database holds now, how to go on),
** so the caller need not explain it again. */
#define LM_RUNNER_INTERRUPTED(sig) (128 + (sig))

/* upgrade / downgrade. Connects, plans, runs; returns the exit status (0,
** 1, or LM_RUNNER_INTERRUPTED) and prints its own messages. With --sql
** the script reaches stdout only when the whole run succeeded. */
int lm_runner_migrate(struct lm_host *h, const struct lm_migrate_opts *o);

/* What `stamp` was asked: one or more targets, --purge, --sql and, with
** --sql FROM:TO, the heads it starts from. */
struct lm_stamp_opts {
  const char *const *targets;   /* borrowed; ntargets of them */
  int ntargets;
  const char *from;       /* --sql FROM (NULL: no rows known) */
  int purge;
  int offline;
};

/* stamp TARGET... [--purge] [--sql]: set the version table without running
** scripts. Returns the exit status, as lm_runner_migrate. */
int lm_runner_stamp(struct lm_host *h, const struct lm_stamp_opts *o);

/* Read the version table into heads (graph indices). A missing table is
** no heads. Unknown ids are an error unless unknown_ok, in which case they
** are skipped and counted in *nunknown (may be NULL). Prints its own
** error; returns the exit status. The host must be connected. */
int lm_runner_read_heads(struct lm_host *h, struct lm_idset *heads,
                         int unknown_ok, int *nunknown);

/* Compare applied revisions' recorded checksums with their files; print
** one line per problem (nothing when all match), as a warning with
** as_warning (the check before an upgrade), else as an error. Returns
** the number of problems, or -1 after printing a database error. */
int lm_runner_validate(struct lm_host *h, int as_warning);

/* When the newest history row is a failed non-transactional step whose
** file is unchanged: refuse (print how to recover, return 1) or, with
** refuse = 0, print a status line for `current` and return 0. With
** refuse = 0 and no such failure, print the status line of an unfinished
** data phase, if any. Returns 1 after a database error. */
int lm_runner_check_failure(struct lm_host *h, int refuse);

#endif
