/*
** sqlite_ddl_parse.c: tokenizing SQLite SQL and splitting a CREATE TABLE
** statement into an editable model (see sqlite_ddl_parse.h). The parser
** follows SQLite's column-constraint grammar (lang_createtable.html) only
** as far as needed to find where each clause starts and ends; the text of
** every clause is kept verbatim.
*/
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dialect.h"
#include "sqlite_ddl_parse.h"

static int is_ident_start(int c) {
  return isalpha(c) || c == '_' || c >= 0x80;
}

static int is_ident_char(int c) {
  return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* Offset just past the quoted region opened at sql[i] by `q` and closed
** by `close` (a doubled closer is an escaped one, except for ']'); 0 when
** it is not terminated. */
static size_t skip_quoted(const char *sql, size_t i, char close) {
  size_t j = i + 1;
  for (;;) {
    if (sql[j] == '\0') return 0;
    if (sql[j] == close) {
      if (close != ']' && sql[j + 1] == close) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
}

int lm_sql_tokenize(const char *sql, struct lm_tok **out, int *n,
                    struct lm_err *err) {
  struct lm_tok *v = NULL;
  int cnt = 0, cap = 0;
  size_t i = 0;

  *out = NULL;
  *n = 0;
  while (sql[i] != '\0') {
    unsigned char ch = (unsigned char)sql[i];
    struct lm_tok t;
    size_t j;

    if (isspace(ch)) {
      i++;
      continue;
    }
    if (ch == '-' && sql[i + 1] == '-') {
      while (sql[i] != '\0' && sql[i] != '\n') i++;
      continue;
    }
    if (ch == '/' && sql[i + 1] == '*') {
      const char *e = strstr(sql + i + 2, "*/");
      if (e == NULL) {
        free(v);
        return lm_err_set(err, "unterminated /* comment in SQL");
      }
      i = (size_t)(e - sql) + 2;
      continue;
    }
    t.off = i;
    if ((ch == 'x' || ch == 'X') && sql[i + 1] == '\'') {
      j = skip_quoted(sql, i + 1, '\'');
      t.type = LM_TK_STRING;
    } else if (ch == '\'') {
      j = skip_quoted(sql, i, '\'');
      t.type = LM_TK_STRING;
    } else if (ch == '"' || ch == '`' || ch == '[') {
      j = skip_quoted(sql, i, ch == '[' ? ']' : (char)ch);
      t.type = LM_TK_QIDENT;
    } else if (isdigit(ch) ||
               (ch == '.' && isdigit((unsigned char)sql[i + 1]))) {
      j = i + 1;
      while (isalnum((unsigned char)sql[j]) || sql[j] == '.' ||
             ((sql[j] == '+' || sql[j] == '-') &&
              (sql[j - 1] == 'e' || sql[j - 1] == 'E') &&
              !(sql[i] == '0' && (sql[i + 1] == 'x' || sql[i + 1] == 'X'))))
        j++;
      t.type = LM_TK_NUMBER;
    } else if (is_ident_start(ch)) {
      j = i + 1;
      while (is_ident_char((unsigned char)sql[j])) j++;
      t.type = LM_TK_WORD;
    } else {
      j = i + 1;
      t.type = LM_TK_PUNCT;
    }
    if (j == 0) {
      free(v);
      return lm_err_set(err, "unterminated %s in SQL starting at \"%.20s\"",
                        ch == '\'' || ch == 'x' || ch == 'X' ? "string"
                                                             : "identifier",
                        sql + i);
    }
    t.len = j - i;
    if (cnt == cap) {
      int ncap = cap ? cap * 2 : 64;
      struct lm_tok *nv = realloc(v, (size_t)ncap * sizeof *nv);
      if (nv == NULL) {
        free(v);
        return lm_err_set(err, "out of memory");
      }
      v = nv;
      cap = ncap;
    }
    v[cnt++] = t;
    i = j;
  }
  *out = v;
  *n = cnt;
  return 0;
}

char *lm_sql_unquote(const char *sql, const struct lm_tok *t) {
  const char *s = sql + t->off;
  char *r = malloc(t->len + 1), q;
  size_t i, k = 0;
  if (r == NULL) return NULL;
  q = s[0];
  if (t->type == LM_TK_WORD || t->type == LM_TK_NUMBER ||
      t->type == LM_TK_PUNCT || t->len < 2 ||
      !(q == '"' || q == '`' || q == '[' || q == '\'')) {
    memcpy(r, s, t->len);
    r[t->len] = '\0';
    return r;
  }
  for (i = 1; i + 1 < t->len; i++) {
    r[k++] = s[i];
    if (q != '[' && s[i] == q && s[i + 1] == q) i++;
  }
  r[k] = '\0';
  return r;
}

/* 1 when token t (a WORD, QIDENT or STRING) names ident. */
static int tok_names(const char *sql, const struct lm_tok *t,
                     const char *ident) {
  size_t n = strlen(ident);
  char *u;
  int eq;
  if (t->type == LM_TK_WORD)
    return t->len == n && strncasecmp(sql + t->off, ident, n) == 0;
  if (t->type != LM_TK_QIDENT) return 0;
  u = lm_sql_unquote(sql, t);
  eq = u != NULL && strcasecmp(u, ident) == 0;
  free(u);
  return eq;
}

int lm_sql_mentions(const char *sql, size_t from, const char *ident) {
  struct lm_tok *tk;
  int n, i, found = 0;
  if (lm_sql_tokenize(sql, &tk, &n, NULL)) return -1;
  for (i = 0; i < n && !found; i++)
    if (tk[i].off >= from && tok_names(sql, &tk[i], ident)) found = 1;
  free(tk);
  return found;
}

/* ---- the CREATE TABLE parser ------------------------------------------ */

struct parser {
  const char *sql;
  struct lm_tok *tk;     /* owned; free */
  int n;
};

/* 1 when token i exists and is the keyword kw (case-insensitive). */
static int kw(const struct parser *p, int i, const char *k) {
  size_t n = strlen(k);
  return i >= 0 && i < p->n && p->tk[i].type == LM_TK_WORD &&
         p->tk[i].len == n && strncasecmp(p->sql + p->tk[i].off, k, n) == 0;
}

static int punct(const struct parser *p, int i, char c) {
  return i >= 0 && i < p->n && p->tk[i].type == LM_TK_PUNCT &&
         p->sql[p->tk[i].off] == c;
}

/* Index just past the parenthesised group opening at i (which must be
** '('), bounded by end; end when it is not closed. */
static int skip_group(const struct parser *p, int i, int end) {
  int depth = 0;
  for (; i < end; i++) {
    if (punct(p, i, '(')) depth++;
    else if (punct(p, i, ')') && --depth == 0) return i + 1;
  }
  return end;
}

/* Malloc'd copy of the text from the start of token a to the end of token
** b - 1 (inclusive range a..b-1); "" when b <= a. NULL on OOM. */
static char *span(const struct parser *p, int a, int b) {
  size_t s, e;
  char *r;
  if (b <= a) return strdup("");
  s = p->tk[a].off;
  e = p->tk[b - 1].off + p->tk[b - 1].len;
  r = malloc(e - s + 1);
  if (r == NULL) return NULL;
  memcpy(r, p->sql + s, e - s);
  r[e - s] = '\0';
  return r;
}

static char *text_between(const char *sql, size_t s, size_t e) {
  char *r = malloc(e - s + 1);
  if (r == NULL) return NULL;
  memcpy(r, sql + s, e - s);
  r[e - s] = '\0';
  return r;
}

/* The keywords that start a column constraint. */
static int starts_clause(const struct parser *p, int i) {
  static const char *const k[] = {
    "CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT",
    "COLLATE", "REFERENCES", "GENERATED", "AS", NULL
  };
  int j;
  for (j = 0; k[j]; j++)
    if (kw(p, i, k[j])) return 1;
  return 0;
}

/* Skip the optional conflict clause and ordering words after PRIMARY KEY,
** NOT NULL, NULL and UNIQUE. */
static int skip_conflict(const struct parser *p, int i, int end) {
  static const char *const k[] = {
    "ASC", "DESC", "ON", "CONFLICT", "ROLLBACK", "ABORT", "FAIL", "IGNORE",
    "REPLACE", "AUTOINCREMENT", NULL
  };
  for (; i < end; i++) {
    int j, hit = 0;
    for (j = 0; k[j] && !hit; j++) hit = kw(p, i, k[j]);
    if (!hit) break;
  }
  return i;
}

/* Parse the clause starting at token i (< end) into *kind; returns the
** index just past it. */
static int parse_clause(const struct parser *p, int i, int end,
                        enum lm_clause_kind *kind) {
  if (kw(p, i, "PRIMARY")) {
    *kind = LM_CL_PRIMARY;
    return skip_conflict(p, i + (kw(p, i + 1, "KEY") ? 2 : 1), end);
  }
  if (kw(p, i, "NOT") && kw(p, i + 1, "NULL")) {
    *kind = LM_CL_NOTNULL;
    return skip_conflict(p, i + 2, end);
  }
  if (kw(p, i, "NULL")) {
    *kind = LM_CL_NULL;
    return skip_conflict(p, i + 1, end);
  }
  if (kw(p, i, "UNIQUE")) {
    *kind = LM_CL_UNIQUE;
    return skip_conflict(p, i + 1, end);
  }
  if (kw(p, i, "CHECK")) {
    *kind = LM_CL_CHECK;
    return punct(p, i + 1, '(') ? skip_group(p, i + 1, end) : i + 1;
  }
  if (kw(p, i, "DEFAULT")) {
    *kind = LM_CL_DEFAULT;
    i++;
    if (punct(p, i, '(')) return skip_group(p, i, end);
    if (punct(p, i, '+') || punct(p, i, '-')) i++;
    return i < end ? i + 1 : end;
  }
  if (kw(p, i, "COLLATE")) {
    *kind = LM_CL_COLLATE;
    return i + 2 < end ? i + 2 : end;
  }
  if (kw(p, i, "REFERENCES")) {
    *kind = LM_CL_REFERENCES;
    i += 2;
    if (punct(p, i, '(')) i = skip_group(p, i, end);
    while (i < end) {
      if (kw(p, i, "ON")) {
        i += 2;
        i += (kw(p, i, "SET") || kw(p, i, "NO")) ? 2 : 1;
      } else if (kw(p, i, "MATCH") || kw(p, i, "INITIALLY")) {
        i += 2;
      } else if (kw(p, i, "NOT") && kw(p, i + 1, "DEFERRABLE")) {
        i += 2;
      } else if (kw(p, i, "DEFERRABLE")) {
        i++;
      } else {
        break;
      }
    }
    return i < end ? i : end;
  }
  if (kw(p, i, "GENERATED") || kw(p, i, "AS")) {
    *kind = LM_CL_GENERATED;
    if (kw(p, i, "GENERATED")) i += 2;       /* GENERATED ALWAYS */
    if (kw(p, i, "AS")) i++;
    if (punct(p, i, '(')) i = skip_group(p, i, end);
    if (kw(p, i, "STORED") || kw(p, i, "VIRTUAL")) i++;
    return i < end ? i : end;
  }
  /* Something this parser does not know: keep it, up to the next clause. */
  *kind = LM_CL_OTHER;
  for (i++; i < end && !starts_clause(p, i); i++)
    if (punct(p, i, '(')) i = skip_group(p, i, end) - 1;
  return i;
}

static int grow(void **arr, int *cap, int need, size_t size) {
  void *nv;
  int ncap;
  if (need <= *cap) return 0;
  ncap = *cap ? *cap * 2 : 8;
  while (ncap < need) ncap *= 2;
  nv = realloc(*arr, (size_t)ncap * size);
  if (nv == NULL) return 1;
  memset((char *)nv + (size_t)*cap * size, 0, (size_t)(ncap - *cap) * size);
  *arr = nv;
  *cap = ncap;
  return 0;
}

/* Parse the column definition in tokens [a, b) into a new column of t. */
static int parse_column(const struct parser *p, int a, int b,
                        struct lm_ddl_table *t, struct lm_err *err) {
  struct lm_ddl_col *c = lm_ddl_table_add_col(t);
  int i;
  if (c == NULL) return lm_err_set(err, "out of memory");
  c->from_old = 1;
  c->name = lm_sql_unquote(p->sql, &p->tk[a]);
  c->name_text = span(p, a, a + 1);
  c->orig = span(p, a, b);
  for (i = a + 1; i < b && !starts_clause(p, i); i++)
    if (punct(p, i, '(')) i = skip_group(p, i, b) - 1;
  c->type = span(p, a + 1, i);
  if (!c->name || !c->name_text || !c->orig || !c->type)
    return lm_err_set(err, "out of memory");
  while (i < b) {
    int start = i, cname = -1;
    enum lm_clause_kind kind;
    struct lm_ddl_clause *cl;
    if (kw(p, i, "CONSTRAINT") && i + 2 < b) {
      cname = i + 1;
      i += 2;
    }
    i = parse_clause(p, i, b, &kind);
    if (grow((void **)&c->cl, &c->capcl, c->ncl + 1, sizeof *c->cl))
      return lm_err_set(err, "out of memory");
    cl = &c->cl[c->ncl++];
    cl->kind = kind;
    cl->text = span(p, start, i);
    cl->name = cname >= 0 ? lm_sql_unquote(p->sql, &p->tk[cname]) : NULL;
    if (cl->text == NULL || (cname >= 0 && cl->name == NULL))
      return lm_err_set(err, "out of memory");
  }
  return 0;
}

/* Parse the table constraint in tokens [a, b). */
static int parse_tcons(const struct parser *p, int a, int b,
                       struct lm_ddl_table *t, struct lm_err *err) {
  struct lm_ddl_tcons *c;
  int i = a, cname = -1;
  if (grow((void **)&t->tc, &t->captc, t->ntc + 1, sizeof *t->tc))
    return lm_err_set(err, "out of memory");
  c = &t->tc[t->ntc++];
  if (kw(p, i, "CONSTRAINT")) {
    cname = i + 1;
    i += 2;
  }
  if (kw(p, i, "PRIMARY")) c->kind = LM_TC_PRIMARY;
  else if (kw(p, i, "UNIQUE")) c->kind = LM_TC_UNIQUE;
  else if (kw(p, i, "CHECK")) c->kind = LM_TC_CHECK;
  else if (kw(p, i, "FOREIGN")) c->kind = LM_TC_FOREIGN;
  else {
    char *s = span(p, a, b);
    lm_err_set(err, "cannot parse table constraint \"%s\"", s ? s : "?");
    free(s);
    return 1;
  }
  c->text = span(p, a, b);
  c->name = cname >= 0 && cname < b ? lm_sql_unquote(p->sql, &p->tk[cname])
                                    : NULL;
  if (c->text == NULL || (cname >= 0 && cname < b && c->name == NULL))
    return lm_err_set(err, "out of memory");
  return 0;
}

/* Fill c->cols for the column list of table constraint c from its text. */
static int tcons_cols(struct lm_ddl_tcons *c, struct lm_err *err) {
  struct parser p;
  int i, end, want = 1, depth = 0, cap = 0;
  free(c->cols);
  c->cols = NULL;
  c->ncols = 0;
  if (c->kind == LM_TC_CHECK) return 0;
  p.sql = c->text;
  if (lm_sql_tokenize(c->text, &p.tk, &p.n, err)) return 1;
  for (i = 0; i < p.n && !punct(&p, i, '('); i++)
    ;
  end = i < p.n ? skip_group(&p, i, p.n) - 1 : p.n;
  for (i++; i < end; i++) {
    if (punct(&p, i, '(')) depth++;
    else if (punct(&p, i, ')')) depth--;
    else if (depth == 0 && punct(&p, i, ',')) want = 1;
    else if (want && depth == 0) {
      want = 0;
      if (grow((void **)&c->cols, &cap, c->ncols + 1, sizeof *c->cols) ||
          (c->cols[c->ncols] = lm_sql_unquote(c->text, &p.tk[i])) == NULL) {
        free(p.tk);
        return lm_err_set(err, "out of memory");
      }
      c->ncols++;
    }
  }
  free(p.tk);
  return 0;
}

int lm_ddl_parse_table(const char *sql, struct lm_ddl_table *t,
                       struct lm_err *err) {
  struct parser p;
  int i = 0, open, close, a, k, ret = 1;
  size_t e;

  memset(t, 0, sizeof *t);
  p.sql = sql;
  if (lm_sql_tokenize(sql, &p.tk, &p.n, err)) return 1;
  if (!kw(&p, i++, "CREATE")) goto bad;
  if (kw(&p, i, "TEMP") || kw(&p, i, "TEMPORARY")) i++;
  if (!kw(&p, i++, "TABLE")) goto bad;
  if (kw(&p, i, "IF") && kw(&p, i + 1, "NOT") && kw(&p, i + 2, "EXISTS"))
    i += 3;
  if (punct(&p, i + 1, '.')) i += 2;           /* schema. */
  if (i >= p.n || p.tk[i].type == LM_TK_PUNCT) goto bad;
  t->name = lm_sql_unquote(sql, &p.tk[i]);
  if (t->name == NULL) goto oom;
  open = ++i;
  if (!punct(&p, open, '(')) {
    if (kw(&p, open, "AS"))
      lm_err_set(err, "CREATE TABLE ... AS SELECT has no column definitions "
                 "to edit");
    else
      goto bad;
    goto done;
  }
  close = skip_group(&p, open, p.n) - 1;
  if (!punct(&p, close, ')') || close == open + 1) goto bad;
  /* items: split at depth-1 commas */
  for (a = open + 1, k = a; k <= close; k++) {
    if (punct(&p, k, '(')) {
      k = skip_group(&p, k, close) - 1;
      continue;
    }
    if (k < close && !punct(&p, k, ',')) continue;
    if (k == a) goto bad;
    if (kw(&p, a, "CONSTRAINT") || kw(&p, a, "PRIMARY") ||
        kw(&p, a, "UNIQUE") || kw(&p, a, "CHECK") || kw(&p, a, "FOREIGN")) {
      if (parse_tcons(&p, a, k, t, err)) goto done;
      if (tcons_cols(&t->tc[t->ntc - 1], err)) goto done;
    } else {
      if (t->ntc > 0) goto bad;       /* columns come before constraints */
      if (parse_column(&p, a, k, t, err)) goto done;
    }
    if (a == open + 1 && k < close) {  /* the first separator */
      size_t s = p.tk[k - 1].off + p.tk[k - 1].len, f = p.tk[k + 1].off, j;
      int plain = 1;
      for (j = s; j < f; j++)
        if (sql[j] != ',' && !isspace((unsigned char)sql[j])) plain = 0;
      t->sep = plain ? text_between(sql, p.tk[k].off, f) : strdup(", ");
      if (t->sep == NULL) goto oom;
    }
    a = k + 1;
  }
  if (t->ncols == 0) goto bad;
  t->open = text_between(sql, p.tk[open].off + 1, p.tk[open + 1].off);
  t->close = text_between(sql, p.tk[close - 1].off + p.tk[close - 1].len,
                          p.tk[close].off);
  /* trailer: up to the end, without a final ';' and spaces */
  e = strlen(sql);
  while (e > p.tk[close].off + 1 &&
         (isspace((unsigned char)sql[e - 1]) || sql[e - 1] == ';'))
    e--;
  {
    size_t s = p.tk[close].off + 1;
    while (s < e && isspace((unsigned char)sql[s])) s++;
    t->trailer = text_between(sql, s, e);
  }
  if (t->sep == NULL) t->sep = strdup(", ");
  if (!t->open || !t->close || !t->trailer || !t->sep) goto oom;
  ret = 0;
  goto done;
oom:
  lm_err_set(err, "out of memory");
  goto done;
bad:
  lm_err_set(err, "cannot parse the table definition \"%.200s\": expected "
             "CREATE TABLE name (columns and constraints)", sql);
done:
  free(p.tk);
  if (ret) lm_ddl_table_free(t);
  return ret;
}

void lm_ddl_table_free(struct lm_ddl_table *t) {
  int i, j;
  if (t == NULL) return;
  for (i = 0; i < t->ncols; i++) {
    struct lm_ddl_col *c = &t->cols[i];
    for (j = 0; j < c->ncl; j++) {
      free(c->cl[j].text);
      free(c->cl[j].name);
    }
    free(c->cl);
    free(c->name);
    free(c->name_text);
    free(c->type);
    free(c->orig);
    free(c->copy_expr);
  }
  for (i = 0; i < t->ntc; i++) {
    for (j = 0; j < t->tc[i].ncols; j++) free(t->tc[i].cols[j]);
    free(t->tc[i].cols);
    free(t->tc[i].name);
    free(t->tc[i].text);
  }
  free(t->cols);
  free(t->tc);
  free(t->name);
  free(t->open);
  free(t->sep);
  free(t->close);
  free(t->trailer);
  memset(t, 0, sizeof *t);
}

void lm_ddl_col_render(const struct lm_ddl_col *c, struct lm_sqlbuf *sb) {
  int i;
  if (c->orig != NULL) {
    lm_sb_add(sb, c->orig);
    return;
  }
  lm_sb_add(sb, c->name_text);
  if (c->type[0] != '\0') {
    lm_sb_addc(sb, ' ');
    lm_sb_add(sb, c->type);
  }
  for (i = 0; i < c->ncl; i++) {
    lm_sb_addc(sb, ' ');
    lm_sb_add(sb, c->cl[i].text);
  }
}

void lm_ddl_table_render(const struct lm_ddl_table *t, const char *name,
                         struct lm_sqlbuf *sb) {
  int i, first = 1;
  lm_sb_add(sb, "CREATE TABLE ");
  lm_dialect_quote_ident_std(sb, name);
  lm_sb_add(sb, " (");
  lm_sb_add(sb, t->open);
  for (i = 0; i < t->ncols; i++) {
    if (t->cols[i].dropped) continue;
    if (!first) lm_sb_add(sb, t->sep);
    first = 0;
    lm_ddl_col_render(&t->cols[i], sb);
  }
  for (i = 0; i < t->ntc; i++) {
    if (t->tc[i].dropped) continue;
    lm_sb_add(sb, t->sep);
    lm_sb_add(sb, t->tc[i].text);
  }
  lm_sb_add(sb, t->close);
  lm_sb_addc(sb, ')');
  if (t->trailer[0] != '\0') {
    lm_sb_addc(sb, ' ');
    lm_sb_add(sb, t->trailer);
  }
}

static void mark_edited(struct lm_ddl_col *c) {
  free(c->orig);
  c->orig = NULL;
}

int lm_ddl_col_add_clause(struct lm_ddl_col *c, enum lm_clause_kind kind,
                          const char *text) {
  struct lm_ddl_clause *cl;
  if (grow((void **)&c->cl, &c->capcl, c->ncl + 1, sizeof *c->cl)) return 1;
  cl = &c->cl[c->ncl];
  cl->kind = kind;
  cl->name = NULL;
  cl->text = strdup(text);
  if (cl->text == NULL) return 1;
  c->ncl++;
  mark_edited(c);
  return 0;
}

void lm_ddl_col_remove_clause(struct lm_ddl_col *c, int i) {
  free(c->cl[i].text);
  free(c->cl[i].name);
  memmove(&c->cl[i], &c->cl[i + 1], (size_t)(c->ncl - i - 1) * sizeof *c->cl);
  c->ncl--;
  mark_edited(c);
}

int lm_ddl_table_add_tcons(struct lm_ddl_table *t, enum lm_tcons_kind kind,
                           const char *name, const char *text) {
  struct lm_ddl_tcons *c;
  if (grow((void **)&t->tc, &t->captc, t->ntc + 1, sizeof *t->tc)) return 1;
  c = &t->tc[t->ntc];
  memset(c, 0, sizeof *c);
  c->kind = kind;
  c->text = strdup(text);
  c->name = name ? strdup(name) : NULL;
  if (c->text == NULL || (name && c->name == NULL) || tcons_cols(c, NULL)) {
    free(c->text);
    free(c->name);
    memset(c, 0, sizeof *c);
    return 1;
  }
  t->ntc++;
  return 0;
}

struct lm_ddl_col *lm_ddl_table_add_col(struct lm_ddl_table *t) {
  struct lm_ddl_col *c;
  if (grow((void **)&t->cols, &t->capcols, t->ncols + 1, sizeof *t->cols))
    return NULL;
  c = &t->cols[t->ncols++];
  memset(c, 0, sizeof *c);
  return c;
}

int lm_ddl_col_generated(const struct lm_ddl_col *c) {
  int i;
  for (i = 0; i < c->ncl; i++)
    if (c->cl[i].kind == LM_CL_GENERATED) return 1;
  return 0;
}

int lm_ddl_table_without_rowid(const struct lm_ddl_table *t) {
  struct lm_tok *tk;
  int n, i, found = 0;
  if (lm_sql_tokenize(t->trailer, &tk, &n, NULL)) return 0;
  for (i = 0; i + 1 < n && !found; i++)
    found = tk[i].len == 7 && strncasecmp(t->trailer + tk[i].off,
                                          "WITHOUT", 7) == 0;
  free(tk);
  return found;
}

int lm_ddl_col_is_rowid_alias(const struct lm_ddl_table *t, int i) {
  const struct lm_ddl_col *c = &t->cols[i];
  int j, k;
  if (strcasecmp(c->type, "INTEGER") != 0 || lm_ddl_table_without_rowid(t))
    return 0;
  for (j = 0; j < c->ncl; j++)
    if (c->cl[j].kind == LM_CL_PRIMARY) return 1;
  for (j = 0; j < t->ntc; j++) {
    if (t->tc[j].dropped || t->tc[j].kind != LM_TC_PRIMARY ||
        t->tc[j].ncols != 1)
      continue;
    for (k = 0; k < 1; k++)
      if (strcasecmp(t->tc[j].cols[k], c->name) == 0) return 1;
  }
  return 0;
}
