/*
** log.c: user-facing messages (see log.h). Verbosity is read from the host
** passed in; there is no logging state of our own.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "host.h"
#include "log.h"

int lm_color(int fd) {
  const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
  if (no != NULL && no[0] != '\0') return 0;
  if (term != NULL && strcmp(term, "dumb") == 0) return 0;
  return isatty(fd);
}

static void vreport(const char *kind, const char *fmt, va_list ap) {
  fflush(stdout);
  if (lm_color(2))
    fprintf(stderr, "lmigrate: \033[%sm%s\033[0m: ",
            kind[0] == 'e' ? "1;31" : "1;33", kind);
  else
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
