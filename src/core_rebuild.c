/*
** core_rebuild.c: rebuild(db_path, table, alters, [opts]) in lmigrate.core,
** for the unit specs of the SQLite table rebuild (sqlite_rebuild.c). It
** opens the file through the SQLite backend (or the offline backend),
** begins, rebuilds, and commits or rolls back.
** C-owned resources live in a userdata box whose __gc frees them, so a Lua
** error while reading the arguments leaks nothing.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "backend.h"
#include "core.h"
#include "sqlite_rebuild.h"
#include "url.h"

#define REBUILD_MT "lmigrate.core.rebuild"

struct rbox {
  struct lm_conn *conn;      /* owned; be->close */
  struct lm_url url;         /* owned; lm_url_free */
  struct lm_sqlbuf warnings; /* owned; lm_sb_free */
  FILE *out;                 /* owned; fclose (offline output) */
  char *buf;                 /* owned; free (open_memstream) */
  size_t len;
};

static void rbox_free(struct rbox *b) {
  if (b->conn) b->conn->be->close(b->conn);
  b->conn = NULL;
  lm_url_free(&b->url);
  memset(&b->url, 0, sizeof b->url);
  lm_sb_free(&b->warnings);
  if (b->out) fclose(b->out);
  b->out = NULL;
  free(b->buf);
  b->buf = NULL;
}

static int rbox_gc(lua_State *L) {
  rbox_free(luaL_checkudata(L, 1, REBUILD_MT));
  return 0;
}

/* t[k] as a string borrowed from t (which stays on the stack), or NULL. */
static const char *opt_str(lua_State *L, int t, const char *k) {
  const char *s;
  lua_getfield(L, t, k);
  s = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1);
  return s;
}

static int opt_bool(lua_State *L, int t, const char *k, int dflt) {
  int v;
  lua_getfield(L, t, k);
  v = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* t[k] as an array of strings in a new userdata anchored in `anchor`
** (a table at that index); *n its length. */
static const char *const *opt_list(lua_State *L, int t, const char *k,
                                   int anchor, int *n) {
  const char **v;
  int i, len;
  *n = 0;
  lua_getfield(L, t, k);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return NULL;
  }
  len = (int)luaL_len(L, -1);
  v = lua_newuserdatauv(L, sizeof *v * (size_t)(len + 1), 0);
  lua_rawseti(L, anchor, (lua_Integer)luaL_len(L, anchor) + 1);
  for (i = 0; i < len; i++) {
    lua_rawgeti(L, -1, i + 1);
    v[i] = lua_tostring(L, -1);     /* anchored by t[k] */
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  *n = len;
  return v;
}

static const char *const kinds[] = {
  "alter_column", "add_column", "drop_column", "add_foreign_key",
  "add_unique", "add_check", "add_primary_key", "drop_constraint", NULL
};

/* Read alters table at index ai into a userdata array; anchor holds the
** helper arrays. */
static struct lm_alter *read_alters(lua_State *L, int ai, int anchor,
                                    int *n) {
  struct lm_alter *v;
  int i, len = (int)luaL_len(L, ai);
  v = lua_newuserdatauv(L, sizeof *v * (size_t)(len + 1), 0);
  lua_rawseti(L, anchor, (lua_Integer)luaL_len(L, anchor) + 1);
  memset(v, 0, sizeof *v * (size_t)(len + 1));
  for (i = 0; i < len; i++) {
    struct lm_alter *a = &v[i];
    int t;
    lua_rawgeti(L, ai, i + 1);
    luaL_checktype(L, -1, LUA_TTABLE);
    t = lua_gettop(L);
    lua_getfield(L, t, "kind");
    a->kind = (enum lm_alter_kind)luaL_checkoption(L, -1, NULL, kinds);
    lua_pop(L, 1);
    a->column = opt_str(L, t, "column");
    a->type = opt_str(L, t, "type");
    a->using_expr = opt_str(L, t, "using");
    lua_getfield(L, t, "nullable");
    a->nullable = lua_isnil(L, -1) ? -1 : lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, t, "server_default");
    a->set_default = lua_isnil(L, -1) ? 0 : lua_isstring(L, -1) ? 1 : -1;
    a->server_default = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1);
    a->new_name = opt_str(L, t, "new_name");
    a->name = opt_str(L, t, "name");
    a->cols = opt_list(L, t, "cols", anchor, &a->ncols);
    a->ref_table = opt_str(L, t, "ref_table");
    a->ref_cols = opt_list(L, t, "ref_cols", anchor, &a->nref_cols);
    a->on_delete = opt_str(L, t, "on_delete");
    a->on_update = opt_str(L, t, "on_update");
    a->check = opt_str(L, t, "check");
    lua_getfield(L, t, "add");
    if (lua_istable(L, -1)) {
      int c = lua_gettop(L);
      struct lm_column *col = lua_newuserdatauv(L, sizeof *col, 0);
      lua_rawseti(L, anchor, (lua_Integer)luaL_len(L, anchor) + 1);
      memset(col, 0, sizeof *col);
      col->name = opt_str(L, c, "name");
      col->type = opt_str(L, c, "type");
      col->nullable = opt_bool(L, c, "nullable", 1);
      col->primary_key = opt_bool(L, c, "primary_key", 0);
      col->autoincrement = opt_bool(L, c, "autoincrement", 0);
      col->unique = opt_bool(L, c, "unique", 0);
      col->server_default = opt_str(L, c, "server_default");
      col->references = opt_str(L, c, "references");
      col->on_delete = opt_str(L, c, "on_delete");
      col->on_update = opt_str(L, c, "on_update");
      if (col->name == NULL || col->type == NULL)
        luaL_error(L, "alter %d: add needs name and type", i + 1);
      a->add = col;
    }
    lua_pop(L, 2);      /* add, alter table (anchored by alters) */
  }
  *n = len;
  return v;
}

/* rebuild(db_path, table, alters, [opts | copy_from]) -> { warnings = {..},
** sql = offline text or nil, foreign_keys = PRAGMA foreign_keys after }.
** opts: copy_from, foreign_keys (turn them on first), offline. */
static int core_rebuild(lua_State *L) {
  const char *path = lm_core_checkstring(L, 1);
  const char *table = lm_core_checkstring(L, 2);
  const char *copy_from = NULL;
  int foreign_keys = 0, offline = 0, n, anchor, rc;
  struct lm_connect_opts opts;
  struct lm_alter *alters;
  struct lm_err err, e2;
  struct lm_sqlbuf urlsb;
  struct rbox *b;
  const char *w;

  luaL_checktype(L, 3, LUA_TTABLE);
  if (lua_isstring(L, 4)) {
    copy_from = lua_tostring(L, 4);
  } else if (lua_istable(L, 4)) {
    copy_from = opt_str(L, 4, "copy_from");
    foreign_keys = opt_bool(L, 4, "foreign_keys", 0);
    offline = opt_bool(L, 4, "offline", 0);
  }
  lua_settop(L, 4);
  lua_newtable(L);
  anchor = lua_gettop(L);
  alters = read_alters(L, 3, anchor, &n);
  b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  lm_sb_init(&b->warnings);
  luaL_setmetatable(L, REBUILD_MT);
  lm_err_clear(&err);
  lm_sb_init(&urlsb);
  lm_sb_add(&urlsb, "sqlite:");
  lm_sb_add(&urlsb, path);
  rc = lm_url_parse(lm_sb_str(&urlsb), &b->url, &err);
  lm_sb_free(&urlsb);
  if (rc) return luaL_error(L, "%s", err.msg);
  memset(&opts, 0, sizeof opts);
  opts.lock_timeout_ms = 5000;
  if (offline) {
    b->out = open_memstream(&b->buf, &b->len);
    if (b->out == NULL) return luaL_error(L, "open_memstream failed");
    opts.out = b->out;
  }
  if ((offline ? &lm_backend_offline : &lm_backend_sqlite)
          ->connect(&b->url, &opts, &b->conn, &err))
    return luaL_error(L, "%s", err.msg);
  if (foreign_keys && b->conn->be->exec(b->conn, "PRAGMA foreign_keys = ON",
                                        0, NULL, NULL, &err))
    return luaL_error(L, "%s", err.msg);
  if (b->conn->be->begin(b->conn, &err))
    return luaL_error(L, "begin: %s", err.msg);
  if (lm_sqlite_rebuild(b->conn, table, alters, n, copy_from, &b->warnings,
                        &err) != 0 ||
      b->conn->be->commit(b->conn, &err) != 0) {
    b->conn->be->rollback(b->conn, &e2);
    rbox_free(b);
    return luaL_error(L, "%s", err.msg);
  }
  lua_createtable(L, 0, 3);
  lua_newtable(L);
  w = lm_sb_str(&b->warnings);
  for (n = 1; *w; n++) {
    const char *nl = strchr(w, '\n');
    size_t len = nl ? (size_t)(nl - w) : strlen(w);
    lua_pushlstring(L, w, len);
    lua_rawseti(L, -2, n);
    w += len + (nl != NULL);
  }
  lua_setfield(L, -2, "warnings");
  if (offline) {
    fflush(b->out);
    lua_pushlstring(L, b->buf ? b->buf : "", b->len);
    lua_setfield(L, -2, "sql");
  } else {
    struct lm_cursor *cur = NULL;
    struct lm_value v;
    if (b->conn->be->query(b->conn, "PRAGMA foreign_keys", 0, NULL, &cur,
                           &err) == 0 &&
        b->conn->be->cursor_step(cur, &err) == 1) {
      b->conn->be->cursor_value(cur, 0, &v);
      lua_pushinteger(L, v.i);
      lua_setfield(L, -2, "foreign_keys");
    }
    b->conn->be->cursor_close(cur);
  }
  rbox_free(b);
  return 1;
}

void lm_core_rebuild(lua_State *L) {
  if (luaL_newmetatable(L, REBUILD_MT)) {
    lua_pushcfunction(L, rbox_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, core_rebuild);
  lua_setfield(L, -2, "rebuild");
}
