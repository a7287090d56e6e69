/*
** reflect.h: reflection of a live database into the autogenerate model
** table (/work/issue11-contract.md, "The model"): tables, columns, keys,
** indexes, foreign keys, checks, comments and PostgreSQL schemas, in the
** database's own spellings. Everything goes through the backend vtable's
** query functions; reflect_sqlite.c and reflect_pg.c hold the catalog
** queries, reflect.c the shared parts (dispatch, the cursor box, the
** table builders, lmigrate's own tables left out).
**
** These functions build Lua tables, so they raise Lua errors
** (luaL_error): call them from a protected context (a C function called
** from Lua, or through lm_host_pcall). Every C resource they hold lives in
** a userdata with __gc, so an error leaks nothing.
*/
#ifndef LM_REFLECT_H
#define LM_REFLECT_H

#include <lua.h>

#include "backend.h"

/* lmigrate's own tables, never part of the model. Strings are borrowed. */
struct lm_reflect_opts {
  const char *version_table;        /* "lmigrate_version" */
  const char *history_table;        /* "lmigrate_version_history" */
  const char *version_table_schema; /* NULL = the default schema */
};

/* Push the model of the database behind c. Raises on a failed query, and
** on a connection that cannot be read (the --sql backend). */
void lm_reflect_push(lua_State *L, struct lm_conn *c,
                     const struct lm_reflect_opts *o);

/* ---- shared by reflect_sqlite.c and reflect_pg.c ---------------------- */

/* A running query whose cursor a Lua userdata owns (closed by __gc or by
** lm_rq_close). */
struct lm_rq {
  struct lm_conn *conn;       /* borrowed */
  struct lm_cursor *cur;      /* owned; be->cursor_close; NULL when done */
};

/* Run sql with nparams text parameters; pushes the box and returns it.
** Raises with the database's message and `what` on failure. */
struct lm_rq *lm_rq_open(lua_State *L, struct lm_conn *c, const char *what,
                         const char *sql, int nparams,
                         const char *const *params);
/* Next row: 1, or 0 when done (the cursor is closed then). Raises. */
int lm_rq_step(lua_State *L, struct lm_rq *q);
/* Column i of the current row as text (integers formatted into buf,
** which must hold 32 bytes), or NULL for SQL NULL. Borrowed until the
** next step. */
const char *lm_rq_text(struct lm_rq *q, int i, char *buf);
/* Column i as an integer (0 for NULL); booleans and 't'/'f' text too. */
long long lm_rq_int(struct lm_rq *q, int i);

/* t[key] = s (nothing when s is NULL) for the table at -1. */
void lm_reflect_setstr(lua_State *L, const char *key, const char *s);
/* t[key] = b for the table at -1. */
void lm_reflect_setbool(lua_State *L, const char *key, int b);
/* Append the value at -1 to the list t[key] of the table at idx (creating
** the list); pops the value. */
void lm_reflect_append(lua_State *L, int idx, const char *key);
/* Push a new table with the empty lists every table entry has (columns,
** uniques, indexes, foreign_keys, checks) and its name and schema. */
void lm_reflect_newtable(lua_State *L, const char *name, const char *schema);
/* Sort the list t[key] of the table at idx (constraints or indexes) by
** name, then columns, then referenced table, then SQL text, so that the
** order in which they were declared does not show in the model. */
void lm_reflect_sort(lua_State *L, int idx, const char *key);
/* 1 when schema.name is one of lmigrate's own tables (schema NULL: the
** default schema; o->version_table_schema NULL likewise). */
int lm_reflect_is_own(const struct lm_reflect_opts *o, const char *schema,
                      const char *name);

void lm_reflect_sqlite(lua_State *L, struct lm_conn *c,
                       const struct lm_reflect_opts *o);
void lm_reflect_pg(lua_State *L, struct lm_conn *c,
                   const struct lm_reflect_opts *o);

#endif
