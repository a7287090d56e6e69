/*
** op_data.h: op.backfill and op.each_batch, the resumable batched data
** operations (op_data.c; the files it uses are listed in op_walk.h).
** They are registered in op.c's function table through LM_OP_DATA_FUNCS,
** so they share its upvalue 1, the op box (op_int.h).
*/
#ifndef LM_OP_DATA_H
#define LM_OP_DATA_H

#include <lua.h>

/* op.backfill{ table=, key=, set= | fn= [, columns=], where=, batch_size=,
** sleep_ms=, target_ms=, lock_timeout_ms=, name= } -> rows updated. */
int lm_op_backfill(lua_State *L);
/* op.each_batch{ table=, key=, fn = function(rows, op) end, columns=,
** where=, batch_size=, sleep_ms=, target_ms=, lock_timeout_ms=, name= }
** -> rows visited. */
int lm_op_each_batch(lua_State *L);

/* op.backfill / op.each_batch (fname) under --sql (op_data_offline.c):
** the set form on PostgreSQL as a batched procedure, anything else as a
** stop point naming the lmigrate command to run. */
int lm_op_data_offline(lua_State *L, const char *fname);

/* The luaL_Reg entries for op.c's function table. */
#define LM_OP_DATA_FUNCS \
  { "backfill", lm_op_backfill }, { "each_batch", lm_op_each_batch },

#endif
