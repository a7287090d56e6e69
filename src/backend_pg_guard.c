/*
** backend_pg_guard.c: the lock-hold guard (max_lock_hold) of the
** PostgreSQL backend. While armed on a transaction it looks, after each
** statement, for the strong locks (ACCESS EXCLUSIVE, SHARE ROW EXCLUSIVE)
** the session holds on relations that existed when it was armed; from the
** first one on, each statement runs under a statement_timeout limited by
** what is left of the budget, and overrunning it fails the statement with
** a report: the table, the lock, the statement, how long, the recipe.
** Invariants: its own queries bypass it (lm_pg_run); a disarmed guard
** leaves the session's statement_timeout as it was configured.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_pg_int.h"
#include "clock.h"
#include "sqlbuf.h"

#define STMT_MAX 120

struct lm_pg_guard {
  int budget_ms;            /* > 0 */
  int base_timeout_ms;      /* the statement_timeout to restore (0: none) */
  int set_ms;               /* statement_timeout the guard last set, -1 none */
  unsigned *oids;           /* owned, sorted: relations existing when armed */
  size_t noids;
  double since;             /* when the strong lock was seen, 0: not yet */
  char table[128];          /* the relation and the lock it holds */
  char mode[32];
  char taker[STMT_MAX + 4]; /* the statement that took it */
};

/* The start of sql on one line (whitespace squashed), at most STMT_MAX
** characters, into out. */
static void stmt_snip(char *out, const char *sql) {
  size_t n = 0;
  int space = 0;
  for (; *sql && n < STMT_MAX; sql++) {
    if (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '\r') {
      space = n > 0;
      continue;
    }
    if (space) out[n++] = ' ';
    space = 0;
    if (n < STMT_MAX) out[n++] = *sql;
  }
  if (*sql) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n] = '\0';
}

static int cmp_oid(const void *a, const void *b) {
  unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
  return x < y ? -1 : x > y;
}

/* The safe recipe for what sql does while the lock is held. */
static const char *recipe(const char *sql) {
  while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '(') sql++;
  if (strncasecmp(sql, "UPDATE", 6) == 0 || strncasecmp(sql, "DELETE", 6) == 0)
    return "move the row changes to the revision's data phase with "
           "op.backfill (batched, no long lock; lint rule "
           "ban-whole-table-update)";
  if (strncasecmp(sql, "CREATE", 6) == 0 && strcasestr(sql, "INDEX"))
    return "build the index with op.create_index(..., { concurrently = "
           "true }) in a revision with transactional = false (lint rule "
           "require-concurrent-index-creation)";
  if (strcasestr(sql, " TYPE ") != NULL)
    return "add a new column, backfill it with op.backfill, then swap "
           "(lint rule changing-column-type)";
  if (strcasestr(sql, "NOT NULL") != NULL)
    return "add CHECK (col IS NOT NULL) with not_valid = true, "
           "op.validate_constraint, then alter_column(nullable = false) "
           "(lint rule adding-not-nullable-field)";
  if (strcasestr(sql, "CONSTRAINT") != NULL)
    return "add the constraint with not_valid = true and validate it with "
           "op.validate_constraint in a later revision (lint rule "
           "constraint-missing-not-valid)";
  return "split the revision so the strong lock is taken by one short "
         "statement in a revision of its own (`lmigrate lint` names the "
         "rule)";
}

/* err = the over-budget report for statement sql after held ms. */
static int report(struct pg_conn *c, const char *sql, double held,
                  struct lm_err *err) {
  struct lm_pg_guard *g = c->guard;
  char snip[STMT_MAX + 4];
  stmt_snip(snip, sql);
  lm_err_set(err, "held %s on table %s for %.1f s, over the lock-hold "
             "budget (max_lock_hold = %.1f s), at \"%s\" (the lock was taken "
             "by \"%s\"); every session using %s waits while it is held, "
             "so the revision is stopped and rolled back. Safe recipe: %s; "
             "or raise --max-lock-hold (0 disables the guard)", g->mode,
             g->table, held / 1000.0, g->budget_ms / 1000.0, snip, g->taker,
             g->table, recipe(sql));
  snprintf(err->sqlstate, sizeof err->sqlstate, "%s", "57014");
  return 1;
}

/* SET LOCAL statement_timeout = ms (0: none) unless it is set already. */
static int set_timeout(struct pg_conn *c, int ms, struct lm_err *err) {
  char sql[64];
  PGresult *res;
  if (c->guard->set_ms == ms) return 0;
  snprintf(sql, sizeof sql, "SET LOCAL statement_timeout = %d", ms);
  if ((res = lm_pg_run(c, sql, 0, NULL, err)) == NULL) return 1;
  c->pq->clear(res);
  c->guard->set_ms = ms;
  return 0;
}

int lm_pg_guard_before(struct pg_conn *c, const char *sql,
                       struct lm_err *err) {
  struct lm_pg_guard *g = c->guard;
  double left;
  int ms;
  if (g == NULL || g->since == 0) return 0;
  left = g->budget_ms - (lm_now_ms() - g->since);
  if (left < 1) return report(c, sql, lm_now_ms() - g->since, err);
  ms = (int)left;
  if (g->base_timeout_ms > 0 && g->base_timeout_ms < ms) ms = g->base_timeout_ms;
  return set_timeout(c, ms, err);
}

/* Look for a strong lock on a pre-existing relation; start the clock. */
static int look(struct pg_conn *c, const char *sql, struct lm_err *err) {
  static const char q[] =
    "SELECT l.relation::pg_catalog.int8, l.relation::pg_catalog.regclass::"
    "pg_catalog.text, l.mode FROM pg_catalog.pg_locks l WHERE l.pid = "
    "pg_catalog.pg_backend_pid() AND l.locktype = 'relation' AND l.granted "
    "AND l.mode IN ('AccessExclusiveLock', 'ShareRowExclusiveLock') "
    "ORDER BY l.mode, l.relation";
  struct lm_pg_guard *g = c->guard;
  PGresult *res = lm_pg_run(c, q, 0, NULL, err);
  int i, n;
  if (res == NULL) return 1;
  n = c->pq->ntuples(res);
  for (i = 0; i < n; i++) {
    unsigned oid = (unsigned)strtoul(c->pq->getvalue(res, i, 0), NULL, 10);
    const char *mode = c->pq->getvalue(res, i, 2);
    if (bsearch(&oid, g->oids, g->noids, sizeof *g->oids, cmp_oid) == NULL)
      continue;      /* created by this revision: nobody else can wait */
    g->since = lm_now_ms();
    snprintf(g->table, sizeof g->table, "%s", c->pq->getvalue(res, i, 1));
    snprintf(g->mode, sizeof g->mode, "%s",
             strcmp(mode, "AccessExclusiveLock") == 0 ? "ACCESS EXCLUSIVE"
                                                      : "SHARE ROW EXCLUSIVE");
    stmt_snip(g->taker, sql);
    break;
  }
  c->pq->clear(res);
  return 0;
}

int lm_pg_guard_after(struct pg_conn *c, const char *sql, int rc,
                      struct lm_err *err) {
  struct lm_pg_guard *g = c->guard;
  if (g == NULL) return rc;
  if (rc) {
    /* A statement_timeout the guard set (below the configured one) is
    ** the budget running out. */
    if (g->since != 0 && g->set_ms > 0 && strcmp(err->sqlstate, "57014") == 0 &&
        (g->base_timeout_ms == 0 || g->set_ms < g->base_timeout_ms))
      return report(c, sql, lm_now_ms() - g->since, err);
    return rc;
  }
  if (g->since == 0) return look(c, sql, err);
  return 0;
}

int lm_pg_hold_guard(struct lm_conn *conn, int budget_ms, int stmt_timeout_ms,
                     struct lm_err *err) {
  static const char q[] =
    "SELECT c.oid::pg_catalog.int8, (SELECT setting FROM pg_catalog."
    "pg_settings WHERE name = 'statement_timeout') FROM pg_catalog.pg_class c "
    "WHERE c.relkind IN ('r', 'p', 'm', 'f')";
  struct pg_conn *c = (struct pg_conn *)conn;
  struct lm_pg_guard *g;
  PGresult *res;
  int i, n;
  lm_pg_guard_free(c);
  if (budget_ms <= 0) return 0;
  if ((res = lm_pg_run(c, q, 0, NULL, err)) == NULL) return 1;
  n = c->pq->ntuples(res);
  g = calloc(1, sizeof *g);
  if (g == NULL || (n > 0 && (g->oids = malloc((size_t)n * sizeof *g->oids)) == NULL)) {
    free(g);
    c->pq->clear(res);
    return lm_err_set(err, "out of memory");
  }
  for (i = 0; i < n; i++)
    g->oids[i] = (unsigned)strtoul(c->pq->getvalue(res, i, 0), NULL, 10);
  g->noids = (size_t)n;
  qsort(g->oids, g->noids, sizeof *g->oids, cmp_oid);
  g->budget_ms = budget_ms;
  g->set_ms = -1;
  g->base_timeout_ms = stmt_timeout_ms >= 0 ? stmt_timeout_ms
                       : n > 0 ? atoi(c->pq->getvalue(res, 0, 1)) : 0;
  c->pq->clear(res);
  c->guard = g;
  return 0;
}

int lm_pg_hold_release(struct lm_conn *conn, struct lm_err *err) {
  struct pg_conn *c = (struct pg_conn *)conn;
  struct lm_pg_guard *g = c->guard;
  int rc = 0;
  if (g == NULL) return 0;
  if (g->since != 0 && lm_now_ms() - g->since > g->budget_ms) {
    rc = report(c, "(the revision's own code, between statements)",
                lm_now_ms() - g->since, err);
  } else if (g->set_ms >= 0 &&
             c->pq->transactionStatus(c->pg) == PQTRANS_INTRANS) {
    rc = set_timeout(c, g->base_timeout_ms, err);
  }
  lm_pg_guard_free(c);
  return rc;
}

void lm_pg_guard_free(struct pg_conn *c) {
  if (c->guard == NULL) return;
  free(c->guard->oids);
  free(c->guard);
  c->guard = NULL;
}
