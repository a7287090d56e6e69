/*
** sqlite_rebuild.c: SQLite's 12-step table rebuild (lang_altertable.html,
** "Making Other Kinds Of Table Schema Changes") for alterations ALTER
** TABLE cannot make; see sqlite_rebuild.h. Pure C over the backend vtable.
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
**  - step 4: the CREATE TABLE text is edited (sqlite_ddl_parse.c) and run
**    as "lm_new_<table>"; step 5 copies every row (with its rowid when the
**    rowid is not an INTEGER PRIMARY KEY column); AUTOINCREMENT's
**    sqlite_sequence row is carried over so ids are never reused;
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

#include "dialect.h"
#include "sqlite_ddl_parse.h"
#include "sqlite_rebuild.h"
#include "url.h"

#define NEW_PREFIX "lm_new_"
#define FK_SHOW 5

/* A schema object read from sqlite_master. */
struct sobj {
  char *type;    /* owned; "index", "trigger", "view" */
  char *name;    /* owned */
  char *sql;     /* owned */
  int ok;        /* views: 1 when the view worked before the rebuild */
};

struct rb {
  struct lm_conn *c;           /* borrowed; where statements run */
  struct lm_conn *sdb;         /* where the schema is read: c, or scratch */
  struct lm_conn *scratch;     /* owned; in-memory copy (offline), or NULL */
  const char *table;           /* borrowed; as the caller named it */
  const struct lm_alter *alters;
  int n;
  struct lm_sqlbuf *warnings;  /* borrowed */
  struct lm_err *err;          /* borrowed */
  struct lm_ddl_table t;       /* owned; the model being edited */
  struct sobj *objs;           /* owned; indexes, triggers, views */
  int nobjs;
};

/* Append name as one quoted identifier ('"' doubled). Unlike the
** dialect's quote_ident it never splits at '.': a SQLite column may be
** named "a.b". */
static void ident(struct lm_sqlbuf *sb, const char *name) {
  lm_sb_addc(sb, '"');
  for (; *name; name++) {
    if (*name == '"') lm_sb_addc(sb, '"');
    lm_sb_addc(sb, *name);
  }
  lm_sb_addc(sb, '"');
}

static int oom(struct rb *r) {
  return lm_err_set(r->err, "out of memory");
}

/* Run sql (params bound) on conn; on error prefix the message. */
static int run_on(struct rb *r, struct lm_conn *conn, const char *sql,
                  int np, const struct lm_value *p) {
  if (conn->be->exec(conn, sql, np, p, NULL, r->err) == 0) return 0;
  return lm_err_prefix(r->err, "rebuilding table \"%s\"", r->table);
}

static int run_sb(struct rb *r, struct lm_sqlbuf *sb) {
  if (!lm_sb_ok(sb)) return oom(r);
  return run_on(r, r->c, lm_sb_str(sb), 0, NULL);
}

static struct lm_value text_value(const char *s) {
  struct lm_value v;
  memset(&v, 0, sizeof v);
  v.type = LM_VTEXT;
  v.s = s;
  v.n = strlen(s);
  return v;
}

static char *dup_value(const struct lm_value *v) {
  char *s;
  if (v->type != LM_VTEXT) return strdup("");
  s = malloc(v->n + 1);
  if (s == NULL) return NULL;
  memcpy(s, v->s, v->n);
  s[v->n] = '\0';
  return s;
}

/* The name a column given as `name` in alters[i] has after every rename
** from alters[i] on (renames have already run when edits are applied). */
static const char *final_name(const struct rb *r, const char *name, int i) {
  for (; i < r->n; i++) {
    const struct lm_alter *a = &r->alters[i];
    if (a->kind == LM_ALTER_COLUMN && a->new_name && a->column &&
        strcasecmp(a->column, name) == 0)
      name = a->new_name;
  }
  return name;
}

static int find_col(const struct lm_ddl_table *t, const char *name) {
  int i;
  for (i = 0; i < t->ncols; i++)
    if (!t->cols[i].dropped && strcasecmp(t->cols[i].name, name) == 0)
      return i;
  return -1;
}

static int need_col(struct rb *r, const char *name) {
  int i = name ? find_col(&r->t, name) : -1;
  if (i < 0)
    lm_err_set(r->err, "table \"%s\" has no column \"%s\"", r->table,
               name ? name : "(none given)");
  return i;
}

/* ---- reading the schema ----------------------------------------------- */

/* Read the table's stored name and CREATE TABLE text from r->sdb into
** *name and *sql (malloc'd, caller frees). */
static int read_table_sql(struct rb *r, char **name, char **sql) {
  struct lm_conn *s = r->sdb;
  struct lm_cursor *cur = NULL;
  struct lm_value p = text_value(r->table), v;
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
  *name = dup_value(&v);
  s->be->cursor_value(cur, 1, &v);
  *sql = dup_value(&v);
  if (*name == NULL || *sql == NULL) {
    oom(r);
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

/* 1 when the view `name` can be queried on conn, 0 when not. */
static int view_works(struct lm_conn *conn, const char *name) {
  struct lm_sqlbuf sb;
  struct lm_cursor *cur = NULL;
  struct lm_err e;
  int ok;
  lm_sb_init(&sb);
  lm_sb_add(&sb, "SELECT * FROM ");
  ident(&sb, name);
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
static int read_objects(struct rb *r) {
  struct lm_conn *s = r->sdb;
  struct lm_cursor *cur = NULL;
  struct lm_value p = text_value(r->t.name), v;
  int rc, cap = 0, i, j, changed, ret = 1;
  if (s->be->query(s, "SELECT type, name, tbl_name, sql FROM sqlite_master "
                   "WHERE sql IS NOT NULL AND ((type IN ('index', 'trigger') "
                   "AND tbl_name = $1 COLLATE NOCASE) OR type = 'view') "
                   "ORDER BY rowid", 1, &p, &cur, r->err))
    goto done;
  while ((rc = s->be->cursor_step(cur, r->err)) == 1) {
    struct sobj *o;
    if (r->nobjs == cap) {
      int ncap = cap ? cap * 2 : 16;
      struct sobj *no = realloc(r->objs, (size_t)ncap * sizeof *no);
      if (no == NULL) {
        oom(r);
        goto done;
      }
      r->objs = no;
      cap = ncap;
    }
    o = &r->objs[r->nobjs++];
    memset(o, 0, sizeof *o);
    s->be->cursor_value(cur, 0, &v);
    o->type = dup_value(&v);
    s->be->cursor_value(cur, 1, &v);
    o->name = dup_value(&v);
    s->be->cursor_value(cur, 3, &v);
    o->sql = dup_value(&v);
    if (!o->type || !o->name || !o->sql) {
      oom(r);
      goto done;
    }
  }
  if (rc < 0) goto done;
  /* keep only the views that use the table, directly or through views */
  for (i = 0; i < r->nobjs; i++) r->objs[i].ok = -1;
  do {
    changed = 0;
    for (i = 0; i < r->nobjs; i++) {
      struct sobj *o = &r->objs[i];
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
    struct sobj *o = &r->objs[i];
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

/* ---- editing the model ------------------------------------------------ */

/* Append a DEFAULT clause for a server_default SQL expression: a plain
** literal or keyword as written, anything else in parentheses. */
static void default_clause(struct lm_sqlbuf *sb, const char *expr) {
  static const char *const kws[] = {
    "NULL", "TRUE", "FALSE", "CURRENT_TIMESTAMP", "CURRENT_DATE",
    "CURRENT_TIME", NULL
  };
  struct lm_tok *tk;
  int n, plain = 0, k;
  if (lm_sql_tokenize(expr, &tk, &n, NULL) == 0) {
    int i = 0;
    if (n == 2 && tk[0].type == LM_TK_PUNCT &&
        (expr[tk[0].off] == '-' || expr[tk[0].off] == '+'))
      i = 1;
    if (n == i + 1) {
      if (tk[i].type == LM_TK_NUMBER) plain = 1;
      else if (i == 0 && tk[i].type == LM_TK_STRING) plain = 1;
      else if (i == 0 && tk[i].type == LM_TK_WORD)
        for (k = 0; kws[k]; k++)
          if (tk[i].len == strlen(kws[k]) &&
              strncasecmp(expr + tk[i].off, kws[k], tk[i].len) == 0)
            plain = 1;
    }
    free(tk);
  }
  lm_sb_add(sb, "DEFAULT ");
  if (plain) {
    lm_sb_add(sb, expr);
    return;
  }
  lm_sb_addc(sb, '(');
  lm_sb_add(sb, expr);
  lm_sb_addc(sb, ')');
}

static void remove_clauses(struct lm_ddl_col *c, enum lm_clause_kind kind) {
  int i;
  for (i = c->ncl - 1; i >= 0; i--)
    if (c->cl[i].kind == kind) lm_ddl_col_remove_clause(c, i);
}

static int has_clause(const struct lm_ddl_col *c, enum lm_clause_kind kind) {
  int i;
  for (i = 0; i < c->ncl; i++)
    if (c->cl[i].kind == kind) return 1;
  return 0;
}

static int alter_column(struct rb *r, int ai) {
  const struct lm_alter *a = &r->alters[ai];
  struct lm_sqlbuf sb;
  struct lm_ddl_col *c;
  int i;
  i = need_col(r, a->column ? final_name(r, a->column, ai) : NULL);
  if (i < 0) return 1;
  c = &r->t.cols[i];
  lm_sb_init(&sb);
  if (a->type != NULL) {
    struct lm_column tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.name = c->name;
    tmp.type = a->type;
    if (r->c->dialect->map_type(&sb, &tmp, r->err)) goto fail;
    if (!lm_sb_ok(&sb)) goto nomem;
    free(c->type);
    c->type = strdup(lm_sb_str(&sb));
    free(c->orig);
    c->orig = NULL;
    if (c->type == NULL) goto nomem;
  }
  if (a->nullable == 0 && !has_clause(c, LM_CL_NOTNULL) &&
      lm_ddl_col_add_clause(c, LM_CL_NOTNULL, "NOT NULL"))
    goto nomem;
  if (a->nullable == 1) remove_clauses(c, LM_CL_NOTNULL);
  if (a->set_default != 0) remove_clauses(c, LM_CL_DEFAULT);
  if (a->set_default == 1) {
    if (a->server_default == NULL) {
      lm_err_set(r->err, "column \"%s\": setting a default needs "
                 "server_default", c->name);
      goto fail;
    }
    lm_sb_reset(&sb);
    default_clause(&sb, a->server_default);
    if (!lm_sb_ok(&sb) || lm_ddl_col_add_clause(c, LM_CL_DEFAULT,
                                                lm_sb_str(&sb)))
      goto nomem;
  }
  if (a->using_expr != NULL) {
    free(c->copy_expr);
    c->copy_expr = strdup(a->using_expr);
    if (c->copy_expr == NULL) goto nomem;
  }
  lm_sb_free(&sb);
  return 0;
nomem:
  oom(r);
fail:
  lm_sb_free(&sb);
  return 1;
}

static int add_column(struct rb *r, const struct lm_alter *a) {
  struct lm_create_table ct;
  struct lm_ddl_table one;
  struct lm_sqlbuf sb;
  struct lm_ddl_col *c;
  if (a->add == NULL || a->add->name == NULL)
    return lm_err_set(r->err, "add_column needs a column");
  if (find_col(&r->t, a->add->name) >= 0)
    return lm_err_set(r->err, "table \"%s\" already has a column \"%s\"",
                      r->table, a->add->name);
  memset(&ct, 0, sizeof ct);
  ct.name = "x";
  ct.cols = a->add;
  ct.ncols = 1;
  lm_sb_init(&sb);
  if (r->c->dialect->render_create_table(&sb, &ct, r->err)) {
    lm_sb_free(&sb);
    return 1;
  }
  if (!lm_sb_ok(&sb)) {
    lm_sb_free(&sb);
    return oom(r);
  }
  if (lm_ddl_parse_table(lm_sb_str(&sb), &one, r->err)) {
    lm_sb_free(&sb);
    return 1;
  }
  lm_sb_free(&sb);
  c = lm_ddl_table_add_col(&r->t);
  if (c == NULL) {
    lm_ddl_table_free(&one);
    return oom(r);
  }
  *c = one.cols[0];          /* take over the parsed column's strings */
  c->from_old = 0;
  one.ncols = 0;
  lm_ddl_table_free(&one);
  return 0;
}

/* Describe table constraint tc for a warning: its name, else its text. */
static void tc_desc(struct lm_sqlbuf *sb, const struct lm_ddl_tcons *tc) {
  if (tc->name) lm_sb_printf(sb, "constraint \"%s\"", tc->name);
  else lm_sb_printf(sb, "constraint %s", tc->text);
}

static int tc_uses(const struct lm_ddl_tcons *tc, const char *col) {
  int i;
  if (tc->kind == LM_TC_CHECK) return lm_sql_mentions(tc->text, 0, col) == 1;
  for (i = 0; i < tc->ncols; i++)
    if (strcasecmp(tc->cols[i], col) == 0) return 1;
  return 0;
}

static int drop_column(struct rb *r, int ai) {
  const struct lm_alter *a = &r->alters[ai];
  int i = need_col(r, a->column ? final_name(r, a->column, ai) : NULL), j, k;
  int left = 0;
  struct lm_ddl_col *c;
  if (i < 0) return 1;
  c = &r->t.cols[i];
  for (j = 0; j < r->t.ncols; j++) left += !r->t.cols[j].dropped;
  if (left == 1)
    return lm_err_set(r->err, "cannot drop column \"%s\": it is the only "
                      "column of table \"%s\"", c->name, r->table);
  if (has_clause(c, LM_CL_PRIMARY))
    return lm_err_set(r->err, "cannot drop column \"%s\": it is the primary "
                      "key of table \"%s\"", c->name, r->table);
  for (j = 0; j < r->t.ntc; j++) {
    struct lm_ddl_tcons *tc = &r->t.tc[j];
    if (tc->dropped || !tc_uses(tc, c->name)) continue;
    if (tc->kind == LM_TC_PRIMARY)
      return lm_err_set(r->err, "cannot drop column \"%s\": it is part of "
                        "the primary key of table \"%s\" (%s)", c->name,
                        r->table, tc->text);
  }
  for (j = 0; j < r->t.ncols; j++) {
    struct lm_ddl_col *o = &r->t.cols[j];
    if (j == i || o->dropped) continue;
    for (k = o->ncl - 1; k >= 0; k--) {
      if (lm_sql_mentions(o->cl[k].text, 0, c->name) != 1) continue;
      if (o->cl[k].kind == LM_CL_GENERATED)
        return lm_err_set(r->err, "cannot drop column \"%s\": generated "
                          "column \"%s\" is computed from it", c->name,
                          o->name);
      if (o->cl[k].kind == LM_CL_CHECK) {
        lm_sb_printf(r->warnings, "constraint %s of column \"%s\" dropped: "
                     "it uses column \"%s\", which was dropped\n",
                     o->cl[k].text, o->name, c->name);
        lm_ddl_col_remove_clause(o, k);
      }
    }
  }
  for (j = 0; j < r->t.ntc; j++) {
    struct lm_ddl_tcons *tc = &r->t.tc[j];
    if (tc->dropped || !tc_uses(tc, c->name)) continue;
    tc->dropped = 1;
    tc_desc(r->warnings, tc);
    lm_sb_printf(r->warnings, " dropped: it uses column \"%s\", which was "
                 "dropped\n", c->name);
  }
  c->dropped = 1;
  return 0;
}

/* 1 when the table has a primary key (column or table constraint). */
static int has_pk(const struct lm_ddl_table *t) {
  int i;
  for (i = 0; i < t->ncols; i++)
    if (!t->cols[i].dropped && has_clause(&t->cols[i], LM_CL_PRIMARY))
      return 1;
  for (i = 0; i < t->ntc; i++)
    if (!t->tc[i].dropped && t->tc[i].kind == LM_TC_PRIMARY) return 1;
  return 0;
}

/* 1 when some table or column constraint is named name. */
static int has_named(const struct lm_ddl_table *t, const char *name) {
  int i, j;
  for (i = 0; i < t->ntc; i++)
    if (!t->tc[i].dropped && t->tc[i].name &&
        strcasecmp(t->tc[i].name, name) == 0)
      return 1;
  for (i = 0; i < t->ncols; i++)
    for (j = 0; j < t->cols[i].ncl; j++)
      if (!t->cols[i].dropped && t->cols[i].cl[j].name &&
          strcasecmp(t->cols[i].cl[j].name, name) == 0)
        return 1;
  return 0;
}

/* Append "(a, b)" for names, each quoted; with check set, each must be a
** column of the table (final names after renames from alter ai). */
static int col_list(struct rb *r, struct lm_sqlbuf *sb, const char *const *cols,
                    int ncols, int check, int ai) {
  int i;
  lm_sb_addc(sb, '(');
  for (i = 0; i < ncols; i++) {
    const char *name = check ? final_name(r, cols[i], ai) : cols[i];
    if (check && need_col(r, name) < 0) return 1;
    if (i) lm_sb_add(sb, ", ");
    ident(sb, name);
  }
  lm_sb_addc(sb, ')');
  return 0;
}

static int add_constraint(struct rb *r, int ai) {
  const struct lm_alter *a = &r->alters[ai];
  struct lm_sqlbuf sb;
  enum lm_tcons_kind kind;
  const char *what = "constraint";
  int ret = 1;
  lm_sb_init(&sb);
  if (a->name && has_named(&r->t, a->name)) {
    lm_err_set(r->err, "table \"%s\" already has a constraint named \"%s\"",
               r->table, a->name);
    goto done;
  }
  if (a->name) {
    lm_sb_add(&sb, "CONSTRAINT ");
    ident(&sb, a->name);
    lm_sb_addc(&sb, ' ');
  }
  switch (a->kind) {
  case LM_ALTER_ADD_CHECK:
    kind = LM_TC_CHECK;
    if (a->check == NULL) {
      lm_err_set(r->err, "a check constraint needs an expression");
      goto done;
    }
    lm_sb_printf(&sb, "CHECK (%s)", a->check);
    break;
  case LM_ALTER_ADD_FOREIGN_KEY:
    kind = LM_TC_FOREIGN;
    what = "foreign key";
    if (a->ref_table == NULL) {
      lm_err_set(r->err, "a foreign key needs the referenced table");
      goto done;
    }
    /* fall through */
  default:
    if (a->kind == LM_ALTER_ADD_UNIQUE) kind = LM_TC_UNIQUE, what = "unique";
    if (a->kind == LM_ALTER_ADD_PRIMARY_KEY) {
      kind = LM_TC_PRIMARY;
      what = "primary key";
      if (has_pk(&r->t)) {
        lm_err_set(r->err, "table \"%s\" already has a primary key; drop it "
                   "first (in the same revision)", r->table);
        goto done;
      }
    }
    if (a->ncols < 1) {
      lm_err_set(r->err, "a %s constraint needs at least one column", what);
      goto done;
    }
    lm_sb_add(&sb, kind == LM_TC_FOREIGN ? "FOREIGN KEY " :
                   kind == LM_TC_UNIQUE ? "UNIQUE " : "PRIMARY KEY ");
    if (col_list(r, &sb, a->cols, a->ncols, 1, ai)) goto done;
    if (kind == LM_TC_FOREIGN) {
      const char *acts[2], *words[2] = { "DELETE", "UPDATE" };
      int k;
      acts[0] = a->on_delete;
      acts[1] = a->on_update;
      lm_sb_add(&sb, " REFERENCES ");
      ident(&sb, a->ref_table);
      if (a->nref_cols > 0) {
        lm_sb_addc(&sb, ' ');
        col_list(r, &sb, a->ref_cols, a->nref_cols, 0, ai);
      }
      for (k = 0; k < 2; k++) {
        const char *act;
        if (acts[k] == NULL) continue;
        act = lm_dialect_fk_action(acts[k]);
        if (act == NULL) {
          lm_err_set(r->err, "unknown ON %s action \"%s\" (use CASCADE, SET "
                     "NULL, SET DEFAULT, RESTRICT or NO ACTION)", words[k],
                     acts[k]);
          goto done;
        }
        lm_sb_printf(&sb, " ON %s %s", words[k], act);
      }
    }
    break;
  }
  if (!lm_sb_ok(&sb) ||
      lm_ddl_table_add_tcons(&r->t, kind, a->name, lm_sb_str(&sb))) {
    oom(r);
    goto done;
  }
  ret = 0;
done:
  lm_sb_free(&sb);
  return ret;
}

static int drop_constraint(struct rb *r, const struct lm_alter *a) {
  struct lm_sqlbuf names;
  int i, j, found = 0, count = 0;
  if (a->name == NULL)
    return lm_err_set(r->err, "drop_constraint needs the constraint's name");
  for (i = 0; i < r->t.ntc; i++) {
    struct lm_ddl_tcons *tc = &r->t.tc[i];
    if (!tc->dropped && tc->name && strcasecmp(tc->name, a->name) == 0)
      tc->dropped = found = 1;
  }
  for (i = 0; i < r->t.ncols; i++)
    for (j = r->t.cols[i].ncl - 1; j >= 0; j--)
      if (!r->t.cols[i].dropped && r->t.cols[i].cl[j].name &&
          strcasecmp(r->t.cols[i].cl[j].name, a->name) == 0) {
        lm_ddl_col_remove_clause(&r->t.cols[i], j);
        found = 1;
      }
  if (found) return 0;
  lm_sb_init(&names);
  for (i = 0; i < r->t.ntc; i++)
    if (!r->t.tc[i].dropped && r->t.tc[i].name)
      lm_sb_printf(&names, "%s\"%s\"", count++ ? ", " : "", r->t.tc[i].name);
  for (i = 0; i < r->t.ncols; i++)
    for (j = 0; j < r->t.cols[i].ncl; j++)
      if (!r->t.cols[i].dropped && r->t.cols[i].cl[j].name)
        lm_sb_printf(&names, "%s\"%s\"", count++ ? ", " : "",
                     r->t.cols[i].cl[j].name);
  if (count)
    lm_err_set(r->err, "table \"%s\" has no constraint named \"%s\" (its "
               "named constraints: %s; unnamed constraints cannot be dropped "
               "by name)", r->table, a->name, lm_sb_str(&names));
  else
    lm_err_set(r->err, "table \"%s\" has no constraint named \"%s\" (it has "
               "no named constraints; unnamed constraints cannot be dropped "
               "by name)", r->table, a->name);
  lm_sb_free(&names);
  return 1;
}

/* Apply every alteration except the renames (already run) to r->t. */
static int edit_model(struct rb *r) {
  int i, rc = 0;
  for (i = 0; i < r->n && rc == 0; i++) {
    const struct lm_alter *a = &r->alters[i];
    switch (a->kind) {
    case LM_ALTER_COLUMN:
      rc = alter_column(r, i);
      break;
    case LM_ALTER_ADD_COLUMN:
      rc = add_column(r, a);
      break;
    case LM_ALTER_DROP_COLUMN:
      rc = drop_column(r, i);
      break;
    case LM_ALTER_ADD_FOREIGN_KEY:
    case LM_ALTER_ADD_UNIQUE:
    case LM_ALTER_ADD_CHECK:
    case LM_ALTER_ADD_PRIMARY_KEY:
      rc = add_constraint(r, i);
      break;
    case LM_ALTER_DROP_CONSTRAINT:
      rc = drop_constraint(r, a);
      break;
    default:
      rc = lm_err_set(r->err, "unknown table alteration %d", (int)a->kind);
    }
  }
  if (rc) lm_err_prefix(r->err, "rebuilding table \"%s\"", r->table);
  return rc;
}

/* ---- the steps ---------------------------------------------------------- */

/* The column renames, in order, as ALTER TABLE RENAME COLUMN on the
** database (and on the scratch copy offline, so that its text is read
** back renamed). Sets *only_renames when nothing else is asked for. */
static int run_renames(struct rb *r, int *only_renames) {
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
    ident(&sb, r->table);
    lm_sb_add(&sb, " RENAME COLUMN ");
    ident(&sb, a->column);
    lm_sb_add(&sb, " TO ");
    ident(&sb, a->new_name);
    if (!lm_sb_ok(&sb)) ret = oom(r);
    else if (r->scratch &&
             run_on(r, r->scratch, lm_sb_str(&sb), 0, NULL) != 0) ret = 1;
    else ret = run_sb(r, &sb);
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
static int create_and_copy(struct rb *r, const char *newname) {
  struct lm_sqlbuf sb, dst, src;
  const char *rowid = NULL;
  int i, alias = 0, first = 1, ret = 1;
  lm_sb_init(&sb);
  lm_sb_init(&dst);
  lm_sb_init(&src);
  lm_ddl_table_render(&r->t, newname, &sb);
  if (run_sb(r, &sb)) goto done;
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
    ident(&dst, c->name);
    if (c->copy_expr) lm_sb_printf(&src, "(%s)", c->copy_expr);
    else ident(&src, c->name);
  }
  if (first) {     /* nothing to copy: no column of the old table is left */
    ret = 0;
    goto done;
  }
  lm_sb_reset(&sb);
  lm_sb_add(&sb, "INSERT INTO ");
  ident(&sb, newname);
  lm_sb_printf(&sb, " (%s) SELECT %s FROM ", lm_sb_str(&dst), lm_sb_str(&src));
  ident(&sb, r->t.name);
  if (!lm_sb_ok(&dst) || !lm_sb_ok(&src)) {
    oom(r);
    goto done;
  }
  ret = run_sb(r, &sb);
done:
  lm_sb_free(&sb);
  lm_sb_free(&dst);
  lm_sb_free(&src);
  return ret;
}

/* Before the old table is dropped (which deletes its sqlite_sequence row):
** give its AUTOINCREMENT counter to the new table, so that no id is ever
** handed out twice. */
static int move_sequence(struct rb *r, const char *newname) {
  struct lm_value p[2];
  p[0] = text_value(r->t.name);
  p[1] = text_value(newname);
  if (!has_autoincrement(&r->t)) return 0;
  return run_on(r, r->c,
                "UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT "
                "seq FROM sqlite_sequence WHERE name = $2), 0)) WHERE name = "
                "$1;\nDELETE FROM sqlite_sequence WHERE name = $2;\n"
                "UPDATE sqlite_sequence SET name = $2 WHERE name = $1",
                2, p);
}

/* Read an integer PRAGMA into *v; offline (no queries) *v = dflt. */
static int pragma_int(struct rb *r, const char *sql, long long dflt,
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
static int swap_tables(struct rb *r, const char *newname) {
  struct lm_sqlbuf sb;
  long long legacy;
  int ret = 1, set = 0;
  lm_sb_init(&sb);
  lm_sb_add(&sb, "DROP TABLE ");
  ident(&sb, r->t.name);
  if (run_sb(r, &sb)) goto done;
  if (pragma_int(r, "PRAGMA legacy_alter_table", 0, &legacy)) goto done;
  if (!legacy) {
    if (run_on(r, r->c, "PRAGMA legacy_alter_table = ON", 0, NULL)) goto done;
    set = 1;
  }
  lm_sb_reset(&sb);
  lm_sb_add(&sb, "ALTER TABLE ");
  ident(&sb, newname);
  lm_sb_add(&sb, " RENAME TO ");
  ident(&sb, r->t.name);
  if (run_sb(r, &sb)) goto done;
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

/* The first dropped column of the old table that sql mentions at or after
** offset `from`, or NULL. */
static const char *uses_dropped(const struct rb *r, const char *sql,
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
static int recreate_objects(struct rb *r) {
  struct lm_sqlbuf sb;
  int i, ret = 1;
  lm_sb_init(&sb);
  for (i = 0; i < r->nobjs; i++) {
    const struct sobj *o = &r->objs[i];
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
    if (run_on(r, r->c, o->sql, 0, NULL)) goto done;
  }
  if (!r->c->be->is_offline) {
    for (i = 0; i < r->nobjs; i++) {
      const struct sobj *o = &r->objs[i];
      if (strcmp(o->type, "view") != 0 || !o->ok || view_works(r->c, o->name))
        continue;
      lm_sb_reset(&sb);
      lm_sb_add(&sb, "DROP VIEW ");
      ident(&sb, o->name);
      if (run_sb(r, &sb)) goto done;
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

/* Step 10: PRAGMA foreign_key_check on the table; violations are an error
** naming the first few rows. */
static int fk_check(struct rb *r) {
  struct lm_sqlbuf sb, rows;
  struct lm_cursor *cur = NULL;
  int rc, count = 0, ret = 1;
  if (r->c->be->is_offline) return 0;
  lm_sb_init(&sb);
  lm_sb_init(&rows);
  lm_sb_add(&sb, "PRAGMA foreign_key_check(");
  ident(&sb, r->t.name);
  lm_sb_addc(&sb, ')');
  if (!lm_sb_ok(&sb)) {
    oom(r);
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
static int open_scratch(struct rb *r, const char *copy_from) {
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
  struct rb r;
  struct lm_sqlbuf newname;
  char *name = NULL, *sql = NULL;
  int only_renames, i, ret = 1;

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
  if (read_objects(&r)) goto done;
  if (edit_model(&r)) goto done;
  lm_sb_add(&newname, NEW_PREFIX);
  lm_sb_add(&newname, r.t.name);
  if (!lm_sb_ok(&newname)) {
    oom(&r);
    goto done;
  }
  if (create_and_copy(&r, lm_sb_str(&newname))) goto done;
  if (move_sequence(&r, lm_sb_str(&newname))) goto done;
  if (swap_tables(&r, lm_sb_str(&newname))) goto done;
  if (recreate_objects(&r)) goto done;
  if (fk_check(&r)) goto done;
  if (c->be->is_offline)
    lm_sb_printf(warnings, "table \"%s\" rebuilt offline: only the indexes "
                 "and triggers given in copy_from were re-created, views that "
                 "use the table were not checked, and the script must run "
                 "with foreign_keys off (the sqlite3 default), or DROP TABLE "
                 "cascades to child rows\n", r.t.name);
  ret = 0;
done:
  for (i = 0; i < r.nobjs; i++) {
    free(r.objs[i].type);
    free(r.objs[i].name);
    free(r.objs[i].sql);
  }
  free(r.objs);
  lm_ddl_table_free(&r.t);
  if (r.scratch) r.scratch->be->close(r.scratch);
  lm_sb_free(&newname);
  free(name);
  free(sql);
  return ret;
}
