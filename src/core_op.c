/*
** core_op.c: the `op` pieces of lmigrate.core for unit specs:
** render(dialect, fn) runs fn(op) against the offline backend and returns
** the SQL it printed; connect(url) opens a real connection whose run(fn)
** calls fn(op); null is op.null.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "backend.h"
#include "core.h"
#include "op.h"
#include "reflect.h"
#include "url.h"
#include "value.h"

#define RENDER_MT "lmigrate.core.render"
#define CONN_MT "lmigrate.core.conn"

/* State of one render() call; a userdata so an error cannot leak it. */
struct render {
  char *buf;              /* owned; free() (open_memstream) */
  size_t len;
  FILE *out;              /* owned; fclose */
  struct lm_conn *conn;   /* owned; be->close */
  struct lm_opctx ctx;
};

static void render_free(struct render *r) {
  if (r->conn) r->conn->be->close(r->conn);
  r->conn = NULL;
  if (r->out) fclose(r->out);
  r->out = NULL;
  free(r->buf);
  r->buf = NULL;
}

static int render_gc(lua_State *L) {
  render_free(luaL_checkudata(L, 1, RENDER_MT));
  return 0;
}

/* Call the function at fidx with the op table bound to ctx (op.x: the
** table at xidx, 0 for none), run what it queued (lm_op_flush), then
** release ctx. Returns the lua_pcall status, leaving
** either the results or the error message on the stack above base. */
static int call_with_op(lua_State *L, int fidx, struct lm_opctx *ctx,
                        int xidx) {
  int st;
  lua_pushvalue(L, fidx);
  lm_op_push(L, ctx, xidx);
  st = lua_pcall(L, 1, LUA_MULTRET, 0);
  if (st == LUA_OK) {   /* as the runner does: queued rebuilds run now */
    struct lm_err err;
    lm_err_clear(&err);
    if (lm_op_flush(L, ctx, &err)) {
      lua_pushstring(L, err.msg);
      st = LUA_ERRRUN;
    }
  }
  lm_op_release(L, ctx);
  return st;
}

/* render(dialect_name, fn, [transactional], [x]) -> sql text */
static int core_render(lua_State *L) {
  const char *dname = lm_core_checkstring(L, 1);
  struct lm_connect_opts opts;
  struct lm_url url;
  struct lm_err err;
  struct render *r;
  int base;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  memset(&url, 0, sizeof url);
  if (strcmp(dname, "sqlite") == 0) url.kind = LM_URL_SQLITE;
  else if (strcmp(dname, "postgresql") == 0) url.kind = LM_URL_POSTGRES;
  else return luaL_argerror(L, 1, "unknown dialect");
  r = lua_newuserdatauv(L, sizeof *r, 0);
  memset(r, 0, sizeof *r);
  luaL_setmetatable(L, RENDER_MT);
  base = lua_gettop(L);
  r->out = open_memstream(&r->buf, &r->len);
  if (r->out == NULL) return luaL_error(L, "open_memstream failed");
  memset(&opts, 0, sizeof opts);
  opts.out = r->out;
  lm_err_clear(&err);
  if (lm_backend_offline.connect(&url, &opts, &r->conn, &err))
    return luaL_error(L, "%s", err.msg);
  r->ctx.conn = r->conn;
  r->ctx.transactional = lua_isnoneornil(L, 3) ? 1 : lua_toboolean(L, 3);
  r->ctx.phase = "upgrade";
  if (call_with_op(L, 2, &r->ctx, lua_istable(L, 4) ? 4 : 0) != LUA_OK) {
    render_free(r);
    return lua_error(L);
  }
  lua_settop(L, base);
  fflush(r->out);
  lua_pushlstring(L, r->buf ? r->buf : "", r->len);
  render_free(r);
  return 1;
}

/* A real connection for specs. */
struct coreconn {
  struct lm_conn *conn;   /* owned; be->close; NULL once closed */
  struct lm_url url;      /* owned; lm_url_free */
};

static int conn_close(lua_State *L) {
  struct coreconn *c = luaL_checkudata(L, 1, CONN_MT);
  if (c->conn) c->conn->be->close(c->conn);
  c->conn = NULL;
  lm_url_free(&c->url);
  memset(&c->url, 0, sizeof c->url);
  return 0;
}

/* connect(url) -> conn */
static int core_connect(lua_State *L) {
  const char *s = lm_core_checkstring(L, 1);
  const struct lm_backend *be;
  struct lm_connect_opts opts;
  struct lm_err err;
  struct coreconn *c = lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  luaL_setmetatable(L, CONN_MT);
  lm_err_clear(&err);
  if (lm_url_parse(s, &c->url, &err)) return luaL_error(L, "%s", err.msg);
  be = lm_backend_for_url(&c->url, 0, &err);
  if (be == NULL) return luaL_error(L, "%s", err.msg);
  memset(&opts, 0, sizeof opts);
  opts.lock_timeout_ms = 5000;
  opts.out = stdout;
  if (be->connect(&c->url, &opts, &c->conn, &err))
    return luaL_error(L, "%s", err.msg);
  return 1;
}

/* conn:run(fn, [transactional]) -> fn's results. With transactional the
** call runs between begin and commit (rollback on error). */
static int conn_run(lua_State *L) {
  struct coreconn *c = luaL_checkudata(L, 1, CONN_MT);
  struct lm_opctx ctx;
  struct lm_err err;
  int st, base;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (c->conn == NULL) return luaL_error(L, "attempt to use a closed connection");
  memset(&ctx, 0, sizeof ctx);
  ctx.conn = c->conn;
  ctx.transactional = lua_toboolean(L, 3);
  ctx.phase = "upgrade";
  lm_err_clear(&err);
  lua_settop(L, 3);
  base = lua_gettop(L);
  if (ctx.transactional && c->conn->be->begin(c->conn, &err))
    return luaL_error(L, "begin: %s", err.msg);
  st = call_with_op(L, 2, &ctx, 0);
  if (st != LUA_OK) {
    if (ctx.transactional) c->conn->be->rollback(c->conn, &err);
    return lua_error(L);
  }
  if (ctx.transactional && c->conn->be->commit(c->conn, &err))
    return luaL_error(L, "commit: %s", err.msg);
  return lua_gettop(L) - base;
}

/* conn:reflect([{ version_table = , version_table_schema = }]) -> the
** autogenerate model of the database (reflect.h); lmigrate's own tables
** (by default lmigrate_version and its history) are left out. */
static int conn_reflect(lua_State *L) {
  struct coreconn *c = luaL_checkudata(L, 1, CONN_MT);
  struct lm_reflect_opts o;
  const char *vt = "lmigrate_version";
  if (c->conn == NULL) return luaL_error(L, "attempt to use a closed connection");
  memset(&o, 0, sizeof o);
  if (lua_istable(L, 2)) {
    if (lua_getfield(L, 2, "version_table") == LUA_TSTRING)
      vt = lua_tostring(L, -1);
    if (lua_getfield(L, 2, "version_table_schema") == LUA_TSTRING)
      o.version_table_schema = lua_tostring(L, -1);
  }
  o.version_table = vt;
  o.history_table = lua_pushfstring(L, "%s_history", vt);
  lm_reflect_push(L, c->conn, &o);
  return 1;
}

void lm_core_op(lua_State *L) {
  static const luaL_Reg conn_methods[] = {
    { "run", conn_run },
    { "reflect", conn_reflect },
    { "close", conn_close },
    { NULL, NULL }
  };
  lm_op_openlib(L);
  if (luaL_newmetatable(L, RENDER_MT)) {
    lua_pushcfunction(L, render_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, CONN_MT)) {
    luaL_newlib(L, conn_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, conn_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, conn_close);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, core_render);
  lua_setfield(L, -2, "render");
  lua_pushcfunction(L, core_connect);
  lua_setfield(L, -2, "connect");
  lm_value_pushnull(L);
  lua_setfield(L, -2, "null");
}
