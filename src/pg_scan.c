/*
** pg_scan.c: the PostgreSQL SQL scanner behind backend_pg.c: statement
** count, $N parameters, the statement at a byte offset (pg_scan.h).
** Follows the server's lexer closely enough to split on top-level ';'
** and to ignore $N inside strings, identifiers, comments and dollar quotes.
*/
#include <ctype.h>
#include <string.h>

#include "pg_scan.h"

static int ident_char(unsigned char c) {
  return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* Length of a dollar-quote opener at s ("$$", "$tag$"), 0 for none. */
static size_t dollar_tag(const unsigned char *s) {
  size_t n = 1;
  if (s[0] != '$') return 0;
  if (s[1] == '$') return 2;
  if (!(isalpha(s[1]) || s[1] == '_' || s[1] >= 0x80)) return 0;
  while (isalnum(s[n]) || s[n] == '_' || s[n] >= 0x80) n++;
  return s[n] == '$' ? n + 1 : 0;
}

/* Walk sql the way the server's lexer splits it: strings ('..', E'..'),
** quoted identifiers, -- and nested block comments, dollar-quoted bodies.
** Counts statements separated by top-level ';' and notes the $N
** parameters used outside those. */
void lm_pg_scan(const char *sql, struct lm_pg_scan *s) {
  const unsigned char *start = (const unsigned char *)sql, *p = start;
  const unsigned char *stmt = NULL;
  s->nstmts = 0;
  s->maxref = 0;
  s->want_start = NULL;
  while (*p) {
    unsigned char c = *p;
    if (c == '-' && p[1] == '-') {
      while (*p && *p != '\n') p++;
      continue;
    }
    if (c == '/' && p[1] == '*') {
      int depth = 1;
      p += 2;
      while (*p && depth > 0) {
        if (p[0] == '/' && p[1] == '*') {
          depth++;
          p += 2;
        } else if (p[0] == '*' && p[1] == '/') {
          depth--;
          p += 2;
        } else {
          p++;
        }
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f') {
      p++;
      continue;
    }
    if (c == ';') {
      if (stmt != NULL) {
        s->nstmts++;
        if (s->want_start == NULL && (size_t)(p - start) >= s->want) {
          s->want_start = (const char *)stmt;
          s->want_end = (const char *)p;
        }
      }
      stmt = NULL;
      p++;
      continue;
    }
    if (stmt == NULL) stmt = p;
    if (c == '\'') {
      /* E'..' (the E alone as a token) takes backslash escapes */
      int esc = p > start && (p[-1] == 'E' || p[-1] == 'e') &&
                (p - 1 == start || !ident_char(p[-2]));
      p++;
      while (*p) {
        if (esc && *p == '\\' && p[1]) {
          p += 2;
        } else if (*p == '\'') {
          if (p[1] != '\'') break;
          p += 2;
        } else {
          p++;
        }
      }
      if (*p) p++;
      continue;
    }
    if (c == '"') {
      p++;
      while (*p && *p != '"') p++;
      if (*p) p++;
      continue;
    }
    if (c == '$' && (p == start || !ident_char(p[-1]))) {
      size_t tag;
      if (isdigit(p[1])) {
        long k = 0;
        p++;
        while (isdigit(*p)) {
          if (k < 100000000) k = k * 10 + (*p - '0');
          p++;
        }
        if (k > s->maxref) s->maxref = k;
        if (s->used != NULL && k >= 1 && k <= s->nparams) s->used[k - 1] = 1;
        continue;
      }
      if ((tag = dollar_tag(p)) > 0) {
        const unsigned char *q = p + tag;
        while (*q && strncmp((const char *)q, (const char *)p, tag) != 0) q++;
        p = *q ? q + tag : q;
        continue;
      }
    }
    if (ident_char(c)) {
      while (*p && ident_char(*p)) p++;
      continue;
    }
    p++;
  }
  if (stmt != NULL) {
    s->nstmts++;
    if (s->want_start == NULL) {
      s->want_start = (const char *)stmt;
      s->want_end = (const char *)p;
    }
  }
}
