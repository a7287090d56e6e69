/*
** backend_offline.c: the --sql backend. It implements the backend vtable
** by printing every statement to a FILE (stdout) instead of running it:
** parameters $1..$N are spelled as literals by the URL's dialect, and
** BEGIN/COMMIT/ROLLBACK are printed too, so the output piped into the
** database's shell reproduces an online run. Queries cannot run offline.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "dialect.h"
#include "sqlbuf.h"
#include "url.h"

struct offline_conn {
  struct lm_conn base;   /* must be first */
  FILE *out;             /* borrowed from lm_connect_opts; not closed */
};

static int off_connect(const struct lm_url *url,
                       const struct lm_connect_opts *opts,
                       struct lm_conn **out, struct lm_err *err) {
  struct offline_conn *c;
  const struct lm_dialect *d;
  *out = NULL;
  if (url == NULL) return lm_err_set(err, "no database URL given");
  switch (url->kind) {
    case LM_URL_SQLITE:
      d = &lm_dialect_sqlite;
      break;
    case LM_URL_POSTGRES:
      d = &lm_dialect_pg;
      break;
    default:
      return lm_err_set(err, "no SQL dialect for database URL '%s'",
                        url->redacted ? url->redacted : "?");
  }
  c = calloc(1, sizeof *c);
  if (c == NULL) return lm_err_set(err, "out of memory");
  c->base.be = &lm_backend_offline;
  c->base.dialect = d;
  c->out = (opts && opts->out) ? opts->out : stdout;
  *out = &c->base;
  return 0;
}

static void off_close(struct lm_conn *c) {
  free(c);
}

/* Length of a dollar-quote tag starting at s ("$$" or "$tag$"), 0 when s
** does not start one. */
static size_t dollar_tag(const char *s) {
  size_t n = 1;
  if (s[0] != '$') return 0;
  if (s[1] == '$') return 2;
  if (!(s[1] == '_' || (s[1] >= 'a' && s[1] <= 'z') ||
        (s[1] >= 'A' && s[1] <= 'Z') || (unsigned char)s[1] >= 0x80))
    return 0;
  while (s[n] == '_' || (s[n] >= 'a' && s[n] <= 'z') ||
         (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
         (unsigned char)s[n] >= 0x80)
    n++;
  return s[n] == '$' ? n + 1 : 0;
}

/* Append to sb the text of sql up to and including the end of the quoted
** region starting at *p (whose opener has length open), advancing *p. */
static void copy_until(struct lm_sqlbuf *sb, const char **p, size_t open,
                       const char *close) {
  const char *s = *p, *end = strstr(s + open, close);
  end = end ? end + strlen(close) : s + strlen(s);
  lm_sb_addn(sb, s, (size_t)(end - s));
  *p = end;
}

/* Append sql to sb with every $N outside strings, quoted identifiers,
** comments and dollar-quoted bodies replaced by the literal for
** params[N-1]. *open_comment is set when sql ends with a -- comment.
** Returns non-zero (err filled) for $N beyond nparams. */
static int substitute(const struct lm_dialect *d, struct lm_sqlbuf *sb,
                      const char *sql, int nparams,
                      const struct lm_value *params, int *open_comment,
                      struct lm_err *err) {
  const char *p = sql;
  *open_comment = 0;
  while (*p) {
    size_t tag;
    if (!strchr(" \t\r\n", *p)) *open_comment = 0;
    if (*p == '\'') {
      copy_until(sb, &p, 1, "'");
    } else if (*p == '"') {
      copy_until(sb, &p, 1, "\"");
    } else if (p[0] == '-' && p[1] == '-') {
      copy_until(sb, &p, 2, "\n");
      *open_comment = 1;
    } else if (p[0] == '/' && p[1] == '*') {
      copy_until(sb, &p, 2, "*/");
    } else if (p[0] == '$' && p[1] >= '0' && p[1] <= '9') {
      char *end;
      long n = strtol(p + 1, &end, 10);
      if (n < 1 || n > nparams)
        return lm_err_set(err, "parameter $%ld is out of range (%d parameter%s "
                          "given)", n, nparams, nparams == 1 ? "" : "s");
      d->quote_literal(sb, &params[n - 1]);
      p = end;
    } else if ((tag = dollar_tag(p)) > 0) {
      char close[128];
      if (tag >= sizeof close) {
        lm_sb_addn(sb, p, tag);
        p += tag;
        continue;
      }
      memcpy(close, p, tag);
      close[tag] = '\0';
      copy_until(sb, &p, tag, close);
    } else {
      const char *q = p + 1;
      while (*q && !strchr("'\"-/$", *q)) q++;
      lm_sb_addn(sb, p, (size_t)(q - p));
      p = q;
    }
  }
  return 0;
}

/* Write text to the connection's FILE; non-zero (err filled) on failure. */
static int emit(struct offline_conn *c, const char *text, size_t n,
                struct lm_err *err) {
  if (n && fwrite(text, 1, n, c->out) != n)
    return lm_err_set(err, "writing SQL: %s", strerror(errno));
  return 0;
}

static int off_exec(struct lm_conn *conn, const char *sql, int nparams,
                    const struct lm_value *params, long long *changes,
                    struct lm_err *err) {
  struct offline_conn *c = (struct offline_conn *)conn;
  struct lm_sqlbuf sb;
  size_t n;
  int rc, open_comment;
  if (changes) *changes = 0;
  lm_sb_init(&sb);
  if (substitute(conn->dialect, &sb, sql, nparams, params, &open_comment,
                 err)) {
    lm_sb_free(&sb);
    return 1;
  }
  n = sb.len;
  while (n > 0 && strchr(" \t\r\n", sb.data[n - 1])) n--;
  sb.len = n;
  if (sb.data) sb.data[n] = '\0';
  if (n == 0) {
    lm_sb_free(&sb);
    return 0;
  }
  /* a statement ending in a -- comment gets its ';' on the next line */
  lm_sb_add(&sb, open_comment ? "\n;\n" : sb.data[n - 1] == ';' ? "\n" : ";\n");
  if (!lm_sb_ok(&sb)) {
    lm_sb_free(&sb);
    return lm_err_set(err, "out of memory");
  }
  rc = emit(c, sb.data, sb.len, err);
  lm_sb_free(&sb);
  return rc;
}

static int off_query(struct lm_conn *c, const char *sql, int nparams,
                     const struct lm_value *params, struct lm_cursor **out,
                     struct lm_err *err) {
  (void)c, (void)sql, (void)nparams, (void)params;
  *out = NULL;
  return lm_err_set(err, "a query needs a database connection; it cannot run "
                    "with --sql (offline mode)");
}

static int off_step(struct lm_cursor *cur, struct lm_err *err) {
  (void)cur;
  lm_err_set(err, "no rows offline");
  return -1;
}

static int off_ncols(struct lm_cursor *cur) {
  (void)cur;
  return 0;
}

static const char *off_colname(struct lm_cursor *cur, int i) {
  (void)cur, (void)i;
  return NULL;
}

static void off_value(struct lm_cursor *cur, int i, struct lm_value *v) {
  (void)cur, (void)i;
  memset(v, 0, sizeof *v);
  v->type = LM_VNULL;
}

static void off_cursor_close(struct lm_cursor *cur) {
  (void)cur;
}

static int off_print(struct lm_conn *conn, const char *stmt,
                     struct lm_err *err) {
  return emit((struct offline_conn *)conn, stmt, strlen(stmt), err);
}

static int off_begin(struct lm_conn *c, struct lm_err *err) {
  return off_print(c, "BEGIN;\n", err);
}

static int off_commit(struct lm_conn *c, struct lm_err *err) {
  return off_print(c, "COMMIT;\n", err);
}

static int off_rollback(struct lm_conn *c, struct lm_err *err) {
  return off_print(c, "ROLLBACK;\n", err);
}

static int off_lock(struct lm_conn *c, const char *key, struct lm_err *err) {
  (void)c, (void)key, (void)err;
  return 0;
}

static void off_cancel(struct lm_conn *c) {
  (void)c;
}

static int off_table_exists(struct lm_conn *c, const char *schema,
                            const char *table, int *exists,
                            struct lm_err *err) {
  (void)c, (void)schema, (void)table, (void)err;
  *exists = 0;
  return 0;
}

const struct lm_backend lm_backend_offline = {
  .name = "offline",
  .has_transactional_ddl = 1,
  .is_offline = 1,
  .connect = off_connect,
  .close = off_close,
  .exec = off_exec,
  .query = off_query,
  .cursor_step = off_step,
  .cursor_ncols = off_ncols,
  .cursor_colname = off_colname,
  .cursor_value = off_value,
  .cursor_close = off_cursor_close,
  .begin = off_begin,
  .commit = off_commit,
  .rollback = off_rollback,
  .lock = off_lock,
  .unlock = off_lock,
  .cancel = off_cancel,
  .table_exists = off_table_exists,
};
