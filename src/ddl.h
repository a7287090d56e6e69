/*
** ddl.h: backend-neutral descriptions of schema operations, filled by op.c
** from Lua arguments and rendered by a dialect. All strings are borrowed
** (from the Lua stack of the op call that fills them).
*/
#ifndef LM_DDL_H
#define LM_DDL_H

#include "backend.h"

struct lm_column {
  const char *name;
  const char *type;            /* portable ("string(20)") or verbatim */
  int nullable;                /* default 1; primary keys are NOT NULL */
  int primary_key;
  int autoincrement;
  int unique;
  int has_default;
  struct lm_value default_value;  /* `default =`: rendered as a quoted literal */
  const char *server_default;  /* `server_default =`: raw SQL expression, or NULL */
  const char *references;      /* "table.column" (or "schema.table.column"), or NULL */
  const char *on_delete;       /* CASCADE, SET NULL, ... or NULL */
  const char *on_update;
};

struct lm_create_table {
  const char *name;            /* may be "schema.table" */
  const struct lm_column *cols;
  int ncols;
  int if_not_exists;
};

struct lm_index {
  const char *name;
  const char *table;
  const char *const *cols;     /* column names, quoted when rendered */
  int ncols;
  int unique;
  const char *where;           /* raw SQL predicate (partial index), or NULL */
  int if_not_exists;
  int concurrently;
};

struct lm_drop_index {
  const char *name;
  const char *table;           /* needed by some dialects; may be NULL */
  int if_exists;
  int concurrently;
};

#endif
