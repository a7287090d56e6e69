/*
** sqlbuf.c: growable text buffer (see sqlbuf.h for the ownership rules).
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbuf.h"

void lm_sb_init(struct lm_sqlbuf *sb) {
  sb->data = NULL;
  sb->len = sb->cap = 0;
  sb->oom = 0;
}

void lm_sb_free(struct lm_sqlbuf *sb) {
  free(sb->data);
  lm_sb_init(sb);
}

void lm_sb_reset(struct lm_sqlbuf *sb) {
  sb->len = 0;
  if (sb->data) sb->data[0] = '\0';
}

/* Make room for n more bytes plus the NUL; 0 on success. */
static int grow(struct lm_sqlbuf *sb, size_t n) {
  size_t need, cap;
  char *p;
  if (sb->oom) return 1;
  need = sb->len + n + 1;
  if (need <= sb->cap) return 0;
  cap = sb->cap ? sb->cap : 128;
  while (cap < need) cap *= 2;
  p = realloc(sb->data, cap);
  if (p == NULL) {
    sb->oom = 1;
    return 1;
  }
  sb->data = p;
  sb->cap = cap;
  return 0;
}

void lm_sb_addn(struct lm_sqlbuf *sb, const char *s, size_t n) {
  if (grow(sb, n)) return;
  memcpy(sb->data + sb->len, s, n);
  sb->len += n;
  sb->data[sb->len] = '\0';
}

void lm_sb_add(struct lm_sqlbuf *sb, const char *s) {
  lm_sb_addn(sb, s, strlen(s));
}

void lm_sb_addc(struct lm_sqlbuf *sb, char c) {
  lm_sb_addn(sb, &c, 1);
}

void lm_sb_printf(struct lm_sqlbuf *sb, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || grow(sb, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb->len += (size_t)n;
}

const char *lm_sb_str(const struct lm_sqlbuf *sb) {
  return sb->data ? sb->data : "";
}

int lm_sb_ok(const struct lm_sqlbuf *sb) {
  return !sb->oom;
}
