/*
** op_pgarray.c: one element of a PostgreSQL array literal (op_pgarray.h).
** The server's array_in reads the literal with the element type's input
** function, the same one a scalar text parameter would go through, so an
** element arrives exactly as a bound scalar would. Every string element is
** quoted, whatever it holds: an unquoted element is trimmed and "NULL"
** would read as SQL NULL. Values are never SQL: the literal is itself
** bound as a parameter.
*/
#include <stdio.h>
#include <string.h>

#include "op_pgarray.h"

/* Append s[0..n) with '"' and '\' escaped, copying the runs between them
** in one go. */
static void add_escaped(struct lm_sqlbuf *sb, const char *s, size_t n) {
  size_t i, run = 0;
  for (i = 0; i < n; i++) {
    if (s[i] == '"' || s[i] == '\\') {
      lm_sb_addn(sb, s + run, i - run);
      lm_sb_addc(sb, '\\');
      run = i;
    }
  }
  lm_sb_addn(sb, s + run, n - run);
}

/* Append "\\x" and s[0..n) in hex, in chunks of a local buffer. */
static void add_hex(struct lm_sqlbuf *sb, const unsigned char *s, size_t n) {
  static const char digits[] = "0123456789abcdef";
  char buf[512];
  size_t i, k = 0;
  lm_sb_add(sb, "\\\\x");
  for (i = 0; i < n; i++) {
    buf[k++] = digits[s[i] >> 4];
    buf[k++] = digits[s[i] & 15];
    if (k == sizeof buf) {
      lm_sb_addn(sb, buf, k);
      k = 0;
    }
  }
  lm_sb_addn(sb, buf, k);
}

int lm_pgarray_add(struct lm_sqlbuf *sb, const struct lm_value *v) {
  switch (v->type) {
  case LM_VINT:
    lm_sb_printf(sb, "%lld", v->i);
    break;
  case LM_VFLOAT:
    lm_sb_printf(sb, "%.17g", v->f);
    break;
  case LM_VBOOL:
    lm_sb_add(sb, v->i ? "true" : "false");
    break;
  case LM_VTEXT:
    if (v->n > 0 && memchr(v->s, '\0', v->n) != NULL) return 1;
    lm_sb_addc(sb, '"');
    add_escaped(sb, v->s, v->n);
    lm_sb_addc(sb, '"');
    break;
  case LM_VBLOB:
    lm_sb_addc(sb, '"');
    add_hex(sb, (const unsigned char *)v->s, v->n);
    lm_sb_addc(sb, '"');
    break;
  default:
    lm_sb_add(sb, "NULL");
    break;
  }
  return 0;
}
