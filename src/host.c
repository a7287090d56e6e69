/*
** host.c: the Lua state and the one protected boundary every C->Lua call
** goes through (lm_host_pcall), plus the host's connection. The host is a
** value created by main() and passed down; nothing here is global.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "host.h"
#include "interrupt.h"
#include "log.h"
#include "op.h"

static void install_no_exit(struct lm_host *h);

struct lm_host *lm_host_new(void) {
  struct lm_host *h = calloc(1, sizeof *h);
  if (h == NULL) return NULL;
  h->L = luaL_newstate();
  if (h->L == NULL) {
    free(h);
    return NULL;
  }
  luaL_openlibs(h->L);
  lm_host_open_embedded(h->L);
  lua_newtable(h->L);
  h->xref = luaL_ref(h->L, LUA_REGISTRYINDEX);
  h->revs_ref = LUA_NOREF;
  h->cfg.hooks_ref = LUA_NOREF;
  h->cfg.autogen_include_ref = LUA_NOREF;
  h->cfg.lint_ref = LUA_NOREF;
  h->lock_timeout_opt = -1;
  h->ddl_lock_timeout_opt = -1;
  h->statement_timeout_opt = -1;
  h->max_lock_hold_opt = -1;
  h->max_replica_lag_opt = -1;
  lm_op_openlib(h->L);
  install_no_exit(h);
  return h;
}

static void config_free(struct lm_config *c) {
  int i;
  free(c->path);
  free(c->url);
  for (i = 0; i < c->nlocations; i++) free(c->locations[i]);
  free(c->locations);
  for (i = 0; i < c->nreplica_urls; i++) free(c->replica_urls[i]);
  free(c->replica_urls);
  free(c->version_table);
  free(c->version_table_schema);
  free(c->history_table);
  free(c->revision_template);
  free(c->schema);
  memset(c, 0, sizeof *c);
}

void lm_host_free(struct lm_host *h) {
  if (h == NULL) return;
  /* Lua first: its finalizers may still reference the connection. */
  if (h->L) lua_close(h->L);
  if (h->conn) h->conn->be->close(h->conn);
  lm_graph_free(h->graph);
  lm_url_free(&h->url);
  config_free(&h->cfg);
  free(h);
}

/*
** Lua shortens a long chunk name in "file:line:" to "...<tail>" (LUA_IDSIZE,
** 60 bytes). When msg starts with such a name, push msg with the frame's
** whole path instead and return it; else return msg.
*/
static const char *whole_path(lua_State *L, const char *msg) {
  lua_Debug ar;
  int level;
  if (strncmp(msg, "...", 3) != 0) return msg;
  for (level = 0; lua_getstack(L, level, &ar); level++) {
    size_t n;
    lua_getinfo(L, "S", &ar);
    n = strlen(ar.short_src);
    if (ar.source[0] == '@' && strncmp(ar.short_src, "...", 3) == 0 &&
        strncmp(msg, ar.short_src, n) == 0 && msg[n] == ':')
      return lua_pushfstring(L, "%s%s", ar.source + 1, msg + n);
  }
  return msg;
}

const char *lm_host_unshorten(lua_State *L, const char *msg,
                              const char *path) {
  size_t i, plen = strlen(path);
  if (strncmp(msg, "...", 3) != 0) return msg;
  for (i = 0; i < plen; i++) {
    size_t n = plen - i;
    if (strncmp(msg + 3, path + i, n) == 0 && msg[3 + n] == ':')
      return lua_pushfstring(L, "%s%s", path, msg + 3 + n);
  }
  return msg;
}

/*
** Message handler: turn the error object into a string that starts with
** the script's file:line (the whole path, never Lua's "..." shortening). luaL_error raised from an op (a C function)
** already carries the calling revision's location; an error raised without
** one gets the first Lua frame that has a line. With -v (upvalue 1) the
** traceback follows on the next lines.
*/
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  int verbose = lua_toboolean(L, lua_upvalueindex(1));
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)",
                            luaL_typename(L, 1));
  }
  if (strstr(msg, ".lua:") == NULL) {
    lua_Debug ar;
    int level;
    for (level = 1; lua_getstack(L, level, &ar); level++) {
      lua_getinfo(L, "Sl", &ar);
      if (ar.currentline > 0) {
        msg = lua_pushfstring(L, "%s:%d: %s", ar.source[0] == '@' ?
                              ar.source + 1 : ar.short_src, ar.currentline,
                              msg);
        break;
      }
    }
  }
  msg = whole_path(L, msg);
  if (verbose) luaL_traceback(L, L, msg, 1);
  else lua_pushstring(L, msg);
  return 1;
}

/* Count hook: stop a running script once Ctrl-C or SIGTERM arrived. The
** interrupt must not be catchable by the script: once the flag is up the
** hook fires on every instruction and every new line and raises again, so
** a pcall (or xpcall handler) in the script that catches the first error
** is stopped by the next one, all the way out to lm_host_pcall. */
static void interrupt_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  if (lm_interrupted) {
    const int every = LUA_MASKCOUNT | LUA_MASKLINE;
    /* A coroutine stopped here returns to the main thread, which must
    ** not run on for up to a count's worth of instructions either. */
    lua_State *main;
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    main = lua_tothread(L, -1);
    lua_pop(L, 1);
    if (main != NULL && main != L) lua_sethook(main, interrupt_hook, every, 1);
    lua_sethook(L, interrupt_hook, every, 1);
    luaL_error(L, "interrupted");
  }
}

int lm_host_pcall(struct lm_host *h, int nargs, int nresults) {
  lua_State *L = h->L;
  int base = lua_gettop(L) - nargs;   /* the function's index */
  int rc;
  lua_pushboolean(L, h->verbosity > 0);
  lua_pushcclosure(L, msghandler, 1);
  lua_insert(L, base);
  lua_sethook(L, interrupt_hook, LUA_MASKCOUNT, 10000);
  rc = lua_pcall(L, nargs, nresults, base);
  lua_sethook(L, NULL, 0, 0);
  lua_remove(L, base);
  if (rc == LUA_OK && lm_interrupted) {
    /* The function returned although the signal arrived while it ran
    ** (it caught the error, or was between hook counts): its work is
    ** not done, whatever it says. */
    if (nresults != LUA_MULTRET) lua_pop(L, nresults);
    else lua_settop(L, base - 1);
    lua_pushliteral(L, "interrupted");
    return 1;
  }
  return rc != LUA_OK;
}

/* os.exit in a script's environment (upvalue 1: the host): ending the
** process from a revision, a hook or the config would end lmigrate with
** the script's status and no account of what was done, so it raises
** instead, naming where it was called. */
static int no_exit(lua_State *L) {
  struct lm_host *h = lua_touserdata(L, lua_upvalueindex(1));
  lua_Debug ar;
  const char *where = "a revision";
  if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "S", &ar) &&
      h->cfg.path != NULL && ar.source[0] == '@' &&
      strcmp(ar.source + 1, h->cfg.path) == 0)
    where = h->cfg.path;
  return luaL_error(L, "os.exit is not allowed in %s; raise an error "
                    "instead (error(\"...\"))", where);
}

/* Replace os.exit in the shared globals (revisions read them through
** their environment, the config runs in them). */
static void install_no_exit(struct lm_host *h) {
  lua_State *L = h->L;
  if (lua_getglobal(L, "os") == LUA_TTABLE) {
    lua_pushlightuserdata(L, h);
    lua_pushcclosure(L, no_exit, 1);
    lua_setfield(L, -2, "exit");
  }
  lua_pop(L, 1);
}

int lm_host_add_x(struct lm_host *h, const char *kv) {
  const char *eq = strchr(kv, '=');
  if (eq == NULL || eq == kv)
    return lm_usage_error("-x expects KEY=VALUE, got '%s'", kv);
  lua_rawgeti(h->L, LUA_REGISTRYINDEX, h->xref);
  lua_pushlstring(h->L, kv, (size_t)(eq - kv));
  lua_pushstring(h->L, eq + 1);
  lua_rawset(h->L, -3);
  lua_pop(h->L, 1);
  return 0;
}

int lm_host_connect(struct lm_host *h, int offline) {
  struct lm_err err;
  struct lm_connect_opts opts;
  const struct lm_backend *be;
  lm_err_clear(&err);
  if (h->cfg.url == NULL)
    return lm_error("no database URL: pass --url, set LMIGRATE_URL or "
                    "DATABASE_URL, or set url in %s",
                    h->cfg.path ? h->cfg.path : "lmigrate.lua");
  if (h->url.raw == NULL && lm_url_parse(h->cfg.url, &h->url, &err))
    return lm_error("%s", err.msg);
  be = lm_backend_for_url(&h->url, offline, &err);
  if (be == NULL) return lm_error("%s", err.msg);
  opts.lock_timeout_ms = h->cfg.lock_timeout_ms;
  opts.out = stdout;
  opts.must_exist = h->db_must_exist;
  if (be->connect(&h->url, &opts, &h->conn, &err)) {
    h->conn = NULL;
    return lm_error("%s", err.msg);
  }
  if (h->url.driver)
    lm_debug(h, "the URL names the driver '%s' (SQLAlchemy spelling); "
             "lmigrate ignores it and uses its own %s backend",
             h->url.driver, h->url.kind == LM_URL_SQLITE ? "SQLite" :
             "libpq");
  lm_debug(h, "connected to %s", lm_host_url_display(h));
  return 0;
}

const char *lm_host_url_display(const struct lm_host *h) {
  if (h->url.redacted) return h->url.redacted;
  return "(no database URL)";
}
