/*
** sqlite_ddl_parse.h: a SQLite CREATE TABLE statement as an editable
** model for the table rebuild (sqlite_rebuild.c): a tokenizer that knows
** SQLite's quoting ("x", `x`, [x], '...', X'..', comments), and a split of
** the statement into column definitions (name, type text, one text span
** per constraint clause) and table constraints, each kept as the original
** text so that whatever is not edited is written back exactly as it was.
** Pure C; every string in the model is malloc-owned by the model.
*/
#ifndef LM_SQLITE_DDL_PARSE_H
#define LM_SQLITE_DDL_PARSE_H

#include <stddef.h>

#include "err.h"
#include "sqlbuf.h"

enum lm_tk { LM_TK_WORD, LM_TK_QIDENT, LM_TK_STRING, LM_TK_NUMBER,
             LM_TK_PUNCT };

struct lm_tok {
  enum lm_tk type;
  size_t off, len;       /* the token's bytes in the tokenized text */
};

/* Tokenize sql (comments and whitespace skipped). *out is malloc'd and
** owned by the caller (free), *n its length. Non-zero with err filled for
** an unterminated string, quoted identifier or comment, or out of memory. */
int lm_sql_tokenize(const char *sql, struct lm_tok **out, int *n,
                    struct lm_err *err);

/* The identifier a WORD, QIDENT or STRING token names: quotes removed and
** doubled quotes undone. Malloc'd (caller frees); NULL when out of memory. */
char *lm_sql_unquote(const char *sql, const struct lm_tok *t);

/* 1 when sql mentions ident as an identifier token (bare or quoted,
** compared case-insensitively), looking only at bytes from offset `from`;
** 0 when not; -1 when sql cannot be tokenized. */
int lm_sql_mentions(const char *sql, size_t from, const char *ident);

enum lm_clause_kind {
  LM_CL_PRIMARY, LM_CL_NOTNULL, LM_CL_NULL, LM_CL_UNIQUE, LM_CL_CHECK,
  LM_CL_DEFAULT, LM_CL_COLLATE, LM_CL_REFERENCES, LM_CL_GENERATED,
  LM_CL_OTHER
};

/* One constraint clause of a column ("NOT NULL", "CONSTRAINT c CHECK
** (x > 0)", "DEFAULT CURRENT_TIMESTAMP", "REFERENCES p(id) ON DELETE
** CASCADE"). */
struct lm_ddl_clause {
  enum lm_clause_kind kind;
  char *text;            /* owned; the whole clause incl. CONSTRAINT name */
  char *name;            /* owned; the CONSTRAINT name, or NULL */
};

struct lm_ddl_col {
  char *name;            /* owned; unquoted */
  char *name_text;       /* owned; the name as written ("a", `a`, a) */
  char *type;            /* owned; type text, "" when none */
  struct lm_ddl_clause *cl;  /* owned array */
  int ncl, capcl;
  char *orig;            /* owned; the original item text, NULL once edited */
  char *copy_expr;       /* owned; SQL computing the copied value from the
                            old row (alter_column using=), or NULL */
  int from_old;          /* 1 for a column of the table being rebuilt */
  int dropped;
};

enum lm_tcons_kind { LM_TC_PRIMARY, LM_TC_UNIQUE, LM_TC_CHECK,
                     LM_TC_FOREIGN };

struct lm_ddl_tcons {
  enum lm_tcons_kind kind;
  char *name;            /* owned; CONSTRAINT name, or NULL */
  char *text;            /* owned; the whole constraint text */
  char **cols;           /* owned; PRIMARY/UNIQUE/FOREIGN KEY columns */
  int ncols;
  int dropped;
};

struct lm_ddl_table {
  char *name;            /* owned; unquoted table name */
  struct lm_ddl_col *cols;   /* owned array */
  int ncols, capcols;
  struct lm_ddl_tcons *tc;   /* owned array */
  int ntc, captc;
  char *open;            /* owned; text between "(" and the first item */
  char *sep;             /* owned; item separator (",\n  " or ", ") */
  char *close;           /* owned; text between the last item and ")" */
  char *trailer;         /* owned; after ")": "WITHOUT ROWID", "STRICT", "" */
};

/* Parse a CREATE TABLE statement into *t (zeroed first). Non-zero with err
** filled when sql is not a CREATE TABLE (name ( items ) [options]). On
** error *t is freed. */
int lm_ddl_parse_table(const char *sql, struct lm_ddl_table *t,
                       struct lm_err *err);
/* Free every member of t; NULL-safe, t itself is not freed. */
void lm_ddl_table_free(struct lm_ddl_table *t);

/* Append "CREATE TABLE <quoted name> (items)[ trailer]" to sb, skipping
** dropped items; an unedited column is written as its original text. */
void lm_ddl_table_render(const struct lm_ddl_table *t, const char *name,
                         struct lm_sqlbuf *sb);
/* Append one column's definition (its original text unless edited). */
void lm_ddl_col_render(const struct lm_ddl_col *c, struct lm_sqlbuf *sb);

/* Clause editing on a column (marks it edited). add returns non-zero
** when out of memory; text is copied. */
int lm_ddl_col_add_clause(struct lm_ddl_col *c, enum lm_clause_kind kind,
                          const char *text);
void lm_ddl_col_remove_clause(struct lm_ddl_col *c, int i);
/* Append a table constraint (text and name copied); non-zero on OOM. */
int lm_ddl_table_add_tcons(struct lm_ddl_table *t, enum lm_tcons_kind kind,
                           const char *name, const char *text);
/* Append an empty column slot (zeroed, from_old = 0); NULL on OOM. */
struct lm_ddl_col *lm_ddl_table_add_col(struct lm_ddl_table *t);

/* 1 when the column's clauses declare it GENERATED (AS (...)). */
int lm_ddl_col_generated(const struct lm_ddl_col *c);
/* 1 when the table's column i is an INTEGER PRIMARY KEY (a rowid alias)
** in a rowid table. */
int lm_ddl_col_is_rowid_alias(const struct lm_ddl_table *t, int i);
/* 1 when the trailer says WITHOUT ROWID. */
int lm_ddl_table_without_rowid(const struct lm_ddl_table *t);

#endif
