/*
** op_data.c: op.backfill and op.each_batch (op_data.h). A walk visits a
** table in key order (keyset pagination on a unique, NOT NULL key), one
** short transaction per batch; each batch commits its work together with
** its checkpoint row in lmigrate_backfill, so a killed run resumes right
** after the last committed batch: no row skipped, none done twice.
** Invariant: the walk userdata sits in a to-be-closed stack slot whose
** __close rolls back an open batch and restores ctx->transactional, so any
** error (ours, the user's fn, an interrupt) leaves earlier batches
** committed and the connection outside a transaction.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <lua.h>
#include <lauxlib.h>

#include "dialect.h"
#include "interrupt.h"
#include "op.h"
#include "op_data.h"
#include "op_int.h"
#include "sqlbuf.h"
#include "suggest.h"
#include "value.h"

#define SQLBUF_MT "lmigrate.sqlbuf"  /* op.c: a struct lm_sqlbuf, __gc */
#define WALK_MT "lmigrate.walk"
#define WCUR_MT "lmigrate.walkcursor"
#define CP_TABLE LM_CHECKPOINT_TABLE
#define MAXKEYS 8
#define LOCK_RETRIES 20
#define MAXPARAMS 30000             /* under SQLite's 32766 and PG's 65535 */

/* Stack slots of a walk, fixed by walk_setup. */
enum { S_OPTS = 1, S_WALK, S_LAST, S_NEXT, S_TYPES, S_NOTNULL, S_FN, S_OP,
       S_SQL1, S_SQL2, S_SQL3, S_SQL4, S_SQLB, S_TOP = S_SQLB };

enum walk_kind { W_SET, W_FN, W_EACH };

struct walk {
  struct lm_opctx *ctx;           /* borrowed from the runner */
  struct lm_conn *c;              /* ctx->conn */
  const struct lm_backend *be;
  const struct lm_dialect *d;
  int pg;                         /* PostgreSQL spelling: casts, row locks */
  enum walk_kind kind;
  const char *fname;              /* "backfill", "each_batch" */
  int in_tx;                      /* a batch transaction is open */
  int guarded, saved_tx;          /* ctx->transactional forced to 1 */
  const char *table, *where, *set, *revision;
  const char *keys[MAXKEYS];
  int nkeys;
  long long batch, sleep_ms, target_ms, lock_timeout_ms;
  char name[256];
  int has_last, has_next;         /* S_LAST / S_NEXT hold a key */
  enum lm_vtype ltype[MAXKEYS], ntype[MAXKEYS];
  long long rows_done;            /* committed, over every run */
  long long rows_run;             /* committed in this run */
  int progress;                   /* 0 off, 1 periodic lines, 2 tty bar */
  int bar_dirty;                  /* a \r bar is on the terminal */
  long long total;                /* estimate, -1 unknown */
  double t0, last_print, max_batch_ms;
};

struct wcur {
  struct lm_cursor *cur;          /* owned: be->cursor_close */
  const struct lm_backend *be;
};

/* ---------- small helpers ---------- */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Sleep ms, in slices, returning early once an interrupt arrived. */
static void nap(long long ms) {
  while (ms > 0 && !lm_interrupted) {
    long long step = ms > 100 ? 100 : ms;
    struct timespec ts;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)step * 1000000L;
    nanosleep(&ts, NULL);
    ms -= step;
  }
}

static struct lm_sqlbuf *newsb(lua_State *L) {
  struct lm_sqlbuf *sb = lua_newuserdatauv(L, sizeof *sb, 0);
  lm_sb_init(sb);
  luaL_setmetatable(L, SQLBUF_MT);
  return sb;
}

static struct lm_sqlbuf *slot_sb(lua_State *L, int slot) {
  return (struct lm_sqlbuf *)lua_touserdata(L, slot);
}

static void qi(struct walk *w, struct lm_sqlbuf *sb, const char *name) {
  w->d->quote_ident(sb, name);
}

static void text_value(struct lm_value *v, const char *s) {
  memset(v, 0, sizeof *v);
  v->type = s ? LM_VTEXT : LM_VNULL;
  v->s = s;
  v->n = s ? strlen(s) : 0;
}

static void int_value(struct lm_value *v, long long i) {
  memset(v, 0, sizeof *v);
  v->type = LM_VINT;
  v->i = i;
}

/* Raise "op.<fname> "<table>": msg"; __close of the walk rolls back. */
static int walk_error(lua_State *L, struct walk *w, const char *msg) {
  if (w->bar_dirty) {
    fputc('\n', stderr);
    w->bar_dirty = 0;
  }
  return luaL_error(L, "op.%s \"%s\": %s", w->fname, w->table, msg);
}

static int interrupted(lua_State *L, struct walk *w) {
  if (w->bar_dirty) {
    fputc('\n', stderr);
    w->bar_dirty = 0;
  }
  return luaL_error(L, "interrupted: %I rows done; run `lmigrate upgrade` "
                    "again to resume from the last checkpoint",
                    (lua_Integer)w->rows_done);
}

/* After a failed database call: raise interrupted, or the error. Returns
** 2 (retry the batch) for a lock timeout the caller may retry. */
static int db_failed(lua_State *L, struct walk *w, struct lm_err *err,
                     int may_retry) {
  memcpy(w->ctx->sqlstate, err->sqlstate, sizeof w->ctx->sqlstate);
  if (lm_interrupted) return interrupted(L, w);
  if (may_retry && w->be->lock_timeout_sqlstate != NULL &&
      strcmp(err->sqlstate, w->be->lock_timeout_sqlstate) == 0)
    return 2;
  return walk_error(L, w, err->msg);
}

static int walk_close(lua_State *L) {
  struct walk *w = luaL_checkudata(L, 1, WALK_MT);
  struct lm_err err;
  if (w->in_tx) {
    lm_err_clear(&err);
    w->be->rollback(w->c, &err);
    w->in_tx = 0;
  }
  if (w->guarded) {
    w->ctx->transactional = w->saved_tx;
    w->guarded = 0;
  }
  return 0;
}

static int wcur_gc(lua_State *L) {
  struct wcur *wc = luaL_checkudata(L, 1, WCUR_MT);
  if (wc->cur) wc->be->cursor_close(wc->cur);
  wc->cur = NULL;
  return 0;
}

/* Run a query; pushes a cursor box (closed by __gc or wcur_gc). 0, or
** non-zero with err filled (the box is pushed either way). */
static int query(lua_State *L, struct walk *w, const char *sql, int n,
                 const struct lm_value *params, struct wcur **out,
                 struct lm_err *err) {
  struct wcur *wc = lua_newuserdatauv(L, sizeof *wc, 0);
  wc->cur = NULL;
  wc->be = w->be;
  luaL_setmetatable(L, WCUR_MT);
  *out = wc;
  lm_err_clear(err);
  return w->be->query(w->c, sql, n, params, &wc->cur, err);
}

static void closecur(struct wcur *wc) {
  if (wc->cur) wc->be->cursor_close(wc->cur);
  wc->cur = NULL;
}

/* ---------- options ---------- */

static const char *const backfill_keys[] = {
  "table", "key", "set", "fn", "columns", "where", "batch_size", "sleep_ms",
  "target_ms", "lock_timeout_ms", "name", NULL
};
static const char *const each_keys[] = {
  "table", "key", "fn", "columns", "where", "batch_size", "sleep_ms",
  "target_ms", "lock_timeout_ms", "name", NULL
};

static void check_opts(lua_State *L, const char *fname,
                       const char *const *valid) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    const char *key, *best;
    int i, found = 0;
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "op.%s: unexpected %s key in the options", fname,
                 luaL_typename(L, -1));
    key = lua_tostring(L, -1);
    for (i = 0; valid[i] && !found; i++) found = strcmp(key, valid[i]) == 0;
    if (found) continue;
    best = lm_suggest(key, valid);
    if (best)
      luaL_error(L, "unknown option '%s' for %s (did you mean '%s'?)", key,
                 fname, best);
    luaL_error(L, "unknown option '%s' for %s", key, fname);
  }
}

/* A non-empty identifier without NUL at the top of the stack. */
static const char *ident_at(lua_State *L, int idx, const char *fname,
                            const char *what) {
  size_t len = 0;
  const char *s = NULL;
  if (lua_type(L, idx) == LUA_TSTRING) s = lua_tolstring(L, idx, &len);
  if (s == NULL || len == 0 || strlen(s) != len)
    luaL_error(L, "op.%s: %s must be a non-empty name", fname, what);
  return s;
}

static const char *opt_str(lua_State *L, const char *fname, const char *key) {
  const char *s = NULL;
  int t = lua_getfield(L, S_OPTS, key);
  if (t == LUA_TSTRING) s = lua_tostring(L, -1);
  else if (t != LUA_TNIL)
    luaL_error(L, "op.%s: option '%s' must be a string, got %s", fname, key,
               luaL_typename(L, -1));
  lua_pop(L, 1);
  return s;
}

static long long opt_int(lua_State *L, const char *fname, const char *key,
                         long long def, long long min) {
  long long v = def;
  int t = lua_getfield(L, S_OPTS, key);
  if (t != LUA_TNIL) {
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < min)
      luaL_error(L, "op.%s: option '%s' must be an integer >= %I", fname,
                 key, (lua_Integer)min);
    v = (long long)lua_tointeger(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

/* Parse key = "id" | { "a", "b" } into w->keys (strings anchored in opts). */
static void parse_keys(lua_State *L, struct walk *w) {
  int t = lua_getfield(L, S_OPTS, "key");
  if (t == LUA_TSTRING) {
    w->keys[0] = ident_at(L, -1, w->fname, "key");
    w->nkeys = 1;
  } else if (t == LUA_TTABLE) {
    int i, n = (int)lua_rawlen(L, -1);
    if (n < 1 || n > MAXKEYS)
      luaL_error(L, "op.%s: key must list 1 to %d columns", w->fname, MAXKEYS);
    for (i = 0; i < n; i++) {
      lua_rawgeti(L, -1, i + 1);
      w->keys[i] = ident_at(L, -1, w->fname, "every key column");
      lua_pop(L, 1);
    }
    w->nkeys = n;
  } else {
    luaL_error(L, "op.%s: option 'key' is required: the unique key column "
               "(\"id\") or columns ({ \"a\", \"b\" }) to walk the table by",
               w->fname);
  }
  lua_pop(L, 1);
}

/* FNV-1a over s, folded into h. */
static unsigned long fnv(unsigned long h, const char *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619UL;
  return h & 0xffffffffUL;
}

/* The default checkpoint name: table(keys):kind:<hash of what it does>. */
static void default_name(lua_State *L, struct walk *w) {
  unsigned long h = 2166136261UL;
  char keys[128];
  size_t len = 0;
  int i;
  static const char *const kinds[] = { "set", "fn", "each" };
  keys[0] = '\0';
  for (i = 0; i < w->nkeys && len + 2 < sizeof keys; i++)
    len += (size_t)snprintf(keys + len, sizeof keys - len, "%s%s",
                            i ? "," : "", w->keys[i]);
  if (w->set) h = fnv(h, w->set, strlen(w->set) + 1);
  if (w->where) h = fnv(h, w->where, strlen(w->where) + 1);
  if (lua_getfield(L, S_OPTS, "columns") == LUA_TTABLE) {
    int n = (int)lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      size_t sl;
      const char *s;
      lua_rawgeti(L, -1, i);
      s = lua_tolstring(L, -1, &sl);
      if (s) h = fnv(h, s, sl + 1);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (lua_type(L, S_FN) == LUA_TFUNCTION) {
    lua_Debug ar;
    char where[64];
    lua_pushvalue(L, S_FN);
    lua_getinfo(L, ">S", &ar);
    snprintf(where, sizeof where, ":%d", ar.linedefined);
    h = fnv(h, ar.short_src, strlen(ar.short_src));
    h = fnv(h, where, strlen(where));
  }
  snprintf(w->name, sizeof w->name, "%.180s(%.60s):%s:%08lx", w->table, keys,
           kinds[w->kind], h);
}

/* ---------- catalog: columns, key uniqueness, estimate ---------- */

/* Fill S_TYPES (column -> declared type) and S_NOTNULL (column -> true). */
static void load_columns(lua_State *L, struct walk *w) {
  static const char pg_sql[] =
    "SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod),"
    " a.attnotnull FROM pg_catalog.pg_attribute a WHERE a.attrelid = "
    "to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped";
  static const char sq_sql[] =
    "SELECT name, type, \"notnull\" OR (pk > 0 AND upper(type) = 'INTEGER' "
    "AND (SELECT count(*) FROM pragma_table_info($1) WHERE pk > 0) = 1) "
    "FROM pragma_table_info($1)";
  struct lm_sqlbuf *sb = newsb(L);
  struct lm_value p;
  struct lm_err err;
  struct wcur *wc;
  int st, n = 0;
  if (w->pg) qi(w, sb, w->table);
  else lm_sb_add(sb, w->table);
  text_value(&p, lm_sb_str(sb));
  if (query(L, w, w->pg ? pg_sql : sq_sql, 1, &p, &wc, &err))
    walk_error(L, w, err.msg);
  while ((st = w->be->cursor_step(wc->cur, &err)) == 1) {
    struct lm_value v[3];
    int i;
    for (i = 0; i < 3; i++) w->be->cursor_value(wc->cur, i, &v[i]);
    lm_value_push(L, &v[0]);
    lm_value_push(L, &v[1]);
    lua_rawset(L, S_TYPES);
    lm_value_push(L, &v[0]);
    lua_pushboolean(L, v[2].type != LM_VNULL && v[2].i != 0);
    lua_rawset(L, S_NOTNULL);
    n++;
  }
  closecur(wc);
  if (st < 0) walk_error(L, w, err.msg);
  lua_pop(L, 2);
  if (n == 0) walk_error(L, w, "no such table");
}

/* 1 when the column exists in S_TYPES. */
static int has_column(lua_State *L, const char *col) {
  int t = lua_getfield(L, S_TYPES, col);
  lua_pop(L, 1);
  return t != LUA_TNIL;
}

static int key_index(struct walk *w, const char *col) {
  int i;
  for (i = 0; i < w->nkeys; i++)
    if (strcmp(w->keys[i], col) == 0) return i;
  return -1;
}

/* Raise unless the key columns are exactly the columns of a unique,
** non-partial index (or the rowid) and are NOT NULL. */
static void check_key(lua_State *L, struct walk *w) {
  static const char pg_sql[] =
    "SELECT i.indexrelid::bigint, a.attname::text FROM pg_catalog.pg_index i "
    "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(n, o) "
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND "
    "a.attnum = k.n WHERE i.indrelid = to_regclass($1) AND i.indisunique "
    "AND i.indpred IS NULL AND i.indexprs IS NULL AND k.o <= i.indnkeyatts "
    "ORDER BY 1, k.o";
  static const char sq_sql[] =
    "SELECT il.name, ii.name FROM pragma_index_list($1) AS il, "
    "pragma_index_info(il.name) AS ii WHERE il.\"unique\" AND NOT il.partial "
    "ORDER BY il.seq, ii.seqno";
  struct lm_sqlbuf *sb;
  struct lm_value p, v[2];
  struct lm_err err;
  struct wcur *wc;
  char cur_ix[256] = "";
  unsigned seen = 0;
  int st, i, count = 0, bad = 0, found = 0;
  for (i = 0; i < w->nkeys; i++) {
    if (!has_column(L, w->keys[i]))
      luaL_error(L, "op.%s \"%s\": key column \"%s\" does not exist",
                 w->fname, w->table, w->keys[i]);
    if (key_index(w, w->keys[i]) != i)
      luaL_error(L, "op.%s \"%s\": key column \"%s\" is listed twice",
                 w->fname, w->table, w->keys[i]);
  }
  /* SQLite: the INTEGER PRIMARY KEY (rowid alias) is unique without an
  ** index; load_columns marked it NOT NULL. */
  sb = newsb(L);
  if (w->pg) qi(w, sb, w->table);
  else lm_sb_add(sb, w->table);
  text_value(&p, lm_sb_str(sb));
  if (query(L, w, w->pg ? pg_sql : sq_sql, 1, &p, &wc, &err))
    walk_error(L, w, err.msg);
  for (;;) {
    char ix[256];
    st = w->be->cursor_step(wc->cur, &err);
    if (st == 1) {
      w->be->cursor_value(wc->cur, 0, &v[0]);
      w->be->cursor_value(wc->cur, 1, &v[1]);
      if (v[0].type == LM_VINT) snprintf(ix, sizeof ix, "%lld", v[0].i);
      else snprintf(ix, sizeof ix, "%.*s", (int)v[0].n, v[0].s ? v[0].s : "");
    }
    if (st != 1 || strcmp(ix, cur_ix) != 0) {
      if (cur_ix[0] && !bad && count == w->nkeys &&
          seen == (1u << w->nkeys) - 1)
        found = 1;
      if (st != 1) break;
      snprintf(cur_ix, sizeof cur_ix, "%s", ix);
      seen = 0;
      count = 0;
      bad = 0;
    }
    count++;
    if (v[1].type != LM_VTEXT) {
      bad = 1;
    } else {
      char col[256];
      int k;
      snprintf(col, sizeof col, "%.*s", (int)v[1].n, v[1].s);
      k = key_index(w, col);
      if (k < 0) bad = 1;
      else seen |= 1u << k;
    }
  }
  closecur(wc);
  if (st < 0) walk_error(L, w, err.msg);
  lua_pop(L, 2);
  if (!found && !w->pg && w->nkeys == 1) {
    lua_getfield(L, S_NOTNULL, w->keys[0]);
    lua_getfield(L, S_TYPES, w->keys[0]);
    /* a lone INTEGER PRIMARY KEY is marked NOT NULL by load_columns */
    if (lua_toboolean(L, -2) && lua_type(L, -1) == LUA_TSTRING &&
        strcasecmp(lua_tostring(L, -1), "INTEGER") == 0) {
      static const char pk_sql[] =
        "SELECT count(*) FROM pragma_table_info($1) WHERE pk > 0 AND name = $2";
      struct lm_value pp[2];
      text_value(&pp[0], w->table);
      text_value(&pp[1], w->keys[0]);
      if (query(L, w, pk_sql, 2, pp, &wc, &err) == 0 &&
          w->be->cursor_step(wc->cur, &err) == 1) {
        w->be->cursor_value(wc->cur, 0, &v[0]);
        found = v[0].type == LM_VINT && v[0].i == 1;
      }
      closecur(wc);
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
  }
  if (!found)
    luaL_error(L, "op.%s \"%s\": the key must be unique: no primary key or "
               "unique index (without WHERE or expressions) covers exactly "
               "the key column%s; add one, or pass a key that has one",
               w->fname, w->table, w->nkeys > 1 ? "s" : "");
  for (i = 0; i < w->nkeys; i++) {
    int nn;
    lua_getfield(L, S_NOTNULL, w->keys[i]);
    nn = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!nn)
      luaL_error(L, "op.%s \"%s\": key column \"%s\" must be NOT NULL (rows "
                 "with a NULL key would never be visited)", w->fname,
                 w->table, w->keys[i]);
  }
}

/* w->total: pg_class.reltuples on PostgreSQL (never a scan), count(*) on
** SQLite; -1 when unknown. */
static void estimate(lua_State *L, struct walk *w) {
  struct lm_sqlbuf *sb = newsb(L);
  struct lm_value p, v;
  struct lm_err err;
  struct wcur *wc;
  int np = 0;
  w->total = -1;
  if (w->pg) {
    struct lm_sqlbuf *name = newsb(L);
    qi(w, name, w->table);
    text_value(&p, lm_sb_str(name));
    np = 1;
    lm_sb_add(sb, "SELECT reltuples::bigint FROM pg_catalog.pg_class "
              "WHERE oid = to_regclass($1)");
  } else {
    lm_sb_add(sb, "SELECT count(*) FROM ");
    qi(w, sb, w->table);
    lua_pushnil(L);
  }
  if (query(L, w, lm_sb_str(sb), np, &p, &wc, &err) == 0 &&
      w->be->cursor_step(wc->cur, &err) == 1) {
    w->be->cursor_value(wc->cur, 0, &v);
    if (v.type == LM_VINT && v.i >= 0) w->total = v.i;
  }
  closecur(wc);
  lua_pop(L, 3);
}

/* ---------- checkpoint rows ---------- */

/* Append the key at stack slot (LAST/NEXT) with types t, encoded as
** <tag><len>:<payload> per value (tags i f t b B; blobs in hex). */
static void encode_key(lua_State *L, struct walk *w, int slot,
                       const enum lm_vtype *t, struct lm_sqlbuf *sb) {
  int i;
  for (i = 0; i < w->nkeys; i++) {
    size_t n, j;
    const char *s;
    lua_rawgeti(L, slot, i + 1);
    if (t[i] == LM_VBOOL) {
      lm_sb_printf(sb, "B1:%d", lua_toboolean(L, -1));
    } else if (t[i] == LM_VINT) {
      char num[32];
      snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -1));
      lm_sb_printf(sb, "i%zu:%s", strlen(num), num);
    } else if (t[i] == LM_VFLOAT) {
      char num[40];
      snprintf(num, sizeof num, "%.17g", (double)lua_tonumber(L, -1));
      lm_sb_printf(sb, "f%zu:%s", strlen(num), num);
    } else {
      s = lua_tolstring(L, -1, &n);
      if (s == NULL) {
        s = "";
        n = 0;
      }
      if (t[i] == LM_VBLOB) {
        lm_sb_printf(sb, "b%zu:", 2 * n);
        for (j = 0; j < n; j++) lm_sb_printf(sb, "%02x", (unsigned char)s[j]);
      } else {
        lm_sb_printf(sb, "t%zu:", n);
        lm_sb_addn(sb, s, n);
      }
    }
    lua_pop(L, 1);
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decode s (length n) into S_LAST / w->ltype. 0, or 1 when malformed. */
static int decode_key(lua_State *L, struct walk *w, const char *s, size_t n) {
  const char *p = s, *end = s + n;
  int i;
  for (i = 0; i < w->nkeys; i++) {
    char tag, *e;
    unsigned long long len;
    if (p >= end) return 1;
    tag = *p++;
    len = strtoull(p, &e, 10);
    if (e == p || e >= end || *e != ':' || len > (size_t)(end - e - 1))
      return 1;
    p = e + 1;
    switch (tag) {
    case 'i':
    case 'B':
    case 'f': {
      char num[48];
      if (len >= sizeof num) return 1;
      memcpy(num, p, len);
      num[len] = '\0';
      if (tag == 'i') lua_pushinteger(L, (lua_Integer)strtoll(num, NULL, 10));
      else if (tag == 'f') lua_pushnumber(L, strtod(num, NULL));
      else lua_pushboolean(L, num[0] == '1');
      w->ltype[i] = tag == 'i' ? LM_VINT : tag == 'f' ? LM_VFLOAT : LM_VBOOL;
      break;
    }
    case 't':
      lua_pushlstring(L, p, len);
      w->ltype[i] = LM_VTEXT;
      break;
    case 'b': {
      luaL_Buffer b;
      size_t j;
      if (len % 2) return 1;
      luaL_buffinit(L, &b);
      for (j = 0; j < len; j += 2) {
        int hi = hexval(p[j]), lo = hexval(p[j + 1]);
        if (hi < 0 || lo < 0) return 1;
        luaL_addchar(&b, (char)(hi * 16 + lo));
      }
      luaL_pushresult(&b);
      w->ltype[i] = LM_VBLOB;
      break;
    }
    default:
      return 1;
    }
    lua_rawseti(L, S_LAST, i + 1);
    p += len;
  }
  return p == end ? 0 : 1;
}

/* Create the checkpoint table if missing, then read this walk's row (or
** insert a fresh one). Returns 1 when the walk finished in an earlier run. */
static int load_checkpoint(lua_State *L, struct walk *w) {
  struct lm_sqlbuf *sb = newsb(L);
  struct lm_value p[3], v[3];
  struct lm_err err;
  struct wcur *wc;
  int st, done = 0, found = 0;
  lm_sb_add(sb, "CREATE TABLE IF NOT EXISTS ");
  qi(w, sb, CP_TABLE);
  lm_sb_add(sb, " (");
  qi(w, sb, "revision");
  lm_sb_add(sb, " VARCHAR(64) NOT NULL, ");
  qi(w, sb, "name");
  lm_sb_add(sb, " VARCHAR(255) NOT NULL, ");
  qi(w, sb, "last_key");
  lm_sb_add(sb, " TEXT, ");
  qi(w, sb, "rows_done");
  lm_sb_add(sb, " BIGINT NOT NULL DEFAULT 0, ");
  qi(w, sb, "done");
  lm_sb_add(sb, " INTEGER NOT NULL DEFAULT 0, ");
  qi(w, sb, "updated_at");
  lm_sb_add(sb, " VARCHAR(32), PRIMARY KEY (");
  qi(w, sb, "revision");
  lm_sb_add(sb, ", ");
  qi(w, sb, "name");
  lm_sb_add(sb, "))");
  lm_err_clear(&err);
  if (w->be->exec(w->c, lm_sb_str(sb), 0, NULL, NULL, &err))
    db_failed(L, w, &err, 0);
  lm_sb_reset(sb);
  lm_sb_add(sb, "SELECT ");
  qi(w, sb, "last_key");
  lm_sb_add(sb, ", ");
  qi(w, sb, "rows_done");
  lm_sb_add(sb, ", ");
  qi(w, sb, "done");
  lm_sb_add(sb, " FROM ");
  qi(w, sb, CP_TABLE);
  lm_sb_add(sb, " WHERE ");
  qi(w, sb, "revision");
  lm_sb_add(sb, " = $1 AND ");
  qi(w, sb, "name");
  lm_sb_add(sb, " = $2");
  text_value(&p[0], w->revision);
  text_value(&p[1], w->name);
  if (query(L, w, lm_sb_str(sb), 2, p, &wc, &err)) db_failed(L, w, &err, 0);
  st = w->be->cursor_step(wc->cur, &err);
  if (st < 0) {
    closecur(wc);
    db_failed(L, w, &err, 0);
  }
  if (st == 1) {
    int i;
    found = 1;
    for (i = 0; i < 3; i++) w->be->cursor_value(wc->cur, i, &v[i]);
    w->rows_done = v[1].type == LM_VINT ? v[1].i : 0;
    done = v[2].type == LM_VINT && v[2].i != 0;
    if (!done && v[0].type == LM_VTEXT) {
      if (decode_key(L, w, v[0].s, v[0].n)) {
        closecur(wc);
        walk_error(L, w, "its checkpoint row in " CP_TABLE " has an "
                   "unreadable last_key; delete that row to start over");
      }
      w->has_last = 1;
    }
  }
  closecur(wc);
  lua_pop(L, 1);
  if (!found) {
    lm_sb_reset(sb);
    lm_sb_add(sb, "INSERT INTO ");
    qi(w, sb, CP_TABLE);
    lm_sb_add(sb, " (");
    qi(w, sb, "revision");
    lm_sb_add(sb, ", ");
    qi(w, sb, "name");
    lm_sb_add(sb, ") VALUES ($1, $2)");
    lm_err_clear(&err);
    if (w->be->exec(w->c, lm_sb_str(sb), 2, p, NULL, &err))
      db_failed(L, w, &err, 0);
  }
  lua_pop(L, 1);
  return done;
}

/* Write the checkpoint inside the open batch: the key at S_NEXT (or NULL
** and done = 1 when finished). */
static int save_checkpoint(lua_State *L, struct walk *w, long long rows,
                           int finished, struct lm_err *err) {
  struct lm_sqlbuf *sb = newsb(L), *key = newsb(L);
  struct lm_value p[5];
  char stamp[32];
  time_t now = time(NULL);
  struct tm tm;
  int rc;
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  lm_sb_add(sb, "UPDATE ");
  qi(w, sb, CP_TABLE);
  lm_sb_add(sb, " SET ");
  qi(w, sb, "last_key");
  lm_sb_add(sb, " = $3, ");
  qi(w, sb, "rows_done");
  lm_sb_add(sb, " = $4, ");
  qi(w, sb, "done");
  lm_sb_printf(sb, " = %d, ", finished);
  qi(w, sb, "updated_at");
  lm_sb_add(sb, " = $5 WHERE ");
  qi(w, sb, "revision");
  lm_sb_add(sb, " = $1 AND ");
  qi(w, sb, "name");
  lm_sb_add(sb, " = $2");
  if (!finished) encode_key(L, w, S_NEXT, w->ntype, key);
  text_value(&p[0], w->revision);
  text_value(&p[1], w->name);
  text_value(&p[2], finished ? NULL : lm_sb_str(key));
  int_value(&p[3], rows);
  text_value(&p[4], stamp);
  lm_err_clear(err);
  rc = w->be->exec(w->c, lm_sb_str(sb), 5, p, NULL, err);
  lua_pop(L, 2);
  return rc;
}

/* ---------- SQL of a walk (built once) ---------- */

/* Append "k1", "k2" (each quoted), optionally qualified by the table and
** followed by suffix (" DESC"). */
static void add_keys(struct walk *w, struct lm_sqlbuf *sb, int qualify,
                     const char *suffix) {
  int i;
  for (i = 0; i < w->nkeys; i++) {
    if (i) lm_sb_add(sb, ", ");
    if (qualify) {
      qi(w, sb, w->table);
      lm_sb_addc(sb, '.');
    }
    qi(w, sb, w->keys[i]);
    if (suffix) lm_sb_add(sb, suffix);
  }
}

/* Append "(K) op ($first, ...)". */
static void add_keycmp_q(struct walk *w, struct lm_sqlbuf *sb,
                         const char *op, int first, int qualify) {
  int i;
  lm_sb_addc(sb, '(');
  add_keys(w, sb, qualify, NULL);
  lm_sb_printf(sb, ") %s (", op);
  for (i = 0; i < w->nkeys; i++) lm_sb_printf(sb, "%s$%d", i ? ", " : "",
                                               first + i);
  lm_sb_addc(sb, ')');
}

static void add_keycmp(struct walk *w, struct lm_sqlbuf *sb, const char *op,
                       int first) {
  add_keycmp_q(w, sb, op, first, 0);
}

/* Append the WHERE clause: after the low key (lo), up to the high key
** (hi), and the user's where. Parameters: lo = $1.., hi = $nkeys+1... */
static void add_cond(struct walk *w, struct lm_sqlbuf *sb, int lo, int hi) {
  const char *sep = " WHERE ";
  if (lo) {
    lm_sb_add(sb, sep);
    add_keycmp(w, sb, ">", 1);
    sep = " AND ";
  }
  if (hi) {
    lm_sb_add(sb, sep);
    add_keycmp(w, sb, "<=", w->nkeys + 1);
    sep = " AND ";
  }
  if (w->where) {
    lm_sb_add(sb, sep);
    lm_sb_printf(sb, "(%s)", w->where);
  }
}

/* SET form: SQL1/SQL2 find the batch's high key (first batch / after a
** checkpoint), SQL3/SQL4 update (lo, hi]. Row forms: SQL1/SQL2 select
** the batch rows, locked on PostgreSQL. */
static void build_sql(lua_State *L, struct walk *w) {
  int lo, limit = 2 * w->nkeys + 1;
  for (lo = 0; lo <= 1; lo++) {
    struct lm_sqlbuf *sb = slot_sb(L, lo ? S_SQL2 : S_SQL1);
    lm_sb_add(sb, "SELECT ");
    add_keys(w, sb, 0, NULL);
    if (w->kind == W_SET) {
      lm_sb_add(sb, " FROM (SELECT ");
      add_keys(w, sb, 0, NULL);
    } else if (lua_getfield(L, S_OPTS, "columns") == LUA_TTABLE) {
      int i, n = (int)lua_rawlen(L, -1);
      for (i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        if (key_index(w, lua_tostring(L, -1)) < 0) {
          lm_sb_add(sb, ", ");
          qi(w, sb, lua_tostring(L, -1));
        }
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    } else {
      lua_pop(L, 1);
      lm_sb_add(sb, ", *");
    }
    lm_sb_add(sb, " FROM ");
    qi(w, sb, w->table);
    add_cond(w, sb, lo, 0);
    lm_sb_add(sb, " ORDER BY ");
    add_keys(w, sb, 0, NULL);
    lm_sb_printf(sb, " LIMIT $%d", limit);
    if (w->kind == W_SET) {
      lm_sb_add(sb, ") AS lm_b ORDER BY ");
      add_keys(w, sb, 0, " DESC");
      lm_sb_add(sb, " LIMIT 1");
      sb = slot_sb(L, lo ? S_SQL4 : S_SQL3);
      lm_sb_add(sb, "UPDATE ");
      qi(w, sb, w->table);
      lm_sb_printf(sb, " SET %s", w->set);
      add_cond(w, sb, lo, 1);
    } else if (w->pg) {
      lm_sb_add(sb, " FOR NO KEY UPDATE");
    }
  }
  if (!lm_sb_ok(slot_sb(L, S_SQL1)) || !lm_sb_ok(slot_sb(L, S_SQL2)) ||
      !lm_sb_ok(slot_sb(L, S_SQL3)) || !lm_sb_ok(slot_sb(L, S_SQL4)))
    walk_error(L, w, "out of memory");
}

/* ---------- one batch ---------- */

/* params[0..nkeys) from the key at slot (S_LAST/S_NEXT) with types t;
** strings stay borrowed from that table. */
static void key_params(lua_State *L, struct walk *w, int slot,
                       const enum lm_vtype *t, struct lm_value *params) {
  int i;
  for (i = 0; i < w->nkeys; i++) {
    lua_rawgeti(L, slot, i + 1);
    lm_value_from_lua(L, -1, &params[i]);
    if (t[i] == LM_VBLOB && params[i].type == LM_VTEXT)
      params[i].type = LM_VBLOB;
    lua_pop(L, 1);
  }
}

/* The current cursor row's key columns (the first nkeys) into S_NEXT. */
static void read_next(lua_State *L, struct walk *w, struct lm_cursor *cur) {
  int i;
  for (i = 0; i < w->nkeys; i++) {
    struct lm_value v;
    w->be->cursor_value(cur, i, &v);
    w->ntype[i] = v.type;
    lm_value_push(L, &v);
    lua_rawseti(L, S_NEXT, i + 1);
  }
  w->has_next = 1;
}

/* Force ctx->transactional on while user code runs inside a batch, so a
** nested op.backfill is refused (guard = 1), or restore it (guard = 0). */
static void guard(struct walk *w, int on) {
  if (on && !w->guarded) {
    w->saved_tx = w->ctx->transactional;
    w->ctx->transactional = 1;
    w->guarded = 1;
  } else if (!on && w->guarded) {
    w->ctx->transactional = w->saved_tx;
    w->guarded = 0;
  }
}

/* Call the function at the top - nargs - 1 with nargs; on error raise
** "interrupted" after an interrupt, else the fn's own message. */
static void call_user(lua_State *L, struct walk *w, int nargs, int nres) {
  if (lua_pcall(L, nargs, nres, 0) != LUA_OK) {
    if (lm_interrupted) interrupted(L, w);
    if (w->bar_dirty) {
      fputc('\n', stderr);
      w->bar_dirty = 0;
    }
    lua_error(L);
  }
}

static int is_blob_column(lua_State *L, struct walk *w, const char *col) {
  int blob = 0;
  if (lua_getfield(L, S_TYPES, col) == LUA_TSTRING) {
    const char *t = lua_tostring(L, -1);
    if (w->pg) blob = strcmp(t, "bytea") == 0;
    else blob = strcasestr(t, "BLOB") != NULL;
  }
  lua_pop(L, 1);
  return blob;
}

/* Write one group: the rows at indices idx[0..n) of the rows table at
** ridx, whose fn results (table at retidx) set exactly the columns
** cols[0..nc). One multi-row UPDATE per MAXPARAMS parameters. */
static int write_group(lua_State *L, struct walk *w, int ridx, int retidx,
                       const char **cols, int nc, const lua_Integer *idx,
                       int n, long long *changes, struct lm_err *err) {
  int per = MAXPARAMS / (w->nkeys + nc), m = w->nkeys + nc, start, j;
  unsigned char *blob = lua_newuserdatauv(L, (size_t)nc + 1, 0);
  struct lm_sqlbuf *sb = slot_sb(L, S_SQLB);
  for (j = 0; j < nc; j++) blob[j] = (unsigned char)is_blob_column(L, w, cols[j]);
  for (start = 0; start < n; start += per) {
    int cnt = n - start < per ? n - start : per, r, k, p = 0, top;
    int nrange = (w->has_last ? 2 : 1) * w->nkeys;
    struct lm_value *params =
      lua_newuserdatauv(L, (size_t)(cnt * m + nrange) * sizeof *params, 0);
    long long ch = 0;
    top = lua_gettop(L);
    lm_sb_reset(sb);
    lm_sb_add(sb, "UPDATE ");
    qi(w, sb, w->table);
    lm_sb_add(sb, " SET ");
    for (j = 0; j < nc; j++) {
      if (j) lm_sb_add(sb, ", ");
      qi(w, sb, cols[j]);
      if (w->pg) lm_sb_printf(sb, " = lm_v.lm_%d", w->nkeys + j + 1);
      else lm_sb_printf(sb, " = lm_v.column%d", w->nkeys + j + 1);
    }
    lm_sb_add(sb, " FROM (VALUES ");
    for (r = 0; r < cnt; r++) {
      lua_rawgeti(L, ridx, idx[start + r]);
      lua_rawgeti(L, retidx, idx[start + r]);
      lm_sb_add(sb, r ? ", (" : "(");
      for (k = 0; k < m; k++) {
        const char *col = k < w->nkeys ? w->keys[k] : cols[k - w->nkeys];
        /* the string stays referenced by its table after the pop */
        lua_getfield(L, k < w->nkeys ? -2 : -1, col);
        lm_value_from_lua(L, -1, &params[p]);
        lua_pop(L, 1);
        if (k >= w->nkeys && blob[k - w->nkeys] && params[p].type == LM_VTEXT)
          params[p].type = LM_VBLOB;
        p++;
        lm_sb_printf(sb, "%s$%d", k ? ", " : "", p);
        if (w->pg) {
          lua_getfield(L, S_TYPES, col);
          lm_sb_printf(sb, "::%s", lua_tostring(L, -1));
          lua_pop(L, 1);
        }
      }
      lm_sb_addc(sb, ')');
      lua_settop(L, top);
    }
    lm_sb_add(sb, ") AS lm_v");
    if (w->pg) {
      lm_sb_addc(sb, '(');
      for (k = 0; k < m; k++) lm_sb_printf(sb, "%slm_%d", k ? ", " : "", k + 1);
      lm_sb_addc(sb, ')');
    }
    lm_sb_add(sb, " WHERE ");
    for (k = 0; k < w->nkeys; k++) {
      if (k) lm_sb_add(sb, " AND ");
      qi(w, sb, w->table);
      lm_sb_addc(sb, '.');
      qi(w, sb, w->keys[k]);
      if (w->pg) lm_sb_printf(sb, " = lm_v.lm_%d", k + 1);
      else lm_sb_printf(sb, " = lm_v.column%d", k + 1);
    }
    /* the batch's key range, so the planner reaches the rows through the
    ** key's index instead of scanning the table */
    lm_sb_add(sb, " AND ");
    add_keycmp_q(w, sb, "<=", p + 1, 1);
    key_params(L, w, S_NEXT, w->ntype, params + p);
    p += w->nkeys;
    if (w->has_last) {
      lm_sb_add(sb, " AND ");
      add_keycmp_q(w, sb, ">", p + 1, 1);
      key_params(L, w, S_LAST, w->ltype, params + p);
      p += w->nkeys;
    }
    if (!lm_sb_ok(sb)) return lm_err_set(err, "out of memory");
    lm_err_clear(err);
    if (w->be->exec(w->c, lm_sb_str(sb), p, params, &ch, err)) return 1;
    *changes += ch;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 0;
}

static int cmpstr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Check one fn result (the table at the top) and push its signature: its
** column names sorted and joined by '\x1f'. */
static void result_sig(lua_State *L, struct walk *w, int maxcols) {
  const char **names = lua_newuserdatauv(L, (size_t)maxcols * sizeof *names, 0);
  int n = 0, i, t = lua_gettop(L) - 1;
  luaL_Buffer b;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    struct lm_value v;
    const char *col;
    if (lua_type(L, -2) != LUA_TSTRING)
      walk_error(L, w, "fn must return a table of column = value (or nil "
                 "to skip the row), with column names as keys");
    col = lua_tostring(L, -2);
    if (!has_column(L, col))
      walk_error(L, w, lua_pushfstring(L, "fn returned column \"%s\", which "
                                       "the table does not have", col));
    if (key_index(w, col) >= 0)
      walk_error(L, w, lua_pushfstring(L, "fn must not change the key column "
                                       "\"%s\"", col));
    if (lm_value_from_lua(L, -1, &v))
      walk_error(L, w, lua_pushfstring(L, "fn returned a %s for column \"%s\" "
                                       "(use a string, number, boolean or "
                                       "op.null)", luaL_typename(L, -1), col));
    lua_pop(L, 1);
    if (n < maxcols) names[n++] = col;
  }
  qsort(names, (size_t)n, sizeof *names, cmpstr);
  luaL_buffinit(L, &b);
  for (i = 0; i < n; i++) {
    if (i) luaL_addchar(&b, '\x1f');
    luaL_addstring(&b, names[i]);
  }
  luaL_pushresult(&b);
  lua_remove(L, -2);
}

/* fn form: call fn(row) for the n rows at ridx, then write the results
** grouped by the set of columns they assign. *rows: rows changed. */
static int apply_fn(lua_State *L, struct walk *w, int ridx, int n,
                    long long *rows, struct lm_err *err) {
  int i, retidx, groups, order, norder = 0, maxcols = 0, base = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, S_TYPES)) {
    maxcols++;
    lua_pop(L, 1);
  }
  lua_newtable(L);
  retidx = lua_gettop(L);
  lua_newtable(L);
  groups = lua_gettop(L);
  lua_newtable(L);
  order = lua_gettop(L);
  guard(w, 1);
  for (i = 1; i <= n; i++) {
    lua_pushvalue(L, S_FN);
    lua_rawgeti(L, ridx, i);
    call_user(L, w, 1, 1);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      continue;
    }
    if (!lua_istable(L, -1))
      walk_error(L, w, lua_pushfstring(L, "fn must return a table of column "
                 "= value, or nil to skip the row; got %s",
                 luaL_typename(L, -1)));
    result_sig(L, w, maxcols);                  /* ret, sig */
    if (lua_rawlen(L, -1) == 0) {               /* {}: nothing to write */
      lua_pop(L, 2);
      continue;
    }
    lua_pushvalue(L, -2);
    lua_rawseti(L, retidx, i);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, groups) == LUA_TNIL) {    /* ret, sig, nil */
      lua_pop(L, 1);
      lua_newtable(L);                          /* ret, sig, group */
      lua_pushvalue(L, -2);
      lua_rawseti(L, order, ++norder);
      lua_pushvalue(L, -2);
      lua_pushvalue(L, -2);
      lua_rawset(L, groups);
    }
    lua_pushinteger(L, i);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    lua_pop(L, 3);
  }
  guard(w, 0);
  for (i = 1; i <= norder; i++) {
    const char **cols = lua_newuserdatauv(L, (size_t)maxcols * sizeof *cols, 0);
    lua_Integer *idx;
    const char *p;
    int nc = 0, cnt, j;
    lua_rawgeti(L, order, i);
    p = lua_tostring(L, -1);
    lua_pushvalue(L, -1);
    lua_rawget(L, groups);
    cnt = (int)lua_rawlen(L, -1);
    idx = lua_newuserdatauv(L, (size_t)cnt * sizeof *idx, 0);
    for (j = 0; j < cnt; j++) {
      lua_rawgeti(L, -2, j + 1);
      idx[j] = lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    /* the names, each a string left on the stack until this group ends */
    while (*p && nc < maxcols) {
      const char *e = strchr(p, '\x1f');
      size_t len = e ? (size_t)(e - p) : strlen(p);
      luaL_checkstack(L, 2, "too many columns");
      lua_pushlstring(L, p, len);
      cols[nc++] = lua_tostring(L, -1);
      p += len + (e ? 1 : 0);
    }
    if (write_group(L, w, ridx, retidx, cols, nc, idx, cnt, rows, err))
      return 1;
    lua_settop(L, order);
  }
  lua_settop(L, base);
  return 0;
}

/* The batch rows, selected (and on PostgreSQL locked) into a new table
** pushed on the stack; S_NEXT gets the last row's key. *n: row count. */
static int select_rows(lua_State *L, struct walk *w,
                       const struct lm_value *params, int np, int *n,
                       struct lm_err *err) {
  struct wcur *wc;
  int st, ridx;
  lua_newtable(L);
  ridx = lua_gettop(L);
  *n = 0;
  if (query(L, w, lm_sb_str(slot_sb(L, w->has_last ? S_SQL2 : S_SQL1)), np,
            params, &wc, err)) {
    lua_pop(L, 1);
    return 1;
  }
  while ((st = w->be->cursor_step(wc->cur, err)) == 1) {
    lm_value_pushrow(L, wc->cur);
    lua_rawseti(L, ridx, ++*n);
    read_next(L, w, wc->cur);
  }
  closecur(wc);
  lua_pop(L, 1);
  return st < 0;
}

/* The work of one batch inside its transaction. *rows: rows changed;
** *finished: no rows were left. 0, or 1 with err filled. */
static int batch_work(lua_State *L, struct walk *w, struct lm_value *params,
                      int np, long long *rows, int *finished,
                      struct lm_err *err) {
  struct wcur *wc;
  long long ch = 0;
  int st, n = 0;
  *rows = 0;
  *finished = 0;
  if (w->kind == W_SET) {
    if (query(L, w, lm_sb_str(slot_sb(L, w->has_last ? S_SQL2 : S_SQL1)), np,
              params, &wc, err))
      return 1;
    st = w->be->cursor_step(wc->cur, err);
    if (st == 1) read_next(L, w, wc->cur);
    closecur(wc);
    lua_pop(L, 1);
    if (st < 0) return 1;
    if (st == 0) {
      *finished = 1;
      return 0;
    }
    key_params(L, w, S_NEXT, w->ntype, params + w->nkeys);
    if (w->be->exec(w->c, lm_sb_str(slot_sb(L, w->has_last ? S_SQL4 : S_SQL3)),
                    np, params, &ch, err))
      return 1;
    *rows = ch;
    return 0;
  }
  if (select_rows(L, w, params, np, &n, err)) return 1;
  if (n == 0) {
    *finished = 1;
    lua_pop(L, 1);
    return 0;
  }
  if (w->kind == W_FN) {
    if (apply_fn(L, w, lua_gettop(L), n, rows, err)) return 1;
  } else {
    guard(w, 1);
    lua_pushvalue(L, S_FN);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, S_OP);
    call_user(L, w, 2, 0);
    guard(w, 0);
    *rows = n;
  }
  lua_pop(L, 1);
  return 0;
}

/* One batch in its own transaction: work + checkpoint, one commit.
** Returns 1 after a committed batch, 0 when the walk is over (its
** finished checkpoint committed), 2 after a lock timeout (rolled back, to
** be retried). Raises on other errors (__close rolls back). */
static int run_batch(lua_State *L, struct walk *w) {
  int np = 2 * w->nkeys + 1, finished = 0, rc, i, top = lua_gettop(L);
  struct lm_value *params =
    lua_newuserdatauv(L, (size_t)np * sizeof *params, 0);
  long long rows = 0;
  struct lm_err err;
  memset(params, 0, (size_t)np * sizeof *params);
  if (w->has_last) key_params(L, w, S_LAST, w->ltype, params);
  int_value(&params[np - 1], w->batch);
  w->has_next = 0;
  lm_err_clear(&err);
  if (w->be->begin(w->c, &err)) return db_failed(L, w, &err, 0);
  w->in_tx = 1;
  if (w->be->set_limits != NULL && w->lock_timeout_ms >= 0 &&
      w->be->set_limits(w->c, (int)w->lock_timeout_ms, -1, 1, &err))
    rc = 1;
  else
    rc = batch_work(L, w, params, np, &rows, &finished, &err);
  if (rc == 0) rc = save_checkpoint(L, w, w->rows_done + rows, finished, &err);
  if (rc == 0 && (rc = w->be->commit(w->c, &err)) == 0) w->in_tx = 0;
  if (rc) {
    struct lm_err ignored;
    lm_err_clear(&ignored);
    w->be->rollback(w->c, &ignored);   /* a no-op outside a transaction */
    w->in_tx = 0;
    if (db_failed(L, w, &err, 1) == 2) {
      lua_settop(L, top);
      return 2;
    }
  }
  if (!finished) {
    for (i = 0; i < w->nkeys; i++) {
      lua_rawgeti(L, S_NEXT, i + 1);
      lua_rawseti(L, S_LAST, i + 1);
      w->ltype[i] = w->ntype[i];
    }
    w->has_last = 1;
  }
  w->rows_done += rows;
  w->rows_run += rows;
  lua_settop(L, top);
  return finished ? 0 : 1;
}

/* ---------- progress ---------- */

static void fmt_secs(char *out, size_t n, double s) {
  long t = (long)(s + 0.5);
  if (t >= 3600) snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60,
                          t % 60);
  else snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}

/* Report progress on stderr: a bar redrawn with \r on a terminal, a line
** every 5 s otherwise; final = 1 prints the summary. */
static void progress(struct walk *w, int final) {
  double t = now_ms(), secs = (t - w->t0) / 1000.0, rate;
  char line[256], eta[32];
  size_t len;
  if (!w->progress) return;
  if (!final && t - w->last_print < (w->progress == 2 ? 200 : 5000)) return;
  w->last_print = t;
  rate = secs > 0.001 ? (double)w->rows_run / secs : 0;
  if (final) {
    snprintf(line, sizeof line, "%s %s: done, %lld rows in %.1f s (%.0f "
             "rows/s, longest batch %.0f ms)", w->fname, w->table,
             w->rows_run, secs, rate, w->max_batch_ms);
  } else {
    len = (size_t)snprintf(line, sizeof line, "%s %s: %lld", w->fname,
                           w->table, w->rows_done);
    if (w->total > 0) {
      double pct = 100.0 * (double)w->rows_done / (double)w->total;
      len += (size_t)snprintf(line + len, sizeof line - len, "/~%lld rows "
                              "(%.0f%%)", w->total, pct > 100 ? 100 : pct);
    } else {
      len += (size_t)snprintf(line + len, sizeof line - len, " rows");
    }
    len += (size_t)snprintf(line + len, sizeof line - len, ", %.0f rows/s",
                            rate);
    if (w->total > w->rows_done && rate > 0) {
      fmt_secs(eta, sizeof eta, (double)(w->total - w->rows_done) / rate);
      snprintf(line + len, sizeof line - len, ", ETA %s", eta);
    }
  }
  if (w->progress == 2) {
    fprintf(stderr, "\r%-79s%s", line, final ? "\n" : "");
    w->bar_dirty = !final;
  } else {
    fprintf(stderr, "lmigrate: %s\n", line);
  }
  fflush(stderr);
}

/* ---------- entry points ---------- */

static const char tx_error[] =
  "runs its batches in their own transactions: call it from the revision's "
  "`data = function(op) ... end` (or a revision with transactional = false)";

/* Parse the options at 1 and set up slots S_WALK..S_TOP. */
static struct walk *walk_setup(lua_State *L, enum walk_kind kind) {
  const char *fname = kind == W_EACH ? "each_batch" : "backfill";
  struct lm_opctx *ctx = lm_op_checkctx(L);
  struct walk *w;
  int i, t;
  if (lua_type(L, 1) != LUA_TTABLE || lua_gettop(L) != 1)
    luaL_error(L, "op.%s takes one table of options: op.%s{ table = ..., "
               "key = ..., ... }", fname, fname);
  check_opts(L, fname, kind == W_EACH ? each_keys : backfill_keys);
  if (ctx->transactional) luaL_error(L, "op.%s %s", fname, tx_error);
  if (ctx->conn->be->is_offline)
    luaL_error(L, "op.%s needs a database connection; it cannot run with "
               "--sql (offline mode)", fname);

  w = lua_newuserdatauv(L, sizeof *w, 0);       /* S_WALK */
  memset(w, 0, sizeof *w);
  if (luaL_newmetatable(L, WALK_MT)) {
    lua_pushcfunction(L, walk_close);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  if (luaL_newmetatable(L, WCUR_MT)) {
    lua_pushcfunction(L, wcur_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  w->ctx = ctx;
  w->c = ctx->conn;
  w->be = ctx->conn->be;
  w->d = ctx->conn->dialect;
  w->pg = strcmp(w->d->name, "postgresql") == 0;
  w->kind = kind;
  w->fname = fname;
  w->revision = ctx->revision ? ctx->revision : "";
  lua_toclose(L, S_WALK);
  for (i = S_LAST; i <= S_NOTNULL; i++) lua_newtable(L);
  t = lua_getfield(L, S_OPTS, "fn");              /* S_FN */
  if (t != LUA_TNIL && t != LUA_TFUNCTION)
    luaL_error(L, "op.%s: option 'fn' must be a function, got %s", fname,
               luaL_typename(L, -1));
  if (kind == W_EACH) lm_op_push(L, ctx, 0);      /* S_OP */
  else lua_pushnil(L);
  for (i = S_SQL1; i <= S_SQLB; i++) newsb(L);

  lua_getfield(L, S_OPTS, "table");
  if (lua_isnil(L, -1))
    luaL_error(L, "op.%s: option 'table' is required", fname);
  w->table = ident_at(L, -1, fname, "table");
  lua_pop(L, 1);
  parse_keys(L, w);
  w->set = opt_str(L, fname, "set");
  w->where = opt_str(L, fname, "where");
  if (kind == W_EACH) {
    if (t == LUA_TNIL)
      luaL_error(L, "op.each_batch: option 'fn' is required: function(rows, "
                 "op) ... end");
  } else if ((w->set != NULL) == (t == LUA_TFUNCTION)) {
    luaL_error(L, "op.backfill: give either set = \"col = <sql>\" or fn = "
               "function(row) return { col = value } end (not both)");
  } else if (t == LUA_TFUNCTION) {
    w->kind = kind = W_FN;
  }
  t = lua_getfield(L, S_OPTS, "columns");
  if (t != LUA_TNIL && (t != LUA_TTABLE || kind == W_SET))
    luaL_error(L, "op.%s: option 'columns' %s", fname, kind == W_SET ?
               "goes with fn (set = ... reads what its SQL names)" :
               "must be a list of column names");
  lua_pop(L, 1);
  w->batch = opt_int(L, fname, "batch_size", 1000, 1);
  w->sleep_ms = opt_int(L, fname, "sleep_ms", 0, 0);
  w->target_ms = opt_int(L, fname, "target_ms", 0, 0);
  w->lock_timeout_ms = opt_int(L, fname, "lock_timeout_ms", 2000, 0);
  load_columns(L, w);
  check_key(L, w);
  if (lua_getfield(L, S_OPTS, "columns") == LUA_TTABLE) {
    int n = (int)lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      ident_at(L, -1, fname, "every entry of columns");
      if (!has_column(L, lua_tostring(L, -1)))
        walk_error(L, w, lua_pushfstring(L, "column \"%s\" (in columns) does "
                                         "not exist", lua_tostring(L, -1)));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  t = lua_getfield(L, S_OPTS, "name");
  if (t == LUA_TNIL) default_name(L, w);
  else snprintf(w->name, sizeof w->name, "%s", ident_at(L, -1, fname, "name"));
  lua_pop(L, 1);
  if (ctx->verbosity >= 0) w->progress = isatty(2) ? 2 : 1;
  build_sql(L, w);
  return w;
}

/* Walk the table batch by batch; pushes the rows done (all runs). */
static int walk_run(lua_State *L, struct walk *w) {
  int attempt = 0, rc;
  if (load_checkpoint(L, w)) {
    if (w->progress)
      fprintf(stderr, "lmigrate: %s %s: already done (%lld rows), "
              "checkpoint \"%s\"\n", w->fname, w->table, w->rows_done,
              w->name);
    lua_pushinteger(L, (lua_Integer)w->rows_done);
    return 1;
  }
  estimate(L, w);
  w->t0 = w->last_print = now_ms();
  for (;;) {
    double t;
    if (lm_interrupted) interrupted(L, w);
    t = now_ms();
    rc = run_batch(L, w);
    if (rc == 2) {
      if (++attempt > LOCK_RETRIES)
        walk_error(L, w, "a batch timed out waiting for row locks too many "
                   "times in a row; other sessions hold them (raise "
                   "lock_timeout_ms, or retry later: the run resumes from "
                   "its checkpoint)");
      nap(50LL << (attempt > 6 ? 6 : attempt));
      continue;
    }
    attempt = 0;
    t = now_ms() - t;
    if (t > w->max_batch_ms) w->max_batch_ms = t;
    if (w->target_ms > 0 && rc == 1) {
      double f = (double)w->target_ms / (t > 0.1 ? t : 0.1);
      long long b;
      if (f > 2) f = 2;
      if (f < 0.5) f = 0.5;
      b = (long long)((double)w->batch * f);
      w->batch = b < 1 ? 1 : b > 1000000 ? 1000000 : b;
    }
    if (rc == 0) break;
    progress(w, 0);
    if (w->sleep_ms > 0) nap(w->sleep_ms);
  }
  progress(w, 1);
  lua_pushinteger(L, (lua_Integer)w->rows_done);
  return 1;
}

int lm_op_backfill(lua_State *L) {
  return walk_run(L, walk_setup(L, W_SET));
}

int lm_op_each_batch(lua_State *L) {
  return walk_run(L, walk_setup(L, W_EACH));
}
