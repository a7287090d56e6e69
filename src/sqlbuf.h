/*
** sqlbuf.h: a growable, NUL-terminated text buffer for rendered SQL.
** Memory is malloc-owned by the buffer; lm_sb_free releases it. An
** allocation failure sets `oom` and turns later appends into no-ops, so
** callers check once at the end (lm_sb_ok).
*/
#ifndef LM_SQLBUF_H
#define LM_SQLBUF_H

#include <stddef.h>

struct lm_sqlbuf {
  char *data;   /* owned; free(); always NUL-terminated once non-NULL */
  size_t len;
  size_t cap;
  int oom;
};

void lm_sb_init(struct lm_sqlbuf *sb);
void lm_sb_free(struct lm_sqlbuf *sb);
void lm_sb_reset(struct lm_sqlbuf *sb);              /* len = 0, keeps memory */
void lm_sb_addn(struct lm_sqlbuf *sb, const char *s, size_t n);
void lm_sb_add(struct lm_sqlbuf *sb, const char *s);
void lm_sb_addc(struct lm_sqlbuf *sb, char c);
void lm_sb_printf(struct lm_sqlbuf *sb, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
/* The text so far; "" for an empty buffer. Borrowed. */
const char *lm_sb_str(const struct lm_sqlbuf *sb);
int lm_sb_ok(const struct lm_sqlbuf *sb);

#endif
