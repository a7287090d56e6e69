/*
** lint_run.c: the C half of the lint. Each revision's upgrade and data
** functions run against the offline (--sql) backend, writing into a
** memory stream, with every function of their op table wrapped so that
** each call leaves a record
**   { op = "add_column", args = { ... }, sql = "<rendered>", line = N,
**     file = "versions/x.lua", phase = "upgrade" | "data", error = msg? }
** The records, the revisions' flags and (with a live PostgreSQL
** connection) the tables' sizes go to lua/lmigrate/lint.lua, which applies
** the rules and formats the report.
**
** Nothing here touches the database except the size query; the op module
** itself is unchanged: the wrapping happens on the op table after
** lm_op_push. Ops that need a live database (query, rows, backfill,
** each_batch) are recorded and not called: they return empty results.
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "backend.h"
#include "dialect.h"
#include "graph.h"
#include "host.h"
#include "lint.h"
#include "log.h"
#include "op.h"
#include "sandbox.h"
#include "url.h"

#define LINTREC_MT "lmigrate.lintrec"

/* The memory stream one revision phase renders into. A Lua userdata, so
** an error unwinding past it cannot leak the stream. */
struct lintrec {
  FILE *mem;      /* owned; fclose (open_memstream) */
  char *buf;      /* owned: the stream's buffer, freed after fclose */
  size_t len;     /* bytes written so far (after fflush) */
};

static void lintrec_close(struct lintrec *lr) {
  if (lr->mem) fclose(lr->mem);
  lr->mem = NULL;
  free(lr->buf);
  lr->buf = NULL;
  lr->len = 0;
}

static int lintrec_gc(lua_State *L) {
  lintrec_close((struct lintrec *)luaL_checkudata(L, 1, LINTREC_MT));
  return 0;
}

/* Ops that need a live database: recorded, not called. */
static int is_online_op(const char *name) {
  return strcmp(name, "query") == 0 || strcmp(name, "rows") == 0 ||
         strcmp(name, "backfill") == 0 || strcmp(name, "each_batch") == 0;
}

static int empty_iter(lua_State *L) {
  (void)L;
  return 0;
}

/* Set rec.file / rec.line (rec at stack index rec) from the first Lua
** frame with a line: the revision's call. */
static void set_location(lua_State *L, int rec) {
  lua_Debug ar;
  int level;
  for (level = 1; lua_getstack(L, level, &ar); level++) {
    lua_getinfo(L, "Sl", &ar);
    if (ar.currentline > 0) {
      lua_pushstring(L, ar.source[0] == '@' ? ar.source + 1 : ar.short_src);
      lua_setfield(L, rec, "file");
      lua_pushinteger(L, ar.currentline);
      lua_setfield(L, rec, "line");
      return;
    }
  }
}

/* The wrapper of one op function. Upvalues: 1 the op's name, 2 the real
** op, 3 the lintrec, 4 the records list, 5 the phase name. Calls the real
** op (a protected call: an op the offline rendering cannot do, such as a
** SQLite rebuild without copy_from, is recorded with its error and the
** revision goes on) and appends the record, with the SQL it rendered. */
static int lint_wrap(lua_State *L) {
  struct lintrec *lr = lua_touserdata(L, lua_upvalueindex(3));
  const char *name = lua_tostring(L, lua_upvalueindex(1));
  int n = lua_gettop(L), rec, i, nres = 0;
  size_t off;
  lua_createtable(L, 0, 8);
  rec = n + 1;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_setfield(L, rec, "op");
  lua_pushvalue(L, lua_upvalueindex(5));
  lua_setfield(L, rec, "phase");
  lua_createtable(L, n, 1);
  for (i = 1; i <= n; i++) {
    lua_pushvalue(L, i);
    lua_rawseti(L, -2, i);
  }
  lua_pushinteger(L, n);
  lua_setfield(L, -2, "n");
  lua_setfield(L, rec, "args");
  set_location(L, rec);
  if (is_online_op(name)) {
    if (strcmp(name, "query") == 0) lua_newtable(L), nres = 1;
    else if (strcmp(name, "rows") == 0)
      lua_pushcfunction(L, empty_iter), nres = 1;
  } else {
    fflush(lr->mem);
    off = lr->len;
    lua_pushvalue(L, lua_upvalueindex(2));
    for (i = 1; i <= n; i++) lua_pushvalue(L, i);
    /* Not lm_host_pcall: this runs inside the revision's own protected
    ** call (whose handler and interrupt hook must stay installed), and
    ** the error only becomes part of the record. */
    if (lua_pcall(L, n, LUA_MULTRET, 0) != LUA_OK) {
      const char *msg = lua_tostring(L, -1);
      lua_pushstring(L, msg ? msg : "(error object is not a string)");
      lua_setfield(L, rec, "error");
      lua_settop(L, rec);
    }
    nres = lua_gettop(L) - rec;
    fflush(lr->mem);
    if (lr->len > off && lr->buf) {
      lua_pushlstring(L, lr->buf + off, lr->len - off);
      lua_setfield(L, rec, "sql");
    }
  }
  lua_pushvalue(L, rec);
  lua_rawseti(L, lua_upvalueindex(4),
              (lua_Integer)lua_rawlen(L, lua_upvalueindex(4)) + 1);
  return nres;
}

/* Replace every function of the op table at idx by its recording wrapper
** (lintrec at lr, records list at recs, phase name at phase). */
static void wrap_ops(lua_State *L, int idx, int lr, int recs, int phase) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_isfunction(L, -1)) {
      lua_pushvalue(L, -2);       /* key (for the new slot) */
      lua_pushvalue(L, -3);       /* upvalue 1: name */
      lua_pushvalue(L, -3);       /* upvalue 2: the real op */
      lua_pushvalue(L, lr);
      lua_pushvalue(L, recs);
      lua_pushvalue(L, phase);
      lua_pushcclosure(L, lint_wrap, 5);
      lua_rawset(L, idx);         /* assigning an existing key: lua_next ok */
    }
    lua_pop(L, 1);
  }
}

/* Record revision idx's function fname: sets rev[fname] = records list
** (and rev[fname .. "_error"] when the function raised), with rev the
** table at stack index rev. Does nothing when the revision has no such
** function. 0, or 1 after printing an error (the file no longer loads,
** out of memory). */
static int record_phase(struct lm_host *h, const struct lm_url *url, int idx,
                        const char *fname, int transactional, int rev) {
  lua_State *L = h->L;
  const struct lm_revision *r = lm_graph_rev(h->graph, idx);
  struct lm_connect_opts copts;
  struct lm_opctx ctx;
  struct lm_conn *conn = NULL;
  struct lintrec *lr;
  struct lm_err err;
  int t, top = lua_gettop(L), fn, lri, recs, phase, rc;
  t = lm_sandbox_push_field(h, idx, fname);
  if (t == LUA_TNONE) {
    lua_settop(L, top);
    return 1;
  }
  if (t != LUA_TFUNCTION) {
    lua_settop(L, top);
    return 0;
  }
  fn = lua_gettop(L);
  lr = lua_newuserdatauv(L, sizeof *lr, 0);
  memset(lr, 0, sizeof *lr);
  luaL_setmetatable(L, LINTREC_MT);
  lri = lua_gettop(L);
  lr->mem = open_memstream(&lr->buf, &lr->len);
  lm_err_clear(&err);
  memset(&copts, 0, sizeof copts);
  copts.out = lr->mem;
  if (lr->mem == NULL ||
      lm_backend_offline.connect(url, &copts, &conn, &err)) {
    lua_settop(L, top);
    return lm_error("lint: %s", lr->mem ? err.msg : "out of memory");
  }
  lua_newtable(L);
  recs = lua_gettop(L);
  lua_pushstring(L, fname);
  phase = lua_gettop(L);
  memset(&ctx, 0, sizeof ctx);
  ctx.conn = conn;
  ctx.transactional = transactional;
  ctx.phase = fname;
  ctx.revision = r->id;
  ctx.verbosity = -1;
  lua_pushvalue(L, fn);
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->xref);
  lm_op_push(L, &ctx, lua_gettop(L));
  lua_remove(L, -2);
  wrap_ops(L, lua_gettop(L), lri, recs, phase);
  rc = lm_host_pcall(h, 1, 0);
  if (rc) {
    lua_pushfstring(L, "%s_error", fname);
    lua_insert(L, -2);
    lua_rawset(L, rev);
  } else {
    lm_err_clear(&err);
    if (lm_op_flush(L, &ctx, &err)) {
      lua_pushfstring(L, "%s_error", fname);
      lua_pushstring(L, err.msg);
      lua_rawset(L, rev);
    }
  }
  lm_op_release(L, &ctx);
  conn->be->close(conn);
  lintrec_close(lr);
  lua_pushstring(L, fname);
  lua_pushvalue(L, recs);
  lua_rawset(L, rev);
  lua_settop(L, top);
  return 0;
}

/* list_lua_files(dir): the sorted names of the *.lua files in dir, or
** nil and a message. For the project's lint.rules_path. */
static int list_lua_files(lua_State *L) {
  const char *dir = luaL_checkstring(L, 1);
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  if (d == NULL) {
    luaL_pushfail(L);
    lua_pushfstring(L, "cannot open directory '%s'", dir);
    return 2;
  }
  lua_newtable(L);
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len > 4 && e->d_name[0] != '.' &&
        strcmp(e->d_name + len - 4, ".lua") == 0) {
      lua_pushstring(L, e->d_name);
      lua_rawseti(L, -2, ++n);
    }
  }
  closedir(d);
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, -3);
  lua_call(L, 1, 0);
  lua_pop(L, 1);
  return 1;
}

/* Push a table name -> { rows = reltuples, bytes = relpages * block_size }
** of the live PostgreSQL database's tables (keys "schema.table", and the
** bare name for tables visible on the search path). Only pg_class's
** estimates: pg_total_relation_size would take a lock on every table and
** wait behind the very locks the run is about to queue for. An empty
** table when the query fails (the lint then knows no sizes). */
static void push_sizes(struct lm_host *h) {
  static const char sql[] =
    "SELECT n.nspname, c.relname, c.reltuples::bigint, "
    "c.relpages::bigint * current_setting('block_size')::bigint, "
    "pg_table_is_visible(c.oid) "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' "
    "AND n.nspname NOT LIKE 'pg\\_%'";
  lua_State *L = h->L;
  struct lm_cursor *cur = NULL;
  struct lm_err err;
  lua_newtable(L);
  if (h->conn == NULL || strcmp(h->conn->dialect->name, "postgresql") != 0)
    return;
  lm_err_clear(&err);
  if (h->conn->be->query(h->conn, sql, 0, NULL, &cur, &err)) {
    lm_debug(h, "lint: table sizes unavailable: %s", err.msg);
    h->conn->be->cursor_close(cur);
    return;
  }
  while (h->conn->be->cursor_step(cur, &err) == 1) {
    struct lm_value v[5];
    int i;
    for (i = 0; i < 5; i++) h->conn->be->cursor_value(cur, i, &v[i]);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, v[2].type == LM_VINT ? v[2].i :
                       v[2].type == LM_VTEXT ? atoll(v[2].s) : -1);
    lua_setfield(L, -2, "rows");
    lua_pushinteger(L, v[3].type == LM_VINT ? v[3].i :
                       v[3].type == LM_VTEXT ? atoll(v[3].s) : -1);
    lua_setfield(L, -2, "bytes");
    lua_pushlstring(L, v[0].s ? v[0].s : "", v[0].n);
    lua_pushliteral(L, ".");
    lua_pushlstring(L, v[1].s ? v[1].s : "", v[1].n);
    lua_concat(L, 3);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
    if ((v[4].type == LM_VBOOL && v[4].i) ||
        (v[4].type == LM_VTEXT && v[4].n && v[4].s[0] == 't')) {
      lua_pushlstring(L, v[1].s ? v[1].s : "", v[1].n);
      lua_insert(L, -2);
      lua_rawset(L, -3);
    } else {
      lua_pop(L, 1);
    }
  }
  h->conn->be->cursor_close(cur);
}

/* Push the rows of a catalog query on the live PostgreSQL connection as
** a list of lists (text as strings, integers, booleans, NULL as false);
** an empty list when there is no such connection or the query fails. */
static void push_rows(struct lm_host *h, const char *sql) {
  lua_State *L = h->L;
  struct lm_cursor *cur = NULL;
  struct lm_err err;
  int n = 0;
  lua_newtable(L);
  if (h->conn == NULL || strcmp(h->conn->dialect->name, "postgresql") != 0)
    return;
  lm_err_clear(&err);
  if (h->conn->be->query(h->conn, sql, 0, NULL, &cur, &err)) {
    lm_debug(h, "lint: catalog query failed: %s", err.msg);
    h->conn->be->cursor_close(cur);
    return;
  }
  while (h->conn->be->cursor_step(cur, &err) == 1) {
    int i, nc = h->conn->be->cursor_ncols(cur);
    lua_createtable(L, nc, 0);
    for (i = 0; i < nc; i++) {
      struct lm_value v;
      h->conn->be->cursor_value(cur, i, &v);
      if (v.type == LM_VTEXT) lua_pushlstring(L, v.s, v.n);
      else if (v.type == LM_VINT) lua_pushinteger(L, v.i);
      else if (v.type == LM_VBOOL) lua_pushboolean(L, (int)v.i);
      else if (v.type == LM_VFLOAT) lua_pushnumber(L, v.f);
      else lua_pushboolean(L, 0);
      lua_rawseti(L, -2, i + 1);
    }
    lua_rawseti(L, -2, ++n);
  }
  h->conn->be->cursor_close(cur);
}

/* Push { columns =, constraints =, indexes = } from the live catalog
** (tables visible on the search path): what the applied revisions left. */
static void push_catalog(struct lm_host *h) {
  lua_State *L = h->L;
  lua_createtable(L, 0, 3);
  push_rows(h, "SELECT c.relname, a.attname, format_type(a.atttypid, "
            "a.atttypmod), a.attnotnull FROM pg_attribute a JOIN pg_class c "
            "ON c.oid = a.attrelid WHERE c.relkind IN ('r', 'p') AND "
            "a.attnum > 0 AND NOT a.attisdropped AND "
            "pg_table_is_visible(c.oid)");
  lua_setfield(L, -2, "columns");
  /* No pg_get_constraintdef / pg_get_indexdef: they can wait for a lock
  ** on the table. A CHECK that is exactly "col IS NOT NULL" is recognised
  ** from its node tree text instead (what setting-not-nullable-field
  ** needs). */
  push_rows(h, "SELECT c.relname, k.conname, k.contype::text, k.convalidated, "
            "CASE WHEN k.contype = 'c' AND array_length(k.conkey, 1) = 1 AND "
            "k.conbin::text LIKE '{NULLTEST :arg {VAR %' AND "
            "k.conbin::text LIKE '% :nulltesttype 1 %' THEN (SELECT a.attname "
            "FROM pg_attribute a WHERE a.attrelid = k.conrelid AND a.attnum = "
            "k.conkey[1]) || ' IS NOT NULL' ELSE '' END FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid WHERE k.contype IN ('c', "
            "'f') AND pg_table_is_visible(c.oid)");
  lua_setfield(L, -2, "constraints");
  push_rows(h, "SELECT c.relname, i.relname FROM pg_index x JOIN pg_class c "
            "ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE pg_table_is_visible(c.oid)");
  lua_setfield(L, -2, "indexes");
}

/* Push require("lmigrate.lint")[fn]. 0, or 1 after printing. */
static int push_engine_fn(struct lm_host *h, const char *fn) {
  lua_State *L = h->L;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lmigrate.lint");
  if (lm_host_pcall(h, 1, 1)) {
    lm_error("%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return 1;
  }
  lua_getfield(L, -1, fn);
  lua_remove(L, -2);
  return 0;
}

/* Push the engine's options table for o. */
static void push_opts(struct lm_host *h, const struct lm_lint_opts *o,
                      const char *dialect) {
  lua_State *L = h->L;
  lua_createtable(L, 0, 10);
  lua_pushstring(L, dialect);
  lua_setfield(L, -2, "dialect");
  lua_pushboolean(L, o->pending);
  lua_setfield(L, -2, "pending");
  lua_pushboolean(L, o->json);
  lua_setfield(L, -2, "json");
  lua_pushstring(L, o->purpose);
  lua_setfield(L, -2, "purpose");
  lua_pushboolean(L, o->online && h->conn != NULL);
  lua_setfield(L, -2, "online");
  if (o->online) push_sizes(h);
  else lua_newtable(L);
  lua_setfield(L, -2, "sizes");
  if (o->online && h->conn) {
    push_catalog(h);
    lua_setfield(L, -2, "catalog");
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->cfg.lint_ref);
  lua_setfield(L, -2, "config");
  lua_pushstring(L, h->cfg.path ? h->cfg.path : "lmigrate.lua");
  lua_setfield(L, -2, "config_path");
  lua_pushinteger(L, h->cfg.ddl_lock_timeout_ms);
  lua_setfield(L, -2, "lock_timeout_ms");
  lua_pushcfunction(L, list_lua_files);
  lua_setfield(L, -2, "list_lua_files");
}

/* The URL whose dialect the offline rendering uses: the connection's,
** else the configured one, else PostgreSQL (what the rules are about).
** *own is set when u was parsed here and must be freed. */
static int lint_url(struct lm_host *h, struct lm_url *u, int *own) {
  struct lm_err err;
  lm_err_clear(&err);
  *own = 0;
  if (h->url.raw) {
    *u = h->url;
    return 0;
  }
  if (lm_url_parse(h->cfg.url ? h->cfg.url : "postgresql://localhost/lint",
                   u, &err))
    return lm_error("%s", err.msg);
  *own = 1;
  return 0;
}

int lm_lint_run(struct lm_host *h, const struct lm_lint_opts *o,
                int *nerrors) {
  lua_State *L = h->L;
  struct lm_idset all, none;
  struct lm_url url;
  struct lm_err err;
  unsigned char *target = NULL;
  int i, own = 0, rc = 1, top = lua_gettop(L), revs, last = -1;
  *nerrors = 0;
  lm_idset_init(&all);
  lm_idset_init(&none);
  lm_err_clear(&err);
  luaL_newmetatable(L, LINTREC_MT);
  lua_pushcfunction(L, lintrec_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  if (lint_url(h, &url, &own)) goto done;
  /* Every revision in run order (the targets' ancestors tell the rules
  ** what the earlier revisions built), or the targets only. */
  if (!o->ancestors) {
    for (i = 0; i < o->targets->n; i++)
      if (lm_idset_push(&all, o->targets->v[i])) {
        lm_error("out of memory");
        goto done;
      }
  } else if (lm_graph_plan(h->graph, &none, "heads", LM_UP, &all, &err)) {
    lm_error("%s", err.msg);
    goto done;
  }
  target = calloc((size_t)lm_graph_count(h->graph) + 1, 1);
  if (target == NULL) {
    lm_error("out of memory");
    goto done;
  }
  for (i = 0; i < o->targets->n; i++) target[o->targets->v[i]] = 1;
  for (i = 0; i < all.n; i++)
    if (target[all.v[i]]) last = i;
  if (push_engine_fn(h, "run")) goto done;
  lua_createtable(L, last + 1, 0);
  revs = lua_gettop(L);
  for (i = 0; i <= last; i++) {
    int idx = all.v[i];
    const struct lm_revision *r = lm_graph_rev(h->graph, idx);
    lua_createtable(L, 0, 12);
    lua_pushstring(L, r->id);
    lua_setfield(L, -2, "id");
    lua_pushstring(L, r->path);
    lua_setfield(L, -2, "path");
    lua_pushstring(L, r->message ? r->message : "");
    lua_setfield(L, -2, "message");
    lua_pushboolean(L, r->transactional);
    lua_setfield(L, -2, "transactional");
    lua_pushboolean(L, target[idx]);
    lua_setfield(L, -2, "target");
    if (lm_sandbox_push_field(h, idx, "lint") == LUA_TNONE) {
      lua_settop(L, top);
      goto done;
    }
    lua_setfield(L, -2, "lint");
    if (record_phase(h, &url, idx, "upgrade", r->transactional,
                     lua_gettop(L)) ||
        record_phase(h, &url, idx, "data", 0, lua_gettop(L))) {
      lua_settop(L, top);
      goto done;
    }
    lua_rawseti(L, revs, i + 1);
  }
  push_opts(h, o, url.kind == LM_URL_SQLITE ? "sqlite" : "postgresql");
  if (lm_host_pcall(h, 2, 2)) {
    lm_error("%s", lua_tostring(L, -1));
    lua_settop(L, top);
    goto done;
  }
  if (lua_type(L, -2) == LUA_TSTRING) {
    size_t len;
    const char *text = lua_tolstring(L, -2, &len);
    if (len && fwrite(text, 1, len, o->out) != len) {
      lm_error("writing the lint report failed");
      lua_settop(L, top);
      goto done;
    }
  }
  *nerrors = (int)lua_tointeger(L, -1);
  lua_settop(L, top);
  rc = 0;
done:
  free(target);
  lm_idset_free(&all);
  lm_idset_free(&none);
  if (own) lm_url_free(&url);
  return rc;
}

int lm_lint_before_upgrade(struct lm_host *h, const struct lm_idset *steps) {
  lua_State *L = h->L;
  struct lm_lint_opts o;
  const char *mode;
  int nerrors = 0, error_mode;
  if (push_engine_fn(h, "mode")) return 1;
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->cfg.lint_ref);
  lua_pushstring(L, h->cfg.path ? h->cfg.path : "lmigrate.lua");
  if (lm_host_pcall(h, 2, 1)) {
    lm_error("%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return 1;
  }
  mode = lua_tostring(L, -1);
  error_mode = mode && strcmp(mode, "error") == 0;
  if (mode == NULL || strcmp(mode, "off") == 0) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pop(L, 1);
  memset(&o, 0, sizeof o);
  o.targets = steps;
  o.pending = 1;
  o.online = 1;
  o.purpose = "upgrade";
  o.out = stderr;
  fflush(stdout);
  if (lm_lint_run(h, &o, &nerrors)) return 1;
  if (error_mode && nerrors > 0)
    return lm_error("lint found %d error%s in the revisions to apply; "
                    "nothing was changed. Follow the fix lines, disable the "
                    "rule for that revision (lint = { disable = { \"rule\" "
                    "} }), or set lint = \"warn\" in %s", nerrors,
                    nerrors == 1 ? "" : "s",
                    h->cfg.path ? h->cfg.path : "lmigrate.lua");
  return 0;
}
