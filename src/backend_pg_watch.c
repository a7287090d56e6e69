/*
** backend_pg_watch.c: who is in the way, and what was left behind, on
** PostgreSQL. While a statement waits for a lock past half the lock
** timeout, a session of lmigrate's own (application_name
** lmigrate-watch, opened on first need and kept) asks pg_blocking_pids()
** who blocks it and warns at once with each blocker's pid, user,
** application, state, transaction age and first 200 characters of query;
** a lock-timeout error then names those pids. Also: the INVALID indexes
** (pg_index.indisvalid) a failed CREATE INDEX CONCURRENTLY leaves.
** Invariants: the watch never touches the main session's transaction;
** its own failures are silent (it only adds information).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_pg_int.h"
#include "log.h"
#include "sqlbuf.h"

/* The watch's own session, connected on first use; NULL when it cannot
** connect (the watch then stays quiet). */
static PGconn *side(struct pg_conn *c) {
  static const char *const keys[] = { "dbname", "application_name", NULL };
  const char *vals[3];
  if (c->side != NULL) {
    if (c->pq->status(c->side) == CONNECTION_OK) return c->side;
    c->pq->finish(c->side);
    c->side = NULL;
  }
  if (c->conninfo == NULL) return NULL;
  vals[0] = c->conninfo;
  vals[1] = "lmigrate-watch";
  vals[2] = NULL;
  c->side = c->pq->connectdbParams(keys, vals, 1);
  if (c->side != NULL && c->pq->status(c->side) != CONNECTION_OK) {
    c->pq->finish(c->side);
    c->side = NULL;
  }
  return c->side;
}

void lm_pg_watch(struct pg_conn *c, double busy_ms, int *done) {
  static const char q[] =
    "SELECT a.pid, coalesce(a.usename, ''), coalesce(a.application_name, "
    "''), coalesce(a.state, ''), coalesce(round(extract(epoch FROM "
    "pg_catalog.now() - a.xact_start)::numeric, 1)::text, '?'), "
    "coalesce(extract(epoch FROM pg_catalog.now() - a.xact_start) * 1000 > "
    "$2::int, false), pg_catalog.left(pg_catalog.regexp_replace(coalesce("
    "a.query, ''), '\\s+', ' ', 'g'), 200), coalesce((SELECT pg_catalog."
    "string_agg(DISTINCT l.relation::pg_catalog.regclass::text, ', ') FROM "
    "pg_catalog.pg_locks l WHERE l.pid = $1::int AND NOT l.granted AND "
    "l.relation IS NOT NULL), '') FROM pg_catalog.pg_stat_activity a WHERE "
    "a.pid = ANY (pg_catalog.pg_blocking_pids($1::int)) ORDER BY a.pid";
  char pid[16], limit[16];
  const char *vals[2];
  struct lm_sqlbuf sb;
  size_t plen = 0;
  PGconn *s;
  PGresult *res;
  int i, n;
  if (busy_ms < c->wait_limit_ms / 2.0) return;
  *done = 1;
  if ((s = side(c)) == NULL) return;
  snprintf(pid, sizeof pid, "%d", c->pid);
  snprintf(limit, sizeof limit, "%d", c->wait_limit_ms);
  vals[0] = pid;
  vals[1] = limit;
  res = c->pq->execParams(s, q, 2, NULL, vals, NULL, NULL, 0);
  if (res == NULL || c->pq->resultStatus(res) != PGRES_TUPLES_OK ||
      (n = c->pq->ntuples(res)) == 0) {
    c->pq->clear(res);
    return;
  }
  lm_sb_init(&sb);
  lm_sb_printf(&sb, "waiting %.0f ms for a lock%s%s (lock timeout %d ms), "
               "blocked by %d session%s:", busy_ms,
               *c->pq->getvalue(res, 0, 7) ? " on " : "",
               c->pq->getvalue(res, 0, 7), c->wait_limit_ms, n,
               n == 1 ? "" : "s");
  for (i = 0; i < n; i++) {
    const char *p = c->pq->getvalue(res, i, 0);
    lm_sb_printf(&sb, "\n  pid %s  user %s  application %s  state %s  "
                 "transaction age %s s%s\n    query: %s", p,
                 c->pq->getvalue(res, i, 1), c->pq->getvalue(res, i, 2),
                 c->pq->getvalue(res, i, 3), c->pq->getvalue(res, i, 4),
                 c->pq->getvalue(res, i, 5)[0] == 't'
                   ? " (older than the lock timeout: it will not let go in "
                     "time; ask its owner, or pg_terminate_backend(pid))"
                   : "",
                 c->pq->getvalue(res, i, 6));
    if (plen + strlen(p) + 8 < sizeof c->blockers)
      plen += (size_t)snprintf(c->blockers + plen, sizeof c->blockers - plen,
                               "%s%s", plen ? ", " : "pid ", p);
  }
  c->pq->clear(res);
  if (lm_sb_ok(&sb)) lm_warn("%s", lm_sb_str(&sb));
  lm_sb_free(&sb);
}

void lm_pg_watch_note(struct pg_conn *c, struct lm_err *err) {
  size_t len;
  if (err == NULL || c->blockers[0] == '\0' ||
      strcmp(err->sqlstate, "55P03") != 0)
    return;
  len = strlen(err->msg);
  snprintf(err->msg + len, sizeof err->msg - len,
           " (blocked by %s: see the warning above)", c->blockers);
}

void lm_pg_watch_close(struct pg_conn *c) {
  if (c->side != NULL) c->pq->finish(c->side);
  c->side = NULL;
}

int lm_pg_invalid_indexes(struct lm_conn *conn, char *out, size_t n,
                          struct lm_err *err) {
  static const char q[] =
    "SELECT pg_catalog.string_agg(pg_catalog.format('%s on %s', "
    "i.indexrelid::pg_catalog.regclass, i.indrelid::pg_catalog.regclass), "
    "', ' ORDER BY i.indexrelid) FROM pg_catalog.pg_index i WHERE NOT "
    "i.indisvalid";
  struct pg_conn *c = (struct pg_conn *)conn;
  PGresult *res = lm_pg_run(c, q, 0, NULL, err);
  if (res == NULL) return 1;
  snprintf(out, n, "%s", c->pq->getisnull(res, 0, 0) ? ""
                         : c->pq->getvalue(res, 0, 0));
  c->pq->clear(res);
  return 0;
}
