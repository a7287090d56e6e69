/*
** backend.c: choosing the backend (vtable) that serves a database URL.
** Adding a database means one more case here plus its backend_*.c.
*/
#include <stddef.h>

#include "backend.h"
#include "url.h"

/* See backend.h. Offline (--sql) wins over the URL's scheme; the offline
** backend still reads the URL to pick its dialect. */
const struct lm_backend *lm_backend_for_url(const struct lm_url *url,
                                            int offline, struct lm_err *err) {
  if (offline) return &lm_backend_offline;
  if (url == NULL) {
    lm_err_set(err, "no database URL given");
    return NULL;
  }
  switch (url->kind) {
  case LM_URL_SQLITE:
    return &lm_backend_sqlite;
  case LM_URL_POSTGRES:
    return &lm_backend_pg;
  }
  lm_err_set(err, "no backend for database URL '%s'",
             url->redacted != NULL ? url->redacted : "?");
  return NULL;
}
