/*
** backend_pg_int.h: what the PostgreSQL backend's files share (private to
** backend_pg.c, backend_pg_error.c, backend_pg_guard.c, backend_pg_watch.c
** and backend_pg_lag.c): the connection struct, errors, one-statement
** execution, the lock-hold guard, the lock-wait watch (who blocks us,
** INVALID indexes) and the replicas' replay positions.
*/
#ifndef LM_BACKEND_PG_INT_H
#define LM_BACKEND_PG_INT_H

#include <libpq-fe.h>

#include "backend.h"
#include "pq.h"

struct lm_pg_guard;

struct pg_conn {
  struct lm_conn base;   /* must be first */
  struct lm_pq *pq;      /* owned (one reference); libpq's functions */
  PGconn *pg;            /* owned; PQfinish */
  PGcancel *cancel;      /* owned; PQfreeCancel; NULL if libpq had none */
  int lock_timeout_ms;
  int locks;             /* advisory locks taken by lock() and not released */
  int pid;               /* the server process of pg (pg_backend_pid()) */
  char *conninfo;        /* owned: the URL, for the watch's own session */
  PGconn *side;          /* owned; NULL until the watch first needs it */
  int wait_limit_ms;     /* lock_timeout last set by set_limits (0: none):
                         ** a statement busy for half of it is looked at */
  int wait_local;        /* it was SET LOCAL: it ends with the transaction */
  char blockers[128];    /* "pid 123, 456" of the last statement's
                         ** blockers ("" none), for its lock-timeout error */
  struct lm_pg_guard *guard; /* owned; NULL while no hold guard is armed */
};

/* Errors (backend_pg_error.c). lm_pg_squash copies msg into out (size n)
** with whitespace runs collapsed and the ends trimmed. lm_pg_check_result
** returns 0 when res is a success (rows, a command, an empty query), else
** fills err with the server's message, SQLSTATE, DETAIL, HINT and a
** snippet of sql (NULL: none) around the error position; a COPY the
** server started is finished first. */
void lm_pg_squash(char *out, size_t n, const char *msg);
int lm_pg_check_result(struct lm_conn *c, PGresult *res, const char *sql,
                       struct lm_err *err);

/* Run one statement on c (parameters bound); the result is the caller's
** (PQclear), or NULL with err filled when it failed. Bypasses the guard
** and the watch (they use it for their own queries). */
PGresult *lm_pg_run(struct pg_conn *c, const char *sql, int nparams,
                    const struct lm_value *params, struct lm_err *err);

/* The hold guard (backend_pg_guard.c). Around each statement the backend
** runs while a guard is armed: before() limits its statement_timeout to
** what is left of the budget (an error when nothing is); after() (rc: the
** statement's result, err its error) starts the clock when the backend
** first holds a strong lock on a table that existed when the guard was
** armed, and turns a statement_timeout the guard set into its report.
** Both do nothing when c->guard is NULL. */
int lm_pg_guard_before(struct pg_conn *c, const char *sql, struct lm_err *err);
int lm_pg_guard_after(struct pg_conn *c, const char *sql, int rc,
                      struct lm_err *err);
int lm_pg_hold_guard(struct lm_conn *c, int budget_ms, int stmt_timeout_ms,
                     struct lm_err *err);
int lm_pg_hold_release(struct lm_conn *c, struct lm_err *err);
void lm_pg_guard_free(struct pg_conn *c);

/* The lock-wait watch (backend_pg_watch.c). lm_pg_watch is called while a
** statement has been busy for busy_ms; once per statement, past half the
** lock timeout, it asks (on a session of its own) who blocks c and warns
** with their pid, user, application, state, transaction age and query.
** lm_pg_watch_note appends the blockers to a lock-timeout error. */
void lm_pg_watch(struct pg_conn *c, double busy_ms, int *done);
void lm_pg_watch_note(struct pg_conn *c, struct lm_err *err);
void lm_pg_watch_close(struct pg_conn *c);
int lm_pg_invalid_indexes(struct lm_conn *c, char *out, size_t n,
                          struct lm_err *err);

/* The replicas() method (backend_pg_lag.c; see backend.h). */
int lm_pg_replicas(struct lm_conn *c, int standby, long long *wal_lsn,
                   struct lm_replica *out, int max, int *n,
                   struct lm_err *err);

#endif
