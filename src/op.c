/*
** op.c: the `op` table handed to revision functions. Each call checks its
** Lua arguments strictly (unknown option keys are errors with a "did you
** mean"), fills a ddl.h description, renders it through conn->dialect and
** runs it through conn->be (which prints it in --sql mode).
**
** Binding: every op function is a C closure whose upvalue 1 is an
** "lmigrate.opctx" box holding the runner's struct lm_opctx pointer. The
** box's user value 1 is a weak-keyed set of the "lmigrate.rows" cursors it
** opened, so lm_op_release can close them when the revision phase ends.
** The registry table OPBOXES maps ctx (light userdata) -> box, weak values.
**
** Memory: scratch arrays live in Lua userdata; SQL text lives in an
** "lmigrate.sqlbuf" userdata with __gc, so a Lua error never leaks C memory.
** Errors use luaL_error, whose location is the calling revision's line.
*/
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "ddl.h"
#include "dialect.h"
#include "op.h"
#include "op_data.h"
#include "op_int.h"
#include "sqlbuf.h"
#include "suggest.h"
#include "value.h"

#define OPBOX_MT "lmigrate.opctx"
#define ROWS_MT "lmigrate.rows"
#define SQLBUF_MT "lmigrate.sqlbuf"
#define OPBOXES "lmigrate.opboxes"

/* The address of this constant marks op tables (a key set to true), so a
** method call op:add_column(...) can be told apart from a wrong argument. */
static const char op_marker = 0;

struct rows {
  struct lm_cursor *cur;          /* owned; be->cursor_close */
  const struct lm_backend *be;    /* static */
  int released;                   /* closed by lm_op_release */
};

/* ---------- context, buffers, errors ---------- */

struct lm_opbox *lm_op_box(lua_State *L) {
  return (struct lm_opbox *)lua_touserdata(L, lua_upvalueindex(1));
}

struct lm_opctx *lm_op_ctx(lua_State *L) {
  struct lm_opbox *b = lm_op_box(L);
  if (b == NULL || b->ctx == NULL || b->ctx->conn == NULL)
    luaL_error(L, "op used outside of its revision");
  if (lua_type(L, 1) == LUA_TTABLE) {
    int marked = lua_rawgetp(L, 1, &op_marker) != LUA_TNIL;
    lua_pop(L, 1);
    if (marked) {
      lua_Debug ar;
      const char *name = "f";
      if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name)
        name = ar.name;
      luaL_error(L, "call op.%s(...) with a dot, not op:%s(...)", name, name);
    }
  }
  return b->ctx;
}

struct lm_opctx *lm_op_checkctx(lua_State *L) {
  struct lm_opctx *ctx = lm_op_ctx(L);
  struct lm_opbox *b = lm_op_box(L);
  if (b->batch) {
    struct lm_err err;
    lm_err_clear(&err);
    if (lm_op_batch_run(b, &err)) {
      /* err.msg already starts with the queued op's file:line */
      memcpy(ctx->sqlstate, err.sqlstate, sizeof ctx->sqlstate);
      lua_pushstring(L, err.msg);
      lua_error(L);
    }
  }
  return ctx;
}

static int opbox_gc(lua_State *L) {
  lm_op_batch_free((struct lm_opbox *)luaL_checkudata(L, 1, OPBOX_MT));
  return 0;
}

static int sqlbuf_gc(lua_State *L) {
  lm_sb_free((struct lm_sqlbuf *)luaL_checkudata(L, 1, SQLBUF_MT));
  return 0;
}

/* Push a new empty sqlbuf owned by a Lua userdata (freed by __gc, or
** earlier by lm_sb_free, which leaves it reusable). */
struct lm_sqlbuf *lm_op_newsb(lua_State *L) {
  struct lm_sqlbuf *sb = lua_newuserdatauv(L, sizeof *sb, 0);
  lm_sb_init(sb);
  luaL_setmetatable(L, SQLBUF_MT);
  return sb;
}

/* Raise "what \"object\": msg" (or "what: msg" without object). */
int lm_op_raise(lua_State *L, const char *what, const char *object,
                 const char *msg) {
  if (object) return luaL_error(L, "%s \"%s\": %s", what, object, msg);
  return luaL_error(L, "%s: %s", what, msg);
}

/* Finish a DDL op: when rendering failed (rc != 0) raise err, else run the SQL
** in sb. sb is freed on every path. */
void lm_op_run_ddl(lua_State *L, struct lm_opctx *ctx, const char *what,
                    const char *object, struct lm_sqlbuf *sb, int rc,
                    struct lm_err *err) {
  struct lm_conn *c = ctx->conn;
  if (rc) {
    lm_sb_free(sb);
    lm_op_raise(L, what, object, err->msg);
  }
  if (!lm_sb_ok(sb)) {
    lm_sb_free(sb);
    lm_op_raise(L, what, object, "out of memory");
  }
  lm_err_clear(err);
  rc = c->be->exec(c, lm_sb_str(sb), 0, NULL, NULL, err);
  lm_sb_free(sb);
  if (rc) {
    memcpy(ctx->sqlstate, err->sqlstate, sizeof ctx->sqlstate);
    lm_op_raise(L, what, object, err->msg);
  }
}

/* ---------- argument checking ---------- */

/* A non-empty name without NUL bytes at stack index arg. */
const char *lm_op_checkname(lua_State *L, int arg, const char *what) {
  size_t len;
  const char *s = luaL_checklstring(L, arg, &len);
  if (len == 0)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s must not be empty", what));
  if (strlen(s) != len)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s contains a NUL byte", what));
  return s;
}

/* Raise (as a bad argument argn, so the message names the op and the
** revision's file:line) when the string s of len bytes holds a NUL byte:
** SQL text, names and file names reach the database and the file system
** as C strings, where everything after the NUL would silently be lost. */
void lm_op_check_nul(lua_State *L, int argn, const char *what, const char *s,
                     size_t len) {
  size_t at = strlen(s);
  if (at != len)
    luaL_argerror(L, argn, lua_pushfstring(L, "%s contains a NUL byte (at "
                  "byte %d); everything after it would be lost: remove it",
                  what, (int)at + 1));
}

/* Any string at stack index arg (empty allowed) without NUL bytes. */
const char *lm_op_checktext(lua_State *L, int arg, const char *what) {
  size_t len;
  const char *s = luaL_checklstring(L, arg, &len);
  lm_op_check_nul(L, arg, what, s, len);
  return s;
}

/* Raise for the unknown option key at the top of the stack. */
void lm_op_unknown_key(lua_State *L, const char *key, const char *fname,
                        const char *const *valid) {
  const char *best = lm_suggest(key, valid);
  luaL_Buffer b;
  int i;
  if (best)
    luaL_error(L, "unknown option '%s' for %s (did you mean '%s'?)", key,
               fname, best);
  lua_pushfstring(L, "unknown option '%s' for %s (valid options: ", key,
                  fname);
  luaL_buffinit(L, &b);
  for (i = 0; valid[i]; i++) {
    if (i) luaL_addstring(&b, ", ");
    luaL_addstring(&b, valid[i]);
  }
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  lua_concat(L, 2);
  luaL_where(L, 1);
  lua_insert(L, -2);
  lua_concat(L, 2);
  lua_error(L);
}

/* Check that every key of the table at idx is in valid (NULL-terminated).
** npos: how many positional values [1..npos] are allowed. */
void lm_op_check_keys(lua_State *L, int idx, const char *fname,
                       const char *const *valid, int npos) {
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t len;
      const char *key = lua_tolstring(L, -1, &len);
      int i, found = 0;
      if (strlen(key) != len)
        luaL_error(L, "option name '%s' in the options for %s contains a NUL "
                   "byte", key, fname);
      for (i = 0; valid[i] && !found; i++) found = strcmp(key, valid[i]) == 0;
      if (!found) lm_op_unknown_key(L, key, fname, valid);
    } else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 &&
               lua_tointeger(L, -1) <= npos) {
      continue;
    } else {
      const char *tname = luaL_typename(L, -1);
      luaL_error(L, "unexpected %s key %s in the options for %s", tname,
                 luaL_tolstring(L, -1, NULL), fname);
    }
  }
}

void lm_op_bad_type(lua_State *L, int argn, const char *key,
                     const char *want, int vidx) {
  luaL_argerror(L, argn, lua_pushfstring(L, "option '%s' must be %s, got %s",
                                         key, want, luaL_typename(L, vidx)));
}

/* Boolean option key of the table at idx; def when absent. */
int lm_op_opt_bool(lua_State *L, int idx, int argn, const char *key,
                    int def) {
  int v = def;
  lua_getfield(L, idx, key);
  if (lua_type(L, -1) == LUA_TBOOLEAN) v = lua_toboolean(L, -1);
  else if (!lua_isnil(L, -1)) lm_op_bad_type(L, argn, key, "a boolean", -1);
  lua_pop(L, 1);
  return v;
}

/* String option key of the table at idx, or NULL when absent. The string
** is borrowed from the table. */
const char *lm_op_opt_string(lua_State *L, int idx, int argn,
                             const char *key) {
  const char *s = NULL;
  size_t len;
  lua_getfield(L, idx, key);
  if (lua_type(L, -1) == LUA_TSTRING) {
    s = lua_tolstring(L, -1, &len);
    if (strlen(s) != len)
      lm_op_check_nul(L, argn, lua_pushfstring(L, "option '%s'", key), s,
                      len);
  } else if (!lua_isnil(L, -1)) {
    lm_op_bad_type(L, argn, key, "a string", -1);
  }
  lua_pop(L, 1);
  return s;
}

/* Options table at arg (nil/none allowed: returns 0, else the index). */
int lm_op_opt_table(lua_State *L, int arg, const char *fname,
                     const char *const *valid) {
  if (lua_isnoneornil(L, arg)) return 0;
  luaL_checktype(L, arg, LUA_TTABLE);
  lm_op_check_keys(L, arg, fname, valid, 0);
  return arg;
}

static const char *const column_keys[] = {
  "nullable", "default", "server_default", "primary_key", "autoincrement",
  "unique", "references", "on_delete", "on_update", NULL
};

/* A string at positional slot i of the column spec at idx, or NULL. */
static const char *spec_string(lua_State *L, int idx, lua_Integer i) {
  const char *s = NULL;
  size_t len = 0;
  if (lua_rawgeti(L, idx, i) == LUA_TSTRING) s = lua_tolstring(L, -1, &len);
  lua_pop(L, 1);
  if (s && (len == 0 || strlen(s) != len)) s = NULL;
  return s;
}

/* Fill col from the column spec at stack index arg (argument number too).
** Strings are borrowed from the spec table. */
void lm_op_check_column(lua_State *L, int arg, const char *fname,
                         struct lm_column *col) {
  luaL_checktype(L, arg, LUA_TTABLE);
  memset(col, 0, sizeof *col);
  col->name = spec_string(L, arg, 1);
  if (col->name == NULL)
    luaL_argerror(L, arg, "column spec needs the column name as its first "
                  "value, e.g. { \"email\", \"string(255)\" }");
  col->type = spec_string(L, arg, 2);
  if (col->type == NULL)
    luaL_argerror(L, arg, lua_pushfstring(L, "column \"%s\" needs a type as "
                  "its second value, e.g. { \"%s\", \"text\" }", col->name,
                  col->name));
  lm_op_check_keys(L, arg, fname, column_keys, 2);
  col->primary_key = lm_op_opt_bool(L, arg, arg, "primary_key", 0);
  col->nullable = lm_op_opt_bool(L, arg, arg, "nullable", !col->primary_key);
  if (col->primary_key && col->nullable)
    luaL_argerror(L, arg, lua_pushfstring(L, "column \"%s\": a primary key "
                  "cannot be nullable", col->name));
  col->autoincrement = lm_op_opt_bool(L, arg, arg, "autoincrement", 0);
  col->unique = lm_op_opt_bool(L, arg, arg, "unique", 0);
  col->server_default = lm_op_opt_string(L, arg, arg, "server_default");
  col->references = lm_op_opt_string(L, arg, arg, "references");
  col->on_delete = lm_op_opt_string(L, arg, arg, "on_delete");
  col->on_update = lm_op_opt_string(L, arg, arg, "on_update");
  lua_getfield(L, arg, "default");
  if (!lua_isnil(L, -1)) {
    if (lm_value_from_lua(L, -1, &col->default_value))
      lm_op_bad_type(L, arg, "default", "a string, number, boolean or op.null", -1);
    if (col->default_value.type == LM_VTEXT &&
        strlen(col->default_value.s) != col->default_value.n)
      lm_op_check_nul(L, arg, lua_pushfstring(L, "column \"%s\": option "
                      "'default'", col->name), col->default_value.s,
                      col->default_value.n);
    col->has_default = 1;
  }
  lua_pop(L, 1);
}

/* ---------- schema operations ---------- */

const char *const *lm_op_check_cols(lua_State *L, int arg, int *n,
                                    const char *what) {
  const char **cols;
  int i;
  if (lua_type(L, arg) == LUA_TSTRING) {
    cols = lua_newuserdatauv(L, sizeof *cols, 0);
    cols[0] = lm_op_checkname(L, arg, "column name");
    *n = 1;
    return cols;
  }
  luaL_checktype(L, arg, LUA_TTABLE);
  *n = (int)lua_rawlen(L, arg);
  if (*n < 1)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s needs at least one column",
                                          what));
  cols = lua_newuserdatauv(L, (size_t)*n * sizeof *cols, 0);
  for (i = 0; i < *n; i++) {
    size_t len = 0;
    const char *s = NULL;
    if (lua_rawgeti(L, arg, i + 1) == LUA_TSTRING) s = lua_tolstring(L, -1, &len);
    lua_pop(L, 1);
    if (s == NULL || len == 0 || strlen(s) != len)
      luaL_argerror(L, arg, lua_pushfstring(L, "column %d must be a non-empty "
                    "column name", i + 1));
    cols[i] = s;
  }
  return cols;
}

static const char *const create_table_keys[] = { "if_not_exists", NULL };

static int op_create_table(lua_State *L) {
  struct lm_opctx *ctx = lm_op_checkctx(L);
  const struct lm_dialect *d = ctx->conn->dialect;
  struct lm_create_table t;
  struct lm_column *cols;
  struct lm_sqlbuf *sb;
  struct lm_err err;
  int i, top = lua_gettop(L), optidx = 0, rc;
  memset(&t, 0, sizeof t);
  t.name = lm_op_checkname(L, 1, "table name");
  /* a last table without [1] and [2] holds the table options */
  if (top >= 2 && lua_type(L, top) == LUA_TTABLE &&
      lua_rawgeti(L, top, 1) == LUA_TNIL && lua_rawgeti(L, top, 2) == LUA_TNIL) {
    optidx = top;
    lm_op_check_keys(L, optidx, "create_table", create_table_keys, 0);
    t.if_not_exists = lm_op_opt_bool(L, optidx, optidx, "if_not_exists", 0);
  }
  lua_settop(L, top);
  t.ncols = (optidx ? top - 1 : top) - 1;
  if (t.ncols < 1)
    lm_op_raise(L, "create_table", t.name, "a table needs at least one column spec");
  cols = lua_newuserdatauv(L, (size_t)t.ncols * sizeof *cols, 0);
  for (i = 0; i < t.ncols; i++) lm_op_check_column(L, i + 2, "create_table", &cols[i]);
  t.cols = cols;
  sb = lm_op_newsb(L);
  lm_err_clear(&err);
  rc = d->render_create_table(sb, &t, &err);
  lm_op_run_ddl(L, ctx, "create_table", t.name, sb, rc, &err);
  return 0;
}

static const char *const drop_table_keys[] = { "if_exists", NULL };

static int op_drop_table(lua_State *L) {
  struct lm_opctx *ctx = lm_op_checkctx(L);
  const char *name = lm_op_checkname(L, 1, "table name");
  int o = lm_op_opt_table(L, 2, "drop_table", drop_table_keys), rc;
  int if_exists = o ? lm_op_opt_bool(L, o, o, "if_exists", 0) : 0;
  struct lm_sqlbuf *sb = lm_op_newsb(L);
  struct lm_err err;
  lm_err_clear(&err);
  rc = ctx->conn->dialect->render_drop_table(sb, name, if_exists, &err);
  lm_op_run_ddl(L, ctx, "drop_table", name, sb, rc, &err);
  return 0;
}

static int op_rename_table(lua_State *L) {
  struct lm_opctx *ctx = lm_op_checkctx(L);
  const char *from = lm_op_checkname(L, 1, "table name");
  const char *to = lm_op_checkname(L, 2, "new table name");
  struct lm_sqlbuf *sb;
  struct lm_err err;
  int rc;
  luaL_argcheck(L, lua_isnone(L, 3), 3, "rename_table takes two names");
  sb = lm_op_newsb(L);
  lm_err_clear(&err);
  rc = ctx->conn->dialect->render_rename_table(sb, from, to, &err);
  lm_op_run_ddl(L, ctx, "rename_table", from, sb, rc, &err);
  return 0;
}

/* Raise when concurrently is asked inside a transaction on a backend
** where it means something. */
static void check_concurrently(lua_State *L, struct lm_opctx *ctx,
                               const char *fname, int concurrently) {
  if (concurrently && ctx->conn->dialect->has_concurrently &&
      ctx->transactional)
    luaL_error(L, "%s: concurrently = true needs a non-transactional "
               "revision; set `transactional = false` in this revision",
               fname);
}

static const char *const create_index_keys[] = {
  "unique", "where", "if_not_exists", "concurrently", NULL
};

static int op_create_index(lua_State *L) {
  struct lm_opctx *ctx = lm_op_checkctx(L);
  struct lm_index ix;
  struct lm_sqlbuf *sb;
  struct lm_err err;
  int o, rc;
  lua_settop(L, 4);
  memset(&ix, 0, sizeof ix);
  ix.name = lm_op_checkname(L, 1, "index name");
  ix.table = lm_op_checkname(L, 2, "table name");
  ix.cols = lm_op_check_index_cols(L, 3, &ix.ncols, &ix.is_expr);
  o = lm_op_opt_table(L, 4, "create_index", create_index_keys);
  if (o) {
    ix.unique = lm_op_opt_bool(L, o, o, "unique", 0);
    ix.where = lm_op_opt_string(L, o, o, "where");
    ix.if_not_exists = lm_op_opt_bool(L, o, o, "if_not_exists", 0);
    ix.concurrently = lm_op_opt_bool(L, o, o, "concurrently", 0);
  }
  check_concurrently(L, ctx, "create_index", ix.concurrently);
  sb = lm_op_newsb(L);
  lm_err_clear(&err);
  rc = ctx->conn->dialect->render_create_index(sb, &ix, &err);
  lm_op_run_ddl(L, ctx, "create_index", ix.name, sb, rc, &err);
  return 0;
}

static const char *const drop_index_keys[] = {
  "table", "if_exists", "concurrently", NULL
};

static int op_drop_index(lua_State *L) {
  struct lm_opctx *ctx = lm_op_checkctx(L);
  struct lm_drop_index ix;
  struct lm_sqlbuf *sb;
  struct lm_err err;
  int o, rc;
  lua_settop(L, 2);
  memset(&ix, 0, sizeof ix);
  ix.name = lm_op_checkname(L, 1, "index name");
  o = lm_op_opt_table(L, 2, "drop_index", drop_index_keys);
  if (o) {
    ix.table = lm_op_opt_string(L, o, o, "table");
    ix.if_exists = lm_op_opt_bool(L, o, o, "if_exists", 0);
    ix.concurrently = lm_op_opt_bool(L, o, o, "concurrently", 0);
  }
  check_concurrently(L, ctx, "drop_index", ix.concurrently);
  sb = lm_op_newsb(L);
  lm_err_clear(&err);
  rc = ctx->conn->dialect->render_drop_index(sb, &ix, &err);
  lm_op_run_ddl(L, ctx, "drop_index", ix.name, sb, rc, &err);
  return 0;
}

/* ---------- data access ---------- */

static int op_execute(lua_State *L) {
  struct lm_opctx *ctx = lm_op_checkctx(L);
  const char *sql = lm_op_checktext(L, 1, "sql");
  struct lm_value *params;
  struct lm_err err;
  long long changes = 0;
  int n;
  lm_value_checkparams(L, 2, 2, &params, &n);
  lm_err_clear(&err);
  if (ctx->conn->be->exec(ctx->conn, sql, n, params, &changes, &err)) {
    memcpy(ctx->sqlstate, err.sqlstate, sizeof ctx->sqlstate);
    return lm_op_raise(L, "execute", NULL, err.msg);
  }
  lua_pushinteger(L, (lua_Integer)changes);
  return 1;
}

/* Close r's cursor (idempotent) and drop it from its box's open set; the
** rows userdata is at stack index idx. */
static void rows_closeat(lua_State *L, int idx, struct rows *r) {
  int top = lua_gettop(L);
  if (r->cur) {
    r->be->cursor_close(r->cur);
    r->cur = NULL;
  }
  idx = lua_absindex(L, idx);
  if (lua_getiuservalue(L, idx, 1) == LUA_TUSERDATA &&
      lua_getiuservalue(L, -1, 1) == LUA_TTABLE) {
    lua_pushvalue(L, idx);
    lua_pushnil(L);
    lua_rawset(L, -3);
  }
  lua_settop(L, top);
}

static int rows_gc(lua_State *L) {
  struct rows *r = luaL_checkudata(L, 1, ROWS_MT);
  rows_closeat(L, 1, r);
  return 0;
}

/* Push a closed rows userdata tied to the calling op's box. */
static struct rows *newrows(lua_State *L, struct lm_opctx *ctx) {
  struct rows *r = lua_newuserdatauv(L, sizeof *r, 1);
  r->cur = NULL;
  r->be = ctx->conn->be;
  r->released = 0;
  luaL_setmetatable(L, ROWS_MT);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_setiuservalue(L, -2, 1);
  return r;
}

/* Start the query of op.query/op.rows: pushes a rows userdata holding the
** open cursor. */
static struct rows *start_query(lua_State *L, const char *fname) {
  struct lm_opctx *ctx = lm_op_checkctx(L);
  const char *sql = lm_op_checktext(L, 1, "sql");
  struct lm_value *params;
  struct lm_err err;
  struct rows *r;
  int n;
  if (ctx->conn->be->is_offline)
    luaL_error(L, "op.%s needs a database connection; it cannot run with "
               "--sql (offline mode)", fname);
  lm_value_checkparams(L, 2, 2, &params, &n);
  r = newrows(L, ctx);
  lm_err_clear(&err);
  if (ctx->conn->be->query(ctx->conn, sql, n, params, &r->cur, &err)) {
    rows_closeat(L, -1, r);
    lm_op_raise(L, fname, NULL, err.msg);
  }
  return r;
}

static int op_query(lua_State *L) {
  struct rows *r = start_query(L, "query");
  int ridx = lua_gettop(L), k = 0, st;
  struct lm_err err;
  lua_newtable(L);
  lm_err_clear(&err);
  while ((st = r->be->cursor_step(r->cur, &err)) == 1) {
    lm_value_pushrow(L, r->cur);
    lua_rawseti(L, -2, ++k);
  }
  rows_closeat(L, ridx, r);
  lua_settop(L, ridx + 1);
  if (st < 0) return lm_op_raise(L, "query", NULL, err.msg);
  return 1;
}

static int rows_iter(lua_State *L) {
  struct rows *r = luaL_checkudata(L, 1, ROWS_MT);
  struct lm_err err;
  int st;
  if (r->cur == NULL) {
    if (r->released) return luaL_error(L, "op used outside of its revision");
    return 0;
  }
  lm_err_clear(&err);
  st = r->be->cursor_step(r->cur, &err);
  if (st == 1) {
    lm_value_pushrow(L, r->cur);
    return 1;
  }
  rows_closeat(L, 1, r);
  if (st < 0) return lm_op_raise(L, "rows", NULL, err.msg);
  return 0;
}

static int op_rows(lua_State *L) {
  start_query(L, "rows");
  /* remember the open cursor in the box's set for lm_op_release */
  if (lua_getiuservalue(L, lua_upvalueindex(1), 1) == LUA_TTABLE) {
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, rows_iter);
  lua_insert(L, -2);
  lua_pushnil(L);
  lua_pushvalue(L, -2);
  return 4;
}

/* ---------- binding ---------- */

static const luaL_Reg op_funcs[] = {
  { "create_table", op_create_table },
  { "drop_table", op_drop_table },
  { "rename_table", op_rename_table },
  { "create_index", op_create_index },
  { "drop_index", op_drop_index },
  { "execute", op_execute },
  { "query", op_query },
  { "rows", op_rows },
  LM_OP_DATA_FUNCS
  { NULL, NULL }
};

void lm_op_openlib(lua_State *L) {
  if (luaL_newmetatable(L, ROWS_MT)) {
    lua_pushcfunction(L, rows_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, rows_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, SQLBUF_MT)) {
    lua_pushcfunction(L, sqlbuf_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, OPBOX_MT)) {
    lua_pushcfunction(L, opbox_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (!luaL_getsubtable(L, LUA_REGISTRYINDEX, OPBOXES)) {
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
  }
  lua_pop(L, 1);
}

/* Push the box for ctx, creating it (and its open-cursor set) if needed. */
static void pushbox(lua_State *L, struct lm_opctx *ctx) {
  struct lm_opbox *b;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, OPBOXES);
  if (lua_rawgetp(L, -1, ctx) == LUA_TUSERDATA) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  b = lua_newuserdatauv(L, sizeof *b, 1);
  b->ctx = ctx;
  b->batch = NULL;
  luaL_setmetatable(L, OPBOX_MT);
  lua_createtable(L, 0, 2);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_setiuservalue(L, -2, 1);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, -3, ctx);
  lua_remove(L, -2);
}

void lm_op_push(lua_State *L, struct lm_opctx *ctx, int xidx) {
  if (xidx) xidx = lua_absindex(L, xidx);
  lm_op_openlib(L);
  lua_createtable(L, 0, 16);
  pushbox(L, ctx);
  luaL_setfuncs(L, op_funcs, 1);
  pushbox(L, ctx);
  luaL_setfuncs(L, lm_op_schema_funcs, 1);
  lua_pushboolean(L, 1);
  lua_rawsetp(L, -2, &op_marker);
  lm_value_pushnull(L);
  lua_setfield(L, -2, "null");
  if (xidx && lua_istable(L, xidx)) lua_pushvalue(L, xidx);
  else lua_newtable(L);
  lua_setfield(L, -2, "x");
  if (ctx->conn) {
    lua_pushstring(L, ctx->conn->dialect->name);
    lua_setfield(L, -2, "dialect");
    lua_pushboolean(L, ctx->conn->be->is_offline);
    lua_setfield(L, -2, "offline");
  }
  lm_op_guard(L);
}

int lm_op_flush(lua_State *L, struct lm_opctx *ctx, struct lm_err *err) {
  int top = lua_gettop(L), rc = 0;
  lua_getfield(L, LUA_REGISTRYINDEX, OPBOXES);
  if (lua_type(L, -1) == LUA_TTABLE &&
      lua_rawgetp(L, -1, ctx) == LUA_TUSERDATA) {
    struct lm_opbox *b = lua_touserdata(L, -1);
    if (b->batch && b->ctx && b->ctx->conn) rc = lm_op_batch_run(b, err);
    if (rc) memcpy(ctx->sqlstate, err->sqlstate, sizeof ctx->sqlstate);
  }
  lua_settop(L, top);
  return rc;
}

void lm_op_release(lua_State *L, struct lm_opctx *ctx) {
  int top = lua_gettop(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, OPBOXES);
  if (lua_rawgetp(L, -1, ctx) == LUA_TUSERDATA) {
    struct lm_opbox *b = lua_touserdata(L, -1);
    if (lua_getiuservalue(L, -1, 1) == LUA_TTABLE) {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        struct rows *r = luaL_testudata(L, -2, ROWS_MT);
        lua_pop(L, 1);
        if (r && r->cur) {
          r->be->cursor_close(r->cur);
          r->cur = NULL;
          r->released = 1;
        }
      }
    }
    lua_pop(L, 1);
    lm_op_batch_free(b);
    b->ctx = NULL;
    lua_pushnil(L);
    lua_rawsetp(L, -3, ctx);
  }
  lua_settop(L, top);
  ctx->conn = NULL;
}
