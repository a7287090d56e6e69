/*
** dialect_sqlite.c: how SQLite spells lmigrate's operations: portable types
** (SQLAlchemy's spellings), column definitions, CREATE/DROP/ALTER, indexes
** and the version/history tables. Pure rendering; see dialect.h.
**
** Rules worth knowing:
** - `default = v` renders DEFAULT <literal>; `server_default = "sql"`
**   always renders DEFAULT (<sql>), parenthesised, because SQLite only
**   accepts expressions in parentheses and a parenthesised keyword or
**   literal is still valid.
** - A single primary-key column is declared inline (so `integer` primary
**   keys alias the rowid); several make a table-level PRIMARY KEY (a, b).
** - ALTER TABLE ADD COLUMN cannot add PRIMARY KEY or UNIQUE columns, nor
**   NOT NULL columns without a default; ALTER TABLE cannot change a column
**   or a constraint: needs_rebuild sends those to the table rebuild
**   (sqlite_rebuild.h), and render_add_column alone refuses them.
** - No comments, no schemas: those render as errors that say so.
*/
#include <string.h>
#include <strings.h>

#include "dialect.h"
#include "suggest.h"

enum targs { NOARGS, LEN_OPT, PREC_OPT, PREC_SCALE_OPT };

struct typemap {
  const char *portable;
  const char *sqlite;
  enum targs args;
};

static const struct typemap types[] = {
  { "integer", "INTEGER", NOARGS },
  { "bigint", "BIGINT", NOARGS },
  { "smallint", "SMALLINT", NOARGS },
  { "string", "VARCHAR", LEN_OPT },
  { "text", "TEXT", NOARGS },
  { "boolean", "BOOLEAN", NOARGS },
  { "float", "FLOAT", NOARGS },
  { "numeric", "NUMERIC", PREC_SCALE_OPT },
  { "date", "DATE", NOARGS },
  { "timestamp", "DATETIME", PREC_OPT },
  { "timestamptz", "DATETIME", PREC_OPT },
  { "uuid", "CHAR(32)", NOARGS },
  { "json", "JSON", NOARGS },
  { "bytes", "BLOB", NOARGS },
  { NULL, NULL, NOARGS }
};

static void sqlite_quote_literal(struct lm_sqlbuf *sb,
                                 const struct lm_value *v) {
  if (v->type == LM_VTEXT && v->s && memchr(v->s, '\0', v->n)) {
    /* a NUL cannot appear inside a SQLite string literal */
    struct lm_value b = *v;
    b.type = LM_VBLOB;
    lm_sb_add(sb, "CAST(");
    lm_dialect_quote_literal_std(sb, &b, "1", "0");
    lm_sb_add(sb, " AS TEXT)");
    return;
  }
  lm_dialect_quote_literal_std(sb, v, "1", "0");
}

/* The typemap entry for col's type, or NULL when it is verbatim SQL. */
static const struct typemap *find_type(const char *type,
                                       struct lm_type_spec *ts) {
  int i;
  if (!lm_dialect_parse_type(type, ts)) return NULL;
  for (i = 0; types[i].portable; i++)
    if (strcmp(ts->base, types[i].portable) == 0) return &types[i];
  return NULL;
}

static int is_integer_type(const char *type) {
  struct lm_type_spec ts;
  const struct typemap *tm = find_type(type, &ts);
  if (tm == NULL) return strcasecmp(type, "INTEGER") == 0;
  return strcmp(tm->portable, "integer") == 0 ||
         strcmp(tm->portable, "bigint") == 0 ||
         strcmp(tm->portable, "smallint") == 0;
}

/* SQL type names SQLite users write besides the portable ones (SQLite's
** own affinity examples, https://sqlite.org/datatype3.html, and ANY for
** STRICT tables). A one-word type that is neither is most likely a typo. */
static const char *const sqlite_names[] = {
  "int", "tinyint", "mediumint", "int2", "int8", "character", "char",
  "varchar", "nchar", "nvarchar", "clob", "blob", "real", "double",
  "decimal", "bool", "datetime", "time", "jsonb", "any", NULL
};

/* 0 when a type that is not portable may be written as is: it is not a
** bare name (`VARCHAR(3) COLLATE NOCASE`, `int[]`, the quoted `"citext"`),
** or SQLite knows the name; else an error with a suggestion. */
static int check_unknown(const struct lm_column *col, struct lm_err *err) {
  const char *cands[64];
  struct lm_type_spec ts;
  const char *s;
  int i, n = 0;
  if (!lm_dialect_parse_type(col->type, &ts)) return 0;
  for (i = 0; sqlite_names[i]; i++)
    if (strcmp(ts.base, sqlite_names[i]) == 0) return 0;
  for (i = 0; types[i].portable && n < 62; i++) cands[n++] = types[i].portable;
  for (i = 0; sqlite_names[i] && n < 62; i++) cands[n++] = sqlite_names[i];
  cands[n] = NULL;
  s = lm_suggest(ts.base, cands);
  return lm_err_set(err, "column \"%s\": unknown type \"%s\"%s%s%s; write a "
                    "portable type (docs/revisions.md), or quote a "
                    "backend-specific one to pass it verbatim: '\"%s\"'",
                    col->name, col->type, s ? " (did you mean \"" : "",
                    s ? s : "", s ? "\"?)" : "", col->type);
}

static int sqlite_map_type(struct lm_sqlbuf *sb, const struct lm_column *col,
                           struct lm_err *err) {
  struct lm_type_spec ts;
  const struct typemap *tm = find_type(col->type, &ts);
  int maxargs;
  if (tm == NULL) {
    if (check_unknown(col, err)) return 1;
    lm_sb_add(sb, col->type);
    return 0;
  }
  maxargs = tm->args == NOARGS ? 0 : tm->args == PREC_SCALE_OPT ? 2 : 1;
  if (ts.nargs > maxargs) {
    if (maxargs == 0)
      return lm_err_set(err, "column \"%s\": type \"%s\" takes no arguments "
                        "(write \"%s\")", col->name, col->type, tm->portable);
    return lm_err_set(err, "column \"%s\": type \"%s\" takes at most %d "
                      "argument%s", col->name, col->type, maxargs,
                      maxargs == 1 ? "" : "s");
  }
  lm_sb_add(sb, tm->sqlite);
  if (tm->args == LEN_OPT && ts.nargs == 1)
    lm_sb_printf(sb, "(%ld)", ts.args[0]);
  else if (tm->args == PREC_SCALE_OPT && ts.nargs == 1)
    lm_sb_printf(sb, "(%ld)", ts.args[0]);
  else if (tm->args == PREC_SCALE_OPT && ts.nargs == 2)
    lm_sb_printf(sb, "(%ld,%ld)", ts.args[0], ts.args[1]);
  return 0;
}

/* Append one column definition. inline_pk: declare PRIMARY KEY on the
** column itself (the table has exactly one primary-key column). */
static int render_column(struct lm_sqlbuf *sb, const struct lm_column *col,
                         int inline_pk, struct lm_err *err) {
  lm_dialect_quote_ident_std(sb, col->name);
  lm_sb_addc(sb, ' ');
  if (col->autoincrement) {
    if (!col->primary_key || !inline_pk)
      return lm_err_set(err, "column \"%s\": autoincrement needs a single "
                        "integer primary key column", col->name);
    if (!is_integer_type(col->type))
      return lm_err_set(err, "column \"%s\": autoincrement needs an integer "
                        "type, not \"%s\"", col->name, col->type);
    lm_sb_add(sb, "INTEGER");
  } else if (sqlite_map_type(sb, col, err)) {
    return 1;
  }
  if (!col->nullable || col->primary_key) lm_sb_add(sb, " NOT NULL");
  if (col->primary_key && inline_pk) {
    lm_sb_add(sb, " PRIMARY KEY");
    if (col->autoincrement) lm_sb_add(sb, " AUTOINCREMENT");
  }
  if (col->unique) lm_sb_add(sb, " UNIQUE");
  if (col->has_default && col->server_default)
    return lm_err_set(err, "column \"%s\": give default or server_default, "
                      "not both", col->name);
  if (col->has_default) {
    lm_sb_add(sb, " DEFAULT ");
    sqlite_quote_literal(sb, &col->default_value);
  } else if (col->server_default) {
    lm_sb_printf(sb, " DEFAULT (%s)", col->server_default);
  }
  return lm_dialect_render_references(&lm_dialect_sqlite, sb, col, err);
}

static int sqlite_create_table(struct lm_sqlbuf *sb,
                               const struct lm_create_table *t,
                               struct lm_err *err) {
  return lm_dialect_create_table(sb, t, render_column, err);
}

static int sqlite_rename_table(struct lm_sqlbuf *sb, const char *from,
                               const char *to, struct lm_err *err) {
  if (strchr(to, '.'))
    return lm_err_set(err, "SQLite cannot move a table to another schema; "
                      "give the new name without a schema (\"%s\")",
                      strrchr(to, '.') + 1);
  lm_sb_add(sb, "ALTER TABLE ");
  lm_dialect_quote_ident_std(sb, from);
  lm_sb_add(sb, " RENAME TO ");
  lm_dialect_quote_ident_std(sb, to);
  return 0;
}

static int sqlite_add_column(struct lm_sqlbuf *sb, const char *table,
                             const struct lm_column *col, struct lm_err *err) {
  if (col->primary_key)
    return lm_err_set(err, "SQLite cannot add a PRIMARY KEY column to an "
                      "existing table; create a new table with it and copy "
                      "the rows over");
  if (col->unique)
    return lm_err_set(err, "SQLite cannot add a UNIQUE column; add it, then "
                      "create_index(name, \"%s\", {\"%s\"}, {unique = true})",
                      table, col->name);
  if (!col->nullable && !col->has_default && !col->server_default)
    return lm_err_set(err, "SQLite cannot add a NOT NULL column without a "
                      "default; give it a default, or add the column nullable, "
                      "backfill, then rebuild the table with NOT NULL");
  lm_sb_add(sb, "ALTER TABLE ");
  lm_dialect_quote_ident_std(sb, table);
  lm_sb_add(sb, " ADD COLUMN ");
  return render_column(sb, col, 0, err);
}

/* Append the index name; SQLite puts a table's schema on the index name
** ("s"."ix" ON "t"), so an unqualified index on "s.t" takes schema s. */
static void index_name(struct lm_sqlbuf *sb, const char *name,
                       const char *table) {
  const char *dot = table ? strrchr(table, '.') : NULL;
  if (dot && strchr(name, '.') == NULL) {
    struct lm_sqlbuf schema;
    lm_sb_init(&schema);
    lm_sb_addn(&schema, table, (size_t)(dot - table));
    if (!lm_sb_ok(&schema)) sb->oom = 1;
    lm_dialect_quote_ident_std(sb, lm_sb_str(&schema));
    lm_sb_free(&schema);
    lm_sb_addc(sb, '.');
    lm_dialect_quote_ident_std(sb, name);
    return;
  }
  lm_dialect_quote_ident_std(sb, name);
}

static int sqlite_create_index(struct lm_sqlbuf *sb, const struct lm_index *ix,
                               struct lm_err *err) {
  const char *dot = strrchr(ix->table, '.');
  if (ix->ncols < 1)
    return lm_err_set(err, "an index needs at least one column");
  lm_sb_add(sb, ix->unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
  if (ix->if_not_exists) lm_sb_add(sb, "IF NOT EXISTS ");
  index_name(sb, ix->name, ix->table);
  lm_sb_add(sb, " ON ");
  lm_dialect_quote_ident_std(sb, dot ? dot + 1 : ix->table);
  lm_sb_addc(sb, ' ');
  lm_dialect_render_index_cols(&lm_dialect_sqlite, sb, ix);
  if (ix->where) lm_sb_printf(sb, " WHERE %s", ix->where);
  return 0;
}

static int sqlite_drop_index(struct lm_sqlbuf *sb,
                             const struct lm_drop_index *ix,
                             struct lm_err *err) {
  (void)err;
  lm_sb_add(sb, ix->if_exists ? "DROP INDEX IF EXISTS " : "DROP INDEX ");
  index_name(sb, ix->name, ix->table);
  return 0;
}

/* SQLite's ALTER TABLE renames a column, adds a plain column and drops
** an unreferenced one; every other alteration is a table rebuild. */
static int sqlite_needs_rebuild(const struct lm_alter *a) {
  switch (a->kind) {
  case LM_ALTER_COLUMN:
    return a->type != NULL || a->nullable >= 0 || a->set_default != 0 ||
           a->new_name == NULL;
  case LM_ALTER_DROP_COLUMN:
    return 0;
  case LM_ALTER_ADD_COLUMN:
    return a->add->primary_key || a->add->unique ||
           (!a->add->nullable && !a->add->has_default &&
            a->add->server_default == NULL);
  default:
    return 1;
  }
}

/* The errors SQLite's plain ALTER TABLE gives where a rebuild succeeds:
** dropping a key column or one an index, view, trigger or table
** constraint uses; adding a column with a non-constant default or a
** REFERENCES column with a non-NULL default (foreign_keys on). */
static int sqlite_rebuild_after_error(const struct lm_alter *a,
                                      const char *msg) {
  if (a->kind == LM_ALTER_DROP_COLUMN)
    return strstr(msg, "cannot drop ") != NULL ||
           strstr(msg, "after drop column") != NULL;
  if (a->kind == LM_ALTER_ADD_COLUMN)
    return strstr(msg, "Cannot add a ") != NULL;
  return 0;
}

static int sqlite_render_alter(struct lm_sqlbuf *sb, const char *table,
                               const struct lm_alter *a, struct lm_err *err) {
  switch (a->kind) {
  case LM_ALTER_DROP_COLUMN:
    return lm_dialect_drop_column_std(sb, table, a->column, err);
  case LM_ALTER_ADD_COLUMN:
    return sqlite_add_column(sb, table, a->add, err);
  case LM_ALTER_COLUMN:
    if (!sqlite_needs_rebuild(a)) {
      lm_sb_add(sb, "ALTER TABLE ");
      lm_dialect_quote_ident_std(sb, table);
      lm_sb_add(sb, " RENAME COLUMN ");
      lm_dialect_quote_ident_std(sb, a->column);
      lm_sb_add(sb, " TO ");
      lm_dialect_quote_ident_std(sb, a->new_name);
      return 0;
    }
    break;
  default:
    break;
  }
  return lm_err_set(err, "SQLite's ALTER TABLE cannot do this; it needs a "
                    "table rebuild");
}

static int sqlite_comment(struct lm_sqlbuf *sb, const char *table,
                          const char *column, const char *text,
                          struct lm_err *err) {
  (void)sb, (void)table, (void)column, (void)text;
  return lm_err_set(err, "SQLite has no table or column comments (COMMENT ON "
                    "is PostgreSQL only); guard the call with "
                    "`if op.dialect == \"postgresql\"`");
}

static int sqlite_create_schema(struct lm_sqlbuf *sb, const char *name,
                                int if_not_exists, struct lm_err *err) {
  (void)sb, (void)name, (void)if_not_exists;
  return lm_err_set(err, "SQLite has no schemas (CREATE SCHEMA is PostgreSQL "
                    "only; SQLite's nearest thing is an ATTACHed database "
                    "file); guard the call with "
                    "`if op.dialect == \"postgresql\"`");
}

static int sqlite_drop_schema(struct lm_sqlbuf *sb, const char *name,
                              int if_exists, int cascade, struct lm_err *err) {
  (void)if_exists, (void)cascade;
  return sqlite_create_schema(sb, name, 0, err);
}

static int sqlite_history_table(struct lm_sqlbuf *sb, const char *table,
                                struct lm_err *err) {
  (void)err;
  lm_dialect_history_table(sb, table,
                           "INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT");
  return 0;
}

const struct lm_dialect lm_dialect_sqlite = {
  .name = "sqlite",
  .quote_ident = lm_dialect_quote_ident_std,
  .quote_literal = sqlite_quote_literal,
  .map_type = sqlite_map_type,
  .render_create_table = sqlite_create_table,
  .render_drop_table = lm_dialect_drop_table_std,
  .render_rename_table = sqlite_rename_table,
  .render_add_column = sqlite_add_column,
  .render_drop_column = lm_dialect_drop_column_std,
  .render_create_index = sqlite_create_index,
  .render_drop_index = sqlite_drop_index,
  .render_alter = sqlite_render_alter,
  .needs_rebuild = sqlite_needs_rebuild,
  .rebuild_after_error = sqlite_rebuild_after_error,
  .render_comment = sqlite_comment,
  .render_create_schema = sqlite_create_schema,
  .render_drop_schema = sqlite_drop_schema,
  .max_params = 32766,
  .bulk_params = 64,
  .render_version_table = lm_dialect_version_table_std,
  .render_history_table = sqlite_history_table,
};
