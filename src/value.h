/*
** value.h: Lua <-> SQL values. SQL NULL is op.null, a unique light
** userdata; Lua nil in a parameter list also binds NULL. Integers stay
** integers (lua_isinteger), booleans bind as booleans.
*/
#ifndef LM_VALUE_H
#define LM_VALUE_H

#include <lua.h>

#include "backend.h"

/* Push the op.null sentinel. */
void lm_value_pushnull(lua_State *L);
/* 1 when the value at idx is op.null. */
int lm_value_isnull(lua_State *L, int idx);

/* Read the parameter list at stack index tidx (a sequence, or nil/none for
** no parameters) into an array of lm_value living in a userdata pushed on
** the stack (so an error cannot leak it); *out points into it, *n is its
** length. Strings are borrowed from the table, which must stay reachable
** while the params are used. `argn`/`fname` name the argument in errors:
** "bad argument #2 to 'execute' (table not supported as SQL parameter 3)". */
void lm_value_checkparams(lua_State *L, int tidx, int argn,
                          struct lm_value **out, int *n);

/* Push v as a Lua value (NULL -> op.null, INT -> integer, FLOAT ->
** number, TEXT/BLOB -> string, BOOL -> boolean). */
void lm_value_push(lua_State *L, const struct lm_value *v);

/* Push the cursor's current row as a table keyed by column name. */
void lm_value_pushrow(lua_State *L, struct lm_cursor *cur);

/* Convert the Lua value at idx into *v (borrowing strings) for use as a
** DDL literal (column `default =`). Returns 0, or 1 for an unsupported
** type (tables, functions, userdata other than op.null). */
int lm_value_from_lua(lua_State *L, int idx, struct lm_value *v);

#endif
