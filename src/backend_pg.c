/*
** backend_pg.c: the PostgreSQL (libpq) implementation of struct lm_backend.
** Parameters $1..$N are native: values go as text with type "unknown" so
** the server infers them from context, blobs as binary bytea. SQL without
** parameters runs through the simple protocol (several statements allowed);
** with parameters it must be one statement. Runners are serialised by a
** session advisory lock keyed by a hash of "lmigrate:<key>".
** libpq is loaded at connect (pq.h) and called through the connection's
** table; a cursor holds its own reference on that table.
** Invariant: no function returns holding a PGresult it owns, except
** query(), whose result belongs to the returned cursor.
*/
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "backend.h"
#include "backend_pg_int.h"
#include "clock.h"
#include "dialect.h"
#include "interrupt.h"
#include "pg_scan.h"
#include "pq.h"
#include "sqlbuf.h"
#include "url.h"

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

/* One decoded bytea value. */
struct blob {
  unsigned char *p;      /* owned; PQfreemem */
  size_t n;
};

struct pg_cursor {
  struct lm_cursor base; /* must be first */
  struct lm_pq *pq;      /* owned (one reference): outlives the connection
                         ** when the cursor is closed after it */
  PGresult *res;         /* owned; PQclear (independent of the connection) */
  int row;               /* current row, -1 before the first step */
  int nrows, ncols;
  struct blob *blobs;    /* owned; ncols entries: decoded bytea of the
                         ** current row, freed on step/close */
};

static PGconn *pg_of(struct lm_conn *c) {
  return ((struct pg_conn *)c)->pg;
}

static const struct lm_pq *pq_of(struct lm_conn *c) {
  return ((struct pg_conn *)c)->pq;
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
                     struct lm_pg_scan *sc, struct lm_err *err) {
  memset(sc, 0, sizeof *sc);
  sc->used = used;
  sc->nparams = nparams;
  lm_pg_scan(sql, sc);
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

/* Wait for the results of the query just sent, like PQexec (the last
** result, owned by the caller; NULL when libpq failed), but polling the
** socket so that Ctrl-C or SIGTERM (lm_interrupted) cancels the statement
** on the server instead of waiting for it to finish. */
static PGresult *wait_result(struct pg_conn *c) {
  const struct lm_pq *pq = c->pq;
  PGresult *res, *last = NULL;
  /* a lock timeout under a second is not watched: opening the watch's
  ** session could take longer than the wait itself */
  int cancelled = 0, watched = c->wait_limit_ms < 1000;
  double t0 = lm_now_ms();
  c->blockers[0] = '\0';
  for (;;) {
    while (pq->isBusy(c->pg)) {
      struct pollfd p;
      if (!watched) lm_pg_watch(c, lm_now_ms() - t0, &watched);
      if (lm_interrupted && !cancelled && c->cancel != NULL) {
        char buf[256];
        pq->cancel(c->cancel, buf, sizeof buf);
        cancelled = 1;
      }
      p.fd = pq->socket(c->pg);
      p.events = POLLIN;
      p.revents = 0;
      if (poll(&p, 1, 100) < 0 && errno != EINTR) break;
      if (!pq->consumeInput(c->pg)) break;
    }
    res = pq->getResult(c->pg);
    if (res == NULL) break;
    if (last != NULL) pq->clear(last);
    last = res;
    if (pq->resultStatus(res) == PGRES_COPY_IN ||
        pq->resultStatus(res) == PGRES_COPY_OUT)
      break;              /* the caller refuses COPY and drains it */
  }
  return last;
}

/* PQexec through wait_result. */
static PGresult *run_simple(struct pg_conn *c, const char *sql) {
  if (!c->pq->sendQuery(c->pg, sql)) return NULL;
  return wait_result(c);
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
  if (pq_of(c)->sendQueryParams(pg_of(c), sql, nparams, p.types, p.values,
                                p.lengths, p.formats, 0))
    *res = wait_result((struct pg_conn *)c);
  free(p.mem);
  return 0;
}

/* ---------- connection ---------- */

/* connect: loads libpq (pq.h; an error naming the package when it is
** missing), then lets it parse the URL (so PG* variables and .pgpass
** apply); NOTICEs are silenced. *out owned by the caller (close). */
static int pg_connect(const struct lm_url *url,
                      const struct lm_connect_opts *opts,
                      struct lm_conn **out, struct lm_err *err) {
  static const char *const keys[] = { "dbname", "fallback_application_name",
                                      NULL };
  const char *vals[3];
  const struct lm_pq *pq = NULL; /* borrowed from c->pq */
  struct pg_conn *c = NULL;
  PGresult *res = NULL;
  char msg[LM_ERRMSG_MAX];
  int ret = 1, version;

  *out = NULL;
  if (url == NULL || url->kind != LM_URL_POSTGRES || url->raw == NULL)
    return lm_err_set(err, "the PostgreSQL backend needs a postgresql:// URL");
  c = calloc(1, sizeof *c);
  if (c == NULL) return lm_err_set(err, "out of memory");
  if (lm_pq_open(&c->pq, err)) goto done;
  pq = c->pq;
  c->base.be = &lm_backend_pg;
  c->base.dialect = &lm_dialect_pg;
  c->lock_timeout_ms = opts != NULL ? opts->lock_timeout_ms : 0;
  vals[0] = url->raw;
  vals[1] = "lmigrate";
  vals[2] = NULL;
  c->pg = pq->connectdbParams(keys, vals, 1);
  if ((c->conninfo = strdup(url->raw)) == NULL) {
    lm_err_set(err, "out of memory");
    goto done;
  }
  if (c->pg == NULL) {
    lm_err_set(err, "cannot connect to %s: out of memory", url->redacted);
    goto done;
  }
  if (pq->status(c->pg) != CONNECTION_OK) {
    /* libpq's text may quote the URI (a malformed one, say): mask it
    ** before anything else touches it. */
    char *safe = lm_url_mask(url, pq->errorMessage(c->pg));
    lm_pg_squash(msg, sizeof msg, safe != NULL ? safe : "(out of memory)");
    free(safe);
    lm_err_set(err, "cannot connect to %s: %s", url->redacted, msg);
    goto done;
  }
  version = pq->serverVersion(c->pg);
  if (version < 110000) {
    lm_err_set(err, "cannot use %s: lmigrate needs PostgreSQL 11 or later "
               "(the server is %d.%d)", url->redacted, version / 10000,
               version / 100 % 100);
    goto done;
  }
  res = pq->exec(c->pg, "SET client_min_messages = warning");
  if (lm_pg_check_result(&c->base, res, NULL, err)) {
    lm_err_prefix(err, "cannot set up the connection to %s", url->redacted);
    goto done;
  }
  c->cancel = pq->getCancel(c->pg);
  c->pid = pq->backendPID(c->pg);
  *out = &c->base;
  c = NULL;
  ret = 0;
done:
  if (pq != NULL) pq->clear(res);
  if (c != NULL && c->pq != NULL) {
    c->pq->finish(c->pg);
    lm_pq_close(c->pq);
  }
  if (c != NULL) free(c->conninfo);
  free(c);
  return ret;
}

/* close: the session's advisory locks and any open transaction end with
** the session. Cursors still open keep libpq loaded (their reference). */
static void pg_close(struct lm_conn *conn) {
  struct pg_conn *c = (struct pg_conn *)conn;
  if (c == NULL) return;
  lm_pg_guard_free(c);
  lm_pg_watch_close(c);
  if (c->cancel != NULL) c->pq->freeCancel(c->cancel);
  c->pq->finish(c->pg);
  lm_pq_close(c->pq);
  free(c->conninfo);
  free(c);
}

/* exec: without parameters the whole text goes through the simple protocol
** (several statements run as one implicit transaction unless the text has
** its own BEGIN/COMMIT); with parameters it must be one statement. */
static int pg_exec(struct lm_conn *c, const char *sql, int nparams,
                   const struct lm_value *params, long long *changes,
                   struct lm_err *err) {
  struct lm_pg_scan sc;
  unsigned char *used = NULL;
  PGresult *res = NULL;
  int ret = 1;

  if (nparams > 0 && (used = calloc((size_t)nparams, 1)) == NULL)
    return lm_err_set(err, "out of memory");
  if (check_sql(sql, nparams, used, &sc, err)) goto done;
  if (lm_pg_guard_before((struct pg_conn *)c, sql, err)) goto done;
  if (nparams == 0) {
    res = run_simple((struct pg_conn *)c, sql);
  } else {
    if (sc.nstmts > 1) {
      lm_err_set(err, "parameters ($1..$N) need a single SQL statement, but "
                 "this SQL has %d; run each statement in its own call",
                 sc.nstmts);
      goto done;
    }
    if (exec_params(c, sql, nparams, params, used, &res, err)) goto done;
  }
  if (lm_pg_guard_after((struct pg_conn *)c, sql,
                        lm_pg_check_result(c, res, sql, err), err)) {
    lm_pg_watch_note((struct pg_conn *)c, err);
    goto done;
  }
  if (changes != NULL) *changes = strtoll(pq_of(c)->cmdTuples(res), NULL, 10);
  ret = 0;
done:
  pq_of(c)->clear(res);
  free(used);
  return ret;
}

/* query: exactly one statement; the whole result is fetched and owned by
** the cursor. */
static int pg_query(struct lm_conn *c, const char *sql, int nparams,
                    const struct lm_value *params, struct lm_cursor **out,
                    struct lm_err *err) {
  struct lm_pg_scan sc;
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
  if (lm_pg_guard_before((struct pg_conn *)c, sql, err)) goto done;
  if (exec_params(c, sql, nparams, params, used, &res, err)) goto done;
  if (lm_pg_guard_after((struct pg_conn *)c, sql,
                        lm_pg_check_result(c, res, sql, err), err)) {
    lm_pg_watch_note((struct pg_conn *)c, err);
    goto done;
  }
  cur = calloc(1, sizeof *cur);
  if (cur == NULL) {
    lm_err_set(err, "out of memory");
    goto done;
  }
  cur->ncols = pq_of(c)->nfields(res);
  cur->nrows = pq_of(c)->ntuples(res);
  cur->row = -1;
  if (cur->ncols > 0 &&
      (cur->blobs = calloc((size_t)cur->ncols, sizeof *cur->blobs)) == NULL) {
    free(cur);
    lm_err_set(err, "out of memory");
    goto done;
  }
  cur->base.conn = c;
  cur->pq = lm_pq_ref(((struct pg_conn *)c)->pq);
  cur->res = res;
  res = NULL;
  *out = &cur->base;
  ret = 0;
done:
  pq_of(c)->clear(res);
  free(used);
  return ret;
}

static void free_blobs(struct pg_cursor *cur) {
  int i;
  if (cur->blobs == NULL) return;
  for (i = 0; i < cur->ncols; i++) {
    if (cur->blobs[i].p != NULL) cur->pq->freemem(cur->blobs[i].p);
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
  struct pg_cursor *c = (struct pg_cursor *)cur;
  return c->pq->fname(c->res, i);
}

/* cursor_value: by column type: int2/4/8 -> INT, float4/8 -> FLOAT, bool
** -> BOOL, bytea -> BLOB (decoded into memory the cursor owns until the
** next step), everything else (numeric included) -> TEXT. */
static void pg_cursor_value(struct lm_cursor *base, int i, struct lm_value *v) {
  struct pg_cursor *cur = (struct pg_cursor *)base;
  const struct lm_pq *pq = cur->pq;
  const char *s;
  memset(v, 0, sizeof *v);
  v->type = LM_VNULL;
  if (cur->row < 0 || cur->row >= cur->nrows || i < 0 || i >= cur->ncols ||
      pq->getisnull(cur->res, cur->row, i))
    return;
  s = pq->getvalue(cur->res, cur->row, i);
  switch (pq->ftype(cur->res, i)) {
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
    if (b->p == NULL) b->p = pq->unescapeBytea((const unsigned char *)s, &b->n);
    if (b->p == NULL) break;   /* out of memory: reads as NULL */
    v->type = LM_VBLOB;
    v->s = (const char *)b->p;
    v->n = b->n;
    break;
  }
  default:
    v->type = LM_VTEXT;
    v->s = s;
    v->n = (size_t)pq->getlength(cur->res, cur->row, i);
    break;
  }
}

/* cursor_close: touches only the result and the cursor's own reference on
** the libpq table, never the connection, so it is safe after the
** connection was closed (the last reference unloads the table). */
static void pg_cursor_close(struct lm_cursor *base) {
  struct pg_cursor *cur = (struct pg_cursor *)base;
  if (cur == NULL) return;
  free_blobs(cur);
  free(cur->blobs);
  cur->pq->clear(cur->res);
  lm_pq_close(cur->pq);
  free(cur);
}

/* ---------- transactions, locks ---------- */

/* Run a fixed command (no parameters); *tag (may be NULL) gets its command
** tag copied (size 16). */
static int simple(struct lm_conn *c, const char *sql, char *tag,
                  struct lm_err *err) {
  const struct lm_pq *pq = pq_of(c);
  PGresult *res = run_simple((struct pg_conn *)c, sql);
  int rc = lm_pg_check_result(c, res, sql, err);
  if (rc == 0 && tag != NULL) snprintf(tag, 16, "%s", pq->cmdStatus(res));
  pq->clear(res);
  return rc;
}

static int pg_begin(struct lm_conn *c, struct lm_err *err) {
  return simple(c, "BEGIN", NULL, err);
}

/* commit: deferred constraint failures surface here; an aborted
** transaction (an earlier statement failed) is rolled back and reported. */
static int pg_commit(struct lm_conn *c, struct lm_err *err) {
  char tag[16];
  if (((struct pg_conn *)c)->wait_local) ((struct pg_conn *)c)->wait_limit_ms = 0;
  if (pq_of(c)->transactionStatus(pg_of(c)) == PQTRANS_INERROR) {
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
  if (((struct pg_conn *)c)->wait_local) ((struct pg_conn *)c)->wait_limit_ms = 0;
  switch (pq_of(c)->transactionStatus(pg_of(c))) {
  case PQTRANS_IDLE:
    return 0;
  case PQTRANS_UNKNOWN:
    return lm_err_set(err, "cannot roll back: the connection to the server "
                      "is lost (the server rolls the transaction back)");
  default:
    return simple(c, "ROLLBACK", NULL, err);
  }
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
  if (lm_pg_check_result(c, res, lm_sb_str(&sql), err)) goto done;
  *result = pq_of(c)->ntuples(res) == 1 &&
            pq_of(c)->getvalue(res, 0, 0)[0] == 't';
  ret = 0;
done:
  pq_of(c)->clear(res);
  lm_sb_free(&sql);
  lm_sb_free(&name);
  return ret;
}

/* lock: poll pg_try_advisory_lock every LOCK_POLL_MS up to the lock
** timeout. The lock is the session's (it survives COMMIT/ROLLBACK and ends
** with the connection). */
static int pg_lock(struct lm_conn *conn, const char *key, struct lm_err *err) {
  struct pg_conn *c = (struct pg_conn *)conn;
  double t0 = lm_now_ms(), waited;
  int got = 0;
  for (;;) {
    if (advisory(conn, "pg_try_advisory_lock", key, &got, err)) return 1;
    if (got) {
      c->locks++;
      return 0;
    }
    waited = lm_now_ms() - t0;
    if (lm_interrupted)
      return lm_err_set(err, "interrupted while waiting for the lock on %s",
                        key);
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
  if (c->pq->transactionStatus(c->pg) == PQTRANS_INERROR &&
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
  if (c != NULL && c->cancel != NULL) c->pq->cancel(c->cancel, buf, sizeof buf);
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
  /* the watch's threshold: the lock timeout in force (a SET LOCAL one
  ** ends with its transaction) */
  ((struct pg_conn *)c)->wait_limit_ms = lock_timeout_ms > 0 ? lock_timeout_ms : 0;
  ((struct pg_conn *)c)->wait_local = local;
  return simple(c, sql, NULL, err);
}

PGresult *lm_pg_run(struct pg_conn *c, const char *sql, int nparams,
                    const struct lm_value *params, struct lm_err *err) {
  PGresult *res = NULL;
  if (nparams == 0) res = run_simple(c, sql);
  else if (exec_params(&c->base, sql, nparams, params, NULL, &res, err))
    return NULL;
  if (lm_pg_check_result(&c->base, res, sql, err)) {
    c->pq->clear(res);
    return NULL;
  }
  return res;
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
  if (lm_pg_check_result(c, res, sql, err)) goto done;
  *exists = pq_of(c)->ntuples(res) > 0;
  ret = 0;
done:
  pq_of(c)->clear(res);
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
  .hold_guard = lm_pg_hold_guard,
  .hold_release = lm_pg_hold_release,
  .invalid_indexes = lm_pg_invalid_indexes,
  .replicas = lm_pg_replicas,
};
