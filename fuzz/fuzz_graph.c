/*
** fuzz_graph.c: libFuzzer harness for the target and range grammar over a
** revision graph (src/graph.c, src/graph_plan.c), through the graph API
** only. Input: revision lines up to the first empty line, each
**   ID PARENTS DEPENDS LABELS    (comma-separated lists, "-" for none)
** then one target or range per line. The current heads are the graph's
** heads, or what a first target line "=TARGET" resolves to. Each target
** is checked, planned up and down (each plan stepped through
** lm_graph_step_heads), resolved, and taken as a history range.
*/
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "graph.h"

/* Split the comma-separated list s ("-" is empty) into *out / *n. */
static void split_list(char *s, char ***out, int *n) {
  char *tok, *save = NULL;
  *out = NULL;
  *n = 0;
  if (s == NULL || strcmp(s, "-") == 0) return;
  for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char **p = realloc(*out, sizeof *p * (size_t)(*n + 1));
    if (p == NULL || (p[*n] = strdup(tok)) == NULL) abort();
    *out = p;
    (*n)++;
  }
}

/* One revision line into the graph; 1 when the graph refused it. */
static int add_line(struct lm_graph *g, char *line) {
  char *save = NULL, *f[4] = {0};
  struct lm_revision *r;
  struct lm_err err;
  int i;
  for (i = 0; i < 4; i++) f[i] = strtok_r(i ? NULL : line, " ", &save);
  if (f[0] == NULL) return 0;
  r = lm_revision_new();
  if (r == NULL || (r->id = strdup(f[0])) == NULL ||
      (r->path = strdup("versions/fuzz.lua")) == NULL)
    abort();
  split_list(f[1], &r->down, &r->ndown);
  split_list(f[2], &r->depends, &r->ndepends);
  split_list(f[3], &r->labels, &r->nlabels);
  lm_err_clear(&err);
  return lm_graph_add(g, r, NULL, &err) != 0;
}

static void plan(const struct lm_graph *g, const struct lm_idset *cur,
                 const char *target, enum lm_direction dir) {
  struct lm_idset steps, h;
  struct lm_err err;
  int i;
  lm_idset_init(&steps);
  lm_idset_init(&h);
  lm_err_clear(&err);
  if (lm_graph_plan(g, cur, target, dir, &steps, &err) == 0) {
    for (i = 0; i < cur->n; i++) lm_idset_push(&h, cur->v[i]);
    for (i = 0; i < steps.n; i++) {
      if (steps.v[i] < 0 || steps.v[i] >= lm_graph_count(g)) abort();
      lm_graph_step_heads(g, &h, steps.v[i], dir);
    }
  }
  lm_idset_free(&steps);
  lm_idset_free(&h);
}

static void one_target(const struct lm_graph *g, const struct lm_idset *cur,
                       const char *t) {
  struct lm_idset out;
  struct lm_err err;
  int idx;
  lm_err_clear(&err);
  lm_graph_check_target(t, 0, &err);
  lm_err_clear(&err);
  lm_graph_check_target(t, LM_UP, &err);
  lm_err_clear(&err);
  lm_graph_check_target(t, LM_DOWN, &err);
  plan(g, cur, t, LM_UP);
  plan(g, cur, t, LM_DOWN);
  lm_idset_init(&out);
  lm_err_clear(&err);
  lm_graph_resolve(g, t, &out, &err);
  lm_idset_free(&out);
  lm_idset_init(&out);
  lm_err_clear(&err);
  lm_graph_range(g, cur, t, &out, &err);
  lm_idset_free(&out);
  lm_err_clear(&err);
  lm_graph_find(g, t, &idx, &err);
  lm_graph_label_owner(g, t);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  char *s = fz_cstr(d, n), *p = s, *line;
  struct lm_graph *g = lm_graph_new();
  struct lm_idset cur;
  struct lm_err err;
  int bad = 0, first = 1;
  if (g == NULL) abort();
  lm_idset_init(&cur);
  while ((line = strsep(&p, "\n")) != NULL && *line != '\0')
    if (!bad) bad = add_line(g, line);
  lm_err_clear(&err);
  if (!bad && lm_graph_build(g, &err) == 0) {
    lm_graph_heads(g, &cur);
    while (p != NULL && (line = strsep(&p, "\n")) != NULL) {
      if (first && line[0] == '=') {
        cur.n = 0;
        lm_err_clear(&err);
        lm_graph_resolve(g, line + 1, &cur, &err);
      } else {
        one_target(g, &cur, line);
      }
      first = 0;
    }
  }
  lm_idset_free(&cur);
  lm_graph_free(g);
  free(s);
  return 0;
}
