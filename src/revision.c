/*
** revision.c: struct lm_revision lifetime, and the rules for revision ids
** and branch labels. Reading revision files is the loader's job; this file
** only owns memory and says what a name may be.
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

/* 1 for the characters ids and labels may use (ASCII, locale-free). */
static int name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

int lm_revision_id_ok(const char *id, char *bad) {
  size_t i;
  if (bad != NULL) *bad = '\0';
  if (id == NULL || id[0] == '\0') return 0;
  for (i = 0; id[i] != '\0'; i++) {
    if (i >= LM_REVISION_ID_MAX) return 0;      /* too long: no bad char */
    if (!name_char(id[i])) {
      if (bad != NULL) *bad = id[i];
      return 0;
    }
  }
  return 1;
}

int lm_revision_reserved(const char *name) {
  return strcmp(name, "head") == 0 || strcmp(name, "heads") == 0 ||
         strcmp(name, "base") == 0;
}

const char *lm_revision_name_problem(const char *kind, const char *name,
                                     char *buf, size_t n) {
  char bad;
  size_t len;
  if (name == NULL || name[0] == '\0') {
    snprintf(buf, n, "empty %s (use 1 to %d of A-Z a-z 0-9 _)", kind,
             LM_REVISION_ID_MAX);
    return buf;
  }
  len = strlen(name);
  if (!lm_revision_id_ok(name, &bad)) {
    if (len > LM_REVISION_ID_MAX)
      snprintf(buf, n, "%s '%.20s...' is %zu characters long; the limit is "
               "%d", kind, name, len, LM_REVISION_ID_MAX);
    else if (isprint((unsigned char)bad))
      snprintf(buf, n, "illegal character '%c' in %s '%s' (use letters, "
               "digits and _)", bad, kind, name);
    else
      snprintf(buf, n, "illegal character '\\x%02x' in %s (use letters, "
               "digits and _)", (unsigned char)bad, kind);
    return buf;
  }
  if (lm_revision_reserved(name)) {
    snprintf(buf, n, "%s '%s' is reserved (head, heads and base are "
             "target words); choose another %s", kind, name, kind);
    return buf;
  }
  return NULL;
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
