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
/* Print the error of compiling the Lua file path (Lua's message msg),
** always naming the file: Lua leaves it out for a precompiled chunk
** (binary: say so and what to do) and for a C stack overflow in the
** parser (a too deeply nested constructor or expression). Returns 1. */
int lm_load_error(const char *path, const char *msg, int binary);
/* Progress line on stdout unless h->verbosity < 0. */
void lm_info(const struct lm_host *h, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
/* 1 when output on fd (1 or 2) may use ANSI colours: a terminal, NO_COLOR
** unset or empty (https://no-color.org), TERM not "dumb". Errors and
** warnings on stderr, FAILED and BLOCKED in `status` use it. */
int lm_color(int fd);
/* Detail on stderr only with -v. */
void lm_debug(const struct lm_host *h, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

#endif
