/*
** sqlite_rebuild_carry.c: what a table rebuild carries over besides the
** table itself (steps 3, 8 and 9 of sqlite_rebuild.c): the table's
** indexes and triggers, re-created from their original text, and the
** views that use it, directly or through other views. Nothing is lost
** silently: an index or trigger that uses a dropped column is not
** re-created and a view that no longer works is dropped, each with a
** warning line in r->warnings.
*/
#include <stdlib.h>
#include <string.h>

#include "sqlite_ddl_parse.h"
#include "sqlite_rebuild_int.h"

/* A schema object read from sqlite_master. */
struct lm_rb_obj {
  char *type;    /* owned; "index", "trigger", "view" */
  char *name;    /* owned */
  char *sql;     /* owned */
  int ok;        /* views: 1 when the view worked before the rebuild */
};

/* 1 when the view `name` can be queried on conn, 0 when not. */
static int view_works(struct lm_conn *conn, const char *name) {
  struct lm_sqlbuf sb;
  struct lm_cursor *cur = NULL;
  struct lm_err e;
  int ok;
  lm_sb_init(&sb);
  lm_sb_add(&sb, "SELECT * FROM ");
  lm_rb_ident(&sb, name);
  lm_sb_add(&sb, " LIMIT 0");
  ok = lm_sb_ok(&sb) &&
       conn->be->query(conn, lm_sb_str(&sb), 0, NULL, &cur, &e) == 0 &&
       conn->be->cursor_step(cur, &e) >= 0;
  conn->be->cursor_close(cur);
  lm_sb_free(&sb);
  return ok;
}

/* Step 3: remember the table's indexes and triggers (with SQL text), and
** every view that names the table or such a view. */
int lm_rb_read_objects(struct lm_rb *r) {
  struct lm_conn *s = r->sdb;
  struct lm_cursor *cur = NULL;
  struct lm_value p = lm_rb_text_value(r->t.name), v;
  int rc, cap = 0, i, j, changed, ret = 1;
  if (s->be->query(s, "SELECT type, name, tbl_name, sql FROM sqlite_master "
                   "WHERE sql IS NOT NULL AND ((type IN ('index', 'trigger') "
                   "AND tbl_name = $1 COLLATE NOCASE) OR type = 'view') "
                   "ORDER BY rowid", 1, &p, &cur, r->err))
    goto done;
  while ((rc = s->be->cursor_step(cur, r->err)) == 1) {
    struct lm_rb_obj *o;
    if (r->nobjs == cap) {
      int ncap = cap ? cap * 2 : 16;
      struct lm_rb_obj *no = realloc(r->objs, (size_t)ncap * sizeof *no);
      if (no == NULL) {
        lm_rb_oom(r);
        goto done;
      }
      r->objs = no;
      cap = ncap;
    }
    o = &r->objs[r->nobjs++];
    memset(o, 0, sizeof *o);
    s->be->cursor_value(cur, 0, &v);
    o->type = lm_rb_dup_value(&v);
    s->be->cursor_value(cur, 1, &v);
    o->name = lm_rb_dup_value(&v);
    s->be->cursor_value(cur, 3, &v);
    o->sql = lm_rb_dup_value(&v);
    if (!o->type || !o->name || !o->sql) {
      lm_rb_oom(r);
      goto done;
    }
  }
  if (rc < 0) goto done;
  /* keep only the views that use the table, directly or through views */
  for (i = 0; i < r->nobjs; i++) r->objs[i].ok = -1;
  do {
    changed = 0;
    for (i = 0; i < r->nobjs; i++) {
      struct lm_rb_obj *o = &r->objs[i];
      if (strcmp(o->type, "view") != 0 || o->ok != -1) continue;
      if (lm_sql_mentions(o->sql, 0, r->t.name) == 1) {
        o->ok = 1;
        changed = 1;
        continue;
      }
      for (j = 0; j < r->nobjs; j++)
        if (j != i && strcmp(r->objs[j].type, "view") == 0 &&
            r->objs[j].ok == 1 &&
            lm_sql_mentions(o->sql, 0, r->objs[j].name) == 1) {
          o->ok = 1;
          changed = 1;
          break;
        }
    }
  } while (changed);
  for (i = j = 0; i < r->nobjs; i++) {
    struct lm_rb_obj *o = &r->objs[i];
    if (strcmp(o->type, "view") == 0 && o->ok != 1) {
      free(o->type);
      free(o->name);
      free(o->sql);
      continue;
    }
    if (strcmp(o->type, "view") == 0) o->ok = view_works(s, o->name);
    r->objs[j++] = *o;
  }
  r->nobjs = j;
  ret = 0;
done:
  s->be->cursor_close(cur);
  return ret;
}

/* The first dropped column of the old table that sql mentions at or after
** offset `from`, or NULL. */
static const char *uses_dropped(const struct lm_rb *r, const char *sql,
                                size_t from) {
  int i;
  for (i = 0; i < r->t.ncols; i++)
    if (r->t.cols[i].dropped && r->t.cols[i].from_old &&
        lm_sql_mentions(sql, from, r->t.cols[i].name) == 1)
      return r->t.cols[i].name;
  return NULL;
}

/* Steps 8-9: re-create indexes and triggers; try every view that used the
** table and drop, with a warning, those that no longer work. */
int lm_rb_recreate_objects(struct lm_rb *r) {
  struct lm_sqlbuf sb;
  int i, ret = 1;
  lm_sb_init(&sb);
  for (i = 0; i < r->nobjs; i++) {
    const struct lm_rb_obj *o = &r->objs[i];
    const char *col;
    if (strcmp(o->type, "view") == 0) continue;
    if (strcmp(o->type, "index") == 0) {
      const char *paren = strchr(o->sql, '(');
      col = uses_dropped(r, o->sql, paren ? (size_t)(paren - o->sql) : 0);
    } else {
      col = uses_dropped(r, o->sql, 0);
    }
    if (col) {
      lm_sb_printf(r->warnings, "%s \"%s\" dropped: it uses column \"%s\", "
                   "which was dropped\n", o->type, o->name, col);
      continue;
    }
    if (lm_rb_run_on(r, r->c, o->sql, 0, NULL)) goto done;
  }
  if (!r->c->be->is_offline) {
    for (i = 0; i < r->nobjs; i++) {
      const struct lm_rb_obj *o = &r->objs[i];
      if (strcmp(o->type, "view") != 0 || !o->ok || view_works(r->c, o->name))
        continue;
      lm_sb_reset(&sb);
      lm_sb_add(&sb, "DROP VIEW ");
      lm_rb_ident(&sb, o->name);
      if (lm_rb_run_sb(r, &sb)) goto done;
      lm_sb_printf(r->warnings, "view \"%s\" dropped: it no longer works "
                   "after the rebuild of \"%s\" (it used a dropped or changed "
                   "column); re-create it: %s\n", o->name, r->t.name, o->sql);
    }
  }
  ret = 0;
done:
  lm_sb_free(&sb);
  return ret;
}

/* Free r->objs and every string in it; r->nobjs becomes 0. */
void lm_rb_free_objects(struct lm_rb *r) {
  int i;
  for (i = 0; i < r->nobjs; i++) {
    free(r->objs[i].type);
    free(r->objs[i].name);
    free(r->objs[i].sql);
  }
  free(r->objs);
  r->objs = NULL;
  r->nobjs = 0;
}
