/*
** fuzz_url.c: libFuzzer harness for the URL parser (src/url.c). The
** input's first line is parsed as a URL and redacted; the rest is text
** (a server message, say) masked with the parsed URL.
*/
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  char *s = fz_cstr(d, n), *nl = strchr(s, '\n');
  const char *text = "";
  struct lm_url u;
  struct lm_err err;
  if (nl) {
    *nl = '\0';
    text = nl + 1;
  }
  free(lm_url_redact(s));
  free(lm_url_redact(text));
  lm_err_clear(&err);
  if (lm_url_parse(s, &u, &err) == 0) {
    free(lm_url_mask(&u, text));
    free(lm_url_mask(&u, s));
  }
  lm_url_free(&u);
  free(s);
  return 0;
}
