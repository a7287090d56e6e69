/*
** log.c: user-facing messages (see log.h). Verbosity is read from the host
** passed in; there is no logging state of our own.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

int lm_load_error(const char *path, const char *msg, int binary) {
  size_t n = strlen(path);
  if (binary)
    return lm_error("%s: is a precompiled (binary) Lua chunk; lmigrate "
                    "loads Lua source only: keep the .lua source file "
                    "here instead", path);
  /* Lua shortens a long chunk name to "...<tail>" */
  if ((strncmp(msg, path, n) == 0 && msg[n] == ':') ||
      strncmp(msg, "...", 3) == 0)
    return lm_error("%s", msg);
  if (strstr(msg, "C stack overflow") != NULL)
    return lm_error("%s: %s (nesting too deep: split the nested tables or "
                    "expressions)", path, msg);
  return lm_error("%s: %s", path, msg);
}

void lm_warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport("warning", fmt, ap);
  va_end(ap);
}

void lm_info(const struct lm_host *h, const char *fmt, ...) {
  va_list ap;
  if (h != NULL && h->verbosity < 0) return;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
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
