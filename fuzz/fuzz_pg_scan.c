/*
** fuzz_pg_scan.c: libFuzzer harness for the PostgreSQL SQL scanner
** (src/pg_scan.c): the input is the SQL; its first byte also picks the
** byte offset asked for and how many parameters the caller declares.
*/
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pg_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  char *sql = fz_cstr(d, n);
  unsigned char used[16];
  struct lm_pg_scan s;
  size_t len = strlen(sql);
  memset(&s, 0, sizeof s);
  memset(used, 0, sizeof used);
  s.used = used;
  s.nparams = n ? d[0] % 17 : 0;
  s.want = n ? (size_t)d[0] * 7 % (len + 2) : 0;
  lm_pg_scan(sql, &s);
  if (s.want_start != NULL &&
      (s.want_start < sql || s.want_start > sql + len ||
       s.want_end < s.want_start || s.want_end > sql + len))
    abort();
  if (s.maxref < 0 || s.nstmts < 0) abort();
  free(sql);
  return 0;
}
