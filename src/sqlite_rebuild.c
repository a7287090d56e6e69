/*
** sqlite_rebuild.c: SQLite's 12-step table rebuild (lang_altertable.html,
** "Making Other Kinds Of Table Schema Changes") for alterations ALTER
** TABLE cannot make; see sqlite_rebuild.h. Pure C over the backend vtable.
** This file runs the procedure and the statements of every step; the
** edit of the CREATE TABLE text is sqlite_rebuild_edit.c, the indexes,
** triggers and views carried over are sqlite_rebuild_carry.c (shared
** state: struct lm_rb, sqlite_rebuild_int.h).
**
** How the steps map here (the caller owns steps 1, 2, 11 and 12: the
** SQLite backend turns foreign_keys off before BEGIN and back on after
** COMMIT/ROLLBACK, and checks the whole database at COMMIT when they were
** on; see backend_sqlite.c):
**  - column renames run first as ALTER TABLE RENAME COLUMN, which updates
**    the table, its indexes and triggers, the views that use it and the
**    foreign keys of child tables; a batch of renames only needs no rebuild;
**  - step 3: the table's CREATE TABLE text, indexes and triggers are read
**    from sqlite_master (offline: from copy_from, loaded into a scratch
**    in-memory database);
**  - step 4: the CREATE TABLE text is edited (sqlite_ddl_parse.c,
**    sqlite_rebuild_edit.c) and run as "lm_new_<table>"; step 5 copies
**    every row (with its rowid when the rowid is not an INTEGER PRIMARY
**    KEY column); AUTOINCREMENT's sqlite_sequence row is carried over so
**    ids are never reused;
**  - steps 6-7: DROP TABLE, then RENAME with legacy_alter_table on, so
**    that views and other tables' triggers naming the table are left as
**    they are (without it SQLite refuses the rename: "error in view v: no
**    such table");
**  - steps 8-9: indexes and triggers are re-created from their original
**    text (those that use a dropped column are skipped with a warning);
**    every view that used the table is tried and dropped with a warning
**    when it no longer works;
**  - step 10: PRAGMA foreign_key_check on the table; a violation is an
**    error (the caller rolls back).
*/
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sqlite_ddl_parse.h"
#include "sqlite_rebuild.h"
#include "sqlite_rebuild_int.h"
#include "url.h"

#define NEW_PREFIX "lm_new_"
#define FK_SHOW 5

/* ---- statements and values -------------------------------------------- */

/* Append name as one quoted identifier ('"' doubled). Unlike the
** dialect's quote_ident it never splits at '.': a SQLite column may be
** named "a.b". */
void lm_rb_ident(struct lm_sqlbuf *sb, const char *name) {
  lm_sb_addc(sb, '"');
  for (; *name; name++) {
    if (*name == '"') lm_sb_addc(sb, '"');
    lm_sb_addc(sb, *name);
  }
  lm_sb_addc(sb, '"');
}

/* r->err = "out of memory"; returns non-zero. */
int lm_rb_oom(struct lm_rb *r) {
  return lm_err_set(r->err, "out of memory");
}

/* Run sql (params bound) on conn; on error prefix the message. */
int lm_rb_run_on(struct lm_rb *r, struct lm_conn *conn, const char *sql,
                 int np, const struct lm_value *p) {
  if (conn->be->exec(conn, sql, np, p, NULL, r->err) == 0) return 0;
  return lm_err_prefix(r->err, "rebuilding table \"%s\"", r->table);
}

/* Run sb's text on r->c; out of memory when building sb ran out. */
int lm_rb_run_sb(struct lm_rb *r, struct lm_sqlbuf *sb) {
  if (!lm_sb_ok(sb)) return lm_rb_oom(r);
  return lm_rb_run_on(r, r->c, lm_sb_str(sb), 0, NULL);
}

/* A text value borrowing s. */
struct lm_value lm_rb_text_value(const char *s) {
  struct lm_value v;
  memset(&v, 0, sizeof v);
  v.type = LM_VTEXT;
  v.s = s;
  v.n = strlen(s);
  return v;
}

/* A malloc'd copy of a text value ("" for any other type); NULL on OOM. */
char *lm_rb_dup_value(const struct lm_value *v) {
  char *s;
  if (v->type != LM_VTEXT) return strdup("");
  s = malloc(v->n + 1);
  if (s == NULL) return NULL;
  memcpy(s, v->s, v->n);
  s[v->n] = '\0';
  return s;
}

/* ---- reading the table ------------------------------------------------- */

/* Read the table's stored name and CREATE TABLE text from r->sdb into
** *name and *sql (malloc'd, caller frees). */
static int read_table_sql(struct lm_rb *r, char **name, char **sql) {
  struct lm_conn *s = r->sdb;
  struct lm_cursor *cur = NULL;
  struct lm_value p = lm_rb_text_value(r->table), v;
  int rc, ret = 1;
  *name = *sql = NULL;
  if (s->be->query(s, "SELECT name, sql FROM sqlite_master WHERE type = "
                   "'table' AND name = $1 COLLATE NOCASE", 1, &p, &cur,
                   r->err))
    goto done;
  rc = s->be->cursor_step(cur, r->err);
  if (rc < 0) goto done;
  if (rc == 0) {
    lm_err_set(r->err, "no such table: \"%s\"%s", r->table,
               r->scratch ? " (in copy_from)" : "");
    goto done;
  }
  s->be->cursor_value(cur, 0, &v);
  *name = lm_rb_dup_value(&v);
  s->be->cursor_value(cur, 1, &v);
  *sql = lm_rb_dup_value(&v);
  if (*name == NULL || *sql == NULL) {
    lm_rb_oom(r);
    goto done;
  }
  ret = 0;
done:
  s->be->cursor_close(cur);
  if (ret) {
    free(*name);
    free(*sql);
    *name = *sql = NULL;
  }
  return ret;
}

/* ---- the steps ---------------------------------------------------------- */

/* The column renames, in order, as ALTER TABLE RENAME COLUMN on the
** database (and on the scratch copy offline, so that its text is read
** back renamed). Sets *only_renames when nothing else is asked for. */
static int run_renames(struct lm_rb *r, int *only_renames) {
  struct lm_sqlbuf sb;
  int i, ret = 0;
  *only_renames = 1;
  lm_sb_init(&sb);
  for (i = 0; i < r->n && ret == 0; i++) {
    const struct lm_alter *a = &r->alters[i];
    if (a->kind != LM_ALTER_COLUMN || a->new_name == NULL) {
      *only_renames = 0;
      continue;
    }
    if (a->type || a->nullable != -1 || a->set_default || a->using_expr)
      *only_renames = 0;
    if (a->column == NULL) {
      ret = lm_err_set(r->err, "alter_column needs the column's name");
      break;
    }
    if (strcmp(a->column, a->new_name) == 0) continue;
    lm_sb_reset(&sb);
    lm_sb_add(&sb, "ALTER TABLE ");
    lm_rb_ident(&sb, r->table);
    lm_sb_add(&sb, " RENAME COLUMN ");
    lm_rb_ident(&sb, a->column);
    lm_sb_add(&sb, " TO ");
    lm_rb_ident(&sb, a->new_name);
    if (!lm_sb_ok(&sb)) ret = lm_rb_oom(r);
    else if (r->scratch &&
             lm_rb_run_on(r, r->scratch, lm_sb_str(&sb), 0, NULL) != 0) ret = 1;
    else ret = lm_rb_run_sb(r, &sb);
  }
  lm_sb_free(&sb);
  return ret;
}

/* 1 when the new table declares AUTOINCREMENT. */
static int has_autoincrement(const struct lm_ddl_table *t) {
  int i, j;
  for (i = 0; i < t->ncols; i++)
    for (j = 0; j < t->cols[i].ncl; j++)
      if (!t->cols[i].dropped && t->cols[i].cl[j].kind == LM_CL_PRIMARY &&
          lm_sql_mentions(t->cols[i].cl[j].text, 0, "AUTOINCREMENT") == 1)
        return 1;
  return 0;
}

/* Steps 4-5: create the new table and copy every row into it. */
static int create_and_copy(struct lm_rb *r, const char *newname) {
  struct lm_sqlbuf sb, dst, src;
  const char *rowid = NULL;
  int i, alias = 0, first = 1, ret = 1;
  lm_sb_init(&sb);
  lm_sb_init(&dst);
  lm_sb_init(&src);
  lm_ddl_table_render(&r->t, newname, &sb);
  if (lm_rb_run_sb(r, &sb)) goto done;
  /* Row identity: copy the rowid unless an INTEGER PRIMARY KEY column
  ** (copied anyway) is the rowid of the new table. */
  for (i = 0; i < r->t.ncols; i++)
    if (!r->t.cols[i].dropped && lm_ddl_col_is_rowid_alias(&r->t, i))
      alias = 1;
  if (!alias && !lm_ddl_table_without_rowid(&r->t)) {
    static const char *const names[] = { "rowid", "_rowid_", "oid", NULL };
    for (i = 0; names[i] && rowid == NULL; i++) {
      int j, taken = 0;
      for (j = 0; j < r->t.ncols; j++)
        if (r->t.cols[j].from_old && strcasecmp(r->t.cols[j].name, names[i]) == 0)
          taken = 1;
      if (!taken) rowid = names[i];
    }
  }
  if (rowid) {
    lm_sb_add(&dst, rowid);
    lm_sb_add(&src, rowid);
    first = 0;
  }
  for (i = 0; i < r->t.ncols; i++) {
    const struct lm_ddl_col *c = &r->t.cols[i];
    if (c->dropped || !c->from_old || lm_ddl_col_generated(c)) continue;
    if (!first) {
      lm_sb_add(&dst, ", ");
      lm_sb_add(&src, ", ");
    }
    first = 0;
    lm_rb_ident(&dst, c->name);
    if (c->copy_expr) lm_sb_printf(&src, "(%s)", c->copy_expr);
    else lm_rb_ident(&src, c->name);
  }
  if (first) {     /* nothing to copy: no column of the old table is left */
    ret = 0;
    goto done;
  }
  lm_sb_reset(&sb);
  lm_sb_add(&sb, "INSERT INTO ");
  lm_rb_ident(&sb, newname);
  lm_sb_printf(&sb, " (%s) SELECT %s FROM ", lm_sb_str(&dst), lm_sb_str(&src));
  lm_rb_ident(&sb, r->t.name);
  if (!lm_sb_ok(&dst) || !lm_sb_ok(&src)) {
    lm_rb_oom(r);
    goto done;
  }
  ret = lm_rb_run_sb(r, &sb);
done:
  lm_sb_free(&sb);
  lm_sb_free(&dst);
  lm_sb_free(&src);
  return ret;
}

/* Before the old table is dropped (which deletes its sqlite_sequence row):
** give its AUTOINCREMENT counter to the new table, so that no id is ever
** handed out twice. */
static int move_sequence(struct lm_rb *r, const char *newname) {
  struct lm_value p[2];
  p[0] = lm_rb_text_value(r->t.name);
  p[1] = lm_rb_text_value(newname);
  if (!has_autoincrement(&r->t)) return 0;
  return lm_rb_run_on(r, r->c,
                      "UPDATE sqlite_sequence SET seq = max(seq, coalesce("
                      "(SELECT seq FROM sqlite_sequence WHERE name = $2), 0)) "
                      "WHERE name = $1;\n"
                      "DELETE FROM sqlite_sequence WHERE name = $2;\n"
                      "UPDATE sqlite_sequence SET name = $2 WHERE name = $1",
                      2, p);
}

/* Read an integer PRAGMA into *v; offline (no queries) *v = dflt. */
static int pragma_int(struct lm_rb *r, const char *sql, long long dflt,
                      long long *v) {
  struct lm_cursor *cur = NULL;
  struct lm_value val;
  int rc;
  *v = dflt;
  if (r->c->be->is_offline) return 0;
  if (r->c->be->query(r->c, sql, 0, NULL, &cur, r->err)) return 1;
  rc = r->c->be->cursor_step(cur, r->err);
  if (rc == 1) {
    r->c->be->cursor_value(cur, 0, &val);
    if (val.type == LM_VINT) *v = val.i;
  }
  r->c->be->cursor_close(cur);
  return rc < 0;
}

/* Steps 6-7: drop the old table, rename the new one into its place. The
** rename runs with legacy_alter_table on: the old table is gone by now, so
** a view or another table's trigger naming it would make a checked rename
** fail ("error in view v: no such table"). */
static int swap_tables(struct lm_rb *r, const char *newname) {
  struct lm_sqlbuf sb;
  long long legacy;
  int ret = 1, set = 0;
  lm_sb_init(&sb);
  lm_sb_add(&sb, "DROP TABLE ");
  lm_rb_ident(&sb, r->t.name);
  if (lm_rb_run_sb(r, &sb)) goto done;
  if (pragma_int(r, "PRAGMA legacy_alter_table", 0, &legacy)) goto done;
  if (!legacy) {
    if (lm_rb_run_on(r, r->c, "PRAGMA legacy_alter_table = ON", 0, NULL))
      goto done;
    set = 1;
  }
  lm_sb_reset(&sb);
  lm_sb_add(&sb, "ALTER TABLE ");
  lm_rb_ident(&sb, newname);
  lm_sb_add(&sb, " RENAME TO ");
  lm_rb_ident(&sb, r->t.name);
  if (lm_rb_run_sb(r, &sb)) goto done;
  ret = 0;
done:
  if (set) {
    struct lm_err e;
    if (r->c->be->exec(r->c, "PRAGMA legacy_alter_table = OFF", 0, NULL,
                       NULL, &e) != 0 && ret == 0) {
      *r->err = e;
      ret = 1;
    }
  }
  lm_sb_free(&sb);
  return ret;
}

/* Step 10: PRAGMA foreign_key_check on the table; violations are an error
** naming the first few rows. */
static int fk_check(struct lm_rb *r) {
  struct lm_sqlbuf sb, rows;
  struct lm_cursor *cur = NULL;
  int rc, count = 0, ret = 1;
  if (r->c->be->is_offline) return 0;
  lm_sb_init(&sb);
  lm_sb_init(&rows);
  lm_sb_add(&sb, "PRAGMA foreign_key_check(");
  lm_rb_ident(&sb, r->t.name);
  lm_sb_addc(&sb, ')');
  if (!lm_sb_ok(&sb)) {
    lm_rb_oom(r);
    goto done;
  }
  if (r->c->be->query(r->c, lm_sb_str(&sb), 0, NULL, &cur, r->err)) {
    lm_err_prefix(r->err, "rebuilding table \"%s\"", r->table);
    goto done;
  }
  while ((rc = r->c->be->cursor_step(cur, r->err)) == 1) {
    struct lm_value v[3];
    int k;
    if (++count > FK_SHOW) continue;
    for (k = 0; k < 3; k++) r->c->be->cursor_value(cur, k, &v[k]);
    lm_sb_printf(&rows, "%s%.*s rowid %lld references missing %.*s row",
                 count > 1 ? "; " : "", (int)v[0].n, v[0].s ? v[0].s : "",
                 v[1].type == LM_VINT ? v[1].i : 0LL, (int)v[2].n,
                 v[2].s ? v[2].s : "");
  }
  if (rc < 0) {
    lm_err_prefix(r->err, "rebuilding table \"%s\"", r->table);
    goto done;
  }
  if (count > 0) {
    lm_err_set(r->err, "rebuilding table \"%s\": %d foreign key "
               "violation%s: %s%s", r->table, count, count == 1 ? "" : "s",
               lm_sb_str(&rows), count > FK_SHOW ? "; ..." : "");
    goto done;
  }
  ret = 0;
done:
  r->c->be->cursor_close(cur);
  lm_sb_free(&sb);
  lm_sb_free(&rows);
  return ret;
}

/* Offline: open an in-memory SQLite database holding copy_from. */
static int open_scratch(struct lm_rb *r, const char *copy_from) {
  struct lm_url url;
  struct lm_connect_opts opts;
  memset(&url, 0, sizeof url);
  memset(&opts, 0, sizeof opts);
  url.kind = LM_URL_SQLITE;
  url.path = (char *)":memory:";
  if (lm_backend_sqlite.connect(&url, &opts, &r->scratch, r->err)) return 1;
  r->sdb = r->scratch;
  if (r->scratch->be->exec(r->scratch, copy_from, 0, NULL, NULL, r->err))
    return lm_err_prefix(r->err, "copy_from for table \"%s\" is not valid "
                         "SQLite", r->table);
  return 0;
}

int lm_sqlite_rebuild(struct lm_conn *c, const char *table,
                      const struct lm_alter *alters, int n,
                      const char *copy_from, struct lm_sqlbuf *warnings,
                      struct lm_err *err) {
  struct lm_rb r;
  struct lm_sqlbuf newname;
  char *name = NULL, *sql = NULL;
  int only_renames, ret = 1;

  memset(&r, 0, sizeof r);
  r.c = r.sdb = c;
  r.table = table;
  r.alters = alters;
  r.n = n;
  r.warnings = warnings;
  r.err = err;
  lm_sb_init(&newname);
  if (table == NULL || strchr(table, '.') != NULL) {
    lm_err_set(err, "rebuilding a table needs its name without a schema "
               "(got \"%s\")", table ? table : "(none)");
    goto done;
  }
  if (c->be->is_offline) {
    if (copy_from == NULL) {
      lm_err_set(err, "alter on SQLite in --sql mode needs the table's "
                 "definition: pass copy_from = \"CREATE TABLE ...\"");
      goto done;
    }
    if (open_scratch(&r, copy_from)) goto done;
  }
  if (n <= 0) {
    ret = 0;
    goto done;
  }
  if (run_renames(&r, &only_renames)) goto done;
  if (only_renames) {
    ret = 0;
    goto done;
  }
  if (read_table_sql(&r, &name, &sql)) goto done;
  if (lm_ddl_parse_table(sql, &r.t, err)) goto done;
  free(r.t.name);
  r.t.name = name;         /* the stored spelling */
  name = NULL;
  if (lm_rb_read_objects(&r)) goto done;
  if (lm_rb_edit_model(&r)) goto done;
  lm_sb_add(&newname, NEW_PREFIX);
  lm_sb_add(&newname, r.t.name);
  if (!lm_sb_ok(&newname)) {
    lm_rb_oom(&r);
    goto done;
  }
  if (create_and_copy(&r, lm_sb_str(&newname))) goto done;
  if (move_sequence(&r, lm_sb_str(&newname))) goto done;
  if (swap_tables(&r, lm_sb_str(&newname))) goto done;
  if (lm_rb_recreate_objects(&r)) goto done;
  if (fk_check(&r)) goto done;
  if (c->be->is_offline)
    lm_sb_printf(warnings, "table \"%s\" rebuilt offline: only the indexes "
                 "and triggers given in copy_from were re-created, views that "
                 "use the table were not checked, and the script must run "
                 "with foreign_keys off (the sqlite3 default), or DROP TABLE "
                 "cascades to child rows\n", r.t.name);
  ret = 0;
done:
  lm_rb_free_objects(&r);
  lm_ddl_table_free(&r.t);
  if (r.scratch) r.scratch->be->close(r.scratch);
  lm_sb_free(&newname);
  free(name);
  free(sql);
  return ret;
}
