/*
** backend_sqlite.c: the SQLite implementation of struct lm_backend.
** Parameters are written $1..$N and bound by name on every statement that
** uses them. Runners are serialised by BEGIN IMMEDIATE, waiting up to the
** connection's busy timeout; lock/unlock are therefore no-ops.
** Invariant: no function returns with a prepared statement it owns still
** alive, except query(), whose statement belongs to the returned cursor.
**
** Foreign keys around transactions (lang_altertable.html, steps 1, 10-12
** of the table rebuild): `PRAGMA foreign_keys` is a no-op inside a
** transaction, yet a table rebuild inside one must neither be blocked by,
** nor cascade-delete, the rows of child tables that point to the table
** (DROP TABLE runs an implicit DELETE). So when a connection has
** foreign_keys on, begin turns them off before BEGIN and remembers it;
** commit then runs PRAGMA foreign_key_check over the whole database before
** COMMIT and refuses to commit when it reports violations (the caller rolls
** back); commit and rollback turn foreign_keys back on afterwards. The
** price: inside such a transaction foreign keys are checked only at
** commit, and ON DELETE/ON UPDATE actions do not fire.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "interrupt.h"
#include "backend.h"
#include "dialect.h"
#include "sqlbuf.h"
#include "url.h"

#define SNIPPET_MAX 200

struct sq_conn {
  struct lm_conn base;   /* must be first */
  sqlite3 *db;           /* owned; sqlite3_close_v2 */
  int lock_timeout_ms;
  int fk_restore;        /* 1 while begin has turned foreign_keys off */
};

struct sq_cursor {
  struct lm_cursor base; /* must be first */
  sqlite3_stmt *st;      /* owned; sqlite3_finalize (safe after close_v2) */
};

static sqlite3 *db_of(struct lm_conn *c) {
  return ((struct sq_conn *)c)->db;
}

static void set_code(struct lm_err *err, int code) {
  if (err != NULL) err->code = code;
}

/* Fill err with code and "msg (in \"<start of sql>\")": the statement text
** with whitespace runs collapsed, cut at its end (`end`, or NULL for the
** NUL) or after SNIPPET_MAX bytes. Returns 1. */
static int sql_error(struct lm_err *err, int code, const char *msg,
                     const char *sql, const char *end) {
  char snip[SNIPPET_MAX + 4];
  size_t n = 0;
  int space = 0;
  const char *p = sql;

  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
  if (end == NULL) end = p + strlen(p);
  while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
                     end[-1] == '\n' || end[-1] == ';'))
    end--;
  for (; p < end && n < SNIPPET_MAX; p++) {
    if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
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
  set_code(err, code);
  return lm_err_set(err, "%s (in \"%s\")", msg, snip);
}

/* Parse a parameter name "$<k>" (decimal, k >= 1) into *k; 0 on success. */
static int param_index(const char *name, long *k) {
  char *end;
  if (name == NULL || name[0] != '$' || name[1] < '0' || name[1] > '9')
    return 1;
  *k = strtol(name + 1, &end, 10);
  return (*end != '\0' || *k < 1) ? 1 : 0;
}

/* Bind params to every parameter st uses, by name. Text and blobs are
** copied when `copy` is set (a cursor outlives the caller's values), else
** borrowed (exec finalizes before returning). 0 on success; on error err
** is filled (the caller finalizes st). */
static int bind_params(sqlite3_stmt *st, int nparams,
                       const struct lm_value *params, int copy,
                       struct lm_err *err) {
  sqlite3_destructor_type keep = copy ? SQLITE_TRANSIENT : SQLITE_STATIC;
  int n = sqlite3_bind_parameter_count(st);
  for (int i = 1; i <= n; i++) {
    const char *name = sqlite3_bind_parameter_name(st, i);
    const struct lm_value *v;
    long k;
    int rc;

    if (param_index(name, &k) != 0) {
      set_code(err, SQLITE_ERROR);
      return lm_err_set(err, "unsupported parameter name '%s' (use $1, $2, ...)",
                        name != NULL ? name : "?");
    }
    if (k > nparams) {
      set_code(err, SQLITE_RANGE);
      if (nparams == 0)
        return lm_err_set(err, "SQL uses %s but no parameters were given",
                          name);
      return lm_err_set(err, "SQL uses %s but only %d parameter%s given", name,
                        nparams, nparams == 1 ? " was" : "s were");
    }
    v = &params[k - 1];
    switch (v->type) {
    case LM_VNULL:
      rc = sqlite3_bind_null(st, i);
      break;
    case LM_VINT:
      rc = sqlite3_bind_int64(st, i, v->i);
      break;
    case LM_VBOOL:
      rc = sqlite3_bind_int64(st, i, v->i ? 1 : 0);
      break;
    case LM_VFLOAT:
      rc = sqlite3_bind_double(st, i, v->f);
      break;
    case LM_VTEXT:
      rc = sqlite3_bind_text64(st, i, v->s != NULL ? v->s : "", v->n,
                               keep, SQLITE_UTF8);
      break;
    case LM_VBLOB:
      if (v->n == 0)
        rc = sqlite3_bind_zeroblob(st, i, 0);
      else
        rc = sqlite3_bind_blob64(st, i, v->s, v->n, keep);
      break;
    default:
      set_code(err, SQLITE_MISUSE);
      return lm_err_set(err, "parameter %s has an unknown value type", name);
    }
    if (rc != SQLITE_OK) {
      set_code(err, rc);
      return lm_err_set(err, "cannot bind %s: %s", name, sqlite3_errstr(rc));
    }
  }
  return 0;
}

/* Progress handler: a non-zero return makes SQLite stop the running
** statement with SQLITE_INTERRUPT once Ctrl-C or SIGTERM arrived. */
static int sq_progress(void *unused) {
  (void)unused;
  return lm_interrupted != 0;
}

/* connect: open url->path read-write (created if missing, unless
** opts->must_exist), with extended result codes, the busy timeout, and
** double-quoted strings read only as identifiers. *out owned by the
** caller (close). */
static int sq_connect(const struct lm_url *url,
                      const struct lm_connect_opts *opts,
                      struct lm_conn **out, struct lm_err *err) {
  struct sq_conn *c = NULL;
  sqlite3 *db = NULL;
  int must_exist = opts != NULL && opts->must_exist;
  int rc, ret = 1;

  *out = NULL;
  if (url == NULL || url->kind != LM_URL_SQLITE || url->path == NULL) {
    lm_err_set(err, "the SQLite backend needs a sqlite: URL");
    goto done;
  }
  rc = sqlite3_open_v2(url->path, &db, SQLITE_OPEN_READWRITE |
                       (must_exist ? 0 : SQLITE_OPEN_CREATE), NULL);
  if (rc != SQLITE_OK && must_exist && access(url->path, F_OK) != 0 &&
      errno == ENOENT) {
    set_code(err, rc);
    lm_err_set(err, "database file '%s' does not exist (check the URL; "
               "`lmigrate upgrade` creates it)", url->path);
    goto done;
  }
  /* quirks.html#dblquote: SQLite reads a double-quoted name that matches
  ** no column as a string, so "emial" in an index or a column list would
  ** silently index a constant. Off, it is "no such column". The stored
  ** schema is still read as before (SQLite allows it while parsing
  ** sqlite_master), but DDL re-run from it must not rely on it. */
  if (rc == SQLITE_OK)
    rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
  if (rc == SQLITE_OK) {
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, opts != NULL ? opts->lock_timeout_ms : 0);
    sqlite3_progress_handler(db, 10000, sq_progress, NULL);
    /* Opening is lazy: read the header now so that a file that is not a
    ** database fails here, not in the middle of a run. */
    rc = sqlite3_exec(db, "PRAGMA schema_version", NULL, NULL, NULL);
  }
  if (rc != SQLITE_OK) {
    set_code(err, rc);
    lm_err_set(err, "cannot open SQLite database '%s': %s", url->path,
               db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    goto done;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL) {
    lm_err_set(err, "out of memory");
    goto done;
  }
  c->base.be = &lm_backend_sqlite;
  c->base.dialect = &lm_dialect_sqlite;
  c->db = db;
  c->lock_timeout_ms = opts != NULL ? opts->lock_timeout_ms : 0;
  db = NULL;
  *out = &c->base;
  ret = 0;
done:
  sqlite3_close_v2(db);
  return ret;
}

/* close: the handle becomes a zombie until open cursors are finalized. */
static void sq_close(struct lm_conn *c) {
  if (c == NULL) return;
  sqlite3_close_v2(db_of(c));
  free(c);
}

/* exec: every statement in sql, in order; stops at the first error. */
static int sq_exec(struct lm_conn *c, const char *sql, int nparams,
                   const struct lm_value *params, long long *changes,
                   struct lm_err *err) {
  sqlite3 *db = db_of(c);
  sqlite3_stmt *st = NULL;
  const char *tail = sql, *next = NULL;
  long long nchanged = 0;
  int rc, ret = 1;

  while (*tail != '\0') {
    rc = sqlite3_prepare_v2(db, tail, -1, &st, &next);
    if (rc != SQLITE_OK) {
      sql_error(err, rc, sqlite3_errmsg(db), tail, NULL);
      goto done;
    }
    if (st == NULL) {           /* whitespace, comment or lone ';' */
      if (next == tail) break;
      tail = next;
      continue;
    }
    if (bind_params(st, nparams, params, 0, err) != 0) goto done;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
      ;
    if (rc != SQLITE_DONE) {
      sql_error(err, rc, sqlite3_errmsg(db), tail, next);
      goto done;
    }
    nchanged = sqlite3_changes64(db);
    sqlite3_finalize(st);
    st = NULL;
    tail = next;
  }
  if (changes != NULL) *changes = nchanged;
  ret = 0;
done:
  sqlite3_finalize(st);
  return ret;
}

/* query: exactly one statement; the cursor owns the prepared statement. */
static int sq_query(struct lm_conn *c, const char *sql, int nparams,
                    const struct lm_value *params, struct lm_cursor **out,
                    struct lm_err *err) {
  sqlite3 *db = db_of(c);
  sqlite3_stmt *st = NULL, *extra = NULL;
  struct sq_cursor *cur = NULL;
  const char *tail = NULL, *p;
  int rc, ret = 1;

  *out = NULL;
  rc = sqlite3_prepare_v2(db, sql, -1, &st, &tail);
  if (rc != SQLITE_OK) {
    sql_error(err, rc, sqlite3_errmsg(db), sql, NULL);
    goto done;
  }
  if (st == NULL) {
    set_code(err, SQLITE_MISUSE);
    lm_err_set(err, "query has no SQL statement");
    goto done;
  }
  /* Anything after the first statement must be empty (';', comments). */
  for (p = tail; *p != '\0'; p = tail) {
    rc = sqlite3_prepare_v2(db, p, -1, &extra, &tail);
    if (rc != SQLITE_OK || extra != NULL || tail == p) {
      sql_error(err, SQLITE_MISUSE,
                "query takes one statement; use exec for several", sql, NULL);
      goto done;
    }
  }
  if (bind_params(st, nparams, params, 1, err) != 0) goto done;
  cur = calloc(1, sizeof *cur);
  if (cur == NULL) {
    lm_err_set(err, "out of memory");
    goto done;
  }
  cur->base.conn = c;
  cur->st = st;
  st = NULL;
  *out = &cur->base;
  ret = 0;
done:
  sqlite3_finalize(extra);
  sqlite3_finalize(st);
  return ret;
}

static int sq_cursor_step(struct lm_cursor *cur, struct lm_err *err) {
  sqlite3_stmt *st = ((struct sq_cursor *)cur)->st;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) return 1;
  if (rc == SQLITE_DONE) return 0;
  sql_error(err, rc, sqlite3_errmsg(sqlite3_db_handle(st)), sqlite3_sql(st),
            NULL);
  return -1;
}

static int sq_cursor_ncols(struct lm_cursor *cur) {
  return sqlite3_column_count(((struct sq_cursor *)cur)->st);
}

static const char *sq_cursor_colname(struct lm_cursor *cur, int i) {
  return sqlite3_column_name(((struct sq_cursor *)cur)->st, i);
}

static void sq_cursor_value(struct lm_cursor *cur, int i, struct lm_value *v) {
  sqlite3_stmt *st = ((struct sq_cursor *)cur)->st;
  memset(v, 0, sizeof *v);
  switch (sqlite3_column_type(st, i)) {
  case SQLITE_INTEGER:
    v->type = LM_VINT;
    v->i = sqlite3_column_int64(st, i);
    break;
  case SQLITE_FLOAT:
    v->type = LM_VFLOAT;
    v->f = sqlite3_column_double(st, i);
    break;
  case SQLITE_TEXT:
    v->type = LM_VTEXT;
    v->s = (const char *)sqlite3_column_text(st, i);
    v->n = (size_t)sqlite3_column_bytes(st, i);
    if (v->s == NULL) v->s = "";   /* out of memory; read as empty */
    break;
  case SQLITE_BLOB:
    v->type = LM_VBLOB;
    v->s = sqlite3_column_blob(st, i);
    v->n = (size_t)sqlite3_column_bytes(st, i);
    if (v->s == NULL) v->s = "";   /* zero-length blob */
    break;
  default:
    v->type = LM_VNULL;
    break;
  }
}

/* cursor_close: touches only the statement, never the connection struct,
** so it is safe after the connection was closed (close_v2 keeps the
** sqlite3 handle alive until its last statement is finalized). */
static void sq_cursor_close(struct lm_cursor *cur) {
  if (cur == NULL) return;
  sqlite3_finalize(((struct sq_cursor *)cur)->st);
  free(cur);
}

/* The value of an integer PRAGMA (sql), or -1 when it cannot be read. */
static int pragma_int(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  int v = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* Turn foreign_keys back on if begin turned them off. */
static void fk_on(struct sq_conn *c) {
  if (!c->fk_restore) return;
  c->fk_restore = 0;
  sqlite3_exec(c->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
}

/* begin: foreign_keys off first when they are on (see the file header),
** then BEGIN IMMEDIATE. */
static int sq_begin(struct lm_conn *c, struct lm_err *err) {
  struct sq_conn *sc = (struct sq_conn *)c;
  if (sqlite3_get_autocommit(sc->db) &&
      pragma_int(sc->db, "PRAGMA foreign_keys") == 1) {
    if (sq_exec(c, "PRAGMA foreign_keys = OFF", 0, NULL, NULL, err) != 0)
      return 1;
    sc->fk_restore = 1;
  }
  if (sq_exec(c, "BEGIN IMMEDIATE", 0, NULL, NULL, err) == 0) return 0;
  fk_on(sc);
  if (err != NULL && (err->code & 0xff) == SQLITE_BUSY)
    lm_err_set(err, "database is locked by another process; waited %d ms "
               "(raise --lock-timeout)", sc->lock_timeout_ms);
  return 1;
}

/* Fill err naming the first violations PRAGMA foreign_key_check reports;
** 0 when there are none, 1 when there are (or the check failed). */
static int fk_violations(struct lm_conn *c, struct lm_err *err) {
  struct lm_cursor *cur = NULL;
  struct lm_sqlbuf sb;
  int rc, count = 0, ret = 1;
  lm_sb_init(&sb);
  if (sq_query(c, "PRAGMA foreign_key_check", 0, NULL, &cur, err) != 0)
    goto done;
  while ((rc = sq_cursor_step(cur, err)) == 1) {
    sqlite3_stmt *st = ((struct sq_cursor *)cur)->st;
    if (++count > 5) continue;
    const char *child = (const char *)sqlite3_column_text(st, 0);
    const char *parent = (const char *)sqlite3_column_text(st, 2);
    lm_sb_printf(&sb, "%s%s rowid %lld references a missing %s row",
                 count > 1 ? "; " : "", child ? child : "?",
                 (long long)sqlite3_column_int64(st, 1),
                 parent ? parent : "?");
  }
  if (rc < 0) goto done;
  if (count == 0) {
    ret = 0;
    goto done;
  }
  set_code(err, SQLITE_CONSTRAINT_FOREIGNKEY);
  lm_err_set(err, "not committed: %d foreign key violation%s (PRAGMA "
             "foreign_key_check): %s%s", count, count == 1 ? "" : "s",
             lm_sb_ok(&sb) ? lm_sb_str(&sb) : "?", count > 5 ? "; ..." : "");
done:
  sq_cursor_close(cur);
  lm_sb_free(&sb);
  return ret;
}

/* commit: with foreign keys turned off by begin, check them first and do
** not commit on a violation (the transaction stays open for the caller's
** rollback, which turns them back on). */
static int sq_commit(struct lm_conn *c, struct lm_err *err) {
  struct sq_conn *sc = (struct sq_conn *)c;
  if (sc->fk_restore && fk_violations(c, err) != 0) return 1;
  if (sq_exec(c, "COMMIT", 0, NULL, NULL, err) != 0) {
    if (sqlite3_get_autocommit(sc->db)) fk_on(sc);
    return 1;
  }
  fk_on(sc);
  return 0;
}

/* rollback: a no-op when no transaction is active (SQLite may already
** have rolled back on its own, e.g. after SQLITE_FULL or an interrupt). */
static int sq_rollback(struct lm_conn *c, struct lm_err *err) {
  struct sq_conn *sc = (struct sq_conn *)c;
  int rc = 0;
  if (!sqlite3_get_autocommit(sc->db))
    rc = sq_exec(c, "ROLLBACK", 0, NULL, NULL, err);
  fk_on(sc);
  return rc;
}

/* lock/unlock: BEGIN IMMEDIATE already serialises runners. */
static int sq_nolock(struct lm_conn *c, const char *key, struct lm_err *err) {
  (void)c;
  (void)key;
  (void)err;
  return 0;
}

static void sq_cancel(struct lm_conn *c) {
  if (c != NULL) sqlite3_interrupt(db_of(c));
}

/* table_exists: looks in sqlite_master of the main database, or of the
** attached database `schema` when given. */
static int sq_table_exists(struct lm_conn *c, const char *schema,
                           const char *table, int *exists,
                           struct lm_err *err) {
  struct lm_sqlbuf sb;
  struct lm_cursor *cur = NULL;
  struct lm_value v;
  int rc, ret = 1;

  *exists = 0;
  lm_sb_init(&sb);
  lm_sb_add(&sb, "SELECT 1 FROM ");
  if (schema != NULL) {
    c->dialect->quote_ident(&sb, schema);
    lm_sb_addc(&sb, '.');
  }
  lm_sb_add(&sb, "sqlite_master WHERE type='table' AND name=$1");
  if (!lm_sb_ok(&sb)) {
    lm_err_set(err, "out of memory");
    goto done;
  }
  v.type = LM_VTEXT;
  v.s = table;
  v.n = strlen(table);
  if (sq_query(c, lm_sb_str(&sb), 1, &v, &cur, err) != 0) goto done;
  rc = sq_cursor_step(cur, err);
  if (rc < 0) goto done;
  *exists = rc;
  ret = 0;
done:
  sq_cursor_close(cur);
  lm_sb_free(&sb);
  return ret;
}

const struct lm_backend lm_backend_sqlite = {
  .name = "sqlite",
  .has_transactional_ddl = 1,
  .is_offline = 0,
  .connect = sq_connect,
  .close = sq_close,
  .exec = sq_exec,
  .query = sq_query,
  .cursor_step = sq_cursor_step,
  .cursor_ncols = sq_cursor_ncols,
  .cursor_colname = sq_cursor_colname,
  .cursor_value = sq_cursor_value,
  .cursor_close = sq_cursor_close,
  .begin = sq_begin,
  .commit = sq_commit,
  .rollback = sq_rollback,
  .lock = sq_nolock,
  .unlock = sq_nolock,
  .cancel = sq_cancel,
  .table_exists = sq_table_exists,
};
