/*
** op_batch.c: automatic batching of SQLite table rebuilds. An op that
** needs a rebuild (op_schema.c asks dialect->needs_rebuild) is queued per
** table in its op box instead of run; consecutive ones on the same table
** accumulate, and the batch runs as one lm_sqlite_rebuild when any other
** op comes (lm_op_checkctx) or the revision function returns (lm_op_flush).
**
** Memory: a batch owns copies of everything its alterations point to
** (Lua strings may be collected meanwhile), allocated from a pool of
** malloc blocks freed in one go when the batch runs or is dropped
** (lm_op_release, the box's __gc). Nothing here raises except
** lm_op_batch_add, and only after the batch is consistent.
*/
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "log.h"
#include "op_int.h"
#include "sqlite_rebuild.h"

/* One pool allocation; the data follows the header, maximally aligned. */
struct block {
  struct block *next;
  max_align_t data[];
};

struct lm_opbatch {
  const char *what;         /* static: the first queued op's name */
  char *table;              /* pool */
  char *where;              /* pool: "file:line" of the first queued op, or "" */
  char *copy_from;          /* pool, or NULL */
  struct lm_alter *alters;  /* owned; free() */
  int n, cap;
  struct block *pool;       /* owned; every copied string and array */
};

/* n bytes from b's pool, or NULL when out of memory. */
static void *pool_alloc(struct lm_opbatch *b, size_t n) {
  struct block *k = malloc(sizeof *k + n);
  if (k == NULL) return NULL;
  k->next = b->pool;
  b->pool = k;
  return k->data;
}

/* Copy n bytes of s plus a NUL into the pool; *ok is cleared on OOM. */
static char *pool_memdup(struct lm_opbatch *b, const char *s, size_t n,
                         int *ok) {
  char *p;
  if (s == NULL) return NULL;
  p = pool_alloc(b, n + 1);
  if (p == NULL) {
    *ok = 0;
    return NULL;
  }
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

static char *pool_strdup(struct lm_opbatch *b, const char *s, int *ok) {
  return s ? pool_memdup(b, s, strlen(s), ok) : NULL;
}

static const char *const *pool_strv(struct lm_opbatch *b,
                                    const char *const *v, int n, int *ok) {
  const char **p;
  int i;
  if (v == NULL || n <= 0) return NULL;
  p = pool_alloc(b, (size_t)n * sizeof *p);
  if (p == NULL) {
    *ok = 0;
    return NULL;
  }
  for (i = 0; i < n; i++) p[i] = pool_strdup(b, v[i], ok);
  return p;
}

/* Make *dst a deep copy of src in b's pool. 0 on success, 1 on OOM (dst
** then holds a partial copy, still only pointing into the pool). */
static int copy_alter(struct lm_opbatch *b, struct lm_alter *dst,
                      const struct lm_alter *src) {
  int ok = 1;
  *dst = *src;
  dst->column = pool_strdup(b, src->column, &ok);
  dst->type = pool_strdup(b, src->type, &ok);
  dst->using_expr = pool_strdup(b, src->using_expr, &ok);
  dst->server_default = pool_strdup(b, src->server_default, &ok);
  dst->new_name = pool_strdup(b, src->new_name, &ok);
  dst->name = pool_strdup(b, src->name, &ok);
  dst->cols = pool_strv(b, src->cols, src->ncols, &ok);
  dst->ref_table = pool_strdup(b, src->ref_table, &ok);
  dst->ref_cols = pool_strv(b, src->ref_cols, src->nref_cols, &ok);
  dst->on_delete = pool_strdup(b, src->on_delete, &ok);
  dst->on_update = pool_strdup(b, src->on_update, &ok);
  dst->check = pool_strdup(b, src->check, &ok);
  dst->add = NULL;
  if (src->add) {
    struct lm_column *c = pool_alloc(b, sizeof *c);
    if (c == NULL) return 1;
    *c = *src->add;
    c->name = pool_strdup(b, c->name, &ok);
    c->type = pool_strdup(b, c->type, &ok);
    c->server_default = pool_strdup(b, c->server_default, &ok);
    c->references = pool_strdup(b, c->references, &ok);
    c->on_delete = pool_strdup(b, c->on_delete, &ok);
    c->on_update = pool_strdup(b, c->on_update, &ok);
    if (c->has_default && (c->default_value.type == LM_VTEXT ||
                           c->default_value.type == LM_VBLOB))
      c->default_value.s = pool_memdup(b, c->default_value.s,
                                       c->default_value.n, &ok);
    dst->add = c;
  }
  return !ok;
}

static void batch_free(struct lm_opbatch *batch) {
  struct block *k, *next;
  if (batch == NULL) return;
  for (k = batch->pool; k; k = next) {
    next = k->next;
    free(k);
  }
  free(batch->alters);
  free(batch);
}

void lm_op_batch_free(struct lm_opbox *b) {
  batch_free(b->batch);
  b->batch = NULL;
}

int lm_op_batch_has(struct lm_opbox *b, const char *table) {
  return b->batch != NULL && strcmp(b->batch->table, table) == 0;
}

int lm_op_batch_other(struct lm_opbox *b, const char *table) {
  return b->batch != NULL &&
         (table == NULL || strcmp(b->batch->table, table) != 0);
}

/* A new empty batch for table, located at the caller of the running op;
** NULL on OOM. */
static struct lm_opbatch *batch_new(lua_State *L, const char *what,
                                    const char *table) {
  struct lm_opbatch *batch = calloc(1, sizeof *batch);
  const char *where;
  size_t n;
  int ok = 1;
  if (batch == NULL) return NULL;
  batch->what = what;
  luaL_where(L, 1);
  where = lua_tolstring(L, -1, &n);
  while (n > 0 && (where[n - 1] == ' ' || where[n - 1] == ':')) n--;
  batch->where = pool_memdup(batch, where, n, &ok);
  lua_pop(L, 1);
  batch->table = pool_strdup(batch, table, &ok);
  if (!ok) {
    batch_free(batch);
    return NULL;
  }
  return batch;
}

void lm_op_batch_add(lua_State *L, struct lm_opbox *b, const char *what,
                     const char *table, const struct lm_alter *a,
                     const char *copy_from) {
  struct lm_opbatch *batch = b->batch;
  int ok = 1;
  if (batch == NULL) {
    if ((batch = batch_new(L, what, table)) == NULL)
      luaL_error(L, "%s \"%s\": out of memory", what, table);
    b->batch = batch;
  }
  if (batch->n == batch->cap) {
    int cap = batch->cap ? 2 * batch->cap : 4;
    struct lm_alter *p = realloc(batch->alters, (size_t)cap * sizeof *p);
    if (p == NULL) luaL_error(L, "%s \"%s\": out of memory", what, table);
    batch->alters = p;
    batch->cap = cap;
  }
  if (copy_from && batch->copy_from == NULL)
    batch->copy_from = pool_strdup(batch, copy_from, &ok);
  if (!ok || copy_alter(batch, &batch->alters[batch->n], a))
    luaL_error(L, "%s \"%s\": out of memory", what, table);
  batch->n++;
}

/* Print each line of warnings as "lmigrate: warning: where: line". */
static void print_warnings(const char *where, const struct lm_sqlbuf *w) {
  const char *p = lm_sb_str(w);
  while (*p) {
    const char *nl = strchr(p, '\n');
    int n = nl ? (int)(nl - p) : (int)strlen(p);
    if (n > 0)
      lm_warn("%s%s%.*s", where, *where ? ": " : "", n, p);
    p += n + (nl != NULL);
  }
}

int lm_op_batch_run(struct lm_opbox *b, struct lm_err *err) {
  struct lm_opbatch *batch = b->batch;
  struct lm_opctx *ctx = b->ctx;
  struct lm_conn *c;
  struct lm_sqlbuf warnings;
  struct lm_err ignored;
  int rc;
  b->batch = NULL;   /* detached: it runs once, whatever happens */
  if (batch == NULL || batch->n == 0) {
    batch_free(batch);
    return 0;
  }
  c = ctx->conn;
  lm_sb_init(&warnings);
  /* a non-transactional revision runs each op on its own: the rebuild
  ** still needs a transaction of its own */
  rc = !ctx->transactional && c->be->begin(c, err);
  if (rc == 0) {
    rc = lm_sqlite_rebuild(c, batch->table, batch->alters, batch->n,
                           c->be->is_offline ? batch->copy_from : NULL,
                           &warnings, err);
    if (!ctx->transactional) {
      if (rc) {
        lm_err_clear(&ignored);
        c->be->rollback(c, &ignored);
      } else {
        rc = c->be->commit(c, err);
      }
    }
  }
  if (rc == 0) print_warnings(batch->where, &warnings);
  lm_sb_free(&warnings);
  if (rc) {
    if (batch->where[0])
      lm_err_prefix(err, "%s: %s \"%s\"", batch->where, batch->what,
                    batch->table);
    else
      lm_err_prefix(err, "%s \"%s\"", batch->what, batch->table);
  }
  batch_free(batch);
  return rc;
}
