/*
** op_schema.c: the op functions beyond tables and indexes: add/drop/alter
** column, constraints, comments, schemas, bulk_insert and inline_literal.
** Column and constraint changes are described as struct lm_alter; where
** the dialect cannot do one with ALTER TABLE (SQLite), it is queued for a
** table rebuild (op_batch.c) instead of run at once.
**
** Same conventions as op.c: strict option tables, scratch memory in Lua
** userdata, errors raised with luaL_error after C memory is released, so
** they carry the revision's file:line.
*/
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "dialect.h"
#include "op_int.h"
#include "suggest.h"
#include "value.h"

/* ---------- helpers ---------- */

/* A fresh alteration of kind with every field "unchanged". */
static void alter_init(struct lm_alter *a, enum lm_alter_kind kind) {
  memset(a, 0, sizeof *a);
  a->kind = kind;
  a->nullable = -1;
}

/* Run sql in sb (freed) on ctx's connection. 0, or non-zero with err. */
static int exec_sb(struct lm_opctx *ctx, struct lm_sqlbuf *sb,
                   struct lm_err *err) {
  int rc;
  lm_err_clear(err);
  if (!lm_sb_ok(sb)) rc = lm_err_set(err, "out of memory");
  else rc = ctx->conn->be->exec(ctx->conn, lm_sb_str(sb), 0, NULL, NULL, err);
  lm_sb_free(sb);
  return rc;
}

/* Apply alteration a to table: queued for a rebuild when the dialect
** needs one (or a batch for table is already waiting), else run as ALTER
** TABLE, falling back to the rebuild when the database refuses it for a
** reason the rebuild does not have. copy_from: offline CREATE TABLE text. */
static void apply_alter(lua_State *L, struct lm_opctx *ctx, const char *what,
                        const char *table, const struct lm_alter *a,
                        const char *copy_from) {
  struct lm_opbox *b = lm_op_box(L);
  const struct lm_dialect *d = ctx->conn->dialect;
  struct lm_sqlbuf *sb;
  struct lm_err err;
  int rc;
  if (d->needs_rebuild && (lm_op_batch_has(b, table) || d->needs_rebuild(a))) {
    if (lm_op_batch_other(b, table)) lm_op_checkctx(L);
    lm_op_batch_add(L, b, what, table, a, copy_from);
    return;
  }
  lm_op_checkctx(L);   /* run a batch waiting for another table */
  sb = lm_op_newsb(L);
  lm_err_clear(&err);
  if (d->render_alter(sb, table, a, &err)) {
    lm_sb_free(sb);
    lm_op_raise(L, what, table, err.msg);
  }
  rc = exec_sb(ctx, sb, &err);
  if (rc && d->rebuild_after_error && !ctx->conn->be->is_offline &&
      d->rebuild_after_error(a, err.msg)) {
    lm_op_batch_add(L, b, what, table, a, copy_from);
    return;
  }
  if (rc) {
    memcpy(ctx->sqlstate, err.sqlstate, sizeof ctx->sqlstate);
    lm_op_raise(L, what, table, err.msg);
  }
}

/* The copy_from option of the options table o (0: none). */
static const char *opt_copy_from(lua_State *L, int o) {
  return o ? lm_op_opt_string(L, o, o, "copy_from") : NULL;
}

/* Check a foreign-key action option before anything is queued. */
static void check_fk_action(lua_State *L, const char *what, const char *key,
                            const char *action) {
  if (action && lm_dialect_fk_action(action) == NULL)
    luaL_error(L, "%s: %s = \"%s\" is not one of CASCADE, SET NULL, "
               "SET DEFAULT, RESTRICT, NO ACTION", what, key, action);
}

/* ---------- columns ---------- */

static const char *const add_column_keys[] = { "copy_from", NULL };

static int op_add_column(lua_State *L) {
  struct lm_opctx *ctx = lm_op_ctx(L);
  const char *table = lm_op_checkname(L, 1, "table name");
  struct lm_column col;
  struct lm_create_table t;
  struct lm_alter a;
  struct lm_sqlbuf *sb;
  struct lm_err err;
  int o;
  lua_settop(L, 3);
  lm_op_check_column(L, 2, "add_column", &col);
  o = lm_op_opt_table(L, 3, "add_column", add_column_keys);
  /* validate the column spec now, also when the change is queued */
  memset(&t, 0, sizeof t);
  t.name = table;
  t.cols = &col;
  t.ncols = 1;
  sb = lm_op_newsb(L);
  lm_err_clear(&err);
  if (ctx->conn->dialect->render_create_table(sb, &t, &err)) {
    lm_sb_free(sb);
    return luaL_error(L, "add_column \"%s\".\"%s\": %s", table, col.name,
                      err.msg);
  }
  lm_sb_free(sb);
  alter_init(&a, LM_ALTER_ADD_COLUMN);
  a.column = col.name;
  a.add = &col;
  apply_alter(L, ctx, "add_column", table, &a, opt_copy_from(L, o));
  return 0;
}

static const char *const drop_column_keys[] = { "copy_from", NULL };

static int op_drop_column(lua_State *L) {
  struct lm_opctx *ctx = lm_op_ctx(L);
  const char *table = lm_op_checkname(L, 1, "table name");
  const char *column = lm_op_checkname(L, 2, "column name");
  int o = lm_op_opt_table(L, 3, "drop_column", drop_column_keys);
  const char *copy_from = opt_copy_from(L, o);
  struct lm_alter a;
  alter_init(&a, LM_ALTER_DROP_COLUMN);
  a.column = column;
  /* offline, copy_from asks for the rebuild: the script cannot tell
  ** whether plain DROP COLUMN would work */
  if (copy_from && ctx->conn->be->is_offline &&
      ctx->conn->dialect->needs_rebuild) {
    struct lm_opbox *b = lm_op_box(L);
    if (lm_op_batch_other(b, table)) lm_op_checkctx(L);
    lm_op_batch_add(L, b, "drop_column", table, &a, copy_from);
    return 0;
  }
  apply_alter(L, ctx, "drop_column", table, &a, copy_from);
  return 0;
}

static const char *const alter_column_keys[] = {
  "type", "nullable", "server_default", "new_name", "using", "comment",
  "copy_from", NULL
};

static int op_alter_column(lua_State *L) {
  struct lm_opctx *ctx = lm_op_ctx(L);
  const struct lm_dialect *d = ctx->conn->dialect;
  const char *table = lm_op_checkname(L, 1, "table name");
  const char *column = lm_op_checkname(L, 2, "column name");
  const char *comment = NULL, *copy_from;
  int drop_comment = 0, o;
  struct lm_alter a;
  struct lm_sqlbuf *sb;
  struct lm_err err;
  lua_settop(L, 3);
  luaL_checktype(L, 3, LUA_TTABLE);
  o = lm_op_opt_table(L, 3, "alter_column", alter_column_keys);
  alter_init(&a, LM_ALTER_COLUMN);
  a.column = column;
  a.type = lm_op_opt_string(L, o, o, "type");
  a.using_expr = lm_op_opt_string(L, o, o, "using");
  a.new_name = lm_op_opt_string(L, o, o, "new_name");
  copy_from = lm_op_opt_string(L, o, o, "copy_from");
  lua_getfield(L, o, "nullable");
  if (lua_isboolean(L, -1)) a.nullable = lua_toboolean(L, -1);
  else if (!lua_isnil(L, -1))
    lm_op_bad_type(L, o, "nullable", "a boolean", -1);
  lua_pop(L, 1);
  lua_getfield(L, o, "server_default");
  if (lua_type(L, -1) == LUA_TSTRING) {
    a.set_default = 1;
    a.server_default = lua_tostring(L, -1);
  } else if (lua_isboolean(L, -1) && !lua_toboolean(L, -1)) {
    a.set_default = -1;
  } else if (!lua_isnil(L, -1)) {
    lm_op_bad_type(L, o, "server_default", "a string, or false to drop it",
                   -1);
  }
  lua_pop(L, 1);
  lua_getfield(L, o, "comment");
  if (lua_type(L, -1) == LUA_TSTRING) comment = lua_tostring(L, -1);
  else if (lua_isboolean(L, -1) && !lua_toboolean(L, -1)) drop_comment = 1;
  else if (!lua_isnil(L, -1))
    lm_op_bad_type(L, o, "comment", "a string, or false to drop it", -1);
  lua_pop(L, 1);
  if (a.new_name && strlen(a.new_name) == 0)
    return luaL_error(L, "alter_column \"%s\".\"%s\": new_name must not be "
                      "empty", table, column);
  if (a.using_expr && a.type == NULL)
    return luaL_error(L, "alter_column \"%s\".\"%s\": using needs type",
                      table, column);
  if (a.type == NULL && a.nullable < 0 && a.set_default == 0 &&
      a.new_name == NULL && comment == NULL && !drop_comment)
    return luaL_error(L, "alter_column \"%s\".\"%s\": nothing to alter; give "
                      "type, nullable, server_default, new_name or comment",
                      table, column);
  sb = lm_op_newsb(L);
  lm_err_clear(&err);
  if (a.type) {   /* check the type now, also when the change is queued */
    struct lm_column col;
    memset(&col, 0, sizeof col);
    col.name = column;
    col.type = a.type;
    if (d->map_type(sb, &col, &err)) {
      lm_sb_free(sb);
      return luaL_error(L, "alter_column \"%s\".\"%s\": %s", table, column,
                        err.msg);
    }
    lm_sb_reset(sb);
  }
  if (comment || drop_comment) {   /* rendered first: an error stops all */
    if (d->render_comment(sb, table, a.new_name ? a.new_name : column,
                          comment, &err)) {
      lm_sb_free(sb);
      return luaL_error(L, "alter_column \"%s\".\"%s\": comment: %s", table,
                        column, err.msg);
    }
  }
  if (a.type || a.nullable >= 0 || a.set_default || a.new_name)
    apply_alter(L, ctx, "alter_column", table, &a, copy_from);
  else
    lm_op_checkctx(L);
  if (comment || drop_comment) {
    if (exec_sb(ctx, sb, &err)) {
      memcpy(ctx->sqlstate, err.sqlstate, sizeof ctx->sqlstate);
      return lm_op_raise(L, "alter_column", table, err.msg);
    }
  }
  lm_sb_free(sb);
  return 0;
}

/* ---------- constraints ---------- */

static const char *const fk_keys[] = {
  "on_delete", "on_update", "not_valid", "copy_from", NULL
};

/* create_foreign_key(name, source_table, referent_table, local_cols,
** remote_cols [, opts]) */
static int op_create_foreign_key(lua_State *L) {
  struct lm_opctx *ctx = lm_op_ctx(L);
  struct lm_alter a;
  const char *table;
  int o;
  lua_settop(L, 6);
  alter_init(&a, LM_ALTER_ADD_FOREIGN_KEY);
  a.name = lm_op_checkname(L, 1, "constraint name");
  table = lm_op_checkname(L, 2, "source table name");
  a.ref_table = lm_op_checkname(L, 3, "referent table name");
  a.cols = lm_op_check_cols(L, 4, &a.ncols, "a foreign key");
  a.ref_cols = lm_op_check_cols(L, 5, &a.nref_cols, "a foreign key");
  o = lm_op_opt_table(L, 6, "create_foreign_key", fk_keys);
  if (a.ncols != a.nref_cols)
    return luaL_error(L, "create_foreign_key \"%s\": %d local column%s but "
                      "%d referenced column%s", a.name, a.ncols,
                      a.ncols == 1 ? "" : "s", a.nref_cols,
                      a.nref_cols == 1 ? "" : "s");
  if (o) {
    a.on_delete = lm_op_opt_string(L, o, o, "on_delete");
    a.on_update = lm_op_opt_string(L, o, o, "on_update");
    a.not_valid = lm_op_opt_bool(L, o, o, "not_valid", 0);
  }
  check_fk_action(L, "create_foreign_key", "on_delete", a.on_delete);
  check_fk_action(L, "create_foreign_key", "on_update", a.on_update);
  apply_alter(L, ctx, "create_foreign_key", table, &a, opt_copy_from(L, o));
  return 0;
}

static const char *const copy_from_keys[] = { "copy_from", NULL };

/* create_unique_constraint / create_primary_key (name, table, cols [, o]) */
static int add_key(lua_State *L, enum lm_alter_kind kind, const char *what) {
  struct lm_opctx *ctx = lm_op_ctx(L);
  struct lm_alter a;
  const char *table;
  int o;
  lua_settop(L, 4);
  alter_init(&a, kind);
  a.name = lm_op_checkname(L, 1, "constraint name");
  table = lm_op_checkname(L, 2, "table name");
  a.cols = lm_op_check_cols(L, 3, &a.ncols, "a constraint");
  o = lm_op_opt_table(L, 4, what, copy_from_keys);
  apply_alter(L, ctx, what, table, &a, opt_copy_from(L, o));
  return 0;
}

static int op_create_unique_constraint(lua_State *L) {
  return add_key(L, LM_ALTER_ADD_UNIQUE, "create_unique_constraint");
}

static int op_create_primary_key(lua_State *L) {
  return add_key(L, LM_ALTER_ADD_PRIMARY_KEY, "create_primary_key");
}

static const char *const check_keys[] = { "not_valid", "copy_from", NULL };

/* create_check_constraint(name, table, "sql condition" [, opts]) */
static int op_create_check_constraint(lua_State *L) {
  struct lm_opctx *ctx = lm_op_ctx(L);
  struct lm_alter a;
  const char *table;
  int o;
  lua_settop(L, 4);
  alter_init(&a, LM_ALTER_ADD_CHECK);
  a.name = lm_op_checkname(L, 1, "constraint name");
  table = lm_op_checkname(L, 2, "table name");
  a.check = lm_op_checkname(L, 3, "check condition");
  o = lm_op_opt_table(L, 4, "create_check_constraint", check_keys);
  if (o) a.not_valid = lm_op_opt_bool(L, o, o, "not_valid", 0);
  apply_alter(L, ctx, "create_check_constraint", table, &a,
              opt_copy_from(L, o));
  return 0;
}

/* validate_constraint(table, name): check the existing rows against a
** constraint added with not_valid = true (PostgreSQL: ALTER TABLE ..
** VALIDATE CONSTRAINT, which takes only SHARE UPDATE EXCLUSIVE). A no-op
** where constraints cannot be NOT VALID (SQLite checks every row when it
** adds one). */
static int op_validate_constraint(lua_State *L) {
  struct lm_opctx *ctx;
  const char *table = lm_op_checkname(L, 1, "table name");
  const char *name = lm_op_checkname(L, 2, "constraint name");
  struct lm_sqlbuf *sb;
  struct lm_err err;
  if (lua_gettop(L) > 2)
    return luaL_error(L, "validate_constraint(table, name) takes 2 "
                      "arguments, got %d", lua_gettop(L));
  ctx = lm_op_ctx(L);
  if (!ctx->conn->dialect->has_not_valid) return 0;
  ctx = lm_op_checkctx(L);
  sb = lm_op_newsb(L);
  lm_err_clear(&err);
  lm_dialect_sqlf(ctx->conn->dialect, sb, "ALTER TABLE %I VALIDATE "
                  "CONSTRAINT %I", table, name);
  lm_op_run_ddl(L, ctx, "validate_constraint", table, sb, 0, &err);
  return 0;
}

static const char *const drop_constraint_keys[] = {
  "type_", "copy_from", NULL
};

static const char *const constraint_types[] = {
  "foreignkey", "unique", "check", "primary", NULL
};

/* drop_constraint(name, table [, { type_ =, copy_from = }]) */
static int op_drop_constraint(lua_State *L) {
  struct lm_opctx *ctx = lm_op_ctx(L);
  struct lm_alter a;
  const char *table, *type;
  int o, i;
  lua_settop(L, 3);
  alter_init(&a, LM_ALTER_DROP_CONSTRAINT);
  a.name = lm_op_checkname(L, 1, "constraint name");
  table = lm_op_checkname(L, 2, "table name");
  o = lm_op_opt_table(L, 3, "drop_constraint", drop_constraint_keys);
  type = o ? lm_op_opt_string(L, o, o, "type_") : NULL;
  if (type) {
    for (i = 0; constraint_types[i]; i++)
      if (strcmp(type, constraint_types[i]) == 0) break;
    if (constraint_types[i] == NULL) {
      const char *best = lm_suggest(type, constraint_types);
      if (best)
        return luaL_error(L, "drop_constraint: type_ = \"%s\" is not a "
                          "constraint type (did you mean \"%s\"?)", type,
                          best);
      return luaL_error(L, "drop_constraint: type_ = \"%s\" is not one of "
                        "foreignkey, unique, check, primary", type);
    }
  }
  apply_alter(L, ctx, "drop_constraint", table, &a, opt_copy_from(L, o));
  return 0;
}

/* ---------- comments, schemas ---------- */

/* Finish an op whose dialect call rendered into sb with result rc. */
static int finish(lua_State *L, struct lm_opctx *ctx, const char *what,
                  const char *object, struct lm_sqlbuf *sb, int rc,
                  struct lm_err *err) {
  lm_op_run_ddl(L, ctx, what, object, sb, rc, err);
  return 0;
}

static int op_create_table_comment(lua_State *L) {
  struct lm_opctx *ctx = lm_op_checkctx(L);
  const char *table = lm_op_checkname(L, 1, "table name");
  const char *text = luaL_checkstring(L, 2);
  struct lm_sqlbuf *sb = lm_op_newsb(L);
  struct lm_err err;
  lm_err_clear(&err);
  return finish(L, ctx, "create_table_comment", table, sb,
                ctx->conn->dialect->render_comment(sb, table, NULL, text,
                                                   &err), &err);
}

static int op_drop_table_comment(lua_State *L) {
  struct lm_opctx *ctx = lm_op_checkctx(L);
  const char *table = lm_op_checkname(L, 1, "table name");
  struct lm_sqlbuf *sb = lm_op_newsb(L);
  struct lm_err err;
  lm_err_clear(&err);
  return finish(L, ctx, "drop_table_comment", table, sb,
                ctx->conn->dialect->render_comment(sb, table, NULL, NULL,
                                                   &err), &err);
}

static const char *const create_schema_keys[] = { "if_not_exists", NULL };

static int op_create_schema(lua_State *L) {
  struct lm_opctx *ctx = lm_op_checkctx(L);
  const char *name = lm_op_checkname(L, 1, "schema name");
  int o = lm_op_opt_table(L, 2, "create_schema", create_schema_keys);
  int ine = o ? lm_op_opt_bool(L, o, o, "if_not_exists", 0) : 0;
  struct lm_sqlbuf *sb = lm_op_newsb(L);
  struct lm_err err;
  lm_err_clear(&err);
  return finish(L, ctx, "create_schema", name, sb,
                ctx->conn->dialect->render_create_schema(sb, name, ine, &err),
                &err);
}

static const char *const drop_schema_keys[] = { "if_exists", "cascade", NULL };

static int op_drop_schema(lua_State *L) {
  struct lm_opctx *ctx = lm_op_checkctx(L);
  const char *name = lm_op_checkname(L, 1, "schema name");
  int o = lm_op_opt_table(L, 2, "drop_schema", drop_schema_keys);
  int ie = o ? lm_op_opt_bool(L, o, o, "if_exists", 0) : 0;
  int cascade = o ? lm_op_opt_bool(L, o, o, "cascade", 0) : 0;
  struct lm_sqlbuf *sb = lm_op_newsb(L);
  struct lm_err err;
  lm_err_clear(&err);
  return finish(L, ctx, "drop_schema", name, sb,
                ctx->conn->dialect->render_drop_schema(sb, name, ie, cascade,
                                                       &err), &err);
}

/* ---------- data ---------- */

/* op.inline_literal(v) -> v as a SQL literal of this dialect. */
static int op_inline_literal(lua_State *L) {
  struct lm_opctx *ctx = lm_op_ctx(L);
  struct lm_value v;
  struct lm_sqlbuf *sb;
  luaL_checkany(L, 1);
  if (lm_value_from_lua(L, 1, &v))
    return luaL_argerror(L, 1, lua_pushfstring(L, "%s cannot be a SQL "
                         "literal", luaL_typename(L, 1)));
  sb = lm_op_newsb(L);
  ctx->conn->dialect->quote_literal(sb, &v);
  if (!lm_sb_ok(sb)) {
    lm_sb_free(sb);
    return luaL_error(L, "inline_literal: out of memory");
  }
  lua_pushlstring(L, lm_sb_str(sb), sb->len);
  lm_sb_free(sb);
  return 1;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Columns of bulk_insert: opts.columns, or the sorted string keys of the
** first row. Pushes the array (userdata) and a name -> index table;
** returns the array, NULL-terminated (for suggestions). */
static const char **bulk_columns(lua_State *L, int rows, int o, int *ncols) {
  const char **cols;
  int i, n = 0;
  if (o && lua_getfield(L, o, "columns") != LUA_TNIL) {
    /* names borrowed from the list, which the options table keeps alive */
    const char *const *c = lm_op_check_cols(L, lua_gettop(L), &n,
                                            "bulk_insert");
    cols = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *cols, 0);
    memcpy(cols, c, (size_t)n * sizeof *cols);
    lua_replace(L, -3);
    lua_pop(L, 1);
  } else {
    if (o) lua_pop(L, 1);
    lua_rawgeti(L, rows, 1);
    if (!lua_istable(L, -1))
      luaL_argerror(L, 2, "row 1 must be a table");
    if (lua_rawlen(L, -1) > 0)
      luaL_argerror(L, 2, "rows given as arrays need { columns = {...} }");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TSTRING)
        luaL_argerror(L, 2, "row 1 has a key that is not a column name");
      n++;
    }
    if (n == 0) luaL_argerror(L, 2, "row 1 has no columns");
    cols = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *cols, 0);
    i = 0;
    lua_pushnil(L);
    while (lua_next(L, -3)) {
      lua_pop(L, 1);
      cols[i++] = lua_tostring(L, -1);   /* keys of row 1, kept alive */
    }
    qsort(cols, (size_t)n, sizeof *cols, cmp_names);
    lua_remove(L, -2);
  }
  cols[n] = NULL;
  lua_createtable(L, 0, n);
  for (i = 0; i < n; i++) {
    lua_pushinteger(L, i);
    lua_setfield(L, -2, cols[i]);
  }
  *ncols = n;
  return cols;
}

/* Fill vals[0..ncols) from row r (1-based) at stack index ri. */
static void bulk_row(lua_State *L, int ri, lua_Integer r, const char **cols,
                     int ncols, int colidx, struct lm_value *vals) {
  int i;
  lua_Unsigned len;
  memset(vals, 0, (size_t)ncols * sizeof *vals);
  for (i = 0; i < ncols; i++) vals[i].type = LM_VNULL;
  if (!lua_istable(L, ri))
    luaL_error(L, "bulk_insert: row %I must be a table, got %s", r,
               luaL_typename(L, ri));
  len = lua_rawlen(L, ri);
  if (len > 0) {
    if (len > (lua_Unsigned)ncols)
      luaL_error(L, "bulk_insert: row %I has %d values for %d columns", r,
                 (int)len, ncols);
    for (i = 0; i < (int)len; i++) {
      lua_rawgeti(L, ri, i + 1);
      if (lm_value_from_lua(L, -1, &vals[i]))
        luaL_error(L, "bulk_insert: row %I, column \"%s\": %s is not a SQL "
                   "value", r, cols[i], luaL_typename(L, -1));
      lua_pop(L, 1);   /* strings stay alive in the row */
    }
    return;
  }
  lua_pushnil(L);
  while (lua_next(L, ri)) {
    const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2)
                                                     : NULL;
    if (key == NULL || lua_getfield(L, colidx, key) != LUA_TNUMBER) {
      const char *best = key ? lm_suggest(key, cols) : NULL;
      if (best)
        luaL_error(L, "bulk_insert: row %I has unknown column \"%s\" (did "
                   "you mean \"%s\"?)", r, key, best);
      luaL_error(L, "bulk_insert: row %I has %s%s%s, which is not one of the "
                 "columns", r, key ? "column \"" : "a non-string key",
                 key ? key : "", key ? "\"" : "");
    }
    i = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (lm_value_from_lua(L, -1, &vals[i]))
      luaL_error(L, "bulk_insert: row %I, column \"%s\": %s is not a SQL "
                 "value", r, cols[i], luaL_typename(L, -1));
    lua_pop(L, 1);
  }
}

static const char *const bulk_keys[] = { "columns", NULL };

/* Most rows in one INSERT, whatever the dialect's bulk_params. */
#define BULK_MAX_ROWS 1000

/* bulk_insert(table, rows [, { columns = {...} }]) -> rows inserted */
static int op_bulk_insert(lua_State *L) {
  struct lm_opctx *ctx = lm_op_checkctx(L);
  const struct lm_dialect *d = ctx->conn->dialect;
  const char *table = lm_op_checkname(L, 1, "table name");
  const char **cols;
  struct lm_value *vals;
  struct lm_sqlbuf *full, *part;
  struct lm_err err;
  lua_Integer nrows, r, done = 0;
  int o, ncols, colidx, per, k = 0;
  lua_settop(L, 3);
  luaL_checktype(L, 2, LUA_TTABLE);
  o = lm_op_opt_table(L, 3, "bulk_insert", bulk_keys);
  nrows = (lua_Integer)lua_rawlen(L, 2);
  if (nrows == 0) {
    lua_pushinteger(L, 0);
    return 1;
  }
  cols = bulk_columns(L, 2, o, &ncols);
  colidx = lua_gettop(L);
  if (ncols > d->max_params)
    return luaL_error(L, "bulk_insert \"%s\": %d columns is more than the %d "
                      "parameters a statement may have", table, ncols,
                      d->max_params);
  per = d->bulk_params / ncols;
  if (per < 1) per = 1;
  if (per > BULK_MAX_ROWS) per = BULK_MAX_ROWS;
  if ((lua_Integer)per > nrows) per = (int)nrows;
  vals = lua_newuserdatauv(L, (size_t)per * (size_t)ncols * sizeof *vals, 0);
  full = lm_op_newsb(L);
  part = lm_op_newsb(L);
  lm_dialect_render_insert(d, full, table, cols, ncols, per);
  for (r = 1; r <= nrows; r++) {
    lua_rawgeti(L, 2, r);
    bulk_row(L, lua_gettop(L), r, cols, ncols, colidx,
             vals + (size_t)k * (size_t)ncols);
    lua_pop(L, 1);   /* the row stays alive in rows */
    if (++k == per || r == nrows) {
      struct lm_sqlbuf *sb = full;
      long long changes = 0;
      if (k < per) {
        lm_dialect_render_insert(d, part, table, cols, ncols, k);
        sb = part;
      }
      lm_err_clear(&err);
      if (!lm_sb_ok(sb)) {
        lm_sb_free(full);
        lm_sb_free(part);
        return luaL_error(L, "bulk_insert \"%s\": out of memory", table);
      }
      if (ctx->conn->be->exec(ctx->conn, lm_sb_str(sb), k * ncols, vals,
                              &changes, &err)) {
        lm_sb_free(full);
        lm_sb_free(part);
        memcpy(ctx->sqlstate, err.sqlstate, sizeof ctx->sqlstate);
        return luaL_error(L, "bulk_insert \"%s\": rows %I-%I: %s", table,
                          r - k + 1, r, err.msg);
      }
      done += k;
      k = 0;
    }
  }
  lm_sb_free(full);
  lm_sb_free(part);
  lua_pushinteger(L, done);
  return 1;
}

const luaL_Reg lm_op_schema_funcs[] = {
  { "add_column", op_add_column },
  { "drop_column", op_drop_column },
  { "alter_column", op_alter_column },
  { "create_foreign_key", op_create_foreign_key },
  { "create_unique_constraint", op_create_unique_constraint },
  { "create_check_constraint", op_create_check_constraint },
  { "create_primary_key", op_create_primary_key },
  { "drop_constraint", op_drop_constraint },
  { "validate_constraint", op_validate_constraint },
  { "create_table_comment", op_create_table_comment },
  { "drop_table_comment", op_drop_table_comment },
  { "create_schema", op_create_schema },
  { "drop_schema", op_drop_schema },
  { "bulk_insert", op_bulk_insert },
  { "inline_literal", op_inline_literal },
  { NULL, NULL }
};
