/*
** dialect.h: how one database spells SQL. Rendering is pure (no
** connection), so --sql mode and unit specs use the same code. Each
** render_* appends exactly one statement, without a trailing ';', to sb.
*/
#ifndef LM_DIALECT_H
#define LM_DIALECT_H

#include "backend.h"
#include "ddl.h"
#include "sqlbuf.h"

struct lm_dialect {
  const char *name;                /* "sqlite", "postgresql" */
  /* 1 when CREATE/DROP INDEX CONCURRENTLY exists (it then cannot run
  ** inside a transaction); else `concurrently` is accepted and ignored. */
  unsigned has_concurrently : 1;
  /* 1 when CHECK and FOREIGN KEY constraints can be added NOT VALID and
  ** validated later (ALTER TABLE .. VALIDATE CONSTRAINT); else not_valid is
  ** ignored and validate_constraint does nothing. */
  unsigned has_not_valid : 1;
  /* Append name as a quoted identifier: doubles '"' and wraps in '"'.
  ** A dotted name ("s.t") is quoted per part ("s"."t"). */
  void (*quote_ident)(struct lm_sqlbuf *sb, const char *name);
  /* Append v as a SQL literal ('it''s', 42, NULL, X'00ff', TRUE/1). */
  void (*quote_literal)(struct lm_sqlbuf *sb, const struct lm_value *v);
  /* Append the database type for a portable type string; anything that is
  ** not a portable type passes through verbatim. */
  int (*map_type)(struct lm_sqlbuf *sb, const struct lm_column *col,
                  struct lm_err *err);
  int (*render_create_table)(struct lm_sqlbuf *sb,
                             const struct lm_create_table *t,
                             struct lm_err *err);
  int (*render_drop_table)(struct lm_sqlbuf *sb, const char *table,
                           int if_exists, struct lm_err *err);
  int (*render_rename_table)(struct lm_sqlbuf *sb, const char *from,
                             const char *to, struct lm_err *err);
  int (*render_add_column)(struct lm_sqlbuf *sb, const char *table,
                           const struct lm_column *col, struct lm_err *err);
  int (*render_drop_column)(struct lm_sqlbuf *sb, const char *table,
                            const char *column, struct lm_err *err);
  int (*render_create_index)(struct lm_sqlbuf *sb, const struct lm_index *ix,
                             struct lm_err *err);
  int (*render_drop_index)(struct lm_sqlbuf *sb,
                           const struct lm_drop_index *ix,
                           struct lm_err *err);
  /* One table alteration (ddl.h) as ALTER TABLE. May append several
  ** statements separated by ";\n" (PostgreSQL: RENAME COLUMN is its own
  ** statement after the ALTER COLUMN clauses). A dialect renders only the
  ** alterations its needs_rebuild says no to. */
  int (*render_alter)(struct lm_sqlbuf *sb, const char *table,
                      const struct lm_alter *a, struct lm_err *err);
  /* NULL when every alteration is an ALTER TABLE. Else 1 when a needs a
  ** table rebuild (sqlite_rebuild.h) instead of render_alter. */
  int (*needs_rebuild)(const struct lm_alter *a);
  /* NULL, or 1 when render_alter's statement for a failed with msg for a
  ** reason a rebuild does not have (SQLite: "cannot drop UNIQUE column",
  ** "error in index ix after drop column", "Cannot add a ... column"). */
  int (*rebuild_after_error)(const struct lm_alter *a, const char *msg);
  /* COMMENT ON TABLE t / COLUMN t.c IS 'text' (text NULL: IS NULL).
  ** column NULL: the table's comment. An error where there are none. */
  int (*render_comment)(struct lm_sqlbuf *sb, const char *table,
                        const char *column, const char *text,
                        struct lm_err *err);
  /* CREATE SCHEMA [IF NOT EXISTS] / DROP SCHEMA [IF EXISTS] [CASCADE];
  ** an error where there are no schemas. */
  int (*render_create_schema)(struct lm_sqlbuf *sb, const char *name,
                              int if_not_exists, struct lm_err *err);
  int (*render_drop_schema)(struct lm_sqlbuf *sb, const char *name,
                            int if_exists, int cascade, struct lm_err *err);
  /* How many bound parameters one statement may have. */
  int max_params;
  /* How many parameters bulk_insert puts in one statement: where bigger
  ** statements stop paying off (SQLite looks up each $N name linearly
  ** while parsing, so its best size is small). */
  int bulk_params;
  /* CREATE TABLE IF NOT EXISTS for the version table
  ** (version_num VARCHAR(64) NOT NULL PRIMARY KEY). */
  int (*render_version_table)(struct lm_sqlbuf *sb, const char *table,
                              struct lm_err *err);
  /* CREATE TABLE IF NOT EXISTS for the history table: id (auto), revision
  ** VARCHAR(64), direction VARCHAR(16), checksum VARCHAR(64), started_at
  ** VARCHAR(32) (ISO-8601 UTC text), duration_ms INTEGER, run_by
  ** VARCHAR(255), outcome VARCHAR(16), message TEXT. */
  int (*render_history_table)(struct lm_sqlbuf *sb, const char *table,
                              struct lm_err *err);
};

extern const struct lm_dialect lm_dialect_sqlite;
extern const struct lm_dialect lm_dialect_pg;

/* Shared helpers for dialect implementations (dialect_common.c). */
/* Standard double-quote identifier quoting, per dotted part. */
void lm_dialect_quote_ident_std(struct lm_sqlbuf *sb, const char *name);
/* Standard literal quoting: 'it''s', integers, floats (%.17g, always
** re-read as floats), NULL, X'00ff'. Booleans are spelled btrue/bfalse
** ("1"/"0" on SQLite, "TRUE"/"FALSE" on PostgreSQL). */
void lm_dialect_quote_literal_std(struct lm_sqlbuf *sb,
                                  const struct lm_value *v,
                                  const char *btrue, const char *bfalse);
/* A portable type string split up: "numeric(10, 2)" -> base "numeric",
** nargs 2, args {10, 2}. */
struct lm_type_spec {
  char base[32];     /* lower-cased name before any '(' */
  int nargs;         /* 0..2 */
  long args[2];
};
/* Parse type as "name" or "name(n)" or "name(p, s)" with a plain
** identifier name and decimal arguments. Returns 1 when it has that shape
** (out filled), 0 otherwise (the type is verbatim SQL). */
int lm_dialect_parse_type(const char *type, struct lm_type_spec *out);
/* The canonical spelling of a foreign-key action (CASCADE, SET NULL,
** SET DEFAULT, RESTRICT, NO ACTION; matched case-insensitively, inner
** spaces collapsed), or NULL. */
const char *lm_dialect_fk_action(const char *action);
/* Append ` REFERENCES "t" ("c") [ON DELETE ..] [ON UPDATE ..]` for col,
** using d->quote_ident. "a.b.c" references column c of table a.b. */
int lm_dialect_render_references(const struct lm_dialect *d,
                                 struct lm_sqlbuf *sb,
                                 const struct lm_column *col,
                                 struct lm_err *err);
/* Append fmt with its directives filled: %I a const char * identifier
** quoted by d->quote_ident, %s a const char * appended as it is (SQL the
** caller wrote), %d an int, %% a '%'. Any other directive is a bug. */
void lm_dialect_sqlf(const struct lm_dialect *d, struct lm_sqlbuf *sb,
                     const char *fmt, ...);
/* Append "(a, b)" for ix->cols quoted with d->quote_ident. */
void lm_dialect_render_collist(const struct lm_dialect *d,
                               struct lm_sqlbuf *sb,
                               const char *const *cols, int ncols);

/* Append ` CONSTRAINT "name" FOREIGN KEY (a) REFERENCES "t" (b) [ON ..]`,
** ` CONSTRAINT "name" UNIQUE (a, b)`, `... PRIMARY KEY (a)` or
** `... CHECK (expr)` for an ADD_* alteration (the part after ADD). */
int lm_dialect_render_constraint(const struct lm_dialect *d,
                                 struct lm_sqlbuf *sb,
                                 const struct lm_alter *a,
                                 struct lm_err *err);
/* INSERT INTO "t" ("a", "b") VALUES ($1, $2), ($3, $4), ... for nrows
** rows of ncols values, numbered from $1. */
void lm_dialect_render_insert(const struct lm_dialect *d,
                              struct lm_sqlbuf *sb, const char *table,
                              const char *const *cols, int ncols, int nrows);

/* Renders one column definition (for CREATE TABLE and ADD COLUMN);
** inline_pk: the column is the table's only primary-key column. */
typedef int (*lm_render_column_fn)(struct lm_sqlbuf *sb,
                                   const struct lm_column *col, int inline_pk,
                                   struct lm_err *err);
/* CREATE TABLE [IF NOT EXISTS] with each column through render_column and
** a table-level PRIMARY KEY (a, b) when several columns are keys. */
int lm_dialect_create_table(struct lm_sqlbuf *sb,
                            const struct lm_create_table *t,
                            lm_render_column_fn render_column,
                            struct lm_err *err);
/* Spellings shared by SQLite and PostgreSQL, usable as vtable members. */
int lm_dialect_drop_table_std(struct lm_sqlbuf *sb, const char *table,
                              int if_exists, struct lm_err *err);
int lm_dialect_drop_column_std(struct lm_sqlbuf *sb, const char *table,
                               const char *column, struct lm_err *err);
int lm_dialect_version_table_std(struct lm_sqlbuf *sb, const char *table,
                                 struct lm_err *err);
/* The history table (dialect.h render_history_table) with the dialect's
** auto-numbered id column definition, e.g. "INTEGER NOT NULL PRIMARY KEY
** AUTOINCREMENT". */
void lm_dialect_history_table(struct lm_sqlbuf *sb, const char *table,
                              const char *id_column);

#endif
