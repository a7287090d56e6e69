/*
** backend_pg.c: the PostgreSQL (libpq) implementation of struct lm_backend.
** Parameters $1..$N are native: values go as text with type "unknown" so
** the server infers them from context, blobs as binary bytea. SQL without
** parameters runs through the simple protocol (several statements allowed);
** with parameters it must be one statement. Runners are serialised by a
** session advisory lock keyed by a hash of "lmigrate:<key>".
** Invariant: no function returns holding a PGresult it owns, except
** query(), whose result belongs to the returned cursor.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "backend.h"
#include "dialect.h"
#include "sqlbuf.h"
#include "url.h"

#define SNIPPET_MAX 200

/* Type OIDs (catalog/pg_type_d.h, a server header). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_FLOAT4 700
#define OID_FLOAT8 701

#define LOCK_POLL_MS 100

struct pg_conn {
  struct lm_conn base;   /* must be first */
  PGconn *pg;            /* owned; PQfinish */
  PGcancel *cancel;      /* owned; PQfreeCancel; NULL if libpq had none */
  int lock_timeout_ms;
  int locks;             /* advisory locks taken by lock() and not released */
};

/* One decoded bytea value. */
struct blob {
  unsigned char *p;      /* owned; PQfreemem */
  size_t n;
};

struct pg_cursor {
  struct lm_cursor base; /* must be first */
  PGresult *res;         /* owned; PQclear (independent of the connection) */
  int row;               /* current row, -1 before the first step */
  int nrows, ncols;
  struct blob *blobs;    /* owned; ncols entries: decoded bytea of the
                         ** current row, freed on step/close */
};

/* What scan_sql learns about a SQL text. */
struct sqlscan {
  int nstmts;            /* non-empty statements */
  long maxref;           /* highest $N used, 0 for none */
  unsigned char *used;   /* optional, nparams entries: used[k-1] = $k seen */
  int nparams;
  size_t want;           /* in: a byte offset into the SQL */
  const char *want_start;/* out: start of the statement holding `want` */
  const char *want_end;  /* out: its end (its ';' or the NUL) */
};

static PGconn *pg_of(struct lm_conn *c) {
  return ((struct pg_conn *)c)->pg;
}

/* ---------- SQL scanning ---------- */

static int ident_char(unsigned char c) {
  return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* Length of a dollar-quote opener at s ("$$", "$tag$"), 0 for none. */
static size_t dollar_tag(const unsigned char *s) {
  size_t n = 1;
  if (s[0] != '$') return 0;
  if (s[1] == '$') return 2;
  if (!(isalpha(s[1]) || s[1] == '_' || s[1] >= 0x80)) return 0;
  while (isalnum(s[n]) || s[n] == '_' || s[n] >= 0x80) n++;
  return s[n] == '$' ? n + 1 : 0;
}

/* Walk sql the way the server's lexer splits it: strings ('..', E'..'),
** quoted identifiers, -- and nested block comments, dollar-quoted bodies.
** Counts statements separated by top-level ';' and notes the $N
** parameters used outside those. */
static void scan_sql(const char *sql, struct sqlscan *s) {
  const unsigned char *start = (const unsigned char *)sql, *p = start;
  const unsigned char *stmt = NULL;
  s->nstmts = 0;
  s->maxref = 0;
  s->want_start = NULL;
  while (*p) {
    unsigned char c = *p;
    if (c == '-' && p[1] == '-') {
      while (*p && *p != '\n') p++;
      continue;
    }
    if (c == '/' && p[1] == '*') {
      int depth = 1;
      p += 2;
      while (*p && depth > 0) {
        if (p[0] == '/' && p[1] == '*') {
          depth++;
          p += 2;
        } else if (p[0] == '*' && p[1] == '/') {
          depth--;
          p += 2;
        } else {
          p++;
        }
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f') {
      p++;
      continue;
    }
    if (c == ';') {
      if (stmt != NULL) {
        s->nstmts++;
        if (s->want_start == NULL && (size_t)(p - start) >= s->want) {
          s->want_start = (const char *)stmt;
          s->want_end = (const char *)p;
        }
      }
      stmt = NULL;
      p++;
      continue;
    }
    if (stmt == NULL) stmt = p;
    if (c == '\'') {
      /* E'..' (the E alone as a token) takes backslash escapes */
      int esc = p > start && (p[-1] == 'E' || p[-1] == 'e') &&
                (p - 1 == start || !ident_char(p[-2]));
      p++;
      while (*p) {
        if (esc && *p == '\\' && p[1]) {
          p += 2;
        } else if (*p == '\'') {
          if (p[1] != '\'') break;
          p += 2;
        } else {
          p++;
        }
      }
      if (*p) p++;
      continue;
    }
    if (c == '"') {
      p++;
      while (*p && *p != '"') p++;
      if (*p) p++;
      continue;
    }
    if (c == '$' && (p == start || !ident_char(p[-1]))) {
      size_t tag;
      if (isdigit(p[1])) {
        long k = 0;
        p++;
        while (isdigit(*p)) {
          if (k < 100000000) k = k * 10 + (*p - '0');
          p++;
        }
        if (k > s->maxref) s->maxref = k;
        if (s->used != NULL && k >= 1 && k <= s->nparams) s->used[k - 1] = 1;
        continue;
      }
      if ((tag = dollar_tag(p)) > 0) {
        const unsigned char *q = p + tag;
        while (*q && strncmp((const char *)q, (const char *)p, tag) != 0) q++;
        p = *q ? q + tag : q;
        continue;
      }
    }
    if (ident_char(c)) {
      while (*p && ident_char(*p)) p++;
      continue;
    }
    p++;
  }
  if (stmt != NULL) {
    s->nstmts++;
    if (s->want_start == NULL) {
      s->want_start = (const char *)stmt;
      s->want_end = (const char *)p;
    }
  }
}

/* ---------- errors ---------- */

/* Copy msg into out (size n) with whitespace runs collapsed and the ends
** trimmed; libpq messages end in '\n' and continue on tab-indented lines. */
static void squash(char *out, size_t n, const char *msg) {
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
  const char *f, *state = NULL;

  detail[0] = hint[0] = snip[0] = '\0';
  f = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  if (f != NULL) {
    squash(primary, sizeof primary, f);
    if ((f = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)) != NULL)
      squash(detail, sizeof detail, f);
    if ((f = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT)) != NULL)
      squash(hint, sizeof hint, f);
    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  } else {
    f = res ? PQresultErrorMessage(res) : NULL;
    if (f == NULL || *f == '\0') f = PQerrorMessage(pg_of(c));
    squash(primary, sizeof primary, f);
    if (primary[0] == '\0')
      snprintf(primary, sizeof primary, "%s", "unknown PostgreSQL error");
  }
  if (PQstatus(pg_of(c)) == CONNECTION_BAD && strstr(primary, "connection") == NULL)
    snprintf(primary + strlen(primary), sizeof primary - strlen(primary),
             " (connection to the server lost)");
  if (sql != NULL) {
    struct sqlscan sc;
    const char *pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION)
                          : NULL;
    memset(&sc, 0, sizeof sc);
    sc.want = pos ? char_offset(sql, atol(pos)) : 0;
    scan_sql(sql, &sc);
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
static void abandon_copy(PGconn *pg, ExecStatusType st) {
  PGresult *r;
  char *buf;
  if (st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)
    PQputCopyEnd(pg, "COPY is not supported by lmigrate's exec");
  if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH)
    while (PQgetCopyData(pg, &buf, 0) > 0) PQfreemem(buf);
  while ((r = PQgetResult(pg)) != NULL) PQclear(r);
}

/* 0 when res is a success (rows or a command), else err filled. */
static int check_result(struct lm_conn *c, PGresult *res, const char *sql,
                        struct lm_err *err) {
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  switch (st) {
  case PGRES_COMMAND_OK:
  case PGRES_TUPLES_OK:
  case PGRES_EMPTY_QUERY:
    return 0;
  case PGRES_COPY_IN:
  case PGRES_COPY_OUT:
  case PGRES_COPY_BOTH:
    abandon_copy(pg_of(c), st);
    return lm_err_set(err, "COPY FROM STDIN / TO STDOUT cannot run through "
                      "lmigrate; use INSERT or COPY with a server-side file");
  default:
    return pg_error(c, res, sql, err);
  }
}

/* ---------- parameters ---------- */

/* Parameter arrays for PQexecParams, in one allocation. */
struct pgparams {
  void *mem;             /* owned; free */
  const char **values;
  int *lengths, *formats;
  Oid *types;
};

/* Check sql's $N against nparams and count its statements; fills err and
** returns 1 for $N beyond nparams. used (nparams bytes or NULL) marks the
** parameters the SQL mentions. */
static int check_sql(const char *sql, int nparams, unsigned char *used,
                     struct sqlscan *sc, struct lm_err *err) {
  memset(sc, 0, sizeof *sc);
  sc->used = used;
  sc->nparams = nparams;
  scan_sql(sql, sc);
  if (sc->maxref > nparams) {
    if (nparams == 0)
      return lm_err_set(err, "SQL uses $%ld but no parameters were given",
                        sc->maxref);
    return lm_err_set(err, "SQL uses $%ld but only %d parameter%s given",
                      sc->maxref, nparams, nparams == 1 ? " was" : "s were");
  }
  return 0;
}

/* Convert params into p (text, except bytea in binary). Text values are
** copied so they are NUL-terminated; unused parameters are declared text
** so the server need not infer a type for them. 0, or 1 with err filled. */
static int make_params(int nparams, const struct lm_value *params,
                       const unsigned char *used, struct pgparams *p,
                       struct lm_err *err) {
  size_t extra = 0, off;
  char *text;
  int i;
  memset(p, 0, sizeof *p);
  for (i = 0; i < nparams; i++) {
    if (params[i].type == LM_VTEXT) {
      if (params[i].n > 0 && memchr(params[i].s, '\0', params[i].n) != NULL)
        return lm_err_set(err, "parameter $%d: text contains a NUL byte, which "
                          "PostgreSQL text cannot hold", i + 1);
      extra += params[i].n + 1;
    } else {
      extra += 32;
    }
  }
  p->mem = malloc((size_t)nparams * (sizeof *p->values + 2 * sizeof(int) +
                                     sizeof(Oid)) + extra + 1);
  if (p->mem == NULL) return lm_err_set(err, "out of memory");
  p->values = p->mem;
  p->types = (Oid *)(p->values + nparams);
  p->lengths = (int *)(p->types + nparams);
  p->formats = p->lengths + nparams;
  text = (char *)(p->formats + nparams);
  off = 0;
  for (i = 0; i < nparams; i++) {
    const struct lm_value *v = &params[i];
    char *slot = text + off;
    p->types[i] = (used != NULL && !used[i]) ? OID_TEXT : 0;
    p->formats[i] = 0;
    p->lengths[i] = 0;
    p->values[i] = slot;
    switch (v->type) {
    case LM_VNULL:
      p->values[i] = NULL;
      break;
    case LM_VINT:
      off += (size_t)snprintf(slot, 32, "%lld", v->i) + 1;
      break;
    case LM_VFLOAT:
      off += (size_t)snprintf(slot, 32, "%.17g", v->f) + 1;
      break;
    case LM_VBOOL:
      off += (size_t)snprintf(slot, 32, "%s", v->i ? "true" : "false") + 1;
      break;
    case LM_VTEXT:
      if (v->n > 0) memcpy(slot, v->s, v->n);
      slot[v->n] = '\0';
      off += v->n + 1;
      break;
    case LM_VBLOB:
      if (v->n > 0x7fffffff) {
        free(p->mem);
        p->mem = NULL;
        return lm_err_set(err, "parameter $%d: blob too large", i + 1);
      }
      p->values[i] = v->n > 0 ? v->s : "";
      p->lengths[i] = (int)v->n;
      p->formats[i] = 1;
      p->types[i] = OID_BYTEA;
      break;
    default:
      free(p->mem);
      p->mem = NULL;
      return lm_err_set(err, "parameter $%d has an unknown value type", i + 1);
    }
  }
  return 0;
}

/* Run one statement with parameters; *res owned by the caller (PQclear).
** 0, or 1 with err filled (for conversion errors; result errors are the
** caller's to check). */
static int exec_params(struct lm_conn *c, const char *sql, int nparams,
                       const struct lm_value *params, const unsigned char *used,
                       PGresult **res, struct lm_err *err) {
  struct pgparams p;
  *res = NULL;
  if (make_params(nparams, params, used, &p, err)) return 1;
  *res = PQexecParams(pg_of(c), sql, nparams, p.types, p.values, p.lengths,
                      p.formats, 0);
  free(p.mem);
  return 0;
}

/* ---------- connection ---------- */

/* connect: libpq parses the URL (so PG* variables and .pgpass apply);
** NOTICEs are silenced. *out owned by the caller (close). */
static int pg_connect(const struct lm_url *url,
                      const struct lm_connect_opts *opts,
                      struct lm_conn **out, struct lm_err *err) {
  static const char *const keys[] = { "dbname", "fallback_application_name",
                                      NULL };
  const char *vals[3];
  struct pg_conn *c = NULL;
  PGconn *pg = NULL;
  PGresult *res = NULL;
  char msg[LM_ERRMSG_MAX];
  int ret = 1;

  *out = NULL;
  if (url == NULL || url->kind != LM_URL_POSTGRES || url->raw == NULL) {
    lm_err_set(err, "the PostgreSQL backend needs a postgresql:// URL");
    goto done;
  }
  vals[0] = url->raw;
  vals[1] = "lmigrate";
  vals[2] = NULL;
  pg = PQconnectdbParams(keys, vals, 1);
  if (pg == NULL) {
    lm_err_set(err, "cannot connect to %s: out of memory", url->redacted);
    goto done;
  }
  if (PQstatus(pg) != CONNECTION_OK) {
    squash(msg, sizeof msg, PQerrorMessage(pg));
    lm_err_set(err, "cannot connect to %s: %s", url->redacted, msg);
    goto done;
  }
  if (PQserverVersion(pg) < 110000) {
    lm_err_set(err, "cannot use %s: lmigrate needs PostgreSQL 11 or later "
               "(the server is %d.%d)", url->redacted,
               PQserverVersion(pg) / 10000, PQserverVersion(pg) / 100 % 100);
    goto done;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL) {
    lm_err_set(err, "out of memory");
    goto done;
  }
  c->base.be = &lm_backend_pg;
  c->base.dialect = &lm_dialect_pg;
  c->pg = pg;
  c->lock_timeout_ms = opts != NULL ? opts->lock_timeout_ms : 0;
  pg = NULL;
  res = PQexec(c->pg, "SET client_min_messages = warning");
  if (check_result(&c->base, res, NULL, err)) {
    lm_err_prefix(err, "cannot set up the connection to %s", url->redacted);
    goto done;
  }
  c->cancel = PQgetCancel(c->pg);
  *out = &c->base;
  c = NULL;
  ret = 0;
done:
  PQclear(res);
  if (c != NULL) PQfinish(c->pg);
  free(c);
  PQfinish(pg);
  return ret;
}

/* close: the session's advisory locks and any open transaction end with
** the session. */
static void pg_close(struct lm_conn *conn) {
  struct pg_conn *c = (struct pg_conn *)conn;
  if (c == NULL) return;
  if (c->cancel != NULL) PQfreeCancel(c->cancel);
  PQfinish(c->pg);
  free(c);
}

/* exec: without parameters the whole text goes through the simple protocol
** (several statements run as one implicit transaction unless the text has
** its own BEGIN/COMMIT); with parameters it must be one statement. */
static int pg_exec(struct lm_conn *c, const char *sql, int nparams,
                   const struct lm_value *params, long long *changes,
                   struct lm_err *err) {
  struct sqlscan sc;
  unsigned char *used = NULL;
  PGresult *res = NULL;
  int ret = 1;

  if (nparams > 0 && (used = calloc((size_t)nparams, 1)) == NULL)
    return lm_err_set(err, "out of memory");
  if (check_sql(sql, nparams, used, &sc, err)) goto done;
  if (nparams == 0) {
    res = PQexec(pg_of(c), sql);
  } else {
    if (sc.nstmts > 1) {
      lm_err_set(err, "parameters ($1..$N) need a single SQL statement, but "
                 "this SQL has %d; run each statement in its own call",
                 sc.nstmts);
      goto done;
    }
    if (exec_params(c, sql, nparams, params, used, &res, err)) goto done;
  }
  if (check_result(c, res, sql, err)) goto done;
  if (changes != NULL) *changes = strtoll(PQcmdTuples(res), NULL, 10);
  ret = 0;
done:
  PQclear(res);
  free(used);
  return ret;
}

/* query: exactly one statement; the whole result is fetched and owned by
** the cursor. */
static int pg_query(struct lm_conn *c, const char *sql, int nparams,
                    const struct lm_value *params, struct lm_cursor **out,
                    struct lm_err *err) {
  struct sqlscan sc;
  struct pg_cursor *cur = NULL;
  unsigned char *used = NULL;
  PGresult *res = NULL;
  int ret = 1;

  *out = NULL;
  if (nparams > 0 && (used = calloc((size_t)nparams, 1)) == NULL)
    return lm_err_set(err, "out of memory");
  if (check_sql(sql, nparams, used, &sc, err)) goto done;
  if (sc.nstmts == 0) {
    lm_err_set(err, "query has no SQL statement");
    goto done;
  }
  if (sc.nstmts > 1) {
    lm_err_set(err, "query takes one statement; use exec for several "
               "(this SQL has %d)", sc.nstmts);
    goto done;
  }
  if (exec_params(c, sql, nparams, params, used, &res, err)) goto done;
  if (check_result(c, res, sql, err)) goto done;
  cur = calloc(1, sizeof *cur);
  if (cur == NULL) {
    lm_err_set(err, "out of memory");
    goto done;
  }
  cur->ncols = PQnfields(res);
  cur->nrows = PQntuples(res);
  cur->row = -1;
  if (cur->ncols > 0 &&
      (cur->blobs = calloc((size_t)cur->ncols, sizeof *cur->blobs)) == NULL) {
    free(cur);
    lm_err_set(err, "out of memory");
    goto done;
  }
  cur->base.conn = c;
  cur->res = res;
  res = NULL;
  *out = &cur->base;
  ret = 0;
done:
  PQclear(res);
  free(used);
  return ret;
}

static void free_blobs(struct pg_cursor *cur) {
  int i;
  if (cur->blobs == NULL) return;
  for (i = 0; i < cur->ncols; i++) {
    if (cur->blobs[i].p != NULL) PQfreemem(cur->blobs[i].p);
    cur->blobs[i].p = NULL;
    cur->blobs[i].n = 0;
  }
}

static int pg_cursor_step(struct lm_cursor *base, struct lm_err *err) {
  struct pg_cursor *cur = (struct pg_cursor *)base;
  (void)err;
  free_blobs(cur);
  if (cur->row < cur->nrows) cur->row++;
  return cur->row < cur->nrows ? 1 : 0;
}

static int pg_cursor_ncols(struct lm_cursor *cur) {
  return ((struct pg_cursor *)cur)->ncols;
}

static const char *pg_cursor_colname(struct lm_cursor *cur, int i) {
  return PQfname(((struct pg_cursor *)cur)->res, i);
}

/* cursor_value: by column type: int2/4/8 -> INT, float4/8 -> FLOAT, bool
** -> BOOL, bytea -> BLOB (decoded into memory the cursor owns until the
** next step), everything else (numeric included) -> TEXT. */
static void pg_cursor_value(struct lm_cursor *base, int i, struct lm_value *v) {
  struct pg_cursor *cur = (struct pg_cursor *)base;
  const char *s;
  memset(v, 0, sizeof *v);
  v->type = LM_VNULL;
  if (cur->row < 0 || cur->row >= cur->nrows || i < 0 || i >= cur->ncols ||
      PQgetisnull(cur->res, cur->row, i))
    return;
  s = PQgetvalue(cur->res, cur->row, i);
  switch (PQftype(cur->res, i)) {
  case OID_INT2:
  case OID_INT4:
  case OID_INT8:
    v->type = LM_VINT;
    v->i = strtoll(s, NULL, 10);
    break;
  case OID_FLOAT4:
  case OID_FLOAT8:
    v->type = LM_VFLOAT;
    v->f = strtod(s, NULL);
    break;
  case OID_BOOL:
    v->type = LM_VBOOL;
    v->i = s[0] == 't';
    break;
  case OID_BYTEA: {
    struct blob *b = &cur->blobs[i];
    if (b->p == NULL) b->p = PQunescapeBytea((const unsigned char *)s, &b->n);
    if (b->p == NULL) break;   /* out of memory: reads as NULL */
    v->type = LM_VBLOB;
    v->s = (const char *)b->p;
    v->n = b->n;
    break;
  }
  default:
    v->type = LM_VTEXT;
    v->s = s;
    v->n = (size_t)PQgetlength(cur->res, cur->row, i);
    break;
  }
}

/* cursor_close: touches only the result, never the connection, so it is
** safe after the connection was closed. */
static void pg_cursor_close(struct lm_cursor *base) {
  struct pg_cursor *cur = (struct pg_cursor *)base;
  if (cur == NULL) return;
  free_blobs(cur);
  free(cur->blobs);
  PQclear(cur->res);
  free(cur);
}

/* ---------- transactions, locks ---------- */

/* Run a fixed command (no parameters); *tag (may be NULL) gets its command
** tag copied (size 16). */
static int simple(struct lm_conn *c, const char *sql, char *tag,
                  struct lm_err *err) {
  PGresult *res = PQexec(pg_of(c), sql);
  int rc = check_result(c, res, sql, err);
  if (rc == 0 && tag != NULL) snprintf(tag, 16, "%s", PQcmdStatus(res));
  PQclear(res);
  return rc;
}

static int pg_begin(struct lm_conn *c, struct lm_err *err) {
  return simple(c, "BEGIN", NULL, err);
}

/* commit: deferred constraint failures surface here; an aborted
** transaction (an earlier statement failed) is rolled back and reported. */
static int pg_commit(struct lm_conn *c, struct lm_err *err) {
  char tag[16];
  if (PQtransactionStatus(pg_of(c)) == PQTRANS_INERROR) {
    simple(c, "ROLLBACK", NULL, NULL);
    return lm_err_set(err, "cannot commit: an earlier statement in the "
                      "transaction failed; it was rolled back");
  }
  if (simple(c, "COMMIT", tag, err)) return 1;
  if (strcmp(tag, "ROLLBACK") == 0)
    return lm_err_set(err, "COMMIT was turned into ROLLBACK by the server "
                      "(an earlier statement in the transaction failed)");
  return 0;
}

/* rollback: a no-op outside a transaction. */
static int pg_rollback(struct lm_conn *c, struct lm_err *err) {
  switch (PQtransactionStatus(pg_of(c))) {
  case PQTRANS_IDLE:
    return 0;
  case PQTRANS_UNKNOWN:
    return lm_err_set(err, "cannot roll back: the connection to the server "
                      "is lost (the server rolls the transaction back)");
  default:
    return simple(c, "ROLLBACK", NULL, err);
  }
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Run SELECT fn(hashtextextended($1, 0)) for "lmigrate:<key>"; *result
** gets the boolean it returns. */
static int advisory(struct lm_conn *c, const char *fn, const char *key,
                    int *result, struct lm_err *err) {
  struct lm_sqlbuf sql, name;
  struct lm_value v;
  PGresult *res = NULL;
  int ret = 1;
  lm_sb_init(&sql);
  lm_sb_init(&name);
  lm_sb_printf(&sql, "SELECT pg_catalog.%s(pg_catalog.hashtextextended($1, 0))",
               fn);
  lm_sb_printf(&name, "lmigrate:%s", key);
  if (!lm_sb_ok(&sql) || !lm_sb_ok(&name)) {
    lm_err_set(err, "out of memory");
    goto done;
  }
  memset(&v, 0, sizeof v);
  v.type = LM_VTEXT;
  v.s = lm_sb_str(&name);
  v.n = name.len;
  if (exec_params(c, lm_sb_str(&sql), 1, &v, NULL, &res, err)) goto done;
  if (check_result(c, res, lm_sb_str(&sql), err)) goto done;
  *result = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
  ret = 0;
done:
  PQclear(res);
  lm_sb_free(&sql);
  lm_sb_free(&name);
  return ret;
}

/* lock: poll pg_try_advisory_lock every LOCK_POLL_MS up to the lock
** timeout. The lock is the session's (it survives COMMIT/ROLLBACK and ends
** with the connection). */
static int pg_lock(struct lm_conn *conn, const char *key, struct lm_err *err) {
  struct pg_conn *c = (struct pg_conn *)conn;
  double t0 = now_ms(), waited;
  int got = 0;
  for (;;) {
    if (advisory(conn, "pg_try_advisory_lock", key, &got, err)) return 1;
    if (got) {
      c->locks++;
      return 0;
    }
    waited = now_ms() - t0;
    if (waited >= c->lock_timeout_ms) break;
    {
      double left = c->lock_timeout_ms - waited;
      long ms = left < LOCK_POLL_MS ? (long)left + 1 : LOCK_POLL_MS;
      struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
      nanosleep(&ts, NULL);
    }
  }
  return lm_err_set(err, "another lmigrate run holds the lock on %s; waited "
                    "%.0f ms (raise --lock-timeout)", key, waited);
}

/* unlock: releases a lock taken by lock(); a no-op when none is held. An
** aborted transaction is rolled back first (it could not run the query,
** and nothing in it can commit any more). */
static int pg_unlock(struct lm_conn *conn, const char *key,
                     struct lm_err *err) {
  struct pg_conn *c = (struct pg_conn *)conn;
  int released = 0;
  if (c->locks == 0) return 0;
  if (PQtransactionStatus(c->pg) == PQTRANS_INERROR &&
      simple(conn, "ROLLBACK", NULL, err))
    return 1;
  if (advisory(conn, "pg_advisory_unlock", key, &released, err)) return 1;
  c->locks--;
  return 0;
}

/* cancel: PQcancel is async-signal-safe; errors are ignored (the statement
** may have finished already). */
static void pg_cancel(struct lm_conn *conn) {
  struct pg_conn *c = (struct pg_conn *)conn;
  char buf[256];
  if (c != NULL && c->cancel != NULL) PQcancel(c->cancel, buf, sizeof buf);
}

/* set_limits: lock_timeout and statement_timeout in ms (0 = none), with
** SET LOCAL (this transaction only) or SET (the session). */
static int pg_set_limits(struct lm_conn *c, int lock_timeout_ms,
                         int statement_timeout_ms, int local,
                         struct lm_err *err) {
  static const char *const names[2] = { "lock_timeout", "statement_timeout" };
  const int ms[2] = { lock_timeout_ms, statement_timeout_ms };
  char sql[160];
  size_t len = 0;
  int i;
  sql[0] = '\0';
  for (i = 0; i < 2; i++) {
    if (ms[i] >= 0)
      len += (size_t)snprintf(sql + len, sizeof sql - len, "SET %s%s = %d; ",
                              local ? "LOCAL " : "", names[i], ms[i]);
    else if (!local)
      len += (size_t)snprintf(sql + len, sizeof sql - len, "RESET %s; ",
                              names[i]);
  }
  if (len == 0) return 0;
  return simple(c, sql, NULL, err);
}

/* table_exists: in schema, or in current_schema() (where unqualified
** CREATE TABLE puts tables) when schema is NULL. */
static int pg_table_exists(struct lm_conn *c, const char *schema,
                           const char *table, int *exists,
                           struct lm_err *err) {
  static const char sql[] =
    "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = "
    "coalesce($2, current_schema()) AND tablename = $1";
  struct lm_value v[2];
  PGresult *res = NULL;
  int ret = 1;
  *exists = 0;
  memset(v, 0, sizeof v);
  v[0].type = LM_VTEXT;
  v[0].s = table;
  v[0].n = strlen(table);
  if (schema != NULL) {
    v[1].type = LM_VTEXT;
    v[1].s = schema;
    v[1].n = strlen(schema);
  }
  if (exec_params(c, sql, 2, v, NULL, &res, err)) goto done;
  if (check_result(c, res, sql, err)) goto done;
  *exists = PQntuples(res) > 0;
  ret = 0;
done:
  PQclear(res);
  return ret;
}

const struct lm_backend lm_backend_pg = {
  .name = "postgresql",
  .has_transactional_ddl = 1,
  .has_session_lock = 1,
  .is_offline = 0,
  .connect = pg_connect,
  .close = pg_close,
  .exec = pg_exec,
  .query = pg_query,
  .cursor_step = pg_cursor_step,
  .cursor_ncols = pg_cursor_ncols,
  .cursor_colname = pg_cursor_colname,
  .cursor_value = pg_cursor_value,
  .cursor_close = pg_cursor_close,
  .begin = pg_begin,
  .commit = pg_commit,
  .rollback = pg_rollback,
  .lock = pg_lock,
  .unlock = pg_unlock,
  .cancel = pg_cancel,
  .set_limits = pg_set_limits,
  .lock_timeout_sqlstate = "55P03",
  .table_exists = pg_table_exists,
};
