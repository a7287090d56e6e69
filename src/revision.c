/*
** revision.c: struct lm_revision lifetime and id validation.
** Reading revision files is the loader's job; this file only owns memory.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* 1 when line (NUL-terminated) assigns field: optional blanks, the field
** name as a whole word, optional blanks, then '=' (not '=='). */
static int assigns(const char *line, const char *field) {
  size_t n = strlen(field);
  while (*line == ' ' || *line == '\t') line++;
  if (strncmp(line, field, n) != 0) return 0;
  line += n;
  if (isalnum((unsigned char)*line) || *line == '_') return 0;
  while (*line == ' ' || *line == '\t') line++;
  return line[0] == '=' && line[1] != '=';
}

const char *lm_revision_locate(const struct lm_revision *r, const char *field,
                               char *buf, size_t n) {
  char line[512];
  FILE *f;
  int lineno = 0;
  const char *path = r->path ? r->path : r->id;
  snprintf(buf, n, "%s", path ? path : "?");
  if (r->path == NULL || (f = fopen(r->path, "r")) == NULL) return buf;
  while (fgets(line, sizeof line, f) != NULL) {
    lineno++;
    if (assigns(line, field)) {
      snprintf(buf, n, "%s:%d", r->path, lineno);
      break;
    }
  }
  fclose(f);
  return buf;
}
