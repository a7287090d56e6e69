/*
** runner_log.c: the history table read back, newest first (runner_log.h).
** Invariants: read-only, no transaction, the table name quoted through the
** dialect and the limit bound as a parameter.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "dialect.h"
#include "host.h"
#include "log.h"
#include "runner_log.h"
#include "sqlbuf.h"

/* A copy of a text (or integer) column value; NULL for SQL NULL. */
static char *dup_value(const struct lm_value *v, int *oom) {
  char buf[32];
  char *s = NULL;
  if (v->type == LM_VTEXT) s = strndup(v->s, v->n);
  else if (v->type == LM_VINT) {
    snprintf(buf, sizeof buf, "%lld", v->i);
    s = strdup(buf);
  } else
    return NULL;
  if (s == NULL) *oom = 1;
  return s;
}

static long long int_value(const struct lm_value *v, long long dflt) {
  if (v->type == LM_VINT) return v->i;
  if (v->type == LM_VTEXT && v->n > 0 && v->n < 32) {
    char buf[32];
    memcpy(buf, v->s, v->n);
    buf[v->n] = '\0';
    return strtoll(buf, NULL, 10);
  }
  return dflt;
}

void lm_log_rows_free(struct lm_log_row *rows, int n) {
  int i;
  for (i = 0; rows && i < n; i++) {
    free(rows[i].revision);
    free(rows[i].direction);
    free(rows[i].started_at);
    free(rows[i].run_by);
    free(rows[i].outcome);
    free(rows[i].message);
  }
  free(rows);
}

/* Append one row from the cursor to *rows; 0, or 1 on OOM. */
static int push_row(const struct lm_backend *be, struct lm_cursor *cur,
                    struct lm_log_row **rows, int *n, int *cap) {
  struct lm_value v[8];
  struct lm_log_row *r;
  int i, oom = 0;
  if (*n == *cap) {
    int nc = *cap ? *cap * 2 : 16;
    struct lm_log_row *p = realloc(*rows, (size_t)nc * sizeof *p);
    if (p == NULL) return 1;
    *rows = p;
    *cap = nc;
  }
  for (i = 0; i < 8; i++) be->cursor_value(cur, i, &v[i]);
  r = &(*rows)[*n];
  memset(r, 0, sizeof *r);
  (*n)++;
  r->id = int_value(&v[0], 0);
  r->revision = dup_value(&v[1], &oom);
  r->direction = dup_value(&v[2], &oom);
  r->started_at = dup_value(&v[3], &oom);
  r->duration_ms = int_value(&v[4], -1);
  r->run_by = dup_value(&v[5], &oom);
  r->outcome = dup_value(&v[6], &oom);
  r->message = dup_value(&v[7], &oom);
  return oom;
}

int lm_runner_read_log(struct lm_host *h, long long limit,
                       struct lm_log_row **rows, int *n) {
  const struct lm_backend *be = h->conn->be;
  const char *schema = h->cfg.version_table_schema;
  struct lm_cursor *cur = NULL;
  struct lm_sqlbuf sql;
  struct lm_err err;
  struct lm_value lim;
  int exists = 0, st, cap = 0, rc = 0;
  *rows = NULL;
  *n = 0;
  lm_err_clear(&err);
  if (be->table_exists(h->conn, schema, h->cfg.history_table, &exists, &err))
    return lm_error("reading the history table: %s", err.msg);
  if (!exists) return 0;
  lm_sb_init(&sql);
  lm_sb_add(&sql, "SELECT id, revision, direction, started_at, duration_ms, "
                  "run_by, outcome, message FROM ");
  if (schema) {
    h->conn->dialect->quote_ident(&sql, schema);
    lm_sb_addc(&sql, '.');
  }
  h->conn->dialect->quote_ident(&sql, h->cfg.history_table);
  lm_sb_add(&sql, " ORDER BY id DESC");
  memset(&lim, 0, sizeof lim);
  if (limit > 0) {
    lm_sb_add(&sql, " LIMIT $1");
    lim.type = LM_VINT;
    lim.i = limit;
  }
  if (!lm_sb_ok(&sql)) {
    lm_sb_free(&sql);
    return lm_error("out of memory");
  }
  if (be->query(h->conn, lm_sb_str(&sql), limit > 0 ? 1 : 0, &lim, &cur,
                &err)) {
    rc = lm_error("reading the history table: %s", err.msg);
    goto done;
  }
  while ((st = be->cursor_step(cur, &err)) == 1)
    if (push_row(be, cur, rows, n, &cap)) {
      rc = lm_error("out of memory");
      goto done;
    }
  if (st < 0) rc = lm_error("reading the history table: %s", err.msg);
done:
  be->cursor_close(cur);
  lm_sb_free(&sql);
  if (rc) {
    lm_log_rows_free(*rows, *n);
    *rows = NULL;
    *n = 0;
  }
  return rc;
}
