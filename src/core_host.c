/*
** core_host.c: lmigrate.core.run, the C half of the Lua embedding API
** (lua/lmigrate/init.lua, docs/lua-api.md). One call creates a struct
** lm_host, loads the config and the revisions, runs one command and
** returns its result as Lua tables built by the JSON writer's Lua mode,
** so the fields are exactly those of `--json` (docs/json.md). Messages
** the command prints on stderr are captured for the call: an error is
** raised as a table { code, message, file, line, output }, warnings are
** returned as a second value.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "core.h"
#include "events.h"
#include "host.h"
#include "inspect_json.h"
#include "json.h"
#include "runner.h"
#include "runner_log.h"
#include "status.h"

#define HOST_MT "lmigrate.core.host"

/* The host lives in a userdata so that it is freed even when a Lua error
** (out of memory) unwinds the call. */
struct box {
  struct lm_host *h;          /* owned; lm_host_free */
};

static int box_gc(lua_State *L) {
  struct box *b = luaL_checkudata(L, 1, HOST_MT);
  lm_host_free(b->h);
  b->h = NULL;
  return 0;
}

/* stderr redirected into a temporary file for the call. */
struct capture {
  int saved;                  /* dup of fd 2, or -1 */
  FILE *tmp;                  /* owned; fclose */
};

static void capture_begin(struct capture *c) {
  fflush(stderr);
  c->tmp = tmpfile();
  c->saved = c->tmp ? dup(2) : -1;
  if (c->saved >= 0) dup2(fileno(c->tmp), 2);
}

/* Restore stderr; push what was captured (a string). */
static void capture_end(lua_State *L, struct capture *c) {
  luaL_Buffer b;
  char buf[4096];
  size_t n;
  fflush(stderr);
  if (c->saved >= 0) {
    dup2(c->saved, 2);
    close(c->saved);
  }
  luaL_buffinit(L, &b);
  if (c->tmp) {
    rewind(c->tmp);
    while ((n = fread(buf, 1, sizeof buf, c->tmp)) > 0)
      luaL_addlstring(&b, buf, n);
    fclose(c->tmp);
  }
  luaL_pushresult(&b);
}

/* A string option of the table at index 1, or NULL. */
static const char *opt_string(lua_State *L, const char *key) {
  const char *s;
  int t = lua_getfield(L, 1, key);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return NULL;
  }
  if (t != LUA_TSTRING)
    luaL_error(L, "lmigrate.open: '%s' must be a string, got %s", key,
               luaL_typename(L, -1));
  s = lua_tostring(L, -1);
  lua_pop(L, 1);            /* still referenced by the options table */
  return s;
}

/* Apply the options table (index 1) to the host. */
static int apply_options(lua_State *L, struct lm_host *h) {
  const char *loc;
  h->config_opt = opt_string(L, "config");
  h->url_opt = opt_string(L, "url");
  h->no_config_file = h->config_opt == NULL;
  h->verbosity = -1;
  if (lua_getfield(L, 1, "x") == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      const char *k = luaL_tolstring(L, -2, NULL);
      const char *v = luaL_tolstring(L, -2, NULL);
      const char *kv = lua_pushfstring(L, "%s=%s", k, v);
      if (lm_host_add_x(h, kv)) return 2;
      lua_pop(L, 4);
    }
  }
  lua_pop(L, 1);
  if (lm_host_load_config(h)) return 1;
  if ((loc = opt_string(L, "script_location")) != NULL) {
    char *copy = strdup(loc);
    int i;
    if (copy == NULL) return luaL_error(L, "out of memory");
    for (i = 0; i < h->cfg.nlocations; i++) free(h->cfg.locations[i]);
    h->cfg.locations[0] = copy;
    h->cfg.nlocations = 1;
  }
  return lm_host_load_scripts(h);
}

/* Run the command; its result is left on top of the stack. Returns the
** exit status (the stack top is then undefined). */
static int run_command(lua_State *L, struct lm_host *h, const char *cmd,
                       const char *arg) {
  struct lm_json j;
  struct lm_idset set, none;
  struct lm_err err;
  int rc = 0;
  lm_idset_init(&set);
  lm_idset_init(&none);
  lm_err_clear(&err);
  lm_json_init_lua(&j, L, 0);
  h->db_must_exist = 1;
  if (strcmp(cmd, "heads") == 0) {
    if (lm_graph_heads(h->graph, &set)) rc = 1;
    else lm_json_emit_revs(&j, h->graph, &set, NULL);
  } else if (strcmp(cmd, "history") == 0) {
    if (lm_graph_range(h->graph, &none, arg ? arg : ":", &set, &err))
      rc = 1;
    else lm_json_emit_revs(&j, h->graph, &set, NULL);
  } else if (strcmp(cmd, "current") == 0) {
    if ((rc = lm_host_connect(h, 0)) == 0 &&
        (rc = lm_runner_read_heads(h, &set, 0, NULL)) == 0)
      rc = lm_json_emit_current(&j, h, &set);
  } else if (strcmp(cmd, "status") == 0) {
    struct lm_status st;
    if ((rc = lm_host_connect(h, 0)) == 0 && (rc = lm_status_read(h, &st))
        == 0) {
      lm_json_emit_status(&j, h, &st);
      lm_status_free(&st);
    }
  } else if (strcmp(cmd, "log") == 0) {
    struct lm_log_row *rows = NULL;
    int n = 0;
    if ((rc = lm_host_connect(h, 0)) == 0 &&
        (rc = lm_runner_read_log(h, arg ? atoll(arg) : 0, &rows, &n)) == 0)
      lm_json_emit_log(&j, rows, n);
    lm_log_rows_free(rows, n);
  } else {
    struct lm_migrate_opts o;
    memset(&o, 0, sizeof o);
    o.dir = strcmp(cmd, "upgrade") == 0 ? LM_UP : LM_DOWN;
    o.target = arg;
    h->db_must_exist = 0;
    lua_newtable(L);                  /* the events, in order */
    lm_json_init_lua(&j, L, lua_gettop(L));
    h->events = &j;
    rc = lm_runner_migrate(h, &o);
    lm_event_end(h, cmd, rc);
    h->events = NULL;
  }
  if (rc && err.msg[0]) fprintf(stderr, "lmigrate: error: %s\n", err.msg);
  lm_idset_free(&set);
  return rc;
}

/* Build the error table from the captured text (on top) and exit status;
** the result (events so far) is below it when there is one. */
static void push_error(lua_State *L, int rc, int result_idx) {
  const char *out = lua_tostring(L, -1);
  const char *e = strstr(out, "lmigrate: error: ");
  int outi = lua_gettop(L);
  lua_createtable(L, 0, 6);
  lua_pushinteger(L, rc);
  lua_setfield(L, -2, "code");
  if (e) {
    const char *msg = e + strlen("lmigrate: error: ");
    const char *eol = strchr(msg, '\n');
    size_t len = eol ? (size_t)(eol - msg) : strlen(msg);
    const char *c1 = memchr(msg, ':', len);
    lua_pushlstring(L, msg, len);
    lua_setfield(L, -2, "message");
    if (c1 && c1 > msg && c1[1] >= '0' && c1[1] <= '9') {
      const char *p = c1 + 1;
      long line = strtol(p, (char **)&p, 10);
      if (*p == ':' && memchr(msg, ' ', (size_t)(c1 - msg)) == NULL) {
        lua_pushlstring(L, msg, (size_t)(c1 - msg));
        lua_setfield(L, -2, "file");
        lua_pushinteger(L, line);
        lua_setfield(L, -2, "line");
      }
    }
  } else {
    lua_pushfstring(L, "lmigrate failed (exit status %d)", rc);
    lua_setfield(L, -2, "message");
  }
  lua_pushvalue(L, outi);
  lua_setfield(L, -2, "output");
  if (result_idx) {
    lua_pushvalue(L, result_idx);
    lua_setfield(L, -2, "events");
  }
}

/* core.run(options, command, arg): see lua/lmigrate/init.lua. */
static int core_run(lua_State *L) {
  static const char *const cmds[] = { "heads", "history", "current",
    "status", "log", "upgrade", "downgrade", NULL };
  struct capture cap;
  struct box *b;
  const char *arg;
  int cmd, rc, top, migrate;
  luaL_checktype(L, 1, LUA_TTABLE);
  cmd = luaL_checkoption(L, 2, NULL, cmds);
  arg = luaL_optstring(L, 3, NULL);
  migrate = cmd >= 5;
  if (migrate && arg == NULL) return luaL_argerror(L, 3, "target expected");
  lua_settop(L, 3);
  b = lua_newuserdatauv(L, sizeof *b, 0);       /* index 4 */
  b->h = NULL;
  luaL_setmetatable(L, HOST_MT);
  if ((b->h = lm_host_new()) == NULL) return luaL_error(L, "out of memory");
  top = lua_gettop(L);
  capture_begin(&cap);
  rc = apply_options(L, b->h);
  if (rc == 0) rc = run_command(L, b->h, cmds[cmd], arg);
  else lua_settop(L, top);
  capture_end(L, &cap);                         /* the messages, on top */
  lm_host_free(b->h);
  b->h = NULL;
  if (rc) {
    push_error(L, rc, migrate && lua_gettop(L) == top + 2 ? top + 1 : 0);
    return lua_error(L);
  }
  return 2;                                     /* result, messages */
}

void lm_core_host(lua_State *L) {
  if (luaL_newmetatable(L, HOST_MT)) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, core_run);
  lua_setfield(L, -2, "run");
}
