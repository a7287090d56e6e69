/*
** sqlite_rebuild_edit.c: the alterations of a table rebuild applied to
** its parsed CREATE TABLE (r->t, sqlite_ddl_parse.h) before the new
** table is created: alter_column (type, nullability, default, using),
** add_column, drop_column, the add_* constraints and drop_constraint.
** Only what an alteration touches changes; every other column and
** constraint keeps its original text. Column renames have already run
** (ALTER TABLE RENAME COLUMN) when this runs, so a column an alteration
** names is looked up by its name after those renames. Dropping a column
** drops, with a warning in r->warnings, the CHECK and table constraints
** that use it; dropping the only column, a primary-key column or one a
** generated column is computed from is an error.
*/
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dialect.h"
#include "sqlite_ddl_parse.h"
#include "sqlite_rebuild_int.h"

/* The name a column given as `name` in alters[i] has after every rename
** from alters[i] on (renames have already run when edits are applied). */
static const char *final_name(const struct lm_rb *r, const char *name, int i) {
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

static int need_col(struct lm_rb *r, const char *name) {
  int i = name ? find_col(&r->t, name) : -1;
  if (i < 0)
    lm_err_set(r->err, "table \"%s\" has no column \"%s\"", r->table,
               name ? name : "(none given)");
  return i;
}

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

static int alter_column(struct lm_rb *r, int ai) {
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
  lm_rb_oom(r);
fail:
  lm_sb_free(&sb);
  return 1;
}

static int add_column(struct lm_rb *r, const struct lm_alter *a) {
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
    return lm_rb_oom(r);
  }
  if (lm_ddl_parse_table(lm_sb_str(&sb), &one, r->err)) {
    lm_sb_free(&sb);
    return 1;
  }
  lm_sb_free(&sb);
  c = lm_ddl_table_add_col(&r->t);
  if (c == NULL) {
    lm_ddl_table_free(&one);
    return lm_rb_oom(r);
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

static int drop_column(struct lm_rb *r, int ai) {
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
static int col_list(struct lm_rb *r, struct lm_sqlbuf *sb,
                    const char *const *cols, int ncols, int check, int ai) {
  int i;
  lm_sb_addc(sb, '(');
  for (i = 0; i < ncols; i++) {
    const char *name = check ? final_name(r, cols[i], ai) : cols[i];
    if (check && need_col(r, name) < 0) return 1;
    if (i) lm_sb_add(sb, ", ");
    lm_rb_ident(sb, name);
  }
  lm_sb_addc(sb, ')');
  return 0;
}

static int add_constraint(struct lm_rb *r, int ai) {
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
    lm_rb_ident(&sb, a->name);
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
      lm_rb_ident(&sb, a->ref_table);
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
    lm_rb_oom(r);
    goto done;
  }
  ret = 0;
done:
  lm_sb_free(&sb);
  return ret;
}

static int drop_constraint(struct lm_rb *r, const struct lm_alter *a) {
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
int lm_rb_edit_model(struct lm_rb *r) {
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
