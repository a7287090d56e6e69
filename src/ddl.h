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

/* One table alteration (issue 4). PostgreSQL renders each as ALTER TABLE;
** SQLite, where ALTER TABLE cannot do most of them, applies a batch of
** them to one table through a rebuild (sqlite_rebuild.h). */
enum lm_alter_kind {
  LM_ALTER_COLUMN,       /* type / nullable / server_default / new_name */
  LM_ALTER_ADD_COLUMN,   /* add (when plain ADD COLUMN cannot do it) */
  LM_ALTER_DROP_COLUMN,
  LM_ALTER_ADD_FOREIGN_KEY,
  LM_ALTER_ADD_UNIQUE,
  LM_ALTER_ADD_CHECK,
  LM_ALTER_ADD_PRIMARY_KEY,
  LM_ALTER_DROP_CONSTRAINT
};

struct lm_alter {
  enum lm_alter_kind kind;
  const char *column;          /* ALTER_COLUMN, DROP_COLUMN */
  const char *type;            /* ALTER_COLUMN: new type, or NULL */
  const char *using_expr;      /* ALTER_COLUMN: PostgreSQL USING, or NULL */
  int nullable;                /* ALTER_COLUMN: -1 unchanged, 0 NOT NULL, 1 NULL */
  int set_default;             /* ALTER_COLUMN: 0 unchanged, 1 set, -1 drop */
  const char *server_default;  /* ALTER_COLUMN with set_default = 1 */
  const char *new_name;        /* ALTER_COLUMN: rename to, or NULL */
  const struct lm_column *add; /* ADD_COLUMN */
  const char *name;            /* constraint name (ADD_*, DROP_CONSTRAINT) */
  const char *const *cols;     /* ADD_FOREIGN_KEY/UNIQUE/PRIMARY_KEY columns */
  int ncols;
  const char *ref_table;       /* ADD_FOREIGN_KEY */
  const char *const *ref_cols;
  int nref_cols;
  const char *on_delete;       /* ADD_FOREIGN_KEY, or NULL */
  const char *on_update;
  const char *check;           /* ADD_CHECK: SQL expression */
  int not_valid;               /* ADD_CHECK/ADD_FOREIGN_KEY: NOT VALID (skip
                               ** checking existing rows; dialects without
                               ** it ignore the flag) */
};

#endif
