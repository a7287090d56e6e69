/*
** backend_pg_error.c: PostgreSQL errors as lmigrate messages: the
** server's primary message with SQLSTATE, DETAIL and HINT, and the
** failing statement (a snippet around the error position, whitespace
** squashed); a COPY the server started is finished so the connection
** stays usable. Shared by the backend's files through backend_pg_int.h.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "backend_pg_int.h"
#include "pg_scan.h"

#define SNIPPET_MAX 200

static PGconn *pg_of(struct lm_conn *c) {
  return ((struct pg_conn *)c)->pg;
}

static const struct lm_pq *pq_of(struct lm_conn *c) {
  return ((struct pg_conn *)c)->pq;
}

/* Copy msg into out (size n) with whitespace runs collapsed and the ends
** trimmed; libpq messages end in '\n' and continue on tab-indented lines. */
void lm_pg_squash(char *out, size_t n, const char *msg) {
  size_t k = 0;
  int space = 0;
  for (; *msg && k + 1 < n; msg++) {
    if (isspace((unsigned char)*msg)) {
      space = 1;
      continue;
    }
    if (space && k > 0 && k + 2 < n) out[k++] = ' ';
    space = 0;
    out[k++] = *msg;
  }
  out[k] = '\0';
}

/* The statement from p to end (NULL: to the NUL), whitespace collapsed and
** cut after SNIPPET_MAX bytes, into snip (SNIPPET_MAX + 4 bytes). */
static void snippet(char *snip, const char *p, const char *end) {
  size_t n = 0;
  int space = 0;
  if (end == NULL) end = p + strlen(p);
  while (p < end && isspace((unsigned char)*p)) p++;
  while (end > p && (isspace((unsigned char)end[-1]) || end[-1] == ';'))
    end--;
  for (; p < end && n < SNIPPET_MAX; p++) {
    if (isspace((unsigned char)*p)) {
      space = 1;
      continue;
    }
    if (space && n > 0) snip[n++] = ' ';
    space = 0;
    if (n < SNIPPET_MAX) snip[n++] = *p;
  }
  if (p < end) {
    memcpy(snip + n, "...", 3);
    n += 3;
  }
  snip[n] = '\0';
}

/* Byte offset of the 1-based character position pos in s (UTF-8). */
static size_t char_offset(const char *s, long pos) {
  size_t i = 0;
  long chars = 0;
  for (; s[i]; i++) {
    if (((unsigned char)s[i] & 0xc0) != 0x80 && ++chars == pos) return i;
  }
  return i;
}

/* Fill err from a failed result (res may be NULL: the connection's error):
** "primary DETAIL: .. HINT: .. (in \"<start of the statement>\")", with
** the SQLSTATE in err->sqlstate. sql may be NULL (no snippet). Returns 1. */
static int pg_error(struct lm_conn *c, const PGresult *res, const char *sql,
                    struct lm_err *err) {
  char primary[LM_ERRMSG_MAX], detail[LM_ERRMSG_MAX / 2];
  char hint[LM_ERRMSG_MAX / 2], snip[SNIPPET_MAX + 4];
  const struct lm_pq *pq = pq_of(c);
  const char *f, *state = NULL;

  detail[0] = hint[0] = snip[0] = '\0';
  f = res ? pq->resultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  if (f != NULL) {
    lm_pg_squash(primary, sizeof primary, f);
    if ((f = pq->resultErrorField(res, PG_DIAG_MESSAGE_DETAIL)) != NULL)
      lm_pg_squash(detail, sizeof detail, f);
    if ((f = pq->resultErrorField(res, PG_DIAG_MESSAGE_HINT)) != NULL)
      lm_pg_squash(hint, sizeof hint, f);
    state = pq->resultErrorField(res, PG_DIAG_SQLSTATE);
  } else {
    f = res ? pq->resultErrorMessage(res) : NULL;
    if (f == NULL || *f == '\0') f = pq->errorMessage(pg_of(c));
    lm_pg_squash(primary, sizeof primary, f);
    if (primary[0] == '\0')
      snprintf(primary, sizeof primary, "%s", "unknown PostgreSQL error");
  }
  if (pq->status(pg_of(c)) == CONNECTION_BAD &&
      strstr(primary, "connection") == NULL)
    snprintf(primary + strlen(primary), sizeof primary - strlen(primary),
             " (connection to the server lost)");
  if (sql != NULL) {
    struct lm_pg_scan sc;
    const char *pos =
      res ? pq->resultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
    memset(&sc, 0, sizeof sc);
    sc.want = pos ? char_offset(sql, atol(pos)) : 0;
    lm_pg_scan(sql, &sc);
    if (sc.want_start != NULL) snippet(snip, sc.want_start, sc.want_end);
    else snippet(snip, sql, NULL);
  }
  if (err != NULL) {
    err->code = 1;
    if (state != NULL) snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state);
  }
  return lm_err_set(err, "%s%s%s%s%s%s%s%s", primary,
                    detail[0] ? " DETAIL: " : "", detail,
                    hint[0] ? " HINT: " : "", hint,
                    sql ? " (in \"" : "", sql ? snip : "", sql ? "\")" : "");
}

/* Finish a COPY the server started (we have no data to give or take) so
** the connection stays usable. */
static void abandon_copy(struct lm_conn *c, ExecStatusType st) {
  const struct lm_pq *pq = pq_of(c);
  PGconn *pg = pg_of(c);
  PGresult *r;
  char *buf;
  if (st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)
    pq->putCopyEnd(pg, "COPY is not supported by lmigrate's exec");
  if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH)
    while (pq->getCopyData(pg, &buf, 0) > 0) pq->freemem(buf);
  while ((r = pq->getResult(pg)) != NULL) pq->clear(r);
}

/* 0 when res is a success (rows or a command), else err filled. */
int lm_pg_check_result(struct lm_conn *c, PGresult *res, const char *sql,
                        struct lm_err *err) {
  ExecStatusType st = res ? pq_of(c)->resultStatus(res) : PGRES_FATAL_ERROR;
  switch (st) {
  case PGRES_COMMAND_OK:
  case PGRES_TUPLES_OK:
  case PGRES_EMPTY_QUERY:
    return 0;
  case PGRES_COPY_IN:
  case PGRES_COPY_OUT:
  case PGRES_COPY_BOTH:
    abandon_copy(c, st);
    return lm_err_set(err, "COPY FROM STDIN / TO STDOUT cannot run through "
                      "lmigrate; use INSERT or COPY with a server-side file");
  default:
    return pg_error(c, res, sql, err);
  }
}
