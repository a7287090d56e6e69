/*
** log.h: user-facing messages. Errors and warnings go to stderr as
** "lmigrate: error: ..." / "lmigrate: warning: ..."; progress goes to stdout
** unless -q. Verbosity lives in the host, never in a global.
*/
#ifndef LM_LOG_H
#define LM_LOG_H

#include <stdarg.h>

struct lm_host;

/* Print "lmigrate: error: <msg>" to stderr; returns 1 (the failure exit
** status), so commands write `return lm_error(...)`. */
int lm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, returns 2: a usage error. */
int lm_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Progress line on stdout unless h->verbosity < 0. */
void lm_info(const struct lm_host *h, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
/* Detail on stderr only with -v. */
void lm_debug(const struct lm_host *h, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

#endif
