/*
** backend_pg_lag.c: the replicas() method of the PostgreSQL backend
** (backend.h): where streaming replicas are in replaying the primary's
** WAL. On a primary it reads pg_stat_replication (one row per walsender
** whose client replays: pg_basebackup's and pg_receivewal's streams have
** no replay position and are left out); on a replica it reads
** pg_last_wal_receive_lsn() / pg_last_wal_replay_lsn(). LSNs travel as
** bytes from 0/0 (pg_wal_lsn_diff), so positions of a primary and of its
** replicas compare directly. The queries run on the caller's session, in
** autocommit, and are cancelled by Ctrl-C like every other statement.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_pg_int.h"

/* "123" -> 123, NULL / "" -> -1. */
static long long lsn_of(const char *s) {
  return s != NULL && *s ? strtoll(s, NULL, 10) : -1;
}

/* The primary's view: one row per replica, or one row of NULLs after the
** WAL position when there is none. A row whose state is NULL is one the
** user may not read (needs pg_monitor / pg_read_all_stats): it is kept
** with replay_lsn -1, so the caller can say so. */
static int primary(struct pg_conn *c, long long *wal_lsn,
                   struct lm_replica *out, int max, int *n,
                   struct lm_err *err) {
  static const char q[] =
    "SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), "
    "'0/0')::bigint, r.pid, coalesce(nullif(r.application_name, ''), "
    "'replica') || coalesce(' at ' || pg_catalog.host(r.client_addr), ''), "
    "pg_catalog.pg_wal_lsn_diff(r.replay_lsn, '0/0')::bigint, "
    "extract(epoch FROM r.replay_lag) FROM (SELECT 1) AS one LEFT JOIN "
    "pg_catalog.pg_stat_replication AS r ON r.state IS NULL OR "
    "r.replay_lsn IS NOT NULL ORDER BY r.pid";
  PGresult *res = lm_pg_run(c, q, 0, NULL, err);
  int i, rows;
  if (res == NULL) return 1;
  rows = c->pq->ntuples(res);
  *wal_lsn = rows > 0 ? lsn_of(c->pq->getvalue(res, 0, 0)) : -1;
  for (i = 0; i < rows && *n < max; i++) {
    struct lm_replica *r = &out[*n];
    if (c->pq->getisnull(res, i, 1)) continue;      /* no replica */
    snprintf(r->name, sizeof r->name, "%s", c->pq->getvalue(res, i, 2));
    r->replay_lsn = lsn_of(c->pq->getvalue(res, i, 3));
    r->replay_lag_s = c->pq->getisnull(res, i, 4)
                        ? -1 : strtod(c->pq->getvalue(res, i, 4), NULL);
    (*n)++;
  }
  c->pq->clear(res);
  return 0;
}

/* The replica's own view; an error when the server is not in recovery. */
static int standby(struct pg_conn *c, long long *wal_lsn,
                   struct lm_replica *out, int *n, struct lm_err *err) {
  static const char q[] =
    "SELECT pg_catalog.pg_is_in_recovery(), pg_catalog.pg_wal_lsn_diff("
    "pg_catalog.pg_last_wal_receive_lsn(), '0/0')::bigint, "
    "pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_last_wal_replay_lsn(), "
    "'0/0')::bigint";
  PGresult *res = lm_pg_run(c, q, 0, NULL, err);
  if (res == NULL) return 1;
  if (c->pq->getvalue(res, 0, 0)[0] != 't') {
    c->pq->clear(res);
    return lm_err_set(err, "it is not a replica (pg_is_in_recovery() is "
                      "false): list only streaming replicas (standbys) in "
                      "replica_urls, not the primary");
  }
  memset(out, 0, sizeof *out);
  *wal_lsn = lsn_of(c->pq->getvalue(res, 0, 1));
  out->replay_lsn = lsn_of(c->pq->getvalue(res, 0, 2));
  out->replay_lag_s = -1;
  *n = 1;
  c->pq->clear(res);
  return 0;
}

int lm_pg_replicas(struct lm_conn *conn, int is_standby, long long *wal_lsn,
                   struct lm_replica *out, int max, int *n,
                   struct lm_err *err) {
  struct pg_conn *c = (struct pg_conn *)conn;
  *n = 0;
  *wal_lsn = -1;
  if (max < 1) return lm_err_set(err, "replicas: no room for a replica");
  if (is_standby) return standby(c, wal_lsn, out, n, err);
  return primary(c, wal_lsn, out, max, n, err);
}
