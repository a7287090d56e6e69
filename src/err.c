/*
** err.c: filling struct lm_err.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

void lm_err_clear(struct lm_err *err) {
  if (err == NULL) return;
  err->code = 0;
  err->sqlstate[0] = '\0';
  err->msg[0] = '\0';
}

int lm_err_set(struct lm_err *err, const char *fmt, ...) {
  va_list ap;
  if (err == NULL) return 1;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return 1;
}

int lm_err_prefix(struct lm_err *err, const char *fmt, ...) {
  char head[LM_ERRMSG_MAX], old[LM_ERRMSG_MAX];
  va_list ap;
  if (err == NULL) return 1;
  va_start(ap, fmt);
  vsnprintf(head, sizeof head, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  snprintf(err->msg, sizeof err->msg, "%.*s: %.*s", 400, head,
           (int)(sizeof err->msg - 410), old);
  return 1;
}
