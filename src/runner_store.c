/*
** runner_store.c: the runner's bookkeeping tables, and all of its SQL on
** them: the version table (exactly the current heads, Alembic's row
** algebra), the append-only history table (one row per applied, stamped,
** failed or data-pending step) and the backfill checkpoint table.
** Invariants: every table name goes through the dialect's quote_ident
** (schema-qualified when version_table_schema is set) and every value is a
** bound parameter; writers run inside the caller's transaction and never
** begin or commit one; readers print their own errors and return 1.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dialect.h"
#include "host.h"
#include "log.h"
#include "op.h"
#include "runner_int.h"

/* "2026-11-23 08:12:33.123Z": the current UTC time, for history rows. */
static void utc_stamp(char out[40]) {
  struct timespec ts;
  struct tm tm;
  char day[32];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm);
  snprintf(out, 40, "%.24s.%03dZ", day, (int)(ts.tv_nsec / 1000000));
}

/* A text parameter borrowing s; NULL binds SQL NULL. */
static struct lm_value text(const char *s) {
  struct lm_value v;
  memset(&v, 0, sizeof v);
  if (s == NULL) {
    v.type = LM_VNULL;
  } else {
    v.type = LM_VTEXT;
    v.s = s;
    v.n = strlen(s);
  }
  return v;
}

void lm_run_table_name(const struct lm_host *h, const char *table, char *out,
                       size_t n) {
  const char *schema = h->cfg.version_table_schema;
  snprintf(out, n, "%s%s%s", schema ? schema : "", schema ? "." : "", table);
}

/* Append the (schema-qualified) quoted name of a bookkeeping table. */
static void add_table(struct lm_sqlbuf *sb, const struct lm_host *h,
                      const char *table) {
  if (h->cfg.version_table_schema) {
    h->conn->dialect->quote_ident(sb, h->cfg.version_table_schema);
    lm_sb_addc(sb, '.');
  }
  h->conn->dialect->quote_ident(sb, table);
}

/* name as the user would type it in SQL: bare when it is a plain
** lower-case identifier, else double-quoted. */
static void sql_name(char *out, size_t n, const char *name) {
  size_t i, len = 0;
  int bare = name[0] != '\0' && !(name[0] >= '0' && name[0] <= '9');
  for (i = 0; name[i]; i++)
    if (!((name[i] >= 'a' && name[i] <= 'z') ||
          (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
      bare = 0;
  if (bare) {
    snprintf(out, n, "%s", name);
    return;
  }
  if (n < 3) return;
  out[len++] = '"';
  for (i = 0; name[i] && len + 3 < n; i++) {
    if (name[i] == '"') out[len++] = '"';
    out[len++] = name[i];
  }
  out[len++] = '"';
  out[len] = '\0';
}

/* The fix for an error met creating, reading or writing the bookkeeping
** tables when version_table_schema or the role's privileges caused it:
** written to hint, returns 1; 0 for other errors. */
static int table_hint(const struct lm_host *h, const struct lm_err *err,
                      char *hint, size_t n) {
  const char *schema = h->cfg.version_table_schema;
  const char *config = h->cfg.path ? h->cfg.path : "lmigrate.lua";
  char q[200];
  sql_name(q, sizeof q, schema ? schema : "public");
  if (strcmp(h->conn->dialect->name, "sqlite") == 0) {
    if (schema == NULL || !(strstr(err->msg, ".sqlite_master") ||
                            strstr(err->msg, "unknown database")))
      return 0;
    snprintf(hint, n, "version_table_schema '%s' is not an attached "
             "database: on SQLite version_table_schema names an ATTACHed "
             "database; leave it unset", schema);
    return 1;
  }
  if (strcmp(err->sqlstate, "3F000") == 0 ||
      strcmp(err->sqlstate, "3D000") == 0) {
    if (schema)
      snprintf(hint, n, "version_table_schema '%s' does not exist: create "
               "it (CREATE SCHEMA %s) or change version_table_schema in %s",
               schema, q, config);
    else
      snprintf(hint, n, "the role cannot create tables in schema public "
               "(or any schema on its search_path): GRANT CREATE ON SCHEMA "
               "public TO <role>, or set version_table_schema");
    return 1;
  }
  if (strcmp(err->sqlstate, "42501") != 0) return 0;
  if (strstr(err->msg, "for schema") != NULL)
    snprintf(hint, n, "the role cannot create tables in schema %s: GRANT "
             "CREATE ON SCHEMA %s TO <role>, or %s version_table_schema",
             schema ? schema : "public", q, schema ? "change" : "set");
  else
    snprintf(hint, n, "the role lacks privileges on one of lmigrate's "
             "tables: GRANT SELECT, INSERT, UPDATE, DELETE ON that table TO "
             "<role>, or run lmigrate as the table's owner");
  return 1;
}

/* Print a database error met on the bookkeeping tables, with what prefix
** says it was doing ("" or "reading the version table: ") and the fix
** when table_hint knows one. Returns 1. */
static int table_error(const struct lm_host *h, const char *prefix,
                       const struct lm_err *err) {
  char hint[600];
  if (table_hint(h, err, hint, sizeof hint))
    return lm_error("%s%s; %s", prefix, err->msg, hint);
  return lm_error("%s%s", prefix, err->msg);
}

/* Run the SQL in r->sql; prints the error and returns 1 on failure. */
static int run_sql(struct run *r, int np, const struct lm_value *p) {
  struct lm_err err;
  lm_err_clear(&err);
  if (!lm_sb_ok(&r->sql)) return lm_error("out of memory");
  if (r->be->exec(r->c, lm_sb_str(&r->sql), np, p, NULL, &err))
    return table_error(r->h, "", &err);
  return 0;
}

/* Start `SELECT cols FROM <table> tail` into *cur, with sb (initialised
** by the caller, freed by it) as the buffer. With check_table, *cur stays
** NULL when the table does not exist. `what` names the table in errors:
** "reading the <what> table: ...". Returns 0, or 1 after printing. */
static int select_from(struct lm_host *h, struct lm_sqlbuf *sb,
                       const char *table, const char *what, int check_table,
                       const char *cols, const char *tail,
                       struct lm_cursor **cur) {
  const struct lm_backend *be = h->conn->be;
  struct lm_err err;
  int exists = 0;
  *cur = NULL;
  lm_err_clear(&err);
  if (check_table &&
      be->table_exists(h->conn, h->cfg.version_table_schema, table, &exists,
                       &err))
    return table_error(h, "", &err);
  if (check_table && !exists) return 0;
  lm_sb_add(sb, "SELECT ");
  lm_sb_add(sb, cols);
  lm_sb_add(sb, " FROM ");
  add_table(sb, h, table);
  if (tail) lm_sb_add(sb, tail);
  if (!lm_sb_ok(sb)) return lm_error("out of memory");
  if (be->query(h->conn, lm_sb_str(sb), 0, NULL, cur, &err)) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "reading the %s table: ", what);
    return table_error(h, prefix, &err);
  }
  return 0;
}

int lm_run_ensure_tables(struct run *r) {
  struct lm_err err;
  const struct lm_config *cfg = &r->h->cfg;
  char vt[300], ht[300];
  int exists = 0;
  lm_err_clear(&err);
  if (!r->offline) {
    if (r->be->table_exists(r->c, cfg->version_table_schema,
                            cfg->history_table, &exists, &err))
      return table_error(r->h, "", &err);
    if (exists) return 0;
  }
  lm_run_table_name(r->h, cfg->version_table, vt, sizeof vt);
  lm_run_table_name(r->h, cfg->history_table, ht, sizeof ht);
  lm_sb_reset(&r->sql);
  if (r->c->dialect->render_version_table(&r->sql, vt, &err))
    return lm_error("%s", err.msg);
  if (run_sql(r, 0, NULL)) return 1;
  lm_sb_reset(&r->sql);
  if (r->c->dialect->render_history_table(&r->sql, ht, &err))
    return lm_error("%s", err.msg);
  return run_sql(r, 0, NULL);
}

int lm_run_read_heads(struct lm_host *h, struct lm_idset *heads,
                      int unknown_ok, int *nunknown, int check_table) {
  const struct lm_backend *be = h->conn->be;
  struct lm_cursor *cur = NULL;
  struct lm_sqlbuf sql;
  struct lm_err err;
  int rc, st;
  heads->n = 0;
  if (nunknown) *nunknown = 0;
  if (be->is_offline) return 0;
  lm_err_clear(&err);
  lm_sb_init(&sql);
  rc = select_from(h, &sql, h->cfg.version_table, "version", check_table,
                   "version_num", NULL, &cur);
  if (rc || cur == NULL) goto done;
  while ((st = be->cursor_step(cur, &err)) == 1) {
    struct lm_value v;
    char id[80];
    int idx;
    be->cursor_value(cur, 0, &v);
    if (v.type != LM_VTEXT || v.n >= sizeof id) continue;
    memcpy(id, v.s, v.n);
    id[v.n] = '\0';
    idx = lm_graph_index(h->graph, id);
    if (idx < 0) {
      if (nunknown) {
        (*nunknown)++;
        lm_warn("the version table names revision '%s', which has no file "
                "in the version locations", id);
      }
      if (unknown_ok) continue;
      rc = lm_error("the version table names revision '%s', which is not in "
                    "the version locations (was its file deleted or not "
                    "deployed? `lmigrate stamp --purge REV` resets the "
                    "table)", id);
      goto done;
    }
    if (!lm_idset_has(heads, idx) && lm_idset_push(heads, idx)) {
      rc = lm_error("out of memory");
      goto done;
    }
  }
  if (st < 0) rc = lm_error("reading the version table: %s", err.msg);
done:
  be->cursor_close(cur);
  lm_sb_free(&sql);
  return rc;
}

int lm_runner_read_heads(struct lm_host *h, struct lm_idset *heads,
                         int unknown_ok, int *nunknown) {
  return lm_run_read_heads(h, heads, unknown_ok, nunknown, 1);
}

int lm_run_delete_heads(struct run *r) {
  lm_sb_reset(&r->sql);
  lm_sb_add(&r->sql, "DELETE FROM ");
  add_table(&r->sql, r->h, r->h->cfg.version_table);
  return run_sql(r, 0, NULL);
}

/* One version-table statement: UPDATE gone to added, DELETE gone
** (added NULL) or INSERT added (gone NULL). */
static int write_head(struct run *r, const char *gone, const char *added) {
  struct lm_value p[2];
  int np = 1;
  lm_sb_reset(&r->sql);
  if (gone && added) {
    lm_sb_add(&r->sql, "UPDATE ");
    add_table(&r->sql, r->h, r->h->cfg.version_table);
    lm_sb_add(&r->sql, " SET version_num = $1 WHERE version_num = $2");
    p[0] = text(added);
    p[1] = text(gone);
    np = 2;
  } else if (gone) {
    lm_sb_add(&r->sql, "DELETE FROM ");
    add_table(&r->sql, r->h, r->h->cfg.version_table);
    lm_sb_add(&r->sql, " WHERE version_num = $1");
    p[0] = text(gone);
  } else {
    lm_sb_add(&r->sql, "INSERT INTO ");
    add_table(&r->sql, r->h, r->h->cfg.version_table);
    lm_sb_add(&r->sql, " (version_num) VALUES ($1)");
    p[0] = text(added);
  }
  return run_sql(r, np, p);
}

int lm_run_write_heads(struct run *r, const struct lm_idset *from,
                       const struct lm_idset *to) {
  struct lm_idset gone, added;
  int i, rc = 0;
  lm_idset_init(&gone);
  lm_idset_init(&added);
  if (r->rewrite_rows) {
    /* rows that are no heads: write exactly the heads, once */
    r->rewrite_rows = 0;
    if (lm_run_delete_heads(r)) return 1;
    for (i = 0; rc == 0 && i < to->n; i++)
      rc = write_head(r, NULL, lm_graph_rev(r->g, to->v[i])->id);
    return rc;
  }
  for (i = 0; rc == 0 && i < from->n; i++)
    if (!lm_idset_has(to, from->v[i]) && lm_idset_push(&gone, from->v[i]))
      rc = lm_error("out of memory");
  for (i = 0; rc == 0 && i < to->n; i++)
    if (!lm_idset_has(from, to->v[i]) && lm_idset_push(&added, to->v[i]))
      rc = lm_error("out of memory");
  /* Pair removals with additions as UPDATEs, then the rest. */
  for (i = 0; rc == 0 && (i < gone.n || i < added.n); i++)
    rc = write_head(r, i < gone.n ? lm_graph_rev(r->g, gone.v[i])->id : NULL,
                    i < added.n ? lm_graph_rev(r->g, added.v[i])->id : NULL);
  lm_idset_free(&gone);
  lm_idset_free(&added);
  return rc;
}

int lm_run_clear_checkpoints(struct run *r, int idx) {
  struct lm_value id = text(lm_graph_rev(r->g, idx)->id);
  struct lm_err err;
  int exists = 0;
  if (r->offline) return 0;
  lm_err_clear(&err);
  if (r->be->table_exists(r->c, NULL, LM_CHECKPOINT_TABLE, &exists, &err))
    return table_error(r->h, "", &err);
  if (!exists) return 0;
  lm_sb_reset(&r->sql);
  lm_sb_add(&r->sql, "DELETE FROM ");
  r->c->dialect->quote_ident(&r->sql, LM_CHECKPOINT_TABLE);
  lm_sb_add(&r->sql, " WHERE revision = $1");
  return run_sql(r, 1, &id);
}

int lm_run_write_history(struct run *r, int idx, const char *direction,
                         const char *outcome, double duration_ms,
                         const char *message) {
  const struct lm_revision *rev = lm_graph_rev(r->g, idx);
  struct lm_value p[8];
  char started[40];
  utc_stamp(started);
  lm_sb_reset(&r->sql);
  lm_sb_add(&r->sql, "INSERT INTO ");
  add_table(&r->sql, r->h, r->h->cfg.history_table);
  lm_sb_add(&r->sql, " (revision, direction, checksum, started_at, "
                     "duration_ms, run_by, outcome, message) VALUES "
                     "($1, $2, $3, ");
  /* An offline script records when it is applied, not generated, in the
  ** same text form as utc_stamp. */
  if (!r->offline)
    lm_sb_add(&r->sql, "$4");
  else if (strcmp(r->c->dialect->name, "postgresql") == 0)
    lm_sb_add(&r->sql, "to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                       "'YYYY-MM-DD HH24:MI:SS.MS\"Z\"')");
  else
    lm_sb_add(&r->sql, "strftime('%Y-%m-%d %H:%M:%fZ', 'now')");
  lm_sb_add(&r->sql, ", $5, $6, $7, $8)");
  p[0] = text(rev->id);
  p[1] = text(direction);
  p[2] = text(rev->checksum);
  p[3] = text(started);
  memset(&p[4], 0, sizeof p[4]);
  if (duration_ms < 0 || r->offline) {
    p[4].type = LM_VNULL;
  } else {
    p[4].type = LM_VINT;
    p[4].i = (long long)(duration_ms + 0.5);
  }
  p[5] = text(r->offline ? "sql-script" : r->who);
  p[6] = text(outcome);
  p[7] = text(message);
  return run_sql(r, 8, p);
}

int lm_run_read_blocking_failure(struct lm_host *h, int *idx, char when[40]) {
  const struct lm_backend *be = h->conn->be;
  struct lm_cursor *cur = NULL;
  struct lm_sqlbuf sql;
  struct lm_err err;
  int st, rc;
  *idx = -1;
  when[0] = '\0';
  if (be->is_offline) return 0;
  lm_err_clear(&err);
  lm_sb_init(&sql);
  rc = select_from(h, &sql, h->cfg.history_table, "history", 1,
                   "revision, outcome, checksum, started_at",
                   " ORDER BY id DESC LIMIT 1", &cur);
  if (rc || cur == NULL) goto done;
  st = be->cursor_step(cur, &err);
  if (st < 0) {
    rc = lm_error("reading the history table: %s", err.msg);
  } else if (st == 1) {
    struct lm_value v[4];
    char id[80];
    int i, r;
    for (i = 0; i < 4; i++) be->cursor_value(cur, i, &v[i]);
    if (v[0].type == LM_VTEXT && v[0].n < sizeof id &&
        v[1].type == LM_VTEXT && v[1].n == 6 &&
        memcmp(v[1].s, "failed", 6) == 0) {
      memcpy(id, v[0].s, v[0].n);
      id[v[0].n] = '\0';
      r = lm_graph_index(h->graph, id);
      if (r >= 0 && !lm_graph_rev(h->graph, r)->transactional &&
          v[2].type == LM_VTEXT && v[2].n == 64 &&
          memcmp(v[2].s, lm_graph_rev(h->graph, r)->checksum, 64) == 0) {
        *idx = r;
        if (v[3].type == LM_VTEXT)
          snprintf(when, 40, "%.*s", (int)v[3].n, v[3].s);
      }
    }
  }
done:
  be->cursor_close(cur);
  lm_sb_free(&sql);
  return rc;
}

int lm_run_read_pending_data(struct lm_host *h, int *idx) {
  const struct lm_backend *be = h->conn->be;
  struct lm_cursor *cur = NULL;
  struct lm_sqlbuf sql;
  struct lm_err err;
  int st, rc;
  *idx = -1;
  if (be->is_offline) return 0;
  lm_err_clear(&err);
  lm_sb_init(&sql);
  rc = select_from(h, &sql, h->cfg.history_table, "history", 1,
                   "revision, outcome",
                   " WHERE outcome IN ('applied', 'stamped', 'data') "
                   "ORDER BY id DESC LIMIT 1", &cur);
  if (rc || cur == NULL) goto done;
  st = be->cursor_step(cur, &err);
  if (st < 0) {
    rc = lm_error("reading the history table: %s", err.msg);
  } else if (st == 1) {
    struct lm_value id, outcome;
    char buf[80];
    be->cursor_value(cur, 0, &id);
    be->cursor_value(cur, 1, &outcome);
    if (id.type == LM_VTEXT && id.n < sizeof buf && outcome.type == LM_VTEXT &&
        outcome.n == 4 && memcmp(outcome.s, "data", 4) == 0) {
      memcpy(buf, id.s, id.n);
      buf[id.n] = '\0';
      *idx = lm_graph_index(h->graph, buf);
    }
  }
done:
  be->cursor_close(cur);
  lm_sb_free(&sql);
  return rc;
}

int lm_run_read_recorded(struct lm_host *h, struct recorded *rec) {
  const struct lm_backend *be = h->conn->be;
  struct lm_cursor *cur = NULL;
  struct lm_sqlbuf sql;
  struct lm_err err;
  int st, rc, n = lm_graph_count(h->graph);
  memset(rec, 0, sizeof *rec);
  rec->sums = calloc((size_t)n + 1, sizeof *rec->sums);
  if (rec->sums == NULL) return lm_error("out of memory");
  lm_err_clear(&err);
  lm_sb_init(&sql);
  rc = select_from(h, &sql, h->cfg.history_table, "history", 1,
                   "revision, direction, checksum",
                   " WHERE outcome IN ('applied', 'stamped') ORDER BY id",
                   &cur);
  if (rc || cur == NULL) goto done;
  while ((st = be->cursor_step(cur, &err)) == 1) {
    struct lm_value id, dir, sum;
    char buf[80];
    int idx;
    be->cursor_value(cur, 0, &id);
    if (id.type != LM_VTEXT || id.n >= sizeof buf) continue;
    memcpy(buf, id.s, id.n);
    buf[id.n] = '\0';
    be->cursor_value(cur, 1, &dir);
    be->cursor_value(cur, 2, &sum);
    idx = lm_graph_index(h->graph, buf);
    if (idx < 0) continue;
    free(rec->sums[idx]);
    rec->sums[idx] = NULL;
    if (dir.type == LM_VTEXT && dir.n == 2 && memcmp(dir.s, "up", 2) == 0 &&
        sum.type == LM_VTEXT && (rec->sums[idx] = strndup(sum.s, sum.n)) == NULL) {
      rc = lm_error("out of memory");
      goto done;
    }
  }
  if (st < 0) rc = lm_error("reading the history table: %s", err.msg);
done:
  be->cursor_close(cur);
  lm_sb_free(&sql);
  return rc;
}

void lm_run_recorded_free(struct lm_host *h, struct recorded *rec) {
  int i, n = lm_graph_count(h->graph);
  if (rec->sums)
    for (i = 0; i < n; i++) free(rec->sums[i]);
  free(rec->sums);
  rec->sums = NULL;
}
