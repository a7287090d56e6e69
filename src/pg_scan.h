/*
** pg_scan.h: a lexical walk over PostgreSQL SQL text, the way the server's
** lexer splits it (strings, E'..', quoted identifiers, comments, dollar
** quotes): counts statements, finds $N parameters, locates the statement
** holding a byte offset. Pure C, no libpq.
*/
#ifndef LM_PG_SCAN_H
#define LM_PG_SCAN_H

#include <stddef.h>

/* What lm_pg_scan learns about a SQL text. Zero it, set the inputs, scan. */
struct lm_pg_scan {
  int nstmts;            /* out: non-empty statements */
  long maxref;           /* out: highest $N used, 0 for none */
  unsigned char *used;   /* in, optional, nparams entries: used[k-1] = 1
                         ** when $k is seen */
  int nparams;           /* in: entries in used */
  size_t want;           /* in: a byte offset into the SQL */
  const char *want_start;/* out: start of the statement holding `want`
                         ** (or the first one after it), NULL for none */
  const char *want_end;  /* out: its end (its ';' or the NUL) */
};

/* Scan the NUL-terminated sql into *s (see struct lm_pg_scan); the
** want_* pointers point into sql. Never fails. */
void lm_pg_scan(const char *sql, struct lm_pg_scan *s);

#endif
