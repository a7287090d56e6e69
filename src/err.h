/*
** err.h: the error value every pure-C layer fills.
** A function that can fail takes `struct lm_err *err` last, fills it and
** returns non-zero. Backends never call Lua; the Lua-facing caller raises.
*/
#ifndef LM_ERR_H
#define LM_ERR_H

#define LM_ERRMSG_MAX 1024

struct lm_err {
  int code;              /* backend or errno-ish code; 0 when unset */
  char sqlstate[6];      /* PostgreSQL SQLSTATE, "" when not applicable */
  char msg[LM_ERRMSG_MAX];
};

/* Reset err to "no error". err may be NULL. */
void lm_err_clear(struct lm_err *err);

/* printf into err->msg (truncating); returns 1 so callers can write
** `return lm_err_set(err, ...)`. err may be NULL (message dropped). */
int lm_err_set(struct lm_err *err, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

/* Prepend "prefix: " to an already-set message; returns 1. */
int lm_err_prefix(struct lm_err *err, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

#endif
