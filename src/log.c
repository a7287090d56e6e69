/*
** log.c: user-facing messages (see log.h). Verbosity is read from the host
** passed in; there is no logging state of our own.
*/
#include <stdarg.h>
#include <stdio.h>

#include "host.h"
#include "log.h"

static void vreport(const char *kind, const char *fmt, va_list ap) {
  fflush(stdout);
  fprintf(stderr, "lmigrate: %s: ", kind);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

int lm_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport("error", fmt, ap);
  va_end(ap);
  return 1;
}

int lm_usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport("error", fmt, ap);
  va_end(ap);
  return 2;
}

void lm_warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport("warning", fmt, ap);
  va_end(ap);
}

void lm_info(const struct lm_host *h, const char *fmt, ...) {
  va_list ap;
  FILE *f = h != NULL && h->json ? stderr : stdout;  /* stdout: JSON */
  if (h != NULL && h->verbosity < 0) return;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fputc('\n', f);
}

void lm_debug(const struct lm_host *h, const char *fmt, ...) {
  va_list ap;
  if (h == NULL || h->verbosity < 1) return;
  va_start(ap, fmt);
  fputs("lmigrate: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}
