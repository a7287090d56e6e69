/*
** reflect_sqlite.c: the model of a SQLite database (see reflect.h) from
** sqlite_master and the table-valued pragmas (table_xinfo, index_list,
** index_xinfo, foreign_key_list). What the pragmas do not say (constraint
** names, CHECK text, AUTOINCREMENT, an index's expressions and WHERE) is
** read from the stored CREATE statements with sqlite_ddl_parse.c, as
** written. Internal tables (sqlite_*), lmigrate's own tables and the
** automatic indexes behind PRIMARY KEY / UNIQUE are left out.
*/
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>
#include <lua.h>

#include "reflect.h"
#include "sqlite_ddl_parse.h"

#define BOX_MT "lmigrate.reflect.box"

/* A malloc'd C object owned by a Lua userdata, freed by __gc. */
struct box {
  void *p;
  void (*fr)(void *);
};

static int box_gc(lua_State *L) {
  struct box *b = luaL_checkudata(L, 1, BOX_MT);
  if (b->p) b->fr(b->p);
  b->p = NULL;
  return 0;
}

/* Push a box that owns p (freed with fr); returns it. */
static struct box *push_box(lua_State *L, void *p, void (*fr)(void *)) {
  struct box *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->p = p;
  b->fr = fr;
  if (luaL_newmetatable(L, BOX_MT)) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return b;
}

static void table_free(void *p) {
  lm_ddl_table_free(p);
  free(p);
}

/* Tokens of sql in a box pushed on the stack; raises when sql cannot be
** tokenized. */
static struct lm_tok *tokens(lua_State *L, const char *sql, int *n) {
  struct lm_tok *tk;
  struct lm_err err;
  lm_err_clear(&err);
  if (lm_sql_tokenize(sql, &tk, n, &err))
    luaL_error(L, "cannot reflect the database: %s in \"%s\"", err.msg, sql);
  push_box(L, tk, free);
  return tk;
}

static int tk_kw(const char *sql, const struct lm_tok *t, const char *k) {
  size_t n = strlen(k);
  return t->type == LM_TK_WORD && t->len == n &&
         strncasecmp(sql + t->off, k, n) == 0;
}

static int tk_punct(const char *sql, const struct lm_tok *t, char c) {
  return t->type == LM_TK_PUNCT && sql[t->off] == c;
}

/* Push the text of tokens [a, b) of sql, one redundant pair of outer
** parentheses removed. */
static void push_span(lua_State *L, const char *sql, const struct lm_tok *tk,
                      int a, int b) {
  if (b - a >= 2 && tk_punct(sql, &tk[a], '(') &&
      tk_punct(sql, &tk[b - 1], ')')) {
    int i, depth = 0, whole = 1;
    for (i = a; i < b - 1 && whole; i++) {
      if (tk_punct(sql, &tk[i], '(')) depth++;
      else if (tk_punct(sql, &tk[i], ')') && --depth == 0) whole = 0;
    }
    if (whole) {
      a++;
      b--;
    }
  }
  if (b <= a) {
    lua_pushliteral(L, "");
    return;
  }
  lua_pushlstring(L, sql + tk[a].off,
                  tk[b - 1].off + tk[b - 1].len - tk[a].off);
}

/* Index just past the group opened by the '(' at tk[i]. */
static int group_end(const char *sql, const struct lm_tok *tk, int i, int n) {
  int depth = 0;
  for (; i < n; i++) {
    if (tk_punct(sql, &tk[i], '(')) depth++;
    else if (tk_punct(sql, &tk[i], ')') && --depth == 0) return i + 1;
  }
  return n;
}

/* Push the expression of a CHECK clause's text ("CONSTRAINT c CHECK
** (x > 0)" -> "x > 0"); nil when it has none. */
static void push_check_expr(lua_State *L, const char *text) {
  int n, i, e;
  struct lm_tok *tk = tokens(L, text, &n);
  for (i = 0; i + 1 < n; i++)
    if (tk_kw(text, &tk[i], "CHECK") && tk_punct(text, &tk[i + 1], '(')) break;
  if (i + 1 >= n) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return;
  }
  e = group_end(text, tk, i + 1, n);
  push_span(L, text, tk, i + 2, e - 1);
  lua_remove(L, -2);
}

/* The parsed column named name (case-insensitive), or NULL. */
static const struct lm_ddl_col *find_col(const struct lm_ddl_table *t,
                                         const char *name) {
  int i;
  for (i = 0; i < t->ncols; i++)
    if (strcasecmp(t->cols[i].name, name) == 0) return &t->cols[i];
  return NULL;
}

/* The clause of kind on column name, or NULL. */
static const struct lm_ddl_clause *col_clause(const struct lm_ddl_table *t,
                                              const char *name,
                                              enum lm_clause_kind kind) {
  const struct lm_ddl_col *c = find_col(t, name);
  int i;
  if (c == NULL) return NULL;
  for (i = 0; i < c->ncl; i++)
    if (c->cl[i].kind == kind) return &c->cl[i];
  return NULL;
}

/* 1 when the list at -1 (strings) equals the table constraint's columns. */
static int same_cols(lua_State *L, const struct lm_ddl_tcons *tc) {
  int i, n = (int)lua_rawlen(L, -1), eq = n == tc->ncols;
  for (i = 0; eq && i < n; i++) {
    lua_rawgeti(L, -1, i + 1);
    eq = strcasecmp(lua_tostring(L, -1), tc->cols[i]) == 0;
    lua_pop(L, 1);
  }
  return eq;
}

/* The name of the constraint of kind (table constraint tkind, or column
** clause ckind on a single column) whose columns are the list at -1. */
static const char *constraint_name(lua_State *L, const struct lm_ddl_table *t,
                                   enum lm_tcons_kind tkind,
                                   enum lm_clause_kind ckind) {
  int i;
  for (i = 0; i < t->ntc; i++)
    if (t->tc[i].kind == tkind && same_cols(L, &t->tc[i])) return t->tc[i].name;
  if (lua_rawlen(L, -1) == 1) {
    const struct lm_ddl_clause *cl;
    lua_rawgeti(L, -1, 1);
    cl = col_clause(t, lua_tostring(L, -1), ckind);
    lua_pop(L, 1);
    if (cl) return cl->name;
  }
  return NULL;
}

/* 1 when the clause text says AUTOINCREMENT. */
static int says_autoincrement(lua_State *L, const char *text) {
  int n, i, found = 0;
  struct lm_tok *tk = tokens(L, text, &n);
  for (i = 0; i < n && !found; i++)
    found = tk_kw(text, &tk[i], "AUTOINCREMENT");
  lua_pop(L, 1);
  return found;
}

/* columns and primary_key of the table entry at -1. */
static void read_columns(lua_State *L, struct lm_conn *c, const char *tname,
                         const struct lm_ddl_table *t) {
  int tidx = lua_gettop(L), npk = 0, pkpos;
  char buf[32];
  struct lm_rq *q = lm_rq_open(L, c, tname,
    "SELECT name, type, \"notnull\", dflt_value, pk, hidden "
    "FROM pragma_table_xinfo($1) ORDER BY cid", 1, &tname);
  lua_newtable(L);                           /* pk columns by position */
  pkpos = lua_gettop(L);
  while (lm_rq_step(L, q)) {
    const char *name = lm_rq_text(q, 0, buf);
    long long pk = lm_rq_int(q, 4);
    const struct lm_ddl_clause *pcl;
    if (lm_rq_int(q, 5) == 1) continue;      /* hidden (virtual tables) */
    lua_newtable(L);
    lm_reflect_setstr(L, "name", name);
    lm_reflect_setstr(L, "type", lm_rq_text(q, 1, buf));
    lm_reflect_setbool(L, "nullable", lm_rq_int(q, 2) == 0 && pk == 0);
    lm_reflect_setstr(L, "server_default", lm_rq_text(q, 3, buf));
    pcl = col_clause(t, name, LM_CL_PRIMARY);
    lm_reflect_setbool(L, "autoincrement",
                       pcl != NULL && says_autoincrement(L, pcl->text));
    lm_reflect_append(L, tidx, "columns");
    if (pk > 0) {
      lua_pushstring(L, name);
      lua_rawseti(L, -2, pk);
      npk++;
    }
  }
  lua_remove(L, pkpos - 1);                  /* the cursor box */
  pkpos--;
  if (npk > 0) {
    const char *pkname;
    int i;
    lua_newtable(L);                         /* the entry, its columns */
    lua_newtable(L);
    for (i = 1; i <= npk; i++) {
      lua_rawgeti(L, pkpos, i);
      lua_rawseti(L, -2, i);
    }
    pkname = constraint_name(L, t, LM_TC_PRIMARY, LM_CL_PRIMARY);
    lua_setfield(L, -2, "columns");
    lm_reflect_setstr(L, "name", pkname);
    lua_setfield(L, tidx, "primary_key");
  }
  lua_pop(L, 1);
}

/* Push the key columns of index iname (names, { expr = ... } for the
** expressions, read from its CREATE INDEX text isql), then its WHERE
** predicate (nil when none). */
static void read_index_cols(lua_State *L, struct lm_conn *c,
                            const char *iname, const char *isql) {
  char buf[32];
  int n = 0, i, on = -1, start, k, item = 0;
  struct lm_tok *tk = NULL;
  struct lm_rq *q;
  int list;
  if (isql) tk = tokens(L, isql, &n);
  else lua_pushnil(L);
  q = lm_rq_open(L, c, iname,
    "SELECT cid, name FROM pragma_index_xinfo($1) WHERE key = 1 "
    "ORDER BY seqno", 1, &iname);
  lua_newtable(L);
  list = lua_gettop(L);
  /* the column list: after "ON name" */
  for (i = 0; i + 1 < n; i++)
    if (tk_kw(isql, &tk[i], "ON")) {
      on = i;
      break;
    }
  start = on + 2;
  if (start < n && tk_punct(isql, &tk[start], '.')) start += 2;
  while (lm_rq_step(L, q)) {
    item++;
    if (lm_rq_int(q, 0) != -2) {
      lua_pushstring(L, lm_rq_text(q, 1, buf));
    } else {
      /* the item'th expression item of the list */
      int a = start + 1, depth = 0, cur = 1, b;
      lua_newtable(L);
      for (k = start + 1; k < n && cur < item; k++) {
        if (tk_punct(isql, &tk[k], '(')) depth++;
        else if (tk_punct(isql, &tk[k], ')')) depth--;
        else if (depth == 0 && tk_punct(isql, &tk[k], ',')) {
          cur++;
          a = k + 1;
        }
      }
      for (b = a, depth = 0; b < n; b++) {
        if (tk_punct(isql, &tk[b], '(')) depth++;
        else if (tk_punct(isql, &tk[b], ')') && depth-- == 0) break;
        else if (depth == 0 && tk_punct(isql, &tk[b], ',')) break;
      }
      while (b > a && (tk_kw(isql, &tk[b - 1], "ASC") ||
                       tk_kw(isql, &tk[b - 1], "DESC")))
        b--;
      if (b - 2 > a && tk_kw(isql, &tk[b - 2], "COLLATE")) b -= 2;
      if (tk == NULL || on < 0 || b <= a)
        luaL_error(L, "cannot reflect the expressions of index %s", iname);
      push_span(L, isql, tk, a, b);
      lua_setfield(L, -2, "expr");
    }
    lua_rawseti(L, list, item);
  }
  /* WHERE after the column list */
  lua_pushnil(L);
  if (on >= 0 && start < n) {
    int e = group_end(isql, tk, start, n);
    if (e < n && tk_kw(isql, &tk[e], "WHERE")) {
      int last = n;
      while (last > e + 1 && tk_punct(isql, &tk[last - 1], ';')) last--;
      lua_pop(L, 1);
      push_span(L, isql, tk, e + 1, last);
    }
  }
  /* stack: tokens-box|nil, cursor box, list, where */
  lua_replace(L, list - 2);
  lua_replace(L, list - 1);
  lua_insert(L, -2);                         /* list, where */
}

/* uniques and indexes of the table entry at -1; isql: stack index of the
** map of index names to their CREATE INDEX text. */
static void read_indexes(lua_State *L, struct lm_conn *c, const char *tname,
                         const struct lm_ddl_table *t, int isql) {
  int tidx = lua_gettop(L);
  char buf[32];
  struct lm_rq *q = lm_rq_open(L, c, tname,
    "SELECT name, \"unique\", origin FROM pragma_index_list($1) "
    "ORDER BY name", 1, &tname);
  while (lm_rq_step(L, q)) {
    const char *origin = lm_rq_text(q, 2, buf);
    const char *iname;
    int uniq;
    if (origin && strcmp(origin, "pk") == 0) continue;
    iname = lua_pushstring(L, lm_rq_text(q, 0, buf));
    uniq = (int)lm_rq_int(q, 1);
    if (lua_getfield(L, isql, iname) != LUA_TSTRING) {
      lua_pop(L, 1);
      lua_pushliteral(L, "");
    }
    if (origin && strcmp(origin, "u") == 0) {
      const char *cname;
      read_index_cols(L, c, iname, NULL);
      lua_pop(L, 1);                         /* where */
      lua_newtable(L);                       /* list, entry */
      lua_insert(L, -2);
      cname = constraint_name(L, t, LM_TC_UNIQUE, LM_CL_UNIQUE);
      lua_setfield(L, -2, "columns");
      lm_reflect_setstr(L, "name", cname);
      lm_reflect_append(L, tidx, "uniques");
    } else {
      const char *isql = lua_tostring(L, -1);
      read_index_cols(L, c, iname, *isql ? isql : NULL);
      lua_newtable(L);                       /* list, where, entry */
      lua_insert(L, -3);
      lua_setfield(L, -3, "where");
      lua_setfield(L, -2, "columns");
      lua_pushvalue(L, -3);
      lua_setfield(L, -2, "name");
      lm_reflect_setbool(L, "unique", uniq);
      lm_reflect_append(L, tidx, "indexes");
    }
    lua_pop(L, 2);                           /* name, sql */
  }
  lua_pop(L, 1);
}

/* Push the primary key columns of table ref (for a REFERENCES without a
** column list). */
static void push_pk_cols(lua_State *L, struct lm_conn *c, const char *ref) {
  char buf[32];
  int n = 0;
  struct lm_rq *q = lm_rq_open(L, c, ref,
    "SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk",
    1, &ref);
  lua_newtable(L);
  while (lm_rq_step(L, q)) {
    lua_pushstring(L, lm_rq_text(q, 0, buf));
    lua_rawseti(L, -2, ++n);
  }
  lua_remove(L, -2);
}

/* An ON DELETE/UPDATE action, nil for NO ACTION. */
static const char *fk_action(const char *a) {
  if (a == NULL || strcasecmp(a, "NO ACTION") == 0) return NULL;
  return a;
}

/* foreign_keys of the table entry at -1. */
static void read_fks(lua_State *L, struct lm_conn *c, const char *tname,
                     const struct lm_ddl_table *t) {
  int tidx = lua_gettop(L), entry = 0;
  long long cur = -1;
  char buf[32];
  struct lm_rq *q = lm_rq_open(L, c, tname,
    "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete "
    "FROM pragma_foreign_key_list($1) ORDER BY id, seq", 1, &tname);
  while (lm_rq_step(L, q)) {
    long long id = lm_rq_int(q, 0);
    const char *to;
    if (id != cur) {
      if (entry) lm_reflect_append(L, tidx, "foreign_keys");
      cur = id;
      entry = 1;
      lua_newtable(L);
      lm_reflect_setstr(L, "ref_table", lm_rq_text(q, 1, buf));
      lm_reflect_setstr(L, "on_update", fk_action(lm_rq_text(q, 4, buf)));
      lm_reflect_setstr(L, "on_delete", fk_action(lm_rq_text(q, 5, buf)));
      lua_newtable(L);
      lua_setfield(L, -2, "columns");
      lua_newtable(L);
      lua_setfield(L, -2, "ref_columns");
    }
    lua_pushstring(L, lm_rq_text(q, 2, buf));
    lm_reflect_append(L, -2, "columns");
    if ((to = lm_rq_text(q, 3, buf)) != NULL) {
      lua_pushstring(L, to);
      lm_reflect_append(L, -2, "ref_columns");
    }
  }
  if (entry) lm_reflect_append(L, tidx, "foreign_keys");
  lua_pop(L, 1);
  /* names, and referenced columns left implicit (the parent's key) */
  lua_getfield(L, tidx, "foreign_keys");
  {
    int i, nfk = (int)lua_rawlen(L, -1);
    for (i = 1; i <= nfk; i++) {
      const char *name;
      lua_rawgeti(L, -1, i);
      lua_getfield(L, -1, "ref_columns");
      if (lua_rawlen(L, -1) == 0) {
        lua_getfield(L, -2, "ref_table");
        push_pk_cols(L, c, lua_tostring(L, -1));
        lua_setfield(L, -4, "ref_columns");
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
      lua_getfield(L, -1, "columns");
      name = constraint_name(L, t, LM_TC_FOREIGN, LM_CL_REFERENCES);
      lua_pop(L, 1);
      lm_reflect_setstr(L, "name", name);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

/* checks of the table entry at -1, from the parsed CREATE TABLE. */
static void read_checks(lua_State *L, const struct lm_ddl_table *t) {
  int tidx = lua_gettop(L), i, j;
  for (i = 0; i < t->ncols; i++)
    for (j = 0; j < t->cols[i].ncl; j++) {
      const struct lm_ddl_clause *cl = &t->cols[i].cl[j];
      if (cl->kind != LM_CL_CHECK) continue;
      lua_newtable(L);
      lm_reflect_setstr(L, "name", cl->name);
      push_check_expr(L, cl->text);
      lua_setfield(L, -2, "sql");
      lm_reflect_append(L, tidx, "checks");
    }
  for (i = 0; i < t->ntc; i++) {
    if (t->tc[i].kind != LM_TC_CHECK) continue;
    lua_newtable(L);
    lm_reflect_setstr(L, "name", t->tc[i].name);
    push_check_expr(L, t->tc[i].text);
    lua_setfield(L, -2, "sql");
    lm_reflect_append(L, tidx, "checks");
  }
}

void lm_reflect_sqlite(lua_State *L, struct lm_conn *c,
                       const struct lm_reflect_opts *o) {
  char buf[32];
  int model, tables, isql;
  struct lm_rq *q;
  lua_newtable(L);
  model = lua_gettop(L);
  lm_reflect_setstr(L, "dialect", "sqlite");
  lua_newtable(L);
  lua_setfield(L, model, "schemas");
  lua_newtable(L);
  tables = lua_gettop(L);
  /* every CREATE INDEX text, by index name, in one query */
  lua_newtable(L);
  isql = lua_gettop(L);
  q = lm_rq_open(L, c, "indexes",
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
    "AND sql IS NOT NULL", 0, NULL);
  while (lm_rq_step(L, q)) {
    lua_pushstring(L, lm_rq_text(q, 1, buf));
    lua_setfield(L, isql, lm_rq_text(q, 0, buf));
  }
  lua_pop(L, 1);
  q = lm_rq_open(L, c, "tables",
    "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
    "ORDER BY name", 0, NULL);
  while (lm_rq_step(L, q)) {
    const char *name = lm_rq_text(q, 0, buf), *sql;
    struct lm_ddl_table *t;
    struct lm_err err;
    if (strncmp(name, "sqlite_", 7) == 0 || lm_reflect_is_own(o, NULL, name))
      continue;
    sql = lm_rq_text(q, 1, buf);
    if (sql == NULL || strncasecmp(sql, "CREATE VIRTUAL", 14) == 0) continue;
    name = lua_pushstring(L, name);
    if ((t = calloc(1, sizeof *t)) == NULL) luaL_error(L, "out of memory");
    push_box(L, t, table_free);
    lm_err_clear(&err);
    if (lm_ddl_parse_table(sql, t, &err))
      luaL_error(L, "cannot reflect table %s: %s", name, err.msg);
    lm_reflect_newtable(L, name, NULL);
    read_columns(L, c, name, t);
    read_indexes(L, c, name, t, isql);
    read_fks(L, c, name, t);
    read_checks(L, t);
    lm_reflect_sort(L, -1, "uniques");
    lm_reflect_sort(L, -1, "foreign_keys");
    lm_reflect_sort(L, -1, "checks");
    lua_setfield(L, tables, name);
    lua_pop(L, 2);                           /* name, box */
  }
  lua_pop(L, 2);                             /* cursor box, isql */
  lua_setfield(L, model, "tables");
}
