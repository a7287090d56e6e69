/*
** backend.h: the database backend interface (a vtable per database).
** A third database is one new backend_*.c plus its dialect_*.c. Backends are
** pure C: they never touch Lua, they fill struct lm_err and return non-zero.
** Callers never test which backend they hold; differences are flags here.
*/
#ifndef LM_BACKEND_H
#define LM_BACKEND_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

struct lm_url;
struct lm_dialect;

/* A SQL value crossing the C boundary. Strings/blobs are borrowed: a
** parameter borrows from the caller, a cursor column is valid until the
** next step/close of its cursor. */
enum lm_vtype { LM_VNULL, LM_VINT, LM_VFLOAT, LM_VTEXT, LM_VBLOB, LM_VBOOL };

struct lm_value {
  enum lm_vtype type;
  long long i;        /* LM_VINT; LM_VBOOL (0/1) */
  double f;           /* LM_VFLOAT */
  const char *s;      /* LM_VTEXT/LM_VBLOB, borrowed; not NUL-terminated for blobs */
  size_t n;           /* length of s in bytes */
};

/* One streaming replica as the replicas() method sees it. */
struct lm_replica {
  char name[96];          /* "walreceiver at 127.0.0.1" (primary view);
                          ** "" for standby = 1 (the caller names it) */
  long long replay_lsn;   /* WAL replayed, in bytes from 0/0; -1 when the
                          ** user may not read it */
  double replay_lag_s;    /* the server's own measure (pg_stat_replication.
                          ** replay_lag), -1 when NULL or not available */
};

/* Every backend connection starts with this header (the backend's own
** struct embeds it as its first member). */
struct lm_conn {
  const struct lm_backend *be;        /* the vtable; static */
  const struct lm_dialect *dialect;   /* SQL rendering for this database; static */
};

/* A result being read; backend cursors embed this first. */
struct lm_cursor {
  struct lm_conn *conn;               /* borrowed */
};

/* Options given to connect. */
struct lm_connect_opts {
  int lock_timeout_ms;  /* how long to wait for a lock / busy database */
  FILE *out;            /* offline backend: where SQL goes (stdout) */
  int must_exist;       /* SQLite: a missing database file is an error, not
                        ** created (commands that only read); 0 creates it */
};

struct lm_backend {
  /* "sqlite", "postgresql", "offline" */
  const char *name;
  /* 1 when DDL is transactional (a failed revision leaves no trace) */
  unsigned has_transactional_ddl : 1;
  /* 1 when lock() holds a session-wide lock for the whole run (PostgreSQL
  ** advisory lock): no other runner can move the version table meanwhile,
  ** so the runner need not re-read it before every step */
  unsigned has_session_lock : 1;
  /* 1 for the --sql backend: exec prints, query fails */
  unsigned is_offline : 1;

  /* Open a connection for url. On success *out is owned by the caller and
  ** released with close(). */
  int (*connect)(const struct lm_url *url, const struct lm_connect_opts *opts,
                 struct lm_conn **out, struct lm_err *err);
  /* Release c and everything it owns; close(NULL) is a no-op. */
  void (*close)(struct lm_conn *c);
  /* Run sql (one or more statements; parameters $1..$N bound on every
  ** statement that uses them). *changes (may be NULL) gets the rows
  ** changed by the last statement. */
  int (*exec)(struct lm_conn *c, const char *sql, int nparams,
              const struct lm_value *params, long long *changes,
              struct lm_err *err);
  /* Start a single-statement query; *out is owned by the caller and must
  ** be released with cursor_close (also after an error from step). */
  int (*query)(struct lm_conn *c, const char *sql, int nparams,
               const struct lm_value *params, struct lm_cursor **out,
               struct lm_err *err);
  /* Advance: 1 a row is available, 0 done, -1 error (err filled). */
  int (*cursor_step)(struct lm_cursor *cur, struct lm_err *err);
  int (*cursor_ncols)(struct lm_cursor *cur);
  /* Column name, borrowed until cursor_close. */
  const char *(*cursor_colname)(struct lm_cursor *cur, int i);
  /* Column i of the current row into *v (borrowed until the next step). */
  void (*cursor_value)(struct lm_cursor *cur, int i, struct lm_value *v);
  /* Release cur; cursor_close(NULL) is a no-op. */
  void (*cursor_close)(struct lm_cursor *cur);

  /* Transactions. begin takes the database's write lock where that is how
  ** the backend serialises runners (SQLite: BEGIN IMMEDIATE, waiting up to
  ** lock_timeout_ms). */
  int (*begin)(struct lm_conn *c, struct lm_err *err);
  int (*commit)(struct lm_conn *c, struct lm_err *err);
  int (*rollback)(struct lm_conn *c, struct lm_err *err);
  /* Session-wide runner lock keyed by name (PostgreSQL advisory lock);
  ** a no-op where begin already serialises. */
  int (*lock)(struct lm_conn *c, const char *key, struct lm_err *err);
  int (*unlock)(struct lm_conn *c, const char *key, struct lm_err *err);
  /* Interrupt a running statement; safe to call from a Lua hook. */
  void (*cancel)(struct lm_conn *c);
  /* Optional (NULL where the database has no such settings, e.g. SQLite):
  ** per-revision safety limits in ms, 0 = no limit, -1 = leave the
  ** server's setting: how long a statement may wait for a lock, and how
  ** long it may run. local = 1 applies them to the open transaction only
  ** (SET LOCAL); local = 0 to the session (non-transactional revisions),
  ** where -1 resets the setting to the server's default. */
  int (*set_limits)(struct lm_conn *c, int lock_timeout_ms,
                    int statement_timeout_ms, int local, struct lm_err *err);
  /* SQLSTATE a statement fails with when its lock wait timed out (a step
  ** the runner may retry), or NULL when the backend reports none. */
  const char *lock_timeout_sqlstate;
  /* *exists = 1 when table (in schema, NULL = default) exists. */
  int (*table_exists)(struct lm_conn *c, const char *schema, const char *table,
                      int *exists, struct lm_err *err);
  /* Optional (NULL where tables have no strong locks to watch): arm the
  ** lock-hold guard on the open transaction. From the moment the
  ** connection first holds ACCESS EXCLUSIVE or SHARE ROW EXCLUSIVE on a
  ** table that existed when it was armed, every statement runs under a
  ** statement_timeout limited by what is left of budget_ms (and by
  ** stmt_timeout_ms, -1 = the server's setting), and one that would run
  ** past it fails with a report naming the table, the lock, the statement
  ** and how long it was held. hold_release disarms it (restoring the
  ** statement_timeout); it fails with that report when the budget was
  ** overrun between statements. */
  int (*hold_guard)(struct lm_conn *c, int budget_ms, int stmt_timeout_ms,
                    struct lm_err *err);
  int (*hold_release)(struct lm_conn *c, struct lm_err *err);
  /* Optional: the indexes a failed CREATE INDEX CONCURRENTLY left INVALID
  ** ("\"ix\" on \"t\", ..." into out, "" when none). */
  int (*invalid_indexes)(struct lm_conn *c, char *out, size_t n,
                         struct lm_err *err);
  /* Optional (NULL where the database has no streaming replicas: SQLite,
  ** offline). standby = 0: c is a primary; *wal_lsn = its WAL position
  ** (pg_current_wal_lsn, bytes from 0/0) and out[0..*n) the replicas
  ** that stream from it and replay (at most max). standby = 1: c is
  ** itself a replica; *wal_lsn = the WAL it received (-1 unknown) and
  ** out[0] (*n = 1) its replay position; an error when c is not in
  ** recovery. */
  int (*replicas)(struct lm_conn *c, int standby, long long *wal_lsn,
                  struct lm_replica *out, int max, int *n,
                  struct lm_err *err);
};

extern const struct lm_backend lm_backend_sqlite;
extern const struct lm_backend lm_backend_pg;
extern const struct lm_backend lm_backend_offline;

/* The backend for url (offline when `offline` is set). NULL with err filled
** when no backend handles the URL's scheme. */
const struct lm_backend *lm_backend_for_url(const struct lm_url *url,
                                            int offline, struct lm_err *err);

#endif
