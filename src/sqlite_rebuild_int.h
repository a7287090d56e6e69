/*
** sqlite_rebuild_int.h: what the SQLite table rebuild's files share and
** nobody else uses: sqlite_rebuild.c (the procedure, and running its
** statements), sqlite_rebuild_edit.c (the alterations applied to the
** parsed CREATE TABLE) and sqlite_rebuild_carry.c (the indexes, triggers
** and views carried over). Not for other modules: use sqlite_rebuild.h.
**
** Functions returning int return 0 on success and non-zero with r->err
** filled on failure.
*/
#ifndef LM_SQLITE_REBUILD_INT_H
#define LM_SQLITE_REBUILD_INT_H

#include "backend.h"
#include "ddl.h"
#include "sqlbuf.h"
#include "sqlite_ddl_parse.h"

/* A schema object read from sqlite_master (sqlite_rebuild_carry.c). */
struct lm_rb_obj;

/* One rebuild in progress, set up by lm_sqlite_rebuild and handed to
** every step; it owns t, objs and scratch and frees them at the end. */
struct lm_rb {
  struct lm_conn *c;           /* borrowed; where statements run */
  struct lm_conn *sdb;         /* where the schema is read: c, or scratch */
  struct lm_conn *scratch;     /* owned; in-memory copy (offline), or NULL */
  const char *table;           /* borrowed; as the caller named it */
  const struct lm_alter *alters;
  int n;
  struct lm_sqlbuf *warnings;  /* borrowed */
  struct lm_err *err;          /* borrowed */
  struct lm_ddl_table t;       /* owned; the model being edited */
  struct lm_rb_obj *objs;      /* owned; indexes, triggers, views */
  int nobjs;
};

/* ---- sqlite_rebuild.c: statements and values -------------------------- */

/* Append name as one quoted identifier ('"' doubled), never split at '.'. */
void lm_rb_ident(struct lm_sqlbuf *sb, const char *name);
/* Set r->err to "out of memory"; returns non-zero. */
int lm_rb_oom(struct lm_rb *r);
/* Run sql (params bound) on conn; on error prefix the message with the
** table being rebuilt. */
int lm_rb_run_on(struct lm_rb *r, struct lm_conn *conn, const char *sql,
                 int np, const struct lm_value *p);
/* Run sb's text on r->c (out of memory when sb ran out). */
int lm_rb_run_sb(struct lm_rb *r, struct lm_sqlbuf *sb);
/* A text value borrowing s. */
struct lm_value lm_rb_text_value(const char *s);
/* A malloc'd copy of a text value ("" for any other type); NULL on OOM. */
char *lm_rb_dup_value(const struct lm_value *v);

/* ---- sqlite_rebuild_edit.c -------------------------------------------- */

/* Step 4's edit: apply every alteration except the column renames
** (already run) to r->t. */
int lm_rb_edit_model(struct lm_rb *r);

/* ---- sqlite_rebuild_carry.c ------------------------------------------- */

/* Step 3: read the table's indexes and triggers, and the views that use
** it, from r->sdb into r->objs (r->t.name must be the stored name). */
int lm_rb_read_objects(struct lm_rb *r);
/* Steps 8-9: re-create the indexes and triggers, dropping with a warning
** those that use a dropped column; drop with a warning every view that no
** longer works (online only). */
int lm_rb_recreate_objects(struct lm_rb *r);
/* Free r->objs; r->nobjs becomes 0. */
void lm_rb_free_objects(struct lm_rb *r);

#endif
