/*
** reflect_pg.c: the model of a PostgreSQL database (see reflect.h) from
** pg_catalog: one query per kind of object for the whole database (so 500
** tables cost six queries, not 3,000): tables with their comments,
** columns (format_type, pg_get_expr defaults, identity, col_description),
** primary/unique/foreign key constraints with their columns in key order,
** check constraints (pg_get_expr of conbin, without CHECK (...)), indexes
** (pg_get_indexdef per key column, pg_get_expr of indpred) except those
** behind a constraint, and the user schemas. System schemas, partitions
** and lmigrate's own tables are left out. Spellings are the server's.
*/
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "reflect.h"

/* The tables reflected: c is pg_class, n its pg_namespace. */
#define USER_TABLES \
  "c.relkind IN ('r', 'p') AND NOT c.relispartition " \
  "AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
#define JOIN_TABLE(rel) \
  " JOIN pg_class c ON c.oid = " rel \
  " JOIN pg_namespace n ON n.oid = c.relnamespace "

/* The schema as the model names it: NULL for the default schema. */
static const char *model_schema(const char *nsp, const char *def) {
  return (nsp == NULL || strcmp(nsp, def) == 0) ? NULL : nsp;
}

/* Push the table entry for oid from the oid map at idx, or nil (a table
** that was left out). */
static int push_entry(lua_State *L, int map, const char *oid) {
  if (lua_getfield(L, map, oid) == LUA_TTABLE) return 1;
  lua_pop(L, 1);
  return 0;
}

static void read_schemas(lua_State *L, struct lm_conn *c, int model,
                         const struct lm_reflect_opts *o) {
  char buf[32];
  int n = 0;
  struct lm_rq *q = lm_rq_open(L, c, "schemas",
    "SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' "
    "AND nspname <> 'information_schema' AND nspname <> current_schema() "
    "ORDER BY nspname", 0, NULL);
  lua_newtable(L);
  while (lm_rq_step(L, q)) {
    const char *s = lm_rq_text(q, 0, buf);
    if (o->version_table_schema && strcmp(s, o->version_table_schema) == 0)
      continue;
    lua_pushstring(L, s);
    lua_rawseti(L, -2, ++n);
  }
  lua_setfield(L, model, "schemas");
  lua_pop(L, 1);
}

/* tables: model.tables and the oid map (both tables at the given
** indexes). */
static void read_tables(lua_State *L, struct lm_conn *c, const char *def,
                        int tables, int map,
                        const struct lm_reflect_opts *o) {
  char buf[32];
  struct lm_rq *q = lm_rq_open(L, c, "tables",
    "SELECT c.oid, n.nspname, c.relname, obj_description(c.oid, 'pg_class') "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE " USER_TABLES " ORDER BY n.nspname, c.relname", 0, NULL);
  while (lm_rq_step(L, q)) {
    const char *schema = model_schema(lm_rq_text(q, 1, buf), def);
    const char *name = lm_rq_text(q, 2, buf);
    if (lm_reflect_is_own(o, schema, name)) continue;
    lm_reflect_newtable(L, name, schema);
    lm_reflect_setstr(L, "comment", lm_rq_text(q, 3, buf));
    lua_pushvalue(L, -1);
    lua_setfield(L, map, lm_rq_text(q, 0, buf));
    if (schema) lua_pushfstring(L, "%s.%s", schema, name);
    else lua_pushstring(L, name);
    lua_insert(L, -2);
    lua_settable(L, tables);
  }
  lua_pop(L, 1);
}

static void read_columns(lua_State *L, struct lm_conn *c, int map) {
  char buf[32];
  struct lm_rq *q = lm_rq_open(L, c, "columns",
    "SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), "
    "a.attnotnull, CASE WHEN a.attgenerated = '' "
    "THEN pg_get_expr(d.adbin, d.adrelid) END, a.attidentity <> '', "
    "col_description(a.attrelid, a.attnum) "
    "FROM pg_attribute a" JOIN_TABLE("a.attrelid")
    "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "WHERE a.attnum > 0 AND NOT a.attisdropped AND " USER_TABLES
    " ORDER BY a.attrelid, a.attnum", 0, NULL);
  while (lm_rq_step(L, q)) {
    int identity;
    if (!push_entry(L, map, lm_rq_text(q, 0, buf))) continue;
    identity = (int)lm_rq_int(q, 5);
    lua_newtable(L);
    lm_reflect_setstr(L, "name", lm_rq_text(q, 1, buf));
    lm_reflect_setstr(L, "type", lm_rq_text(q, 2, buf));
    lm_reflect_setbool(L, "nullable", !lm_rq_int(q, 3));
    if (!identity) lm_reflect_setstr(L, "server_default", lm_rq_text(q, 4, buf));
    lm_reflect_setbool(L, "autoincrement", identity);
    lm_reflect_setstr(L, "comment", lm_rq_text(q, 6, buf));
    lm_reflect_append(L, -2, "columns");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* An ON DELETE/UPDATE action code (pg_constraint.confdeltype), NULL for
** NO ACTION. */
static const char *fk_action(const char *code) {
  switch (code ? code[0] : 'a') {
  case 'r': return "RESTRICT";
  case 'c': return "CASCADE";
  case 'n': return "SET NULL";
  case 'd': return "SET DEFAULT";
  default: return NULL;
  }
}

/* primary_key, uniques and foreign_keys, one row per key column. */
static void read_keys(lua_State *L, struct lm_conn *c, const char *def,
                      int map) {
  char buf[32];
  struct lm_rq *q = lm_rq_open(L, c, "constraints",
    "SELECT con.conrelid, con.conname, con.contype, a.attname, fa.attname, "
    "fc.relname, fn.nspname, con.confupdtype, con.confdeltype, "
    "k.ord = 1 "
    "FROM pg_constraint con" JOIN_TABLE("con.conrelid")
    "CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) "
    "JOIN pg_attribute a ON a.attrelid = con.conrelid "
    "AND a.attnum = k.attnum "
    "LEFT JOIN pg_attribute fa ON fa.attrelid = con.confrelid "
    "AND fa.attnum = con.confkey[k.ord::int] "
    "LEFT JOIN pg_class fc ON fc.oid = con.confrelid "
    "LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace "
    "WHERE con.contype IN ('p', 'u', 'f') AND " USER_TABLES
    " ORDER BY con.conrelid, con.contype, con.conname, k.ord", 0, NULL);
  while (lm_rq_step(L, q)) {
    const char *type = lm_rq_text(q, 2, buf);
    char kind = type ? type[0] : '?';
    if (!push_entry(L, map, lm_rq_text(q, 0, buf))) continue;
    if (lm_rq_int(q, 9)) {                   /* the first key column */
      lua_newtable(L);
      lm_reflect_setstr(L, "name", lm_rq_text(q, 1, buf));
      lua_newtable(L);
      lua_setfield(L, -2, "columns");
      if (kind == 'f') {
        lm_reflect_setstr(L, "ref_table", lm_rq_text(q, 5, buf));
        lm_reflect_setstr(L, "ref_schema",
                          model_schema(lm_rq_text(q, 6, buf), def));
        lm_reflect_setstr(L, "on_update", fk_action(lm_rq_text(q, 7, buf)));
        lm_reflect_setstr(L, "on_delete", fk_action(lm_rq_text(q, 8, buf)));
        lua_newtable(L);
        lua_setfield(L, -2, "ref_columns");
        lua_pushvalue(L, -1);
        lm_reflect_append(L, -3, "foreign_keys");
      } else if (kind == 'u') {
        lua_pushvalue(L, -1);
        lm_reflect_append(L, -3, "uniques");
      } else {
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, "primary_key");
      }
    } else {                                 /* the entry made above */
      const char *list = kind == 'f' ? "foreign_keys"
                       : kind == 'u' ? "uniques" : NULL;
      if (list) {
        lua_getfield(L, -1, list);
        lua_rawgeti(L, -1, (lua_Integer)lua_rawlen(L, -1));
        lua_remove(L, -2);
      } else {
        lua_getfield(L, -1, "primary_key");
      }
    }
    lua_pushstring(L, lm_rq_text(q, 3, buf));
    lm_reflect_append(L, -2, "columns");
    if (kind == 'f') {
      lua_pushstring(L, lm_rq_text(q, 4, buf));
      lm_reflect_append(L, -2, "ref_columns");
    }
    lua_pop(L, 2);                           /* constraint, table */
  }
  lua_pop(L, 1);
}

static void read_checks(lua_State *L, struct lm_conn *c, int map) {
  char buf[32];
  struct lm_rq *q = lm_rq_open(L, c, "check constraints",
    "SELECT con.conrelid, con.conname, "
    "pg_get_expr(con.conbin, con.conrelid, true) "
    "FROM pg_constraint con" JOIN_TABLE("con.conrelid")
    "WHERE con.contype = 'c' AND " USER_TABLES
    " ORDER BY con.conrelid, con.conname", 0, NULL);
  while (lm_rq_step(L, q)) {
    if (!push_entry(L, map, lm_rq_text(q, 0, buf))) continue;
    lua_newtable(L);
    lm_reflect_setstr(L, "name", lm_rq_text(q, 1, buf));
    lm_reflect_setstr(L, "sql", lm_rq_text(q, 2, buf));
    lm_reflect_append(L, -2, "checks");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* indexes not behind a constraint, one row per key column. */
static void read_indexes(lua_State *L, struct lm_conn *c, int map) {
  char buf[32];
  struct lm_rq *q = lm_rq_open(L, c, "indexes",
    "SELECT i.indrelid, ic.relname, i.indisunique, "
    "pg_get_expr(i.indpred, i.indrelid, true), k.n = 1, "
    "CASE WHEN i.indkey[k.n - 1] <> 0 THEN a.attname END, "
    "pg_get_indexdef(i.indexrelid, k.n, true) "
    "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
    JOIN_TABLE("i.indrelid")
    "CROSS JOIN LATERAL generate_series(1, i.indnkeyatts::int) AS k(n) "
    "LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid "
    "AND a.attnum = i.indkey[k.n - 1] "
    "WHERE " USER_TABLES " AND NOT EXISTS (SELECT 1 FROM pg_constraint x "
    "WHERE x.conrelid = i.indrelid AND x.conindid = i.indexrelid "
    "AND x.contype IN ('p', 'u', 'x')) "
    "ORDER BY i.indrelid, ic.relname, k.n", 0, NULL);
  while (lm_rq_step(L, q)) {
    const char *col;
    if (!push_entry(L, map, lm_rq_text(q, 0, buf))) continue;
    if (lm_rq_int(q, 4)) {
      lua_newtable(L);
      lm_reflect_setstr(L, "name", lm_rq_text(q, 1, buf));
      lm_reflect_setbool(L, "unique", (int)lm_rq_int(q, 2));
      lm_reflect_setstr(L, "where", lm_rq_text(q, 3, buf));
      lua_newtable(L);
      lua_setfield(L, -2, "columns");
      lua_pushvalue(L, -1);
      lm_reflect_append(L, -3, "indexes");
    } else {
      lua_getfield(L, -1, "indexes");
      lua_rawgeti(L, -1, (lua_Integer)lua_rawlen(L, -1));
      lua_remove(L, -2);
    }
    if ((col = lm_rq_text(q, 5, buf)) != NULL) {
      lua_pushstring(L, col);
    } else {
      lua_newtable(L);
      lm_reflect_setstr(L, "expr", lm_rq_text(q, 6, buf));
    }
    lm_reflect_append(L, -2, "columns");
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
}

void lm_reflect_pg(lua_State *L, struct lm_conn *c,
                   const struct lm_reflect_opts *o) {
  char buf[32];
  int model, tables, map;
  const char *def;
  struct lm_reflect_opts own;
  struct lm_rq *q;
  lua_newtable(L);
  model = lua_gettop(L);
  lm_reflect_setstr(L, "dialect", "postgresql");
  q = lm_rq_open(L, c, "current schema", "SELECT current_schema()", 0, NULL);
  if (!lm_rq_step(L, q) || lm_rq_text(q, 0, buf) == NULL)
    luaL_error(L, "cannot reflect the database: no current schema (check "
               "the search_path)");
  lua_pushstring(L, lm_rq_text(q, 0, buf));
  lm_rq_step(L, q);
  lua_remove(L, -2);
  lua_pushvalue(L, -1);
  lua_setfield(L, model, "default_schema");
  def = lua_tostring(L, -1);                 /* kept on the stack */
  own = *o;
  own.version_table_schema = model_schema(o->version_table_schema, def);
  o = &own;
  read_schemas(L, c, model, o);
  lua_newtable(L);
  tables = lua_gettop(L);
  lua_newtable(L);
  map = lua_gettop(L);
  read_tables(L, c, def, tables, map, o);
  read_columns(L, c, map);
  read_keys(L, c, def, map);
  read_checks(L, c, map);
  read_indexes(L, c, map);
  lua_pop(L, 1);                             /* map */
  lua_setfield(L, model, "tables");
  lua_pop(L, 1);                             /* default schema */
}
