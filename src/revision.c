/*
** revision.c: struct lm_revision lifetime and id validation.
** Reading revision files is the loader's job; this file only owns memory.
*/
#include <stdlib.h>

#include "revision.h"

struct lm_revision *lm_revision_new(void) {
  struct lm_revision *r = calloc(1, sizeof *r);
  if (r != NULL) r->transactional = 1;
  return r;
}

static void free_strv(char **v, int n) {
  int i;
  if (v == NULL) return;
  for (i = 0; i < n; i++) free(v[i]);
  free(v);
}

void lm_revision_free(struct lm_revision *r) {
  if (r == NULL) return;
  free(r->id);
  free_strv(r->down, r->ndown);
  free_strv(r->depends, r->ndepends);
  free_strv(r->labels, r->nlabels);
  free(r->message);
  free(r->create_date);
  free(r->path);
  free(r);
}

int lm_revision_id_ok(const char *id, char *bad) {
  int i;
  if (id == NULL || id[0] == '\0') {
    if (bad != NULL) *bad = '\0';
    return 0;
  }
  for (i = 0; id[i] != '\0'; i++) {
    char c = id[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '_';
    if (!ok || i >= 64) {
      if (bad != NULL) *bad = c;
      return 0;
    }
  }
  return 1;
}
