/*
** dialect_common.c: SQL spelling shared by every dialect: identifier and
** literal quoting, portable type parsing, foreign-key clauses. Pure C; no
** connection, no Lua.
*/
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect.h"

/* Append one identifier part of n bytes, wrapped in '"' with '"' doubled. */
static void quote_part(struct lm_sqlbuf *sb, const char *s, size_t n) {
  size_t i, start = 0;
  lm_sb_addc(sb, '"');
  for (i = 0; i < n; i++) {
    if (s[i] == '"') {
      lm_sb_addn(sb, s + start, i - start + 1);
      lm_sb_addc(sb, '"');
      start = i + 1;
    }
  }
  lm_sb_addn(sb, s + start, n - start);
  lm_sb_addc(sb, '"');
}

void lm_dialect_quote_ident_std(struct lm_sqlbuf *sb, const char *name) {
  const char *dot;
  while ((dot = strchr(name, '.')) != NULL) {
    quote_part(sb, name, (size_t)(dot - name));
    lm_sb_addc(sb, '.');
    name = dot + 1;
  }
  quote_part(sb, name, strlen(name));
}

/* Append d in the shortest %.{15,16,17}g form that reads back as d, with
** ".0" added when it would otherwise read back as an integer. */
static void add_float(struct lm_sqlbuf *sb, double d) {
  char buf[64];
  int prec;
  if (isnan(d)) {
    lm_sb_add(sb, "NULL");
    return;
  }
  if (isinf(d)) {
    lm_sb_add(sb, d > 0 ? "1e999" : "-1e999");
    return;
  }
  for (prec = 15; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  lm_sb_add(sb, buf);
  if (strpbrk(buf, ".eE") == NULL) lm_sb_add(sb, ".0");
}

void lm_dialect_quote_literal_std(struct lm_sqlbuf *sb,
                                  const struct lm_value *v,
                                  const char *btrue, const char *bfalse) {
  static const char hex[] = "0123456789ABCDEF";
  size_t i, start;
  switch (v->type) {
    case LM_VNULL:
      lm_sb_add(sb, "NULL");
      break;
    case LM_VINT:
      lm_sb_printf(sb, "%lld", v->i);
      break;
    case LM_VFLOAT:
      add_float(sb, v->f);
      break;
    case LM_VBOOL:
      lm_sb_add(sb, v->i ? btrue : bfalse);
      break;
    case LM_VTEXT:
      lm_sb_addc(sb, '\'');
      for (i = start = 0; i < v->n; i++) {
        if (v->s[i] == '\'') {
          lm_sb_addn(sb, v->s + start, i - start + 1);
          lm_sb_addc(sb, '\'');
          start = i + 1;
        }
      }
      lm_sb_addn(sb, v->s + start, v->n - start);
      lm_sb_addc(sb, '\'');
      break;
    case LM_VBLOB:
      lm_sb_add(sb, "X'");
      for (i = 0; i < v->n; i++) {
        unsigned char c = (unsigned char)v->s[i];
        lm_sb_addc(sb, hex[c >> 4]);
        lm_sb_addc(sb, hex[c & 15]);
      }
      lm_sb_addc(sb, '\'');
      break;
  }
}

/* Parse a decimal argument at *p (spaces allowed around); 0 on success. */
static int parse_arg(const char **p, long *out) {
  const char *s = *p;
  char *end;
  while (*s == ' ') s++;
  if (!isdigit((unsigned char)*s)) return 1;
  *out = strtol(s, &end, 10);
  s = end;
  while (*s == ' ') s++;
  *p = s;
  return 0;
}

int lm_dialect_parse_type(const char *type, struct lm_type_spec *out) {
  const char *p = type;
  size_t n = 0;
  memset(out, 0, sizeof *out);
  if (!isalpha((unsigned char)*p)) return 0;
  while (isalnum((unsigned char)*p) || *p == '_') {
    if (n + 1 >= sizeof out->base) return 0;
    out->base[n++] = (char)tolower((unsigned char)*p);
    p++;
  }
  out->base[n] = '\0';
  while (*p == ' ') p++;
  if (*p == '\0') return 1;
  if (*p != '(') return 0;
  p++;
  for (;;) {
    if (out->nargs == 2) return 0;
    if (parse_arg(&p, &out->args[out->nargs])) return 0;
    out->nargs++;
    if (*p == ',') {
      p++;
      continue;
    }
    if (*p != ')') return 0;
    p++;
    break;
  }
  while (*p == ' ') p++;
  return *p == '\0';
}

const char *lm_dialect_fk_action(const char *action) {
  static const char *const actions[] = {
    "CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION", NULL
  };
  char norm[16];
  size_t n = 0;
  int i, space = 0;
  for (; *action; action++) {
    if (*action == ' ' || *action == '\t' || *action == '_') {
      space = n > 0;
      continue;
    }
    if (n + 2 >= sizeof norm) return NULL;
    if (space) norm[n++] = ' ';
    space = 0;
    norm[n++] = (char)toupper((unsigned char)*action);
  }
  norm[n] = '\0';
  for (i = 0; actions[i]; i++)
    if (strcmp(norm, actions[i]) == 0) return actions[i];
  return NULL;
}

int lm_dialect_render_references(const struct lm_dialect *d,
                                 struct lm_sqlbuf *sb,
                                 const struct lm_column *col,
                                 struct lm_err *err) {
  const char *ref = col->references, *dot, *ondel = NULL, *onupd = NULL;
  char table[512];
  size_t tn;
  if (ref == NULL) {
    if (col->on_delete || col->on_update)
      return lm_err_set(err, "column \"%s\": on_delete/on_update need "
                        "references = \"table.column\"", col->name);
    return 0;
  }
  dot = strrchr(ref, '.');
  if (dot == NULL || dot == ref || dot[1] == '\0')
    return lm_err_set(err, "column \"%s\": references = \"%s\" must be "
                      "\"table.column\"", col->name, ref);
  tn = (size_t)(dot - ref);
  if (tn >= sizeof table)
    return lm_err_set(err, "column \"%s\": references name too long",
                      col->name);
  if (col->on_delete && (ondel = lm_dialect_fk_action(col->on_delete)) == NULL)
    return lm_err_set(err, "column \"%s\": on_delete = \"%s\" is not one of "
                      "CASCADE, SET NULL, SET DEFAULT, RESTRICT, NO ACTION",
                      col->name, col->on_delete);
  if (col->on_update && (onupd = lm_dialect_fk_action(col->on_update)) == NULL)
    return lm_err_set(err, "column \"%s\": on_update = \"%s\" is not one of "
                      "CASCADE, SET NULL, SET DEFAULT, RESTRICT, NO ACTION",
                      col->name, col->on_update);
  memcpy(table, ref, tn);
  table[tn] = '\0';
  lm_sb_add(sb, " REFERENCES ");
  d->quote_ident(sb, table);
  lm_sb_add(sb, " (");
  d->quote_ident(sb, dot + 1);
  lm_sb_addc(sb, ')');
  if (ondel) lm_sb_printf(sb, " ON DELETE %s", ondel);
  if (onupd) lm_sb_printf(sb, " ON UPDATE %s", onupd);
  return 0;
}

void lm_dialect_render_collist(const struct lm_dialect *d,
                               struct lm_sqlbuf *sb,
                               const char *const *cols, int ncols) {
  int i;
  lm_sb_addc(sb, '(');
  for (i = 0; i < ncols; i++) {
    if (i) lm_sb_add(sb, ", ");
    d->quote_ident(sb, cols[i]);
  }
  lm_sb_addc(sb, ')');
}

void lm_dialect_render_index_cols(const struct lm_dialect *d,
                                  struct lm_sqlbuf *sb,
                                  const struct lm_index *ix) {
  int i;
  lm_sb_addc(sb, '(');
  for (i = 0; i < ix->ncols; i++) {
    if (i) lm_sb_add(sb, ", ");
    if (ix->is_expr && ix->is_expr[i])
      lm_sb_printf(sb, "(%s)", ix->cols[i]);
    else
      d->quote_ident(sb, ix->cols[i]);
  }
  lm_sb_addc(sb, ')');
}

int lm_dialect_create_table(struct lm_sqlbuf *sb,
                            const struct lm_create_table *t,
                            lm_render_column_fn render_column,
                            struct lm_err *err) {
  int i, npk = 0;
  if (t->ncols < 1)
    return lm_err_set(err, "a table needs at least one column");
  for (i = 0; i < t->ncols; i++)
    if (t->cols[i].primary_key) npk++;
  lm_sb_add(sb, "CREATE TABLE ");
  if (t->if_not_exists) lm_sb_add(sb, "IF NOT EXISTS ");
  lm_dialect_quote_ident_std(sb, t->name);
  lm_sb_add(sb, " (");
  for (i = 0; i < t->ncols; i++) {
    lm_sb_add(sb, i ? ",\n  " : "\n  ");
    if (render_column(sb, &t->cols[i], npk == 1, err)) return 1;
  }
  if (npk > 1) {
    int k = 0;
    lm_sb_add(sb, ",\n  PRIMARY KEY (");
    for (i = 0; i < t->ncols; i++) {
      if (!t->cols[i].primary_key) continue;
      if (k++) lm_sb_add(sb, ", ");
      lm_dialect_quote_ident_std(sb, t->cols[i].name);
    }
    lm_sb_addc(sb, ')');
  }
  lm_sb_add(sb, "\n)");
  return 0;
}

int lm_dialect_drop_table_std(struct lm_sqlbuf *sb, const char *table,
                              int if_exists, struct lm_err *err) {
  (void)err;
  lm_sb_add(sb, if_exists ? "DROP TABLE IF EXISTS " : "DROP TABLE ");
  lm_dialect_quote_ident_std(sb, table);
  return 0;
}

int lm_dialect_drop_column_std(struct lm_sqlbuf *sb, const char *table,
                               const char *column, struct lm_err *err) {
  (void)err;
  lm_sb_add(sb, "ALTER TABLE ");
  lm_dialect_quote_ident_std(sb, table);
  lm_sb_add(sb, " DROP COLUMN ");
  lm_dialect_quote_ident_std(sb, column);
  return 0;
}

int lm_dialect_version_table_std(struct lm_sqlbuf *sb, const char *table,
                                 struct lm_err *err) {
  (void)err;
  lm_sb_add(sb, "CREATE TABLE IF NOT EXISTS ");
  lm_dialect_quote_ident_std(sb, table);
  lm_sb_add(sb, " (\n  \"version_num\" VARCHAR(64) NOT NULL PRIMARY KEY\n)");
  return 0;
}

void lm_dialect_history_table(struct lm_sqlbuf *sb, const char *table,
                              const char *id_column) {
  lm_sb_add(sb, "CREATE TABLE IF NOT EXISTS ");
  lm_dialect_quote_ident_std(sb, table);
  lm_sb_printf(sb, " (\n"
               "  \"id\" %s,\n"
               "  \"revision\" VARCHAR(64) NOT NULL,\n"
               "  \"direction\" VARCHAR(16) NOT NULL,\n"
               "  \"checksum\" VARCHAR(64),\n"
               "  \"started_at\" VARCHAR(32) NOT NULL,\n"
               "  \"duration_ms\" INTEGER,\n"
               "  \"run_by\" VARCHAR(255),\n"
               "  \"outcome\" VARCHAR(16) NOT NULL,\n"
               "  \"message\" TEXT\n"
               ")", id_column);
}

/* *out = the canonical spelling of action (NULL when action is NULL);
** non-zero with err filled when it is not a foreign-key action. */
static int fk_action(const char *what, const char *action, const char **out,
                     struct lm_err *err) {
  *out = NULL;
  if (action == NULL) return 0;
  if ((*out = lm_dialect_fk_action(action)) == NULL)
    return lm_err_set(err, "%s = \"%s\" is not one of CASCADE, SET NULL, "
                      "SET DEFAULT, RESTRICT, NO ACTION", what, action);
  return 0;
}

int lm_dialect_render_constraint(const struct lm_dialect *d,
                                 struct lm_sqlbuf *sb,
                                 const struct lm_alter *a,
                                 struct lm_err *err) {
  const char *ondel, *onupd;
  lm_sb_add(sb, "CONSTRAINT ");
  d->quote_ident(sb, a->name);
  switch (a->kind) {
  case LM_ALTER_ADD_FOREIGN_KEY:
    if (a->ncols != a->nref_cols)
      return lm_err_set(err, "a foreign key needs as many referenced columns "
                        "as local ones (%d local, %d referenced)", a->ncols,
                        a->nref_cols);
    if (fk_action("on_delete", a->on_delete, &ondel, err) ||
        fk_action("on_update", a->on_update, &onupd, err))
      return 1;
    lm_sb_add(sb, " FOREIGN KEY ");
    lm_dialect_render_collist(d, sb, a->cols, a->ncols);
    lm_sb_add(sb, " REFERENCES ");
    d->quote_ident(sb, a->ref_table);
    lm_sb_addc(sb, ' ');
    lm_dialect_render_collist(d, sb, a->ref_cols, a->nref_cols);
    if (ondel) lm_sb_printf(sb, " ON DELETE %s", ondel);
    if (onupd) lm_sb_printf(sb, " ON UPDATE %s", onupd);
    return 0;
  case LM_ALTER_ADD_UNIQUE:
    lm_sb_add(sb, " UNIQUE ");
    lm_dialect_render_collist(d, sb, a->cols, a->ncols);
    return 0;
  case LM_ALTER_ADD_PRIMARY_KEY:
    lm_sb_add(sb, " PRIMARY KEY ");
    lm_dialect_render_collist(d, sb, a->cols, a->ncols);
    return 0;
  case LM_ALTER_ADD_CHECK:
    lm_sb_printf(sb, " CHECK (%s)", a->check);
    return 0;
  default:
    return lm_err_set(err, "not a constraint");
  }
}

void lm_dialect_render_insert(const struct lm_dialect *d,
                              struct lm_sqlbuf *sb, const char *table,
                              const char *const *cols, int ncols, int nrows) {
  int r, c, k = 0;
  char num[16];
  lm_sb_add(sb, "INSERT INTO ");
  d->quote_ident(sb, table);
  lm_sb_addc(sb, ' ');
  lm_dialect_render_collist(d, sb, cols, ncols);
  lm_sb_add(sb, " VALUES ");
  for (r = 0; r < nrows; r++) {
    lm_sb_add(sb, r ? ", (" : "(");
    for (c = 0; c < ncols; c++) {
      int n = snprintf(num, sizeof num, c ? ", $%d" : "$%d", ++k);
      lm_sb_addn(sb, num, (size_t)n);
    }
    lm_sb_addc(sb, ')');
  }
}

void lm_dialect_sqlf(const struct lm_dialect *d, struct lm_sqlbuf *sb,
                     const char *fmt, ...) {
  va_list ap;
  const char *p = fmt, *pct;
  va_start(ap, fmt);
  while ((pct = strchr(p, '%')) != NULL) {
    lm_sb_addn(sb, p, (size_t)(pct - p));
    switch (pct[1]) {
    case 'I': d->quote_ident(sb, va_arg(ap, const char *)); break;
    case 's': lm_sb_add(sb, va_arg(ap, const char *)); break;
    case 'd': lm_sb_printf(sb, "%d", va_arg(ap, int)); break;
    case '%': lm_sb_addc(sb, '%'); break;
    default: abort();              /* a caller's bug, never user input */
    }
    p = pct + 2;
  }
  lm_sb_add(sb, p);
  va_end(ap);
}
