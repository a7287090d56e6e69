/*
** op_data_offline.c: op.backfill and op.each_batch under --sql, where
** there is no database to walk. The set form on PostgreSQL becomes a
** clearly marked section: a procedure that walks the key in batches with
** a COMMIT per batch (PostgreSQL 11+; a DO block cannot commit), a CALL
** that must run outside BEGIN/COMMIT, and a DROP. Everything else (the fn
** form and each_batch run Lua per row; SQLite has no procedures; a
** composite key) becomes a STOP POINT: a marked block naming the exact
** lmigrate command that runs the step, after which the runner leaves the
** revision's version rows to that command (ctx->offline_stop).
** Invariant: the options are checked as strictly as online, but nothing
** is looked up in a catalog (no connection).
*/
#include <stdio.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "dialect.h"
#include "op.h"
#include "op_data.h"
#include "op_int.h"
#include "sqlbuf.h"

#define TAG "$lmigrate$"

/* Option key of the table at 1 as a string, or NULL. */
static const char *opt(lua_State *L, const char *key) {
  const char *s;
  lua_getfield(L, 1, key);
  s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1);       /* the options table keeps the string alive */
  return s;
}

/* The stop point: fname on table cannot be rendered (why). */
static int stop_point(lua_State *L, struct lm_opctx *ctx, const char *fname,
                      const char *table, const char *why) {
  const char *rev = ctx->revision ? ctx->revision : "?";
  printf("\n-- ==================== lmigrate: STOP POINT ====================\n"
         "-- The data phase of revision %s runs op.%s on \"%s\", which\n"
         "-- cannot be rendered as SQL (%s).\n"
         "-- Stop running this script here. Run the step against the\n"
         "-- database with:\n"
         "--\n"
         "--     lmigrate upgrade %s\n"
         "--\n"
         "-- (the statements above recorded %s as being in its data phase;\n"
         "-- that command resumes it, runs the data phase in batches and\n"
         "-- marks %s applied). Then go on with the rest of this script.\n"
         "-- ================================================================\n\n",
         rev, fname, table, why, rev, rev, rev);
  ctx->offline_stop = 1;
  lua_pushinteger(L, 0);
  return 1;
}

int lm_op_data_offline(lua_State *L, const char *fname) {
  struct lm_opctx *ctx = lm_op_checkctx(L);
  const struct lm_dialect *d = ctx->conn->dialect;
  const char *table, *key, *set, *where, *rev;
  struct lm_sqlbuf *sb, *proc;
  struct lm_err err;
  lua_Integer batch = 1000;
  if (lua_type(L, 1) != LUA_TTABLE || lua_gettop(L) != 1)
    return luaL_error(L, "op.%s takes one table of options: op.%s{ table = "
                      "..., key = ..., ... }", fname, fname);
  if (ctx->transactional)
    return luaL_error(L, "op.%s runs its batches in their own transactions: "
                      "call it from the revision's `data = function(op) ... "
                      "end`", fname);
  table = opt(L, "table");
  if (table == NULL || *table == '\0')
    return luaL_error(L, "op.%s: option 'table' is required", fname);
  rev = ctx->revision ? ctx->revision : "";
  lua_getfield(L, 1, "batch_size");
  if (!lua_isnil(L, -1)) {
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1)
      return luaL_error(L, "op.%s: option 'batch_size' must be an integer "
                        ">= 1", fname);
    batch = lua_tointeger(L, -1);
  }
  lua_pop(L, 1);
  key = opt(L, "key");
  set = strcmp(fname, "backfill") == 0 ? opt(L, "set") : NULL;
  where = opt(L, "where");
  if (key == NULL && lua_getfield(L, 1, "key") != LUA_TTABLE)
    return luaL_error(L, "op.%s: option 'key' is required: the unique key "
                      "column (\"id\") or columns ({ \"a\", \"b\" })", fname);
  if (key == NULL) lua_pop(L, 1);
  if (set == NULL)
    return stop_point(L, ctx, fname, table, strcmp(fname, "backfill") == 0
                      ? "its fn runs Lua for every row"
                      : "its fn runs Lua for every batch");
  if (strcmp(d->name, "postgresql") != 0)
    return stop_point(L, ctx, fname, table, "this database has no "
                      "procedures that COMMIT per batch");
  if (key == NULL)
    return stop_point(L, ctx, fname, table, "the rendered loop walks a "
                      "single-column key; this one is composite");
  if (strstr(set, TAG) || (where && strstr(where, TAG)))
    return stop_point(L, ctx, fname, table, "its SQL contains " TAG);

  /* CREATE PROCEDURE "lmigrate_backfill_<rev>"() walking (lo, hi]. */
  proc = lm_op_newsb(L);
  lm_sb_printf(proc, "lmigrate_backfill_%s", rev);
  sb = lm_op_newsb(L);
  lm_sb_printf(sb, "-- ========== lmigrate: data phase of %s: op.backfill "
               "on \"%s\" ==========\n"
               "-- A batched loop: %lld rows per transaction, COMMIT after "
               "each batch, so\n"
               "-- the table is never locked for long. The CALL must run "
               "outside BEGIN/COMMIT\n"
               "-- (psql's autocommit does); it does not write lmigrate's "
               "checkpoints: if it\n"
               "-- stops, CALL it again (rows already done are done "
               "again).\n", rev, table, (long long)batch);
  lm_dialect_sqlf(d, sb, "CREATE OR REPLACE PROCEDURE %I() LANGUAGE plpgsql "
                  "AS " TAG "\nDECLARE\n  lo %I.%I%%TYPE;\n  hi %I.%I%%TYPE;"
                  "\nBEGIN\n  LOOP\n    SELECT max(k) INTO hi FROM (SELECT %I "
                  "AS k FROM %I WHERE (lo IS NULL OR %I > lo)",
                  lm_sb_str(proc), table, key, table, key, key, table, key);
  if (where) lm_sb_printf(sb, " AND (%s)", where);
  lm_dialect_sqlf(d, sb, " ORDER BY %I LIMIT %d) AS lm_b;\n    EXIT WHEN hi "
                  "IS NULL;\n    UPDATE %I SET %s WHERE (lo IS NULL OR %I > lo)"
                  " AND %I <= hi", key, (int)batch, table, set, key, key);
  if (where) lm_sb_printf(sb, " AND (%s)", where);
  lm_sb_add(sb, ";\n    lo := hi;\n    COMMIT;\n  END LOOP;\nEND\n" TAG);
  lm_err_clear(&err);
  if (!lm_sb_ok(sb) || !lm_sb_ok(proc))
    return luaL_error(L, "op.%s: out of memory", fname);
  if (ctx->conn->be->exec(ctx->conn, lm_sb_str(sb), 0, NULL, NULL, &err))
    return luaL_error(L, "op.%s: %s", fname, err.msg);
  lm_sb_free(sb);
  sb = lm_op_newsb(L);
  lm_dialect_sqlf(d, sb, "CALL %I()", lm_sb_str(proc));
  if (ctx->conn->be->exec(ctx->conn, lm_sb_str(sb), 0, NULL, NULL, &err))
    return luaL_error(L, "op.%s: %s", fname, err.msg);
  lm_sb_free(sb);
  sb = lm_op_newsb(L);
  lm_dialect_sqlf(d, sb, "DROP PROCEDURE %I()", lm_sb_str(proc));
  if (ctx->conn->be->exec(ctx->conn, lm_sb_str(sb), 0, NULL, NULL, &err))
    return luaL_error(L, "op.%s: %s", fname, err.msg);
  lm_sb_free(sb);
  printf("-- ========== lmigrate: end of the data phase of %s ==========\n\n",
         rev);
  lm_sb_free(proc);
  lua_pushinteger(L, 0);
  return 1;
}
