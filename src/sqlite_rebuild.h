/*
** sqlite_rebuild.h: changing a SQLite table the way ALTER TABLE cannot,
** with SQLite's own documented procedure (lang_altertable.html, "Making
** Other Kinds Of Table Schema Changes"): the table's original CREATE TABLE
** text from sqlite_master is edited (not re-generated from a reflected
** model), a new table is created with it, every row is copied, the old
** table dropped, the new one renamed, and its indexes, triggers and the
** views that use it are re-created. Pure C over the backend vtable.
*/
#ifndef LM_SQLITE_REBUILD_H
#define LM_SQLITE_REBUILD_H

#include "backend.h"
#include "ddl.h"
#include "sqlbuf.h"

/* Apply alters[0..n) to table in one rebuild, inside the caller's open
** transaction, on connection c (SQLite, or the offline backend with a
** SQLite dialect). copy_from: the table's CREATE TABLE text when c cannot
** be queried (offline --sql mode; NULL online; offline without it is an
** error saying so). Anything that belongs to the table but cannot be
** carried over is appended to warnings as one line each ("index ix_a
** dropped: it uses column a, which was dropped"); nothing is lost
** silently. On error nothing has been committed; the caller rolls back. */
int lm_sqlite_rebuild(struct lm_conn *c, const char *table,
                      const struct lm_alter *alters, int n,
                      const char *copy_from, struct lm_sqlbuf *warnings,
                      struct lm_err *err);

#endif
