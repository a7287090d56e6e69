/*
** op_data.c: op.backfill and op.each_batch (op_data.h): their options,
** the setup of a walk and its batch loop. A walk visits a table in key
** order (keyset pagination on a unique, NOT NULL key), one short
** transaction per batch; each batch commits its work together with its
** checkpoint row in lmigrate_backfill, so a killed run resumes right after
** the last committed batch: no row skipped, none done twice. The other
** parts of a walk are listed in op_walk.h.
** Invariant: the walk userdata sits in a to-be-closed stack slot whose
** __close rolls back an open batch and restores ctx->transactional, so any
** error (ours, the user's fn, an interrupt) leaves earlier batches
** committed and the connection outside a transaction.
*/
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lua.h>
#include <lauxlib.h>

#include "interrupt.h"
#include "op.h"
#include "op_data.h"
#include "op_int.h"
#include "op_walk.h"

#define LOCK_RETRIES 20
#define DEFAULT_TARGET_MS 50

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

/* ---------- options ---------- */

static const char *const backfill_keys[] = {
  "table", "key", "set", "fn", "columns", "where", "batch_size", "sleep_ms",
  "target_ms", "lock_timeout_ms", "name", "max_replica_lag", NULL
};
static const char *const each_keys[] = {
  "table", "key", "fn", "columns", "where", "batch_size", "sleep_ms",
  "target_ms", "lock_timeout_ms", "name", "max_replica_lag", NULL
};

static void check_opts(lua_State *L, const char *fname,
                       const char *const *valid) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    const char *key;
    int i, found = 0;
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "op.%s: unexpected %s key in the options", fname,
                 luaL_typename(L, -1));
    key = lua_tostring(L, -1);
    if (strlen(key) != lua_rawlen(L, -1))
      luaL_error(L, "op.%s: option name '%s' contains a NUL byte", fname,
                 key);
    for (i = 0; valid[i] && !found; i++) found = strcmp(key, valid[i]) == 0;
    if (!found) lm_op_unknown_key(L, key, fname, valid);
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
  if (t == LUA_TSTRING) {
    s = lua_tostring(L, -1);
    if (strlen(s) != lua_rawlen(L, -1))
      luaL_error(L, "op.%s: option '%s' contains a NUL byte (at byte %d); "
                 "everything after it would be lost: remove it", fname, key,
                 (int)strlen(s) + 1);
  } else if (t != LUA_TNIL) {
    luaL_error(L, "op.%s: option '%s' must be a string, got %s", fname, key,
               luaL_typename(L, -1));
  }
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

/* ---------- setup and the batch loop ---------- */

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

  w = lm_walk_new(L);                            /* S_WALK */
  w->ctx = ctx;
  w->c = ctx->conn;
  w->be = ctx->conn->be;
  w->d = ctx->conn->dialect;
  w->pg = strcmp(w->d->name, "postgresql") == 0;
  w->kind = kind;
  w->fname = fname;
  w->revision = ctx->revision ? ctx->revision : "";
  lua_toclose(L, S_WALK);
  for (i = S_LAST; i <= S_UNNEST; i++) lua_newtable(L);
  t = lua_getfield(L, S_OPTS, "fn");              /* S_FN */
  if (t != LUA_TNIL && t != LUA_TFUNCTION)
    luaL_error(L, "op.%s: option 'fn' must be a function, got %s", fname,
               luaL_typename(L, -1));
  if (kind == W_EACH) lm_op_push(L, ctx, 0);      /* S_OP */
  else lua_pushnil(L);
  for (i = S_SQL1; i <= S_SQLB; i++) lm_op_newsb(L);

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
  /* Without a batch_size the walk sizes its batches to take about
  ** DEFAULT_TARGET_MS each; a batch_size alone is kept as given. */
  lua_getfield(L, S_OPTS, "batch_size");
  w->target_ms = opt_int(L, fname, "target_ms",
                         lua_isnil(L, -1) ? DEFAULT_TARGET_MS : 0, 0);
  lua_pop(L, 1);
  w->lock_timeout_ms = opt_int(L, fname, "lock_timeout_ms", 2000, 0);
  lm_walk_load_columns(L, w);
  lm_walk_check_key(L, w);
  if (lua_getfield(L, S_OPTS, "columns") == LUA_TTABLE) {
    int n = (int)lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      ident_at(L, -1, fname, "every entry of columns");
      if (!lm_walk_has_column(L, lua_tostring(L, -1)))
        lm_walk_error(L, w, lua_pushfstring(L, "column \"%s\" (in columns) "
                                            "does not exist",
                                            lua_tostring(L, -1)));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  t = lua_getfield(L, S_OPTS, "name");
  if (t == LUA_TNIL) default_name(L, w);
  else snprintf(w->name, sizeof w->name, "%s", ident_at(L, -1, fname, "name"));
  lua_pop(L, 1);
  if (ctx->verbosity >= 0) w->progress = isatty(2) ? 2 : 1;
  lm_walk_build_sql(L, w);
  return w;
}

/* Walk the table batch by batch; pushes the rows done (all runs). */
static int walk_run(lua_State *L, struct walk *w) {
  int attempt = 0, rc;
  if (lm_walk_load_checkpoint(L, w)) {
    if (w->progress)
      fprintf(stderr, "lmigrate: %s %s: already done (%lld rows), "
              "checkpoint \"%s\"\n", w->fname, w->table, w->rows_done,
              w->name);
    lua_pushinteger(L, (lua_Integer)w->rows_done);
    return 1;
  }
  lm_walk_estimate(L, w);
  lm_lag_setup(L, w);
  /* lock_timeout for every batch, set once on the session (the batches
  ** run outside the revision's transaction); walk_close resets it. */
  if (w->be->set_limits != NULL && w->lock_timeout_ms >= 0) {
    struct lm_err err;
    lm_err_clear(&err);
    if (w->be->set_limits(w->c, (int)w->lock_timeout_ms, -1, 0, &err))
      lm_walk_db_failed(L, w, &err, 0);
    w->session_limits = 1;
  }
  w->t0 = w->last_print = lm_now_ms();
  for (;;) {
    double t;
    long long before = w->rows_run;
    if (lm_interrupted) lm_walk_interrupted(L, w);
    t = lm_now_ms();
    rc = lm_walk_run_batch(L, w);
    /* rows_run grows only when a batch committed (0 after a retry) */
    w->ctx->rows += w->rows_run - before;
    if (rc == 2) {
      if (++attempt > LOCK_RETRIES)
        lm_walk_error(L, w, "a batch timed out waiting for row locks too "
                      "many times in a row; other sessions hold them (raise "
                      "lock_timeout_ms, or retry later: the run resumes "
                      "from its checkpoint)");
      nap(50LL << (attempt > 6 ? 6 : attempt));
      continue;
    }
    attempt = 0;
    t = lm_now_ms() - t;
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
    lm_walk_progress(w, 0);
    if (w->sleep_ms > 0) nap(w->sleep_ms);
    lm_lag_wait(L, w);
  }
  lm_walk_progress(w, 1);
  lua_pushinteger(L, (lua_Integer)w->rows_done);
  return 1;
}

/* ---------- entry points ---------- */

int lm_op_backfill(lua_State *L) {
  if (lm_op_checkctx(L)->conn->be->is_offline)
    return lm_op_data_offline(L, "backfill");
  return walk_run(L, walk_setup(L, W_SET));
}

int lm_op_each_batch(lua_State *L) {
  if (lm_op_checkctx(L)->conn->be->is_offline)
    return lm_op_data_offline(L, "each_batch");
  return walk_run(L, walk_setup(L, W_EACH));
}
