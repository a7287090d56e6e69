/*
** op_int.h: what the op module's files (op.c, op_schema.c, op_batch.c)
** share and nobody else uses: the op box bound to every op function as
** upvalue 1, Lua argument checking, scratch buffers, raising, and the
** per-table batch of SQLite rebuild alterations.
*/
#ifndef LM_OP_INT_H
#define LM_OP_INT_H

#include <lua.h>
#include <lauxlib.h>

#include "ddl.h"
#include "op.h"
#include "sqlbuf.h"

struct lm_opbatch;

/* The "lmigrate.opctx" userdata every op function has as upvalue 1. */
struct lm_opbox {
  struct lm_opctx *ctx;        /* borrowed from the runner; NULL once released */
  struct lm_opbatch *batch;    /* owned; lm_op_batch_free (release, __gc) */
};

/* The live context of the op function being called, after running any
** queued rebuild (an error there is raised with the location of the
** first queued op). Raises when the revision phase has ended, and for a
** method call (op:f()). */
struct lm_opctx *lm_op_checkctx(lua_State *L);
/* The same without running the queued rebuild (for ops that may join it). */
struct lm_opctx *lm_op_ctx(lua_State *L);
/* The box of the op function being called. */
struct lm_opbox *lm_op_box(lua_State *L);

/* Push a new empty sqlbuf owned by a Lua userdata (freed by __gc). */
struct lm_sqlbuf *lm_op_newsb(lua_State *L);
/* Raise "what \"object\": msg" (or "what: msg" without object). */
int lm_op_raise(lua_State *L, const char *what, const char *object,
                const char *msg);
/* Finish a DDL op: when rendering failed (rc != 0) raise err, else run the
** SQL in sb. sb is freed on every path. */
void lm_op_run_ddl(lua_State *L, struct lm_opctx *ctx, const char *what,
                   const char *object, struct lm_sqlbuf *sb, int rc,
                   struct lm_err *err);

/* Argument checking (see op.c). Strings returned are borrowed from the
** Lua stack / the option table. */
const char *lm_op_checkname(lua_State *L, int arg, const char *what);
/* Any string at arg without NUL bytes (SQL text, a comment); raises
** "bad argument #arg to 'op' (what contains a NUL byte ...)". */
const char *lm_op_checktext(lua_State *L, int arg, const char *what);
void lm_op_check_nul(lua_State *L, int argn, const char *what, const char *s,
                     size_t len);
void lm_op_check_keys(lua_State *L, int idx, const char *fname,
                      const char *const *valid, int npos);
void lm_op_unknown_key(lua_State *L, const char *key, const char *fname,
                       const char *const *valid);
void lm_op_bad_type(lua_State *L, int argn, const char *key,
                    const char *want, int vidx);
int lm_op_opt_bool(lua_State *L, int idx, int argn, const char *key, int def);
const char *lm_op_opt_string(lua_State *L, int idx, int argn,
                             const char *key);
int lm_op_opt_table(lua_State *L, int arg, const char *fname,
                    const char *const *valid);
void lm_op_check_column(lua_State *L, int arg, const char *fname,
                        struct lm_column *col);
/* A column name or a non-empty list of them at arg, as an array living in
** a userdata pushed on the stack. */
const char *const *lm_op_check_cols(lua_State *L, int arg, int *n,
                                    const char *what);

/* An index's key columns at arg: a column name, or a non-empty list of
** names and { expr = "sql" } expressions (op_index.c). The arrays live in
** a userdata pushed on the stack; *is_expr is NULL when there is no
** expression. */
const char *const *lm_op_check_index_cols(lua_State *L, int arg, int *n,
                                          const unsigned char **is_expr);

/* The luaL_Reg table of the ops in op_schema.c (NULL-terminated). */
extern const luaL_Reg lm_op_schema_funcs[];

/* ---------- batching (op_batch.c) ---------- */

/* 1 when the box has queued alterations for a table other than table
** (NULL: any queued alteration). */
int lm_op_batch_other(struct lm_opbox *b, const char *table);
/* 1 when the box has queued alterations for table. */
int lm_op_batch_has(struct lm_opbox *b, const char *table);
/* Queue a (strings copied) for table, recording the caller's location
** (luaL_where(L, 1)) and what (the op's name, a static string) when it
** starts the batch. copy_from (may be NULL)
** is the table's CREATE TABLE text for offline mode. Raises on out of
** memory. The caller has flushed any batch for another table. */
void lm_op_batch_add(lua_State *L, struct lm_opbox *b, const char *what,
                     const char *table, const struct lm_alter *a,
                     const char *copy_from);
/* Run and clear the box's batch. 0 when there was nothing to do or it
** succeeded; else err holds "file:line: message". */
int lm_op_batch_run(struct lm_opbox *b, struct lm_err *err);
/* Drop the batch without running it. b->batch becomes NULL. */
void lm_op_batch_free(struct lm_opbox *b);

/* Give the op table on top of the stack its metatable: unknown names
** raise "unknown op 'x' (did you mean 'y'?)" at the caller's line
** (op_guard.c). */
void lm_op_guard(lua_State *L);

#endif
